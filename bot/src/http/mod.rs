//! The HTTP server: health, metrics and the ingress routes, with body limits, request counting and
//! graceful shutdown (in-flight requests finish; new connections are refused).
//!
//! - [`server`]: the accept loop and connections, with their timeouts and the connection cap.
//! - [`body`]: request bodies with a deadline.
//! - [`client`]: who sent a request (trusted proxies and their forwarding header).
//! - [`rejections`]: per-client failure budgets (429) and aggregated security-log rows.
//! - [`health`]: `GET /healthz`.

pub mod body;
pub mod client;
pub mod health;
pub mod rejections;
pub mod server;

use std::sync::Arc;

use crate::store::DbPool;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::metrics::{HttpLabels, Metrics};
use crate::pipeline::Shared;
use crate::pipeline::ingest::Ingest;
use crate::pipeline::router::Router as EventRouter;

/// What HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: DbPool,
    /// Clock, config, metrics, routing.
    pub shared: Arc<Shared>,
    /// The inbox writer.
    pub ingest: Ingest,
    /// Which plugins want what.
    pub router: Arc<EventRouter>,
    /// Whose forwarding header names the client.
    pub proxies: Arc<client::TrustedProxies>,
    /// Per-client failure budgets and repeated rejections.
    pub rejections: Arc<rejections::Rejections>,
}

/// The full application: core routes plus `extra` (ingress routes), with limits and metrics.
pub fn app(state: AppState, extra: Router<AppState>) -> Router {
    let limit = state.shared.config.http.max_body_bytes;
    let metrics = state.shared.metrics.clone();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics_text))
        .merge(extra)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(metrics, count_requests))
        .with_state(state)
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    health::refresh_gauges(&state).await;
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.shared.metrics.encode(),
    )
        .into_response()
}

async fn count_requests(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// Extra routes merged into the server (the ingress endpoints).
pub type Routes = Router<AppState>;
