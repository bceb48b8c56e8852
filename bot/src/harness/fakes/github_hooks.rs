//! A fake of GitHub's webhook deliveries API on 127.0.0.1 (for reconciliation tests). Per hook path
//! (`/repos/acme/app/hooks/1`, `/orgs/acme/hooks/2`) it lists the deliveries set on it as GitHub
//! does (`GET …/deliveries`: newest first, GitHub's field names, `per_page` at most 100 else 422,
//! cursor pagination with a `Link: rel="next"` whose URL carries `cursor=`), and answers
//! `POST …/deliveries/{id}/attempts` with `202 Accepted` after redelivering: it POSTs the
//! delivery's stored payload, signed with the webhook secret, to the receiver set with
//! [`FakeHooks::deliver_to`] (waiting for it to be set), and lists the outcome as a new delivery
//! with the same `guid` and `redelivery: true`. A request without `Authorization` is refused 401.
//! Every request is recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::config::Secret;

/// A request the fake received: method and path with query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path and query.
    pub target: String,
}

/// A delivery's event: what a redelivery sends again.
#[derive(Clone)]
struct Sent {
    event: String,
    body: String,
}

#[derive(Default)]
struct Inner {
    /// Per hook path, its deliveries (GitHub's JSON objects), oldest first.
    deliveries: HashMap<String, Vec<Value>>,
    sent: HashMap<String, Sent>,
    next_id: u64,
    page_size: Option<usize>,
    now: Option<DateTime<Utc>>,
    receiver: Option<(String, Secret)>,
    received: Vec<HookRequest>,
    remaining: u64,
    reset: i64,
}

/// The fake; clones share it.
#[derive(Clone)]
pub struct FakeHooks {
    /// Its base URL, the value for `github.api_url`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeHooks {
    /// Starts it on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> std::io::Result<Self> {
        super::start_fake(
            |url| Self {
                url,
                inner: Arc::new(Mutex::new(Inner {
                    next_id: 1000,
                    remaining: 5000,
                    ..Inner::default()
                })),
            },
            answer,
        )
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where redeliveries go (the webhook URL) and the secret they are signed with.
    pub fn deliver_to(&self, url: &str, secret: &Secret) {
        self.lock().receiver = Some((url.to_owned(), secret.clone()));
    }

