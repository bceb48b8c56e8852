//! A fake of GitHub's security alert listings on 127.0.0.1 (for pull-mode tests): it serves the
//! alerts set per path as GitHub does — sorted by `updated_at` when asked (`sort=updated`,
//! `direction`), paginated with `per_page` (at most 100, else 422) and `page`, a `Link` header
//! (`rel="next"`, `"last"`, `"first"`, `"prev"`, absolute URLs) — with an `ETag` per page, and
//! `304 Not Modified` without a body when `If-None-Match` names the current one (not counted against
//! the rate limit, as GitHub documents). Every `200` counts down `x-ratelimit-remaining`. A request
//! without `Authorization` is refused 401. Every request is recorded. A workflow runs listing
//! (`…/actions/runs`) is answered as GitHub does: only runs whose status or conclusion is the
//! `status` asked for, newest created first, wrapped in `{"total_count", "workflow_runs"}`.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRequest {
    /// The path, without the query.
    pub path: String,
    /// The path and query.
    pub target: String,
    /// The `If-None-Match` header.
    pub if_none_match: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The status answered.
    pub status: u16,
    /// When the fake answered it (on the wall clock).
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Inner {
    listings: HashMap<String, Vec<Value>>,
    page_size: Option<usize>,
    remaining: u64,
    reset: i64,
    received: Vec<AlertRequest>,
}

