//! `/web/reports/{period}` — the security report of a month (`2026-03`) or quarter (`2026-Q1`) as
//! a printable page: key numbers over the last periods, charts (open alerts by severity, MTTD /
//! MTTA / MTTR trends, SLA compliance per severity) and the report as posted in chat. The numbers
//! come from the audit scheduler's report computation ([`audit_scheduler::view::numbers`]).

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::response::{IntoResponse, Response};
use sentinel_bot::http::AppState;
use sentinel_plugins::audit_scheduler::view::{self as audit, Period, PeriodNumbers};
use sentinel_plugins::incident_commander::view::READ_ROLE;

use super::{Nav, PageError, html};
use crate::Web;
use crate::access::Session;
use crate::charts::{self, Series, severity_color};
use crate::format::{span, time};

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// One period's row of the key numbers.
pub struct TrendRow {
    label: String,
    open: i64,
    mttd: String,
    mtta: String,
    mttr: String,
    breaches: usize,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    nav: Nav,
    period: String,
    label: String,
    previous: String,
    /// The next period, once it has begun (no link into the future).
    next: Option<String>,
    other: String,
    other_label: &'static str,
    as_of: String,
    trend: Vec<TrendRow>,
    sla: Vec<(String, usize, usize, String)>,
    posted: Option<String>,
    issue: Option<String>,
}

/// `GET /web/reports`: the current month's report.
pub async fn current(
    _session: Session,
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
) -> Response {
    let period = Period::month_of(state.shared.clock.now(), web.tz);
    (StatusCode::SEE_OTHER, [(LOCATION, format!("/web/reports/{period}"))]).into_response()
}

/// The periods a trend shows: the last six months, or the last four quarters, ending with `period`.
fn trend_of(period: Period) -> Vec<Period> {
    let count = match period {
        Period::Month(..) => 6,
        Period::Quarter(..) => 4,
    };
    let mut periods = vec![period];
    for _ in 1..count {
        let earlier = periods[0].previous();
        periods.insert(0, earlier);
    }
    periods
}

async fn numbers(state: &AppState, web: &Web, period: Period) -> Result<Vec<PeriodNumbers>, PageError> {
    let now = state.shared.clock.now();
    let mut conn = state.pool.acquire().await?;
    let mut out = Vec::new();
    for p in trend_of(period) {
        out.push(audit::numbers(&mut conn, p, web.tz, now).await?);
    }
    Ok(out)
}

fn parse(period: &str) -> Result<Period, PageError> {
    period.parse::<Period>().map_err(|_| PageError::NotFound)
}

fn words(d: Option<chrono::Duration>) -> String {
    d.map(span).unwrap_or_else(|| "—".to_owned())
}

/// `(severity, incidents, within SLA, percent)` rows of one period.
fn sla_rows(numbers: &PeriodNumbers) -> Vec<(String, usize, usize, Option<f64>)> {
    SEVERITIES
        .iter()
        .map(|severity| {
            let (total, met) = numbers.sla.get(*severity).copied().unwrap_or((0, 0));
            let percent = (total > 0).then(|| met as f64 * 100.0 / total as f64);
            ((*severity).to_owned(), total, met, percent)
        })
        .collect()
}

/// `GET /web/reports/{period}`.
pub async fn page(
    session: Session,
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    Path(period): Path<String>,
) -> Result<Response, PageError> {
    session.require(READ_ROLE)?;
    let period = parse(&period)?;
    let now = state.shared.clock.now();
    let trend = numbers(&state, &web, period).await?;
    let posted = {
        let mut conn = state.pool.acquire().await?;
        audit::posted_report(&mut conn, period).await?
    };
    let this = trend.last().ok_or_else(|| PageError::Internal("empty trend".into()))?;
    let (other, other_label) = match period {
        Period::Month(..) => (Period::quarter_of(period.start(web.tz), web.tz), "This quarter"),
        Period::Quarter(..) => (
            Period::month_of(now.min(period.end(web.tz) - chrono::Duration::days(1)), web.tz),
            "A month",
        ),
    };
    let as_of = if period.is_complete(now, web.tz) {
        "The whole period.".to_owned()
    } else {
        format!("Period to date, as of {}.", time(now))
    };
    html(&Page {
        nav: Nav::new(&session, "report", now),
        period: period.to_string(),
        label: period.label(),
        previous: period.previous().to_string(),
        next: (period.next().start(web.tz) <= now).then(|| period.next().to_string()),
        other: other.to_string(),
        other_label,
        as_of,
        trend: trend
            .iter()
            .map(|n| TrendRow {
                label: n.period.label(),
                open: n.open_by_severity.values().sum(),
                mttd: words(n.mttd),
                mtta: words(n.mtta),
                mttr: words(n.mttr),
                breaches: n.breaches,
            })
            .collect(),
        sla: sla_rows(this)
            .into_iter()
            .map(|(s, total, met, percent)| {
                let percent = percent.map(|p| format!("{p:.0}%")).unwrap_or_else(|| "—".to_owned());
                (s, total, met, percent)
            })
            .collect(),
        posted: posted.as_ref().map(|(markdown, _)| markdown.clone()),
        issue: posted
            .and_then(|(_, issue)| issue)
            .filter(|url| url.starts_with("https://")),
    })
}

fn hours(d: Option<chrono::Duration>) -> f64 {
    d.map(|d| d.num_seconds() as f64 / 3600.0).unwrap_or(0.0)
}

/// `GET /web/reports/{period}/{open.svg|times.svg|sla.svg}`: one chart.
pub async fn chart(
    session: Session,
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    Path((period, chart)): Path<(String, String)>,
) -> Result<Response, PageError> {
    session.require(READ_ROLE)?;
    let period = parse(&period)?;
    let trend = numbers(&state, &web, period).await?;
    let labels: Vec<String> = trend.iter().map(|n| n.period.to_string()).collect();
    let svg = match chart.as_str() {
        "open.svg" => {
            let series: Vec<Series> = SEVERITIES
                .iter()
                .map(|severity| Series {
                    name: (*severity).to_owned(),
                    color: severity_color(severity),
                    values: trend
                        .iter()
                        .map(|n| n.open_by_severity.get(*severity).copied().unwrap_or(0) as f64)
                        .collect(),
                })
                .collect();
            charts::lines("Open alerts by severity", &labels, &series, "open alerts")
        }
        "times.svg" => {
            let series = vec![
                Series {
                    name: "MTTD".into(),
                    color: plotters::style::RGBColor(31, 95, 191),
                    values: trend.iter().map(|n| hours(n.mttd)).collect(),
                },
                Series {
                    name: "MTTA".into(),
                    color: plotters::style::RGBColor(217, 72, 15),
                    values: trend.iter().map(|n| hours(n.mtta)).collect(),
                },
                Series {
                    name: "MTTR".into(),
                    color: plotters::style::RGBColor(47, 111, 62),
                    values: trend.iter().map(|n| hours(n.mttr)).collect(),
                },
            ];
            charts::lines("Mean times to detect, acknowledge, resolve", &labels, &series, "hours")
        }
        "sla.svg" => {
            let this = trend.last().ok_or_else(|| PageError::Internal("empty trend".into()))?;
            let bars: Vec<_> = sla_rows(this)
                .into_iter()
                .map(|(severity, _, _, percent)| {
                    let color = severity_color(&severity);
                    (severity, percent, color)
                })
                .collect();
            charts::percent_bars(&format!("SLA compliance, {}", period.label()), &bars)
        }
        _ => return Err(PageError::NotFound),
    }
    .map_err(PageError::Internal)?;
    Ok(([(CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
