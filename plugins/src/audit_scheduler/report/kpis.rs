//! The key performance indicators of a period: mean times to detect, acknowledge, resolve and
//! remediate, the incidents resolved and alerts fixed, and the SLA breaches.

use chrono::{DateTime, Duration, Utc};

use super::data::{ReportData, is_fix};
use crate::audit_scheduler::store::{AlertFact, IncidentFact};

/// The key numbers the summary and KPIs share.
pub(crate) struct Kpis {
    /// Mean time from GitHub creating an alert to Sentinel announcing it.
    pub(crate) mttd: Option<Duration>,
    /// The same, for critical alerts only.
    pub(crate) mttd_critical: Option<Duration>,
    /// Mean time from opening to acknowledging, of incidents acknowledged in the period.
    pub(crate) mtta: Option<Duration>,
    /// Mean time from opening to resolving, of incidents resolved in the period.
    pub(crate) mttr: Option<Duration>,
    /// Mean time from GitHub creating an alert to its fix, of alerts fixed in the period.
    pub(crate) remediation: Option<Duration>,
    /// Incidents resolved in the period.
    pub(crate) resolved_incidents: Vec<IncidentFact>,
    /// Alerts closed as fixed (not dismissed) in the period.
    pub(crate) fixed_alerts: Vec<AlertFact>,
    /// Response and resolution SLA breaches of the period's incidents.
    pub(crate) breaches: usize,
}

/// The KPIs of `data`'s period.
pub(crate) fn kpis(data: &ReportData) -> Kpis {
    let (start, end) = (data.period.start(data.tz), data.period.end(data.tz));
    let detect = |only_critical: bool| {
        let spans: Vec<Duration> = data
            .raised_alerts
            .iter()
            .filter(|a| !only_critical || a.severity.as_deref() == Some("critical"))
            .filter_map(|a| a.created_at.map(|c| a.raised_at - c))
            .filter(|span| *span >= Duration::zero())
            .collect();
        mean(&spans)
    };
    let acknowledged: Vec<Duration> = data
        .incidents
        .iter()
        .filter(|i| in_period(i.acknowledged_at, start, end))
        .filter_map(|i| i.acknowledged_at.map(|a| a - i.opened_at))
        .collect();
    let resolved_incidents: Vec<IncidentFact> = data
        .incidents
        .iter()
        .filter(|i| in_period(i.resolved_at, start, end))
        .cloned()
        .collect();
    let resolved: Vec<Duration> = resolved_incidents
        .iter()
        .filter_map(|i| i.resolved_at.map(|r| r - i.opened_at))
        .collect();
    let fixed_alerts: Vec<AlertFact> = data
        .closed_alerts
        .iter()
        .filter(|a| is_fix(a.close_action.as_deref()))
        .cloned()
        .collect();
    let remediation: Vec<Duration> = fixed_alerts
        .iter()
        .filter_map(|a| Some(a.closed_at? - a.created_at?))
        .collect();
    let breaches = data
        .incidents
        .iter()
        .map(|i| usize::from(i.response_breached) + usize::from(i.resolution_breached))
        .sum();
    Kpis {
        mttd: detect(false),
        mttd_critical: detect(true),
        mtta: mean(&acknowledged),
        mttr: mean(&resolved),
        remediation: mean(&remediation),
        resolved_incidents,
        fixed_alerts,
        breaches,
    }
}

/// The mean of `spans`, to the second; `None` for none.
fn mean(spans: &[Duration]) -> Option<Duration> {
    if spans.is_empty() {
        return None;
    }
    let total: i64 = spans.iter().map(Duration::num_seconds).sum();
    Some(Duration::seconds(total / i64::try_from(spans.len()).unwrap_or(1)))
}

/// True when `at` falls in `[start, end)`.
pub(super) fn in_period(at: Option<DateTime<Utc>>, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    at.is_some_and(|t| t >= start && t < end)
}
