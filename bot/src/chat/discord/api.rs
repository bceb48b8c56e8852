//! Discord's REST API: serenity's routes, builders and request type, executed here with
//! Discord's rate limits honoured as the outbox expects.
//!
//! Why not `serenity::http::Http` itself: in serenity 0.12 its rate limiter ignores the configured
//! base URL (`HttpBuilder::proxy`), and with the limiter off an error response loses both the
//! `Retry-After` header and the body's `retry_after` (serenity cannot decode a 429 body, which has
//! no `code`). So each request is built by serenity (`Request::build`, which applies the base URL
//! and the `Bot` token) and sent here, where the rate-limit headers are read:
//! - after any response, a bucket with `X-RateLimit-Remaining: 0` is closed for
//!   `X-RateLimit-Reset-After`; a request to a closed bucket is not sent but answered at once with
//!   [`ApiError::RateLimited`], so the message waits in the outbox instead of hitting a 429;
//! - a 429 closes the bucket (or, with `X-RateLimit-Global`, everything) for its `retry_after`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serenity::http::{LightMethod, Request, Route};

use crate::clock::SharedClock;
use crate::config::Secret;

/// Discord's default API base URL, which serenity's routes start with.
pub const DISCORD_URL: &str = "https://discord.com";

/// A Discord API call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Rate-limited: try again after `after`.
    #[error("Discord rate limit: retry in {after:?}")]
    RateLimited {
        /// How long to wait.
        after: Duration,
    },
    /// An interaction follow-up that overtook the interaction's answer (10015 while the
    /// interaction is young): try again after `after`. Nothing was posted.
    #[error("the interaction's answer has not reached Discord yet: retry in {after:?}")]
    NotAnsweredYet {
        /// How long to wait.
        after: Duration,
    },
    /// Discord answered with an error status.
    #[error("Discord answered HTTP {status}: {message} (code {code})")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Discord's JSON error code (0 when there was none).
        code: i64,
        /// Discord's message.
        message: String,
    },
    /// No answer: connection refused, reset, timed out.
    #[error("Discord could not be reached: {0}")]
    Network(String),
    /// The answer could not be read, or the request could not be built.
    #[error("{0}")]
    Invalid(String),
}

/// Closed rate-limit buckets, keyed by serenity's bucket of the route.
#[derive(Default)]
struct Limits {
    global_until: Option<DateTime<Utc>>,
    buckets: HashMap<String, DateTime<Utc>>,
}

/// An authenticated Discord REST client.
pub struct DiscordApi {
    client: reqwest::Client,
    token: Secret,
    base: String,
    clock: SharedClock,
    limits: Mutex<Limits>,
}

impl DiscordApi {
    /// A client for `base` (normally [`DISCORD_URL`]) with `token`, each request limited to `timeout`.
    pub fn new(token: &Secret, base: &str, timeout: Duration, clock: SharedClock) -> Result<Self, ApiError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .build()
            .map_err(|err| ApiError::Invalid(format!("cannot build the HTTP client: {err}")))?;
        let raw = token.expose().trim();
        let token = if raw.starts_with("Bot ") || raw.starts_with("Bearer ") {
            raw.to_owned()
        } else {
            format!("Bot {raw}")
        };
        Ok(Self {
            client,
            token: Secret::new(token),
            base: base.trim_end_matches('/').to_owned(),
            clock,
            limits: Mutex::new(Limits::default()),
        })
    }

    /// Sends `body` (serialized) to `route` and decodes the JSON answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: Option<&impl serde::Serialize>,
    ) -> Result<T, ApiError> {
        let text = self.send(route, method, body).await?;
        serde_json::from_str(&text).map_err(|err| ApiError::Invalid(format!("unreadable answer from Discord: {err}")))
    }

    /// Sends a request whose answer carries nothing we need.
    pub async fn send(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: Option<&impl serde::Serialize>,
    ) -> Result<String, ApiError> {
        let bucket = format!("{:?}", route.ratelimiting_bucket());
        self.check_open(&bucket)?;
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|err| ApiError::Invalid(format!("cannot encode the request: {err}")))?;
        let request = Request::new(route, method)
            .body(body)
            .build(&self.client, self.token.expose(), Some(&self.base))
            .map_err(|err| ApiError::Invalid(format!("cannot build the request: {err}")))?;
        // reqwest's errors name the URL (which for interaction follow-ups holds the interaction
        // token, valid 15 minutes) but never headers; keep only the kind of failure.
        let response = request
            .send()
            .await
            .map_err(|err| ApiError::Network(network_error(&err)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|err| ApiError::Network(network_error(&err)))?;
        self.note_limits(&bucket, status, &headers, &text);
        if (200..300).contains(&status) {
            return Ok(text);
        }
        if status == 429 {
            return Err(ApiError::RateLimited {
                after: retry_after(&headers, &text),
            });
        }
        let error: DiscordError = serde_json::from_str(&text).unwrap_or_default();
        Err(ApiError::Status {
            status,
            code: error.code,
            message: if error.message.is_empty() {
                "no message".into()
            } else {
                error.message
            },
        })
    }

    fn check_open(&self, bucket: &str) -> Result<(), ApiError> {
        let now = self.clock.now();
        let limits = self
            .limits
            .lock()
            .map_err(|_| ApiError::Invalid("rate-limit state poisoned".into()))?;
        let until = [limits.global_until, limits.buckets.get(bucket).copied()]
            .into_iter()
            .flatten()
            .filter(|until| *until > now)
            .max();
        match until {
            Some(until) => Err(ApiError::RateLimited {
                after: (until - now).to_std().unwrap_or_default(),
            }),
            None => Ok(()),
        }
    }

    fn note_limits(&self, bucket: &str, status: u16, headers: &HeaderMap, body: &str) {
        let now = self.clock.now();
        let Ok(mut limits) = self.limits.lock() else { return };
        let closed_for = if status == 429 {
            Some(retry_after(headers, body))
        } else if header_f64(headers, "x-ratelimit-remaining") == Some(0.0) {
            header_f64(headers, "x-ratelimit-reset-after").map(Duration::from_secs_f64)
        } else {
            None
        };
        let Some(closed_for) = closed_for else {
            limits.buckets.remove(bucket);
            return;
        };
        let until = now + chrono::Duration::from_std(closed_for).unwrap_or_default();
        let global = headers.contains_key("x-ratelimit-global")
            || serde_json::from_str::<RateLimitBody>(body).is_ok_and(|b| b.global);
        if status == 429 && global {
            limits.global_until = Some(until);
        } else {
            limits.buckets.insert(bucket.to_owned(), until);
        }
    }
}

fn network_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

/// The wait a 429 asks for: the body's `retry_after` (fractional seconds), else `Retry-After`,
/// else one second.
fn retry_after(headers: &HeaderMap, body: &str) -> Duration {
    serde_json::from_str::<RateLimitBody>(body)
        .ok()
        .and_then(|b| b.retry_after)
        .filter(|v| v.is_finite() && *v >= 0.0)
        .or_else(|| header_f64(headers, "retry-after"))
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(1))
}

#[derive(serde::Deserialize, Default)]
struct DiscordError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(serde::Deserialize)]
struct RateLimitBody {
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_prefers_the_precise_body_value() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().expect("header"));
        assert_eq!(
            retry_after(
                &headers,
                r#"{"message":"You are being rate limited.","retry_after":2.5,"global":false}"#
            ),
            Duration::from_millis(2500)
        );
        assert_eq!(retry_after(&headers, "not json"), Duration::from_secs(3));
        assert_eq!(retry_after(&HeaderMap::new(), ""), Duration::from_secs(1));
    }
}
