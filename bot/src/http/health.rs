//! `GET /healthz`: is the database reachable, what is configured, how deep are the queues. Never a secret.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use crate::cluster::ClusterView;
use crate::store::{inbox, outbox, timers};
use crate::supervisor::TaskStatus;

/// The health report.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, `degraded` (dead events, failed messages, or a background task down and waiting to be
    /// restarted) or `down` (database unreachable).
    pub status: &'static str,
    /// Whether a query succeeded.
    pub database: bool,
    /// The database engine: `sqlite` or `postgres` (never the URL, which may hold a password).
    pub engine: &'static str,
    /// This instance's name (`cluster.instance`).
    pub instance: String,
    /// The instances sharing the database, and the singleton jobs this one leads (none when the
    /// database is unreachable).
    pub cluster: Option<ClusterView>,
    /// Which integrations are configured.
    pub integrations: Integrations,
    /// Events waiting to be handled.
    pub inbox_pending: i64,
    /// Event handlings parked as dead.
    pub dead_events: i64,
    /// Messages waiting for delivery.
    pub outbox_pending: i64,
    /// Messages given up on.
    pub outbox_failed: i64,
    /// Pending timers.
    pub timers_pending: i64,
    /// When the next timer is due.
    pub next_timer: Option<chrono::DateTime<chrono::Utc>>,
    /// The background tasks: running or not, restarts, why the last one stopped.
    pub tasks: std::collections::BTreeMap<String, TaskStatus>,
}

/// Configured integrations (booleans only).
#[derive(Debug, Serialize)]
pub struct Integrations {
    /// The console adapter runs.
    pub console: bool,
    /// The generic webhook adapter runs.
    pub webhook: bool,
    /// Slack is configured.
    pub slack: bool,
    /// Discord is configured.
    pub discord: bool,
    /// GitHub webhooks are verified with a configured secret.
    pub github_webhooks: bool,
    /// A GitHub API token is configured.
    pub github_api: bool,
}

/// Reads the health report from the database.
pub async fn report(state: &AppState) -> Health {
    let config = &state.shared.config;
    let integrations = Integrations {
        console: config.console_enabled(),
        webhook: config.chat.webhook.is_some(),
        slack: config.slack_enabled(),
        discord: config.discord_enabled(),
        github_webhooks: config.github.webhook_secret.is_some(),
        github_api: config.github.token.as_ref().is_some_and(|t| !t.is_empty()),
    };
    let engine = crate::store::Engine::of_url(&config.database.url).name();
    let tasks = state.shared.tasks.snapshot();
    let tasks_down = tasks.values().any(|task| !task.running);
    let read = async {
        let mut conn = state.pool.acquire().await?;
        let inbox = inbox::counts(&mut conn).await?;
        let outbox = outbox::counts(&mut conn).await?;
        let timers_pending = timers::count(&mut conn).await?;
        let next_timer = timers::earliest(&mut conn).await?;
        let cluster = crate::cluster::view(&mut conn, &state.shared).await?;
        Ok::<_, sqlx::Error>((inbox, outbox, timers_pending, next_timer, cluster))
    };
    let instance = state.shared.instance.clone();
    match read.await {
        Ok((inbox, outbox, timers_pending, next_timer, cluster)) => Health {
            status: if inbox.dead > 0 || outbox.failed > 0 || tasks_down {
                "degraded"
            } else {
                "ok"
            },
            database: true,
            engine,
            instance,
            cluster: Some(cluster),
            integrations,
            inbox_pending: inbox.pending,
            dead_events: inbox.dead,
            outbox_pending: outbox.pending,
            outbox_failed: outbox.failed,
            timers_pending,
            next_timer,
            tasks,
        },
        Err(err) => {
            tracing::error!(cause = ?err, "health check cannot read the database");
            Health {
                status: "down",
                database: false,
                engine,
                instance,
                cluster: None,
                integrations,
                inbox_pending: 0,
                dead_events: 0,
                outbox_pending: 0,
                outbox_failed: 0,
                timers_pending: 0,
                next_timer: None,
                tasks,
            }
        }
    }
}

/// `GET /healthz`: 200 unless the database is unreachable (503).
pub async fn healthz(State(state): State<AppState>) -> Response {
    let health = report(&state).await;
    let code = if health.database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health)).into_response()
}

/// Sets the gauges from the database before a scrape.
pub async fn refresh_gauges(state: &AppState) {
    let health = report(state).await;
    let metrics = &state.shared.metrics;
    metrics.inbox_pending.set(health.inbox_pending);
    metrics.dead_events.set(health.dead_events);
    metrics.outbox_pending.set(health.outbox_pending);
    metrics.outbox_failed.set(health.outbox_failed);
    metrics.timers_pending.set(health.timers_pending);
    if let Some(cluster) = &health.cluster {
        metrics.set_cluster(&health.instance, cluster);
    }
}