    /// The time redeliveries are stamped with (default: the newest delivery's time).
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.lock().now = Some(now);
    }

    /// Serves at most `size` deliveries per page whatever `per_page` asks.
    pub fn page_size(&self, size: usize) {
        self.lock().page_size = Some(size.max(1));
    }

    /// Sets `x-ratelimit-remaining` and `x-ratelimit-reset` (Unix seconds).
    pub fn rate_limit(&self, remaining: u64, reset: i64) {
        let mut inner = self.lock();
        inner.remaining = remaining;
        inner.reset = reset;
    }

    /// Lists on `hook` a delivery of `event` (`guid` = its `X-GitHub-Delivery`, `payload` its body)
    /// made at `at` that the receiver answered `status_code` (`0`: could not connect); returns the
    /// delivery's id.
    pub fn add(
        &self,
        hook: &str,
        guid: &str,
        event: &str,
        payload: &Value,
        at: DateTime<Utc>,
        status_code: u16,
    ) -> u64 {
        let mut inner = self.lock();
        inner.sent.insert(
            guid.to_owned(),
            Sent {
                event: event.to_owned(),
                body: payload.to_string(),
            },
        );
        let action = payload.get("action").cloned().unwrap_or(Value::Null);
        push(&mut inner, hook, guid, event, action, at, status_code, false)
    }

    /// The deliveries listed on `hook`, oldest first.
    pub fn deliveries(&self, hook: &str) -> Vec<Value> {
        self.lock().deliveries.get(hook).cloned().unwrap_or_default()
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<HookRequest> {
        self.lock().received.clone()
    }

    /// The redeliveries asked for (`POST …/attempts` paths), in order.
    pub fn attempts(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|r| r.method == "POST")
            .map(|r| r.target)
            .collect()
    }

    async fn reply(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
        let target = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
        let (status, body, link) = {
            let mut inner = self.lock();
            inner.received.push(HookRequest {
                method: method.to_string(),
                target: target.clone(),
            });
            if headers.get("authorization").is_none() {
                (401, json!({"message": "Requires authentication"}), None)
            } else if *method == Method::GET {
                list(&inner, &self.url, uri)
            } else {
                (0, Value::Null, None)
            }
        };
        let (status, body) = if status == 0 {
            self.redeliver(uri.path()).await
        } else {
            (status, body)
        };
        let (remaining, reset) = {
            let mut inner = self.lock();
            if (200..300).contains(&status) {
                inner.remaining = inner.remaining.saturating_sub(1);
            }
            (inner.remaining, inner.reset)
        };
        let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(body)).into_response();
        let mut all = vec![
            ("x-ratelimit-limit", "5000".to_owned()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", reset.to_string()),
        ];
        if let Some(link) = link {
            all.push(("link", link));
        }
        for (name, value) in all {
            if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }

    /// `POST {hook}/deliveries/{id}/attempts`: redelivers, then answers 202.
    async fn redeliver(&self, path: &str) -> (u16, Value) {
        let parsed = path.strip_suffix("/attempts").and_then(|rest| {
            let (hook, id) = rest.rsplit_once("/deliveries/")?;
            Some((hook.to_owned(), id.parse::<u64>().ok()?))
        });
        let Some((hook, id)) = parsed else {
            return (404, json!({"message": "Not Found"}));
        };
        let found = {
            let inner = self.lock();
            inner
                .deliveries
                .get(&hook)
                .and_then(|list| list.iter().find(|d| d["id"] == json!(id)))
                .and_then(|d| d["guid"].as_str())
                .and_then(|guid| Some((guid.to_owned(), inner.sent.get(guid)?.clone())))
        };
        let Some((guid, sent)) = found else {
            return (404, json!({"message": "Not Found"}));
        };
        let mut receiver = None;
        for _ in 0..2000 {
            receiver = self.lock().receiver.clone();
            if receiver.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let status_code = match receiver {
            None => 0,
            Some((url, secret)) => reqwest::Client::new()
                .post(url)
                .header("x-github-event", &sent.event)
                .header("x-github-delivery", &guid)
                .header(
                    "x-hub-signature-256",
                    crate::ingress::github::sign(&secret, sent.body.as_bytes()),
                )
                .header("content-type", "application/json")
                .body(sent.body.clone())
                .send()
                .await
                .map_or(0, |answer| answer.status().as_u16()),
        };
        let mut inner = self.lock();
        let at = inner.now.unwrap_or_else(|| newest(&inner, &hook));
        let action = serde_json::from_str::<Value>(&sent.body)
            .ok()
            .and_then(|v| v.get("action").cloned())
            .unwrap_or(Value::Null);
        push(&mut inner, &hook, &guid, &sent.event, action, at, status_code, true);
        (202, json!({}))
    }
}

#[allow(clippy::too_many_arguments)]
fn push(
    inner: &mut Inner,
    hook: &str,
    guid: &str,
    event: &str,
    action: Value,
    at: DateTime<Utc>,
    status_code: u16,
    redelivery: bool,
) -> u64 {
    inner.next_id += 1;
    let id = inner.next_id;
    let status = match status_code {
        0 => "failed to connect".to_owned(),
        200..=299 => "OK".to_owned(),
        code => format!("Invalid HTTP Response: {code}"),
    };
    inner.deliveries.entry(hook.to_owned()).or_default().push(json!({
        "id": id,
        "guid": guid,
        "delivered_at": at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "redelivery": redelivery,
        "duration": 0.03,
        "status": status,
        "status_code": status_code,
        "event": event,
        "action": action,
        "installation_id": null,
        "repository_id": 1,
        "throttled_at": null,
    }));
    id
}

fn newest(inner: &Inner, hook: &str) -> DateTime<Utc> {
    inner
        .deliveries
        .get(hook)
        .and_then(|list| list.last())
        .and_then(|d| d["delivered_at"].as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// `GET {hook}/deliveries`: one page, newest first; `cursor=v1_{id}` starts below that id.
fn list(inner: &Inner, base: &str, uri: &Uri) -> (u16, Value, Option<String>) {
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let Some(hook) = uri.path().strip_suffix("/deliveries") else {
        return (404, json!({"message": "Not Found"}), None);
    };
    let Some(all) = inner.deliveries.get(hook) else {
        return (404, json!({"message": "Not Found"}), None);
    };
    let per_page: usize = query.get("per_page").and_then(|n| n.parse().ok()).unwrap_or(30);
    if per_page == 0 || per_page > 100 {
        return (422, json!({"message": "per_page must be between 1 and 100"}), None);
    }
    let size = inner.page_size.map_or(per_page, |cap| cap.min(per_page));
    let below = query
        .get("cursor")
        .and_then(|c| c.strip_prefix("v1_"))
        .and_then(|id| id.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let mut newest_first: Vec<&Value> = all
        .iter()
        .filter(|d| d["id"].as_u64().is_some_and(|id| id < below))
        .collect();
    newest_first.sort_by_key(|d| std::cmp::Reverse(d["id"].as_u64()));
    let more = newest_first.len() > size;
    let page: Vec<Value> = newest_first.into_iter().take(size).cloned().collect();
    let link = match page.last().and_then(|d| d["id"].as_u64()) {
        Some(last) if more => Some(format!(
            "<{base}{}?per_page={per_page}&cursor=v1_{last}>; rel=\"next\"",
            uri.path()
        )),
        _ => None,
    };
    (200, Value::Array(page), link)
}

async fn answer(State(fake): State<FakeHooks>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    fake.reply(&method, &uri, &headers).await
}