/// The fake; clones share it.
#[derive(Clone)]
pub struct FakeAlerts {
    /// Its base URL, the value for `github.api_url`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeAlerts {
    /// Starts it on a free loopback port with a full rate limit (5000 left); it stops with the
    /// test's runtime.
    pub async fn start() -> std::io::Result<Self> {
        super::start_fake(
            |url| Self {
                url,
                inner: Arc::new(Mutex::new(Inner {
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

    /// Serves `items` at `path` (an empty listing is `[]`; an unset path is 404).
    pub fn set(&self, path: &str, items: Vec<Value>) {
        self.lock().listings.insert(path.to_owned(), items);
    }

    /// Adds `item` to the listing at `path`, or replaces the item with the same `number`
    /// (`ghsa_id` for advisories, `id` for workflow runs): an alert that changed, a run re-run.
    pub fn upsert(&self, path: &str, item: Value) {
        let id = |v: &Value| {
            v.get("number")
                .or_else(|| v.get("ghsa_id"))
                .or_else(|| v.get("id"))
                .cloned()
        };
        let mut inner = self.lock();
        let items = inner.listings.entry(path.to_owned()).or_default();
        match items.iter_mut().find(|existing| id(existing) == id(&item)) {
            Some(existing) => *existing = item,
            None => items.push(item),
        }
    }

    /// Serves at most `size` items per page whatever `per_page` asks (to show pagination with a
    /// few alerts).
    pub fn page_size(&self, size: usize) {
        self.lock().page_size = Some(size.max(1));
    }

    /// Sets `x-ratelimit-remaining` and `x-ratelimit-reset` (Unix seconds).
    pub fn rate_limit(&self, remaining: u64, reset: i64) {
        let mut inner = self.lock();
        inner.remaining = remaining;
        inner.reset = reset;
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<AlertRequest> {
        self.lock().received.clone()
    }

    fn reply(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        let query: HashMap<String, String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let path = uri.path().to_owned();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut inner = self.lock();
        let mut record = AlertRequest {
            path: path.clone(),
            target: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
            if_none_match: header("if-none-match"),
            authorization: header("authorization"),
            status: 200,
            at: std::time::Instant::now(),
        };
        let (status, body, extra) = if record.authorization.is_none() {
            (401, json!({"message": "Requires authentication"}), Vec::new())
        } else {
            match inner.listings.get(&path) {
                None => (404, json!({"message": "Not Found"}), Vec::new()),
                Some(items) => page(
                    &self.url,
                    &path,
                    items,
                    &query,
                    inner.page_size,
                    record.if_none_match.as_deref(),
                ),
            }
        };
        if status == 200 {
            inner.remaining = inner.remaining.saturating_sub(1);
        }
        record.status = status;
        let mut response = if status == 304 {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(body)).into_response()
        };
        let mut all = vec![
            ("x-ratelimit-limit".to_owned(), "5000".to_owned()),
            ("x-ratelimit-remaining".to_owned(), inner.remaining.to_string()),
            ("x-ratelimit-reset".to_owned(), inner.reset.to_string()),
        ];
        all.extend(extra);
        for (name, value) in all {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.as_bytes()),
                axum::http::HeaderValue::from_str(&value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        inner.received.push(record);
        response
    }
}

/// One page of a listing: status, body, headers (`ETag`, `Link`).
fn page(
    base: &str,
    path: &str,
    items: &[Value],
    query: &HashMap<String, String>,
    cap: Option<usize>,
    if_none_match: Option<&str>,
) -> (u16, Value, Vec<(String, String)>) {
    let per_page: usize = query.get("per_page").and_then(|n| n.parse().ok()).unwrap_or(30);
    if per_page > 100 || per_page == 0 {
        return (
            422,
            json!({"message": "per_page must be between 1 and 100"}),
            Vec::new(),
        );
    }
    let size = cap.map_or(per_page, |cap| cap.min(per_page));
    let number: usize = query.get("page").and_then(|n| n.parse().ok()).unwrap_or(1).max(1);
    let runs = path.ends_with("/actions/runs");
    let mut sorted = items.to_vec();
    if runs {
        // `status` names a status or a conclusion; runs are listed newest created first.
        if let Some(wanted) = query.get("status") {
            let is = |v: &Value, field: &str| v.get(field).and_then(Value::as_str) == Some(wanted.as_str());
            sorted.retain(|run| is(run, "status") || is(run, "conclusion"));
        }
        sorted.sort_by_key(|run| {
            let created = run.get("created_at").and_then(Value::as_str).unwrap_or_default();
            (created.to_owned(), run.get("id").and_then(Value::as_u64))
        });
        sorted.reverse();
    } else {
        let key = match query.get("sort").map(String::as_str) {
            Some("updated") => "updated_at",
            _ => "created_at",
        };
        let time = |v: &Value| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        sorted.sort_by_key(time);
        if query.get("direction").map(String::as_str) != Some("asc") {
            sorted.reverse();
        }
    }
    let total = sorted.len();
    let last = total.div_ceil(size).max(1);
    let listed = Value::Array(sorted.into_iter().skip((number - 1) * size).take(size).collect());
    let body = if runs {
        json!({"total_count": total, "workflow_runs": listed})
    } else {
        listed
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.to_string().hash(&mut hasher);
    number.hash(&mut hasher);
    let etag = format!("W/\"{:016x}\"", hasher.finish());
    let mut headers = vec![("etag".to_owned(), etag.clone())];
    if if_none_match == Some(etag.as_str()) {
        return (304, Value::Null, headers);
    }
    let link = |n: usize, rel: &str| {
        let mut params: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        params.sort();
        params.push(format!("page={n}"));
        format!("<{base}{path}?{}>; rel=\"{rel}\"", params.join("&"))
    };
    let mut links = Vec::new();
    if number > 1 {
        links.push(link(number - 1, "prev"));
    }
    if number < last {
        links.push(link(number + 1, "next"));
        links.push(link(last, "last"));
    }
    if number > 1 {
        links.push(link(1, "first"));
    }
    if !links.is_empty() {
        headers.push(("link".to_owned(), links.join(", ")));
    }
    (200, body, headers)
}

async fn answer(State(fake): State<FakeAlerts>, uri: Uri, headers: HeaderMap) -> Response {
    fake.reply(&uri, &headers)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_link_like_github_and_an_unchanged_page_is_304() {
        let fake = FakeAlerts::start().await.unwrap();
        let path = "/repos/acme/app/dependabot/alerts";
        let alert = |n: u64, at: &str| json!({"number": n, "updated_at": at});
        fake.set(
            path,
            vec![
                alert(1, "2026-03-01T00:00:00Z"),
                alert(2, "2026-03-03T00:00:00Z"),
                alert(3, "2026-03-02T00:00:00Z"),
            ],
        );
        fake.page_size(2);
        let client = reqwest::Client::new();
        let get = |target: String, etag: Option<String>| {
            let mut request = client.get(target).header("authorization", "Bearer t");
            if let Some(etag) = etag {
                request = request.header("if-none-match", etag);
            }
            request.send()
        };
        let first = get(
            format!("{}{path}?sort=updated&direction=desc&per_page=100", fake.url),
            None,
        )
        .await
        .unwrap();
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let link = first.headers()["link"].to_str().unwrap().to_owned();
        assert_eq!(first.headers()["x-ratelimit-remaining"], "4999");
        let numbers: Vec<u64> = first
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .iter()
            .map(|a| a["number"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, [2, 3], "newest change first");
        let next = crate::github::link::next_link([link.as_str()]).expect("next");
        assert!(next.ends_with("page=2"), "{next}");
        assert!(link.contains("rel=\"last\""));
        let second: Vec<Value> = get(next, None).await.unwrap().json().await.unwrap();
        assert_eq!(second, [alert(1, "2026-03-01T00:00:00Z")]);

        let unchanged = get(
            format!("{}{path}?sort=updated&direction=desc&per_page=100", fake.url),
            Some(etag.clone()),
        )
        .await
        .unwrap();
        assert_eq!(unchanged.status(), 304);
        assert_eq!(
            unchanged.headers()["x-ratelimit-remaining"],
            "4998",
            "a 304 costs nothing"
        );
        fake.upsert(path, alert(1, "2026-03-04T00:00:00Z"));
        let changed = get(
            format!("{}{path}?sort=updated&direction=desc&per_page=100", fake.url),
            Some(etag),
        )
        .await
        .unwrap();
        assert_eq!(changed.status(), 200);
        assert_eq!(fake.received().len(), 4);
        let refused = client
            .get(format!("{}{path}?per_page=101", fake.url))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        let too_many = get(format!("{}{path}?per_page=101", fake.url), None).await.unwrap();
        assert_eq!(too_many.status(), 422);
    }

    #[tokio::test]
    async fn runs_are_filtered_by_status_or_conclusion_newest_created_first_in_a_wrapper() {
        let fake = FakeAlerts::start().await.unwrap();
        let path = "/repos/acme/app/actions/runs";
        let run = |id: u64, conclusion: &str, created: &str| json!({"id": id, "status": "completed", "conclusion": conclusion, "created_at": created});
        fake.set(
            path,
            vec![
                run(1, "failure", "2026-03-01T00:00:00Z"),
                run(2, "success", "2026-03-02T00:00:00Z"),
                run(3, "failure", "2026-03-03T00:00:00Z"),
            ],
        );
        fake.upsert(path, run(1, "failure", "2026-03-01T00:00:00Z"));
        fake.page_size(1);
        let client = reqwest::Client::new();
        let first = client
            .get(format!("{}{path}?status=failure&per_page=100", fake.url))
            .header("authorization", "Bearer t")
            .send()
            .await
            .unwrap();
        assert!(first.headers()["link"].to_str().unwrap().contains("rel=\"next\""));
        let body: Value = first.json().await.unwrap();
        assert_eq!(
            body["total_count"], 2,
            "the successful run is not listed; the upsert replaced run 1"
        );
        assert_eq!(
            body["workflow_runs"],
            json!([run(3, "failure", "2026-03-03T00:00:00Z")])
        );
    }
}
