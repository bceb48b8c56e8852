//! The GitHub REST client and one HTTP exchange with GitHub, read into plain values.
//!
//! A plain reqwest client (GitHub's REST API needs nothing more than JSON over HTTPS with three
//! headers): it never retries, since the worker retries durably, on the [`crate::Clock`], so a
//! retry survives a restart and tests can drive it. The token goes only into the `Authorization`
//! header (marked sensitive), is sent to `api_url`'s host alone ([`GitHubClient::next_target`]
//! refuses other hosts) and is dropped by reqwest on a redirect to another host. Errors are
//! described without URLs or headers.

use std::time::Duration;

use axum::http::{self, HeaderMap, HeaderName, HeaderValue, Uri};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::link;
use super::request::Method;
use crate::chat::webhook::describe;
use crate::config::{GitHubConfig, Secret};
use crate::pipeline::Shutdown;

/// The largest response page read (GitHub's pages are far smaller).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// The REST API version asked for (`X-GitHub-Api-Version`).
const API_VERSION: &str = "2022-11-28";

/// A client for one API base URL and token.
pub struct GitHubClient {
    http: reqwest::Client,
    base: Uri,
    timeout: Duration,
}

/// What GitHub answered, with the headers Sentinel cares about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset`.
    pub reset: Option<DateTime<Utc>>,
    /// `retry-after`, in seconds (secondary rate limits).
    pub retry_after: Option<u64>,
    /// `github-authentication-token-expiration`.
    pub token_expiration: Option<DateTime<Utc>>,
    /// `x-oauth-scopes`.
    pub oauth_scopes: Option<String>,
    /// The `Link: rel="next"` target.
    pub next: Option<String>,
    /// `etag`, for a later conditional request (`If-None-Match`).
    pub etag: Option<String>,
    /// The body: JSON as parsed, other text as a JSON string, nothing when empty.
    pub body: Option<Value>,
}

impl Answer {
    /// GitHub's `message` from an error body, when it has one.
    pub fn message(&self) -> Option<&str> {
        self.body.as_ref()?.get("message")?.as_str()
    }

    /// `403 Forbidden` and the like.
    pub fn status_text(&self) -> String {
        let reason = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        format!("{} {reason}", self.status).trim_end().to_owned()
    }
}

impl GitHubClient {
    /// The client of a task that only calls GitHub (`task` = `github.pull`, `github.reconcile`): when
    /// `github.token` is missing or unusable, the cause is logged once and the task waits for
    /// shutdown instead of ending (a restart would not bring a token), returning `None`.
    pub(crate) async fn for_task(settings: &GitHubConfig, task: &str, shutdown: &mut Shutdown) -> Option<Self> {
        let client = match settings.token.as_ref().filter(|t| !t.is_empty()) {
            None => Err(format!("{task} needs github.token")),
            Some(token) => Self::new(&settings.api_url, token, settings.request_timeout.std()),
        };
        match client {
            Ok(client) => Some(client),
            Err(cause) => {
                tracing::error!(%cause, task, "cannot call GitHub");
                shutdown.wait().await;
                None
            }
        }
    }

