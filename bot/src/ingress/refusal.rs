//! Refusing a request, for every ingress endpoint: the answer, a metric and — bounded in size and
//! folded per client ([`crate::http::rejections`]) — a warning and a security-log row. A client
//! whose failed unauthenticated requests exceed `http.failed_auth_burst` is answered 429 instead;
//! a verified sender never is.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::AppState;
use crate::http::body::BodyCut;
use crate::http::client::Client;
use crate::store::security_log::{self, clip};

/// The longest header value (a delivery id) quoted in a security-log row or a log line.
pub const MAX_QUOTED_HEADER_CHARS: usize = 64;

/// The longest reason given back to a caller.
const MAX_ANSWER_CHARS: usize = 200;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// The security-log kind.
    pub kind: &'static str,
    /// What the caller is told (never a secret).
    pub detail: String,
}

impl Refusal {
    /// A refusal with `status`, logged as `kind`.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
        }
    }
}

/// Whether the sender proved who it is before it was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// No valid signature (yet): its failures spend the client's budget.
    Unverified,
    /// Signed correctly: never throttled.
    Verified,
}

/// Who was refused.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// `github`, `slack` or `discord`.
    pub source: &'static str,
    /// The client address.
    pub client: Client,
    /// The delivery id the request claimed, if any (quoted, shortened).
    pub delivery: Option<&'a str>,
}

/// Counts, records (bounded, once per client and window) and answers a refused request: its status
/// with `{"error": …}`, or 429 with `Retry-After` once the client's failure budget is spent.
pub async fn refuse(state: &AppState, caller: Caller<'_>, sender: Sender, refusal: Refusal) -> Response {
    let Caller {
        source,
        client,
        delivery,
    } = caller;
    let reason = clip(&refusal.detail, MAX_ANSWER_CHARS);
    let detail = match delivery {
        Some(delivery) => format!(
            "{reason} (delivery {}, from {client})",
            clip(delivery, MAX_QUOTED_HEADER_CHARS)
        ),
        None => format!("{reason} (from {client})"),
    };
    let kind = refusal.kind;
    state.shared.metrics.security_violation(kind);
    let verdict = state
        .rejections
        .note(client, source, kind, &detail, sender == Sender::Unverified);
    if verdict.record {
        tracing::warn!(kind, source, %client, detail = %detail, "request rejected");
        match state.pool.acquire().await {
            Ok(mut conn) => {
                if let Err(err) = security_log::record(&mut conn, state.shared.clock.now(), kind, source, &detail).await
                {
                    tracing::error!(cause = ?err, "cannot write the security log");
                }
            }
            Err(err) => tracing::error!(cause = ?err, "cannot write the security log"),
        }
    } else {
        tracing::debug!(kind, source, %client, "request rejected again");
    }
    if let Some(wait) = verdict.throttled {
        state.shared.metrics.security_violation("rate_limited");
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({ "error": "too many failed requests from this address; retry later" })),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    (refusal.status, Json(json!({ "error": reason }))).into_response()
}

/// Reads the body within `http.max_body_bytes` and `http.body_read_timeout`; a failure is refused
/// (an unverified sender's, since nothing was checked yet) and answered.
pub async fn read_body(state: &AppState, caller: Caller<'_>, body: Body) -> Result<Bytes, Response> {
    let limit = state.shared.config.http.max_body_bytes;
    let err = match axum::body::to_bytes(body, limit).await {
        Ok(body) => return Ok(body),
        Err(err) => err,
    };
    let refusal = match BodyCut::of(&err) {
        Some(cut @ BodyCut::Timeout(_)) => Refusal::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", cut.to_string()),
        Some(BodyCut::ShuttingDown) => {
            let answer = Json(json!({ "error": "Sentinel is shutting down; retry later" }));
            return Err((StatusCode::SERVICE_UNAVAILABLE, answer).into_response());
        }
        None if is_length_limit(&err) => Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("body exceeds {limit} bytes"),
        ),
        None => {
            // The client went away mid-body: nobody is left to answer, nothing to record.
            tracing::debug!(cause = %err, "request body could not be read");
            let answer = Json(json!({ "error": "the body could not be read" }));
            return Err((StatusCode::BAD_REQUEST, answer).into_response());
        }
    };
    Err(refuse(state, caller, Sender::Unverified, refusal).await)
}

fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        next = err.source();
    }
    false
}
