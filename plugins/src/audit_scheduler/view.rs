//! Read-only views for the web status page: audit runs with who did what, and the security
//! report's numbers over several periods. The key numbers come from the report's own computation
//! ([`super::report::kpis`]) over the plugin's own records, so the page and the chat report agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sentinel_bot::config::{Config, ConfigError, deserialize_named};
use sentinel_bot::store::{Conn, to_ms};

use super::config::AuditConfig;
pub use super::period::Period;
use super::plugin::NAME;
use super::report::{self, ReportData};
use super::store;
pub use super::store::{Item, ItemState, Run};

/// The time zone reports are counted in, as the plugin resolves it.
pub fn time_zone(core: &Config) -> Result<Tz, Vec<ConfigError>> {
    let section: AuditConfig =
        deserialize_named(core.plugin_section(NAME), &format!("plugins.{NAME}")).map_err(|err| vec![err])?;
    section.resolve(&core.schedule.time_zone).map(|settings| settings.tz)
}

/// The latest `limit` runs, newest first, each with its items.
pub async fn recent_runs(conn: &mut Conn, limit: i64) -> Result<Vec<(Run, Vec<Item>)>, sqlx::Error> {
    let mut out = Vec::new();
    for run in store::recent_runs(conn, None, limit).await? {
        let items = store::items(conn, run.id).await?;
        out.push((run, items));
    }
    Ok(out)
}

/// One period's numbers for the report page.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodNumbers {
    /// The period.
    pub period: Period,
    /// Alerts open at the period's end (or now, for the period under way), by severity
    /// (`critical`, `high`, `medium`, `low`, `unknown`).
    pub open_by_severity: BTreeMap<String, i64>,
    /// Mean time to detect (GitHub creating an alert → Sentinel announcing it).
    pub mttd: Option<Duration>,
    /// Mean time to acknowledge an incident.
    pub mtta: Option<Duration>,
    /// Mean time to resolve an incident.
    pub mttr: Option<Duration>,
    /// Per severity: (incidents of the period, incidents without a response or resolution breach).
    pub sla: BTreeMap<String, (usize, usize)>,
    /// Response and resolution breaches.
    pub breaches: usize,
}

/// The numbers of `period` as of `now`, with the security report's own KPI computation.
pub async fn numbers(
    conn: &mut Conn,
    period: Period,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<PeriodNumbers, sqlx::Error> {
    let (start, end) = (period.start(tz), period.end(tz));
    let incidents = store::incidents_touching(conn, start, end).await?;
    let raised_alerts = store::alerts_raised_between(conn, start, end).await?;
    let closed_alerts = store::alerts_closed_between(conn, start, end).await?;
    let data = ReportData {
        period,
        tz,
        now,
        prepared_by: String::new(),
        current: store::Snapshot::default(),
        previous: None,
        notes: Vec::new(),
        severe_open: Vec::new(),
        medium_open: 0,
        incidents,
        closed_alerts,
        raised_alerts,
        runs: Vec::new(),
        backlog_target: 0,
        resolution_targets: BTreeMap::new(),
        repositories: Vec::new(),
        upcoming: Vec::new(),
    };
    let kpis = report::kpis(&data);
    let mut sla: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for incident in data
        .incidents
        .iter()
        .filter(|i| i.opened_at >= start && i.opened_at < end)
    {
        let entry = sla.entry(incident.severity.clone()).or_default();
        entry.0 += 1;
        if !incident.response_breached && !incident.resolution_breached {
            entry.1 += 1;
        }
    }
    let open_by_severity = open_at(conn, end.min(now)).await?;
    Ok(PeriodNumbers {
        period,
        open_by_severity,
        mttd: kpis.mttd,
        mtta: kpis.mtta,
        mttr: kpis.mttr,
        sla,
        breaches: kpis.breaches,
    })
}

/// Alerts Sentinel had announced and not seen closed at `at`, by severity.
async fn open_at(conn: &mut Conn, at: DateTime<Utc>) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT severity, COUNT(*) FROM audit_alerts
         WHERE raised_at < $1 AND (closed_at IS NULL OR closed_at >= $1)
         GROUP BY severity",
    )
    .bind(to_ms(at))
    .fetch_all(conn)
    .await?;
    let mut out = BTreeMap::new();
    for (severity, count) in rows {
        *out.entry(severity.unwrap_or_else(|| "unknown".to_owned())).or_insert(0) += count;
    }
    Ok(out)
}

/// The posted chat report of `period`, when there is one (its Markdown and GitHub issue).
pub async fn posted_report(conn: &mut Conn, period: Period) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    Ok(store::latest_report(conn, &period.to_string())
        .await?
        .and_then(|r| r.markdown.map(|m| (m, r.issue_url))))
}