    /// A client for `api_url` authenticating with `token`; each exchange may take `timeout`.
    pub fn new(api_url: &str, token: &Secret, timeout: Duration) -> Result<Self, String> {
        let base: Uri = api_url
            .parse()
            .map_err(|_| format!("github.api_url `{api_url}` is not a URL"))?;
        if !matches!(base.scheme_str(), Some("http" | "https")) || base.authority().is_none() {
            return Err(format!("github.api_url `{api_url}` is not an http(s) URL"));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| "github.token has characters a header cannot carry".to_owned())?;
        authorization.set_sensitive(true);
        let headers = HeaderMap::from_iter([
            (http::header::AUTHORIZATION, authorization),
            (
                http::header::ACCEPT,
                HeaderValue::from_static("application/vnd.github+json"),
            ),
            (
                HeaderName::from_static("x-github-api-version"),
                HeaderValue::from_static(API_VERSION),
            ),
        ]);
        let http = reqwest::Client::builder()
            .user_agent(concat!("sentinel/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|err| format!("cannot build the GitHub client: {}", describe(err)))?;
        Ok(Self { http, base, timeout })
    }

    /// Performs one request of `method` to `target` (a path below the base URL, or a `Link` URL
    /// that [`GitHubClient::next_target`] accepted). `Err` is a failure with no HTTP answer:
    /// network, TLS, timeout, or a body that could not be read.
    pub async fn send(&self, method: Method, target: &str, body: Option<&Value>) -> Result<Answer, String> {
        self.send_if_changed(method, target, body, None).await
    }

    /// Like [`GitHubClient::send`], cut off after `bound` (on top of `github.request_timeout`):
    /// `Err("no answer within {bound} ({why})")` then.
    pub async fn send_within(
        &self,
        bound: std::time::Duration,
        why: &str,
        method: Method,
        target: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        tokio::time::timeout(bound, self.send(method, target, body))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {bound:?} ({why})")))
    }

    /// Like [`GitHubClient::send`], with `If-None-Match: <etag>` when `etag` is given: GitHub then
    /// answers `304 Not Modified` when nothing changed, which does not count against the rate limit.
    pub async fn send_if_changed(
        &self,
        method: Method,
        target: &str,
        body: Option<&Value>,
        etag: Option<&str>,
    ) -> Result<Answer, String> {
        let url = self.url(target);
        let exchange = async {
            let request = match method {
                Method::Get => self.http.get(url),
                Method::Post => self.http.post(url),
                Method::Patch => self.http.patch(url),
            };
            let request = match body {
                Some(body) if method != Method::Get => request.json(body),
                _ => request,
            };
            let request = match etag {
                Some(etag) => request.header(http::header::IF_NONE_MATCH, etag),
                None => request,
            };
            let mut response = request.send().await.map_err(describe)?;
            let status = response.status().as_u16();
            let headers = std::mem::take(response.headers_mut());
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|err| format!("reading the answer failed: {}", describe(err)))?
            {
                if bytes.len() + chunk.len() > MAX_BODY {
                    return Err(format!("reading the answer failed: longer than {MAX_BODY} bytes"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok::<_, String>(read_answer(status, &headers, &bytes))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {}", humantime::format_duration(self.timeout))),
        }
    }

    /// The URL for `target`: a path is joined to the base URL (keeping its path, as for GitHub
    /// Enterprise's `/api/v3`, unless the path already starts with it, as `Link` paths do); an
    /// absolute URL, which [`GitHubClient::next_target`] has checked, is used as it is.
    fn url(&self, target: &str) -> String {
        if !target.starts_with('/') {
            return target.to_owned();
        }
        let scheme = self.base.scheme_str().unwrap_or("https");
        let authority = self.base.authority().map_or("", |a| a.as_str());
        let base_path = self.base.path().trim_end_matches('/');
        if target.starts_with(base_path) {
            format!("{scheme}://{authority}{target}")
        } else {
            format!("{scheme}://{authority}{base_path}{target}")
        }
    }

    /// The target to request for a `Link: rel="next"` URL: accepted only when it stays on the API's
    /// scheme and host (the token is never sent anywhere else, and a listing never wanders off).
    pub fn next_target(&self, link: &str) -> Result<String, String> {
        let uri: Uri = link
            .parse()
            .map_err(|_| format!("the next-page link `{link}` is not a URL"))?;
        match uri.authority() {
            None if link.starts_with('/') && !link.starts_with("//") => Ok(link.to_owned()),
            None => Err(format!("the next-page link `{link}` is not absolute")),
            Some(authority) => {
                if uri.scheme() == self.base.scheme() && Some(authority) == self.base.authority() {
                    Ok(link.to_owned())
                } else {
                    Err(format!(
                        "the next-page link `{link}` leaves github.api_url; not followed"
                    ))
                }
            }
        }
    }
}

/// Checks a plugin's path: relative to the API base URL, and a valid URL path.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(format!(
            "the path `{path}` must start with a single `/` (it is relative to github.api_url)"
        ));
    }
    path.parse::<Uri>()
        .map(|_| ())
        .map_err(|_| format!("the path `{path}` is not a valid URL path (encode spaces and special characters)"))
}

fn read_answer(status: u16, headers: &HeaderMap, bytes: &[u8]) -> Answer {
    let text = |name: &str| {
        headers
            .get(HeaderName::from_bytes(name.as_bytes()).ok()?)?
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let number = |name: &str| text(name)?.parse::<u64>().ok();
    let links = headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok());
    Answer {
        status,
        remaining: number("x-ratelimit-remaining"),
        reset: number("x-ratelimit-reset")
            .and_then(|secs| i64::try_from(secs).ok())
            .and_then(|secs| Utc.timestamp_opt(secs, 0).single()),
        retry_after: number("retry-after"),
        token_expiration: text("github-authentication-token-expiration").and_then(|t| parse_expiration(&t)),
        oauth_scopes: headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned()),
        next: link::next_link(links),
        etag: text("etag"),
        body: read_body(bytes),
    }
}

