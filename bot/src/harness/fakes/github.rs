//! A fake GitHub REST API on 127.0.0.1 for tests: it records every request (Authorization and
//! Content-Type included) and answers from routes set per path, then from a script, then with a
//! default answer.
//!
//! - [`FakeGitHub::set`]: `"/path"`, `"METHOD /path"` or `"/path?page=N"` answers from a queue of
//!   replies whose last one repeats.
//! - [`FakeGitHub::pages`]: a paginated listing, each page linking to the next as GitHub does
//!   (`Link: <…>; rel="next"`, an absolute URL).
//! - [`FakeGitHub::push`]: the next answer to any request no route takes, in order.
//! - [`FakeGitHub::otherwise`]: the answer when nothing else applies (first `200 {}` with a full
//!   rate limit).
//!
//! Like GitHub, it refuses a `per_page` over 100 with 422 (GitHub documents 100 as the maximum),
//! and a write (`POST`, `PATCH`, `PUT`) whose body is not JSON with 400.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

pub use super::Reply;
use super::lock;

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The path and query.
    pub target: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body as sent.
    pub body: String,
}

impl Received {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// The fake; clones share it.
#[derive(Clone)]
pub struct FakeGitHub {
    /// Its base URL, the value for `github.api_url`.
    pub url: String,
    routes: Arc<Mutex<HashMap<String, Vec<Reply>>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    otherwise: Arc<Mutex<Reply>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeGitHub {
    /// Starts it on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> std::io::Result<Self> {
        super::start_fake(
            |url| FakeGitHub {
                url,
                routes: Arc::default(),
                script: Arc::default(),
                otherwise: Arc::new(Mutex::new(Reply::ok(json!({})).header("x-ratelimit-remaining", "4999"))),
                received: Arc::default(),
            },
            answer,
        )
        .await
    }

    /// Answers `route` (`"/path"`, `"METHOD /path"`, `"/path?page=N"`) from `replies`, the last
    /// one repeating.
    pub fn set(&self, route: &str, replies: Vec<Reply>) {
        lock(&self.routes).insert(route.to_owned(), replies);
    }

    /// Serves `pages` as a paginated listing at `path` (its first page asked for as
    /// `path?state=open&per_page=100`), each page linking to the next.
    pub fn pages(&self, path: &str, pages: Vec<Value>) {
        let n = pages.len();
        for (index, page) in pages.into_iter().enumerate() {
            let mut reply = Reply::ok(page);
            if index + 1 < n {
                let next = format!("{}{path}?state=open&per_page=100&page={}", self.url, index + 2);
                reply = reply.header("link", format!("<{next}>; rel=\"next\""));
            }
            let route = if index == 0 {
                path.to_owned()
            } else {
                format!("{path}?page={}", index + 1)
            };
            self.set(&route, vec![reply]);
        }
    }

    /// The next answer to a request no route takes.
    pub fn push(&self, reply: Reply) {
        lock(&self.script).push_back(reply);
    }

    /// The answer when no route or script applies.
    pub fn otherwise(&self, reply: Reply) {
        *lock(&self.otherwise) = reply;
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.received).clone()
    }

    /// The JSON bodies of the requests `method path`, in order.
    pub fn bodies(&self, method: &str, path: &str) -> Vec<Value> {
        self.received()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .map(Received::json)
            .collect()
    }

    /// How many requests asked for a target starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.received().iter().filter(|r| r.target.starts_with(prefix)).count()
    }

    fn reply_for(&self, method: &Method, uri: &Uri) -> Reply {
        let query = |name: &str| {
            uri.query()
                .unwrap_or_default()
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_owned)
        };
        if query("per_page")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n > 100)
        {
            return Reply::new(422, json!({"message": "per_page must be at most 100"}));
        }
        let path = uri.path();
        let mut candidates = Vec::new();
        if let Some(page) = query("page").filter(|p| p != "1") {
            candidates.push(format!("{method} {path}?page={page}"));
            candidates.push(format!("{path}?page={page}"));
        }
        candidates.push(format!("{method} {path}"));
        candidates.push(path.to_owned());
        let mut routes = lock(&self.routes);
        for route in candidates {
            match routes.get_mut(&route) {
                Some(queue) if queue.len() > 1 => return queue.remove(0),
                Some(queue) if !queue.is_empty() => return queue[0].clone(),
                _ => {}
            }
        }
        drop(routes);
        if let Some(reply) = lock(&self.script).pop_front() {
            return reply;
        }
        lock(&self.otherwise).clone()
    }
}

async fn answer(
    State(fake): State<FakeGitHub>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let received = Received {
        method: method.to_string(),
        path: uri.path().to_owned(),
        target: uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body,
    };
    let write = matches!(method, Method::POST | Method::PATCH | Method::PUT);
    let bad_body = write && !received.body.is_empty() && received.json().is_null();
    lock(&fake.received).push(received);
    let reply = if bad_body {
        Reply::new(400, json!({"message": "Problems parsing JSON"}))
    } else {
        fake.reply_for(&method, &uri)
    };
    reply.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn routes_then_script_then_default_and_githubs_refusals() {
        let fake = FakeGitHub::start().await.unwrap();
        fake.set("GET /a", vec![Reply::ok(json!(1)), Reply::ok(json!(2))]);
        fake.push(Reply::error(502, "Bad Gateway"));
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("{}{path}", fake.url)).send();
        let status_and_body =
            |r: reqwest::Response| async move { (r.status().as_u16(), r.json::<Value>().await.unwrap()) };
        assert_eq!(status_and_body(get("/a").await.unwrap()).await, (200, json!(1)));
        assert_eq!(status_and_body(get("/a").await.unwrap()).await, (200, json!(2)));
        assert_eq!(
            status_and_body(get("/a").await.unwrap()).await,
            (200, json!(2)),
            "the last reply repeats"
        );
        assert_eq!(status_and_body(get("/b").await.unwrap()).await.0, 502);
        assert_eq!(status_and_body(get("/b").await.unwrap()).await, (200, json!({})));
        assert_eq!(get("/b?per_page=101").await.unwrap().status().as_u16(), 422);
        let post = client
            .post(format!("{}/b", fake.url))
            .body("not json")
            .send()
            .await
            .unwrap();
        assert_eq!(post.status().as_u16(), 400);
        assert_eq!(fake.count("/b"), 4);
        assert_eq!(fake.received()[6].body, "not json");
    }
}
