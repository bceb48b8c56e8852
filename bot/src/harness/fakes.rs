//! Fake platform APIs on 127.0.0.1 for the tests of every crate and the bench (feature `fakes`):
//! they record what they receive and answer as the real platforms document.
//!
//! - [`github`]: the GitHub REST API; [`github_alerts`]: its security-alert listings (pull mode);
//!   [`github_hooks`]: a webhook's deliveries and redelivery (reconciliation).
//! - [`slack`]: the Slack Web API and `response_url`s; [`slack_socket`]: Slack's Socket Mode.
//! - [`discord`]: the Discord REST API and interaction follow-ups.
//! - [`limits`]: what Slack and Discord refuse, written from their documentation.
//!
//! The Slack and Discord fakes share what this module defines: every request is kept as a
//! [`Call`] (with the answer it got), a script of failures answers before anything else
//! ([`Recorder::fail_next`]), and `refuse_over` makes a fake stricter than documented.

pub mod discord;
pub mod github;
pub mod github_alerts;
pub mod github_hooks;
pub mod limits;
pub mod slack;
pub mod slack_socket;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One scripted or computed answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// An answer with `status` and `body`.
    pub fn new(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// `200` with `body`.
    pub fn ok(body: Value) -> Self {
        Self::new(200, body)
    }

    /// An error as GitHub and Discord word it: `status` with `{"message": message}`.
    pub fn error(status: u16, message: &str) -> Self {
        Self::new(status, json!({ "message": message }))
    }

    /// Sets the response header `name: value` (replacing an earlier value).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub(crate) fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.body)).into_response();
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

/// One request a Slack or Discord fake received, and how it answered.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The JSON body; for a form or a `GET`, its parameters as a JSON object of strings.
    pub body: Value,
    /// The `Authorization` header.
    pub auth: Option<String>,
    /// The error the fake refused the request with (a platform limit, `refuse_over`, a missing
    /// token), `None` when it was not refused (a scripted failure is not a refusal).
    pub refused: Option<String>,
    /// The status it answered with.
    pub status: u16,
    /// The body it answered with.
    pub answer: Value,
    /// When it arrived, since the fake started.
    pub at: Duration,
}

/// What a Slack or Discord fake keeps; clones share it.
#[derive(Clone)]
pub struct Recorder {
    started: Instant,
    calls: Arc<Mutex<Vec<Call>>>,
    failures: Arc<Mutex<VecDeque<(String, Reply)>>>,
    refuse_over: Arc<AtomicUsize>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            calls: Arc::default(),
            failures: Arc::default(),
            refuse_over: Arc::default(),
        }
    }
}

impl Recorder {
    /// When the fake started (the zero of [`Call::at`]).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Every request so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.calls).clone()
    }

    /// The requests whose path ends with `suffix`.
    pub fn calls_to(&self, suffix: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.path.ends_with(suffix)).collect()
    }

    /// The `method` requests whose path ends with `suffix`.
    pub fn calls_of(&self, method: &str, suffix: &str) -> Vec<Call> {
        self.calls_to(suffix)
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// The next request whose path ends with `path` is answered with `reply` (failures are
    /// taken in order: one scripted for another path waits until that path is asked for).
    pub fn fail_next(&self, path: &str, reply: Reply) {
        lock(&self.failures).push_back((path.to_owned(), reply));
    }

    /// From now on, refuse message bodies with more than `units` of text in all (0: no extra
    /// limit), as a platform stricter than its documentation would.
    pub fn refuse_over(&self, units: usize) {
        self.refuse_over.store(units, Ordering::SeqCst);
    }

    /// The scripted failure for `path`, if it is next.
    fn scripted(&self, path: &str) -> Option<Reply> {
        let mut failures = lock(&self.failures);
        match failures.front() {
            Some((p, _)) if path.ends_with(p.as_str()) => failures.pop_front().map(|(_, reply)| reply),
            _ => None,
        }
    }

    /// Whether `body` is over the limit set with [`Recorder::refuse_over`].
    fn too_big(&self, body: &Value) -> bool {
        let limit = self.refuse_over.load(Ordering::SeqCst);
        limit > 0 && limits::text_units(body) > limit
    }

    /// Answers `call` with the scripted failure for its path if there is one, else with what
    /// `respond` says (`Err`: a refusal, with the reason recorded), and records it.
    fn take(&self, mut call: Call, respond: impl FnOnce(&Call) -> Result<Reply, (Reply, String)>) -> Response {
        let reply = match self.scripted(&call.path) {
            Some(reply) => reply,
            None => respond(&call).unwrap_or_else(|(reply, why)| {
                call.refused = Some(why);
                reply
            }),
        };
        self.answer(call, reply)
    }

    /// Records the request `call` (its answer filled in from `reply`) and answers it.
    fn answer(&self, mut call: Call, reply: Reply) -> Response {
        call.status = reply.status;
        call.answer = reply.body.clone();
        call.at = self.started.elapsed();
        lock(&self.calls).push(call);
        reply.into_response()
    }
}

/// A request as received, its answer still to come.
fn received(method: &Method, path: &str, headers: &HeaderMap, body: Value) -> Call {
    Call {
        method: method.to_string(),
        path: path.to_owned(),
        body,
        auth: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        refused: None,
        status: 0,
        answer: Value::Null,
        at: Duration::ZERO,
    }
}

/// Locks `mutex`; a test that panicked while holding it leaves plain data behind.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves `app` on a free loopback port until the runtime stops; returns `http://127.0.0.1:<port>`.
async fn serve(app: axum::Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// Starts the fake `make` builds from its own base URL on a free loopback port, with `handler`
/// answering every path, until the runtime stops.
async fn start_fake<S, H, T>(make: impl FnOnce(String) -> S, handler: H) -> std::io::Result<S>
where
    S: Clone + Send + Sync + 'static,
    H: axum::handler::Handler<T, S>,
    T: 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let fake = make(format!("http://{}", listener.local_addr()?));
    let app = axum::Router::new().fallback(handler).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(fake)
}

/// Forwards the [`Recorder`]'s methods, so a test writes `fake.calls_to(…)`.
macro_rules! recorded {
    ($fake:ident) => {
        impl $fake {
            /// When the fake started (the zero of [`Call::at`](super::Call::at)).
            pub fn started(&self) -> std::time::Instant {
                self.recorder.started()
            }

            /// Every request so far, in order.
            pub fn calls(&self) -> Vec<super::Call> {
                self.recorder.calls()
            }

            /// The requests whose path ends with `suffix`.
            pub fn calls_to(&self, suffix: &str) -> Vec<super::Call> {
                self.recorder.calls_to(suffix)
            }

            /// The `method` requests whose path ends with `suffix`.
            pub fn calls_of(&self, method: &str, suffix: &str) -> Vec<super::Call> {
                self.recorder.calls_of(method, suffix)
            }

            /// The next request whose path ends with `path` is answered with `reply`.
            pub fn fail_next(&self, path: &str, reply: super::Reply) {
                self.recorder.fail_next(path, reply);
            }

            /// From now on, refuse message bodies with more than `units` of text in all.
            pub fn refuse_over(&self, units: usize) {
                self.recorder.refuse_over(units);
            }

            /// The message bodies it accepted (posts, edits, replies), in order.
            pub fn accepted_messages(&self) -> Vec<super::Call> {
                self.calls()
                    .into_iter()
                    .filter(|c| {
                        c.refused.is_none()
                            && c.status == 200
                            && c.answer.get("ok") != Some(&serde_json::Value::Bool(false))
                            && carries_message(&c.method, &c.path)
                    })
                    .collect()
            }
        }
    };
}
use recorded;