fn read_body(bytes: &[u8]) -> Option<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())))
}

/// GitHub writes `2026-06-08 14:20:16 UTC` (sometimes with a numeric offset); RFC 3339 is accepted too.
fn parse_expiration(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Some(naive) = text.strip_suffix(" UTC")
        && let Ok(at) = NaiveDateTime::parse_from_str(naive.trim(), "%Y-%m-%d %H:%M:%S")
    {
        return Some(at.and_utc());
    }
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z")
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_rate_limit_expiration_scopes_and_odd_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", "42".parse().expect("header"));
        headers.insert("x-ratelimit-reset", "1772442060".parse().expect("header"));
        headers.insert(
            "github-authentication-token-expiration",
            "2026-06-08 14:20:16 UTC".parse().expect("header"),
        );
        headers.insert("x-oauth-scopes", "repo, read:org".parse().expect("header"));
        let answer = read_answer(200, &headers, b"not json");
        assert_eq!(answer.remaining, Some(42));
        assert_eq!(
            answer.reset.map(|r| r.to_rfc3339()).as_deref(),
            Some("2026-03-02T09:01:00+00:00")
        );
        assert_eq!(
            answer.token_expiration.map(|r| r.to_rfc3339()).as_deref(),
            Some("2026-06-08T14:20:16+00:00")
        );
        assert_eq!(answer.oauth_scopes.as_deref(), Some("repo, read:org"));
        assert_eq!(answer.body, Some(Value::String("not json".into())));
        assert_eq!(read_answer(204, &HeaderMap::new(), b"").body, None);
        assert_eq!(
            read_answer(200, &HeaderMap::new(), b"\xff\xfe").body,
            Some(Value::String("\u{fffd}\u{fffd}".into()))
        );
        assert_eq!(
            parse_expiration("2026-06-08 14:20:16 +0200")
                .map(|r| r.to_rfc3339())
                .as_deref(),
            Some("2026-06-08T12:20:16+00:00")
        );
        assert_eq!(parse_expiration("soon"), None);
    }

    #[test]
    fn paths_must_be_relative_and_valid() {
        assert!(check_path("/repos/acme/app/dependabot/alerts?state=open&per_page=100").is_ok());
        assert!(check_path("repos/acme/app").is_err());
        assert!(check_path("https://evil.example/x").is_err());
        assert!(check_path("//evil.example/x").is_err());
        assert!(check_path("/repos/acme app").is_err());
    }

    #[tokio::test]
    async fn next_links_must_stay_on_the_api_host() {
        let client = GitHubClient::new(
            "https://ghe.example.com/api/v3",
            &Secret::new("t"),
            Duration::from_secs(1),
        )
        .expect("client");
        assert!(client.next_target("https://ghe.example.com/api/v3/x?page=2").is_ok());
        assert!(client.next_target("/api/v3/x?page=2").is_ok());
        assert!(client.next_target("http://ghe.example.com/api/v3/x?page=2").is_err());
        assert!(client.next_target("https://evil.example/api/v3/x?page=2").is_err());
        assert!(client.next_target("x?page=2").is_err());
        assert!(GitHubClient::new("ftp://x", &Secret::new("t"), Duration::from_secs(1)).is_err());
        assert!(GitHubClient::new("not a url", &Secret::new("t"), Duration::from_secs(1)).is_err());
    }
}
