//! GitHub API requests through the core worker, against a fake GitHub API on 127.0.0.1: pagination,
//! the rate-limit reserve, retries of server errors, refusals, no token, and the token staying secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;
use sentinel_bot::github::{GITHUB_RESPONSE, GitHubRequest, GitHubResponse, LookFirst, NO_TOKEN};
use sentinel_bot::harness::fakes::github::{FakeGitHub, Reply};
use sentinel_bot::harness::{TestBot, test_start};
use sentinel_bot::{CommandSpec, Cx, Event, Plugin, PluginError, Subscriptions};
use serde_json::{Value, json};

const TOKEN: &str = "ghp_test";
/// What a `create` request's body carries, for finding what it created.
const MARKER: &str = "<!-- asker:7 -->";

/// `/gh get|list|post|create <correlation> <path> [json body]` enqueues a request (`create`: a POST
/// that looks for [`MARKER`] in `<path>?state=all&per_page=100` before it is repeated); every
/// `github.response` for this plugin is recorded.
struct Asker {
    seen: Arc<Mutex<Vec<Value>>>,
}

#[async_trait]
impl Plugin for Asker {
    fn name(&self) -> &'static str {
        "asker"
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec {
            name: "gh".into(),
            description: "asks GitHub".into(),
            subcommands: Vec::new(),
        }]
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            domain: vec![GITHUB_RESPONSE.into()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => {
                let mut words = command.args.splitn(4, ' ');
                let (verb, correlation, path) = (
                    words.next().unwrap_or_default(),
                    words.next().unwrap_or_default(),
                    words.next().unwrap_or_default(),
                );
                let body: Value = words
                    .next()
                    .map(|b| serde_json::from_str(b).unwrap())
                    .unwrap_or(Value::Null);
                let request = match verb {
                    "get" => GitHubRequest::get(correlation, path),
                    "list" => GitHubRequest::list(correlation, path),
                    "post" => GitHubRequest::post(correlation, path, body),
                    "create" => GitHubRequest::post(correlation, path, body).look_first(LookFirst {
                        listing: format!("{path}?state=all&per_page=100"),
                        marker: MARKER.to_owned(),
                        created_since: None,
                    }),
                    other => panic!("unknown verb {other}"),
                };
                cx.github(request).await
            }
            Event::Domain(domain) if domain.kind == GITHUB_RESPONSE => {
                // Only this plugin's responses: `for_plugin` filters by requester.
                if GitHubResponse::for_plugin(event, self.name()).is_some() {
                    self.seen.lock().unwrap().push(domain.payload.clone());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

async fn start(config: &str) -> (TestBot, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let for_plugin = seen.clone();
    let bot = TestBot::start(config, move || {
        vec![Arc::new(Asker {
            seen: for_plugin.clone(),
        }) as Arc<dyn Plugin>]
    })
    .await
    .expect("start");
    (bot, seen)
}

fn config(url: &str) -> String {
    format!("[github]\ntoken = \"{TOKEN}\"\napi_url = \"{url}\"\n")
}

fn responses(seen: &Arc<Mutex<Vec<Value>>>) -> Vec<Value> {
    seen.lock().unwrap().clone()
}

fn unix(offset: Duration) -> String {
    (test_start() + offset).timestamp().to_string()
}

#[tokio::test]
async fn a_paginated_listing_follows_next_links_and_concatenates_three_pages() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    // GitHub's next links are absolute and may name another path for the same listing.
    let alerts = format!("{url}/repositories/9/dependabot/alerts?per_page=2");
    fake.push(
        Reply::new(200, json!([{"number": 1}, {"number": 2}]))
            .header(
                "link",
                format!(r#"<{alerts}&page=2>; rel="next", <{alerts}&page=3>; rel="last""#),
            )
            .header("x-ratelimit-remaining", "4990"),
    );
    fake.push(
        Reply::new(200, json!([{"number": 3}, {"number": 4}]))
            .header(
                "link",
                format!(r#"<{alerts}&page=1>; rel="prev", <{alerts}&page=3>; rel="next""#),
            )
            .header("x-ratelimit-remaining", "4989"),
    );
    fake.push(
        Reply::new(200, json!([{"number": 5}]))
            .header("link", format!(r#"<{alerts}&page=2>; rel="prev""#))
            .header("x-ratelimit-remaining", "4988")
            .header("x-ratelimit-reset", unix(Duration::minutes(30))),
    );
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command("/gh list audit:1 /repos/acme/app/dependabot/alerts?state=open&per_page=2")
        .await;

    let targets: Vec<String> = fake.received().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/repos/acme/app/dependabot/alerts?state=open&per_page=2",
            "/repositories/9/dependabot/alerts?per_page=2&page=2",
            "/repositories/9/dependabot/alerts?per_page=2&page=3",
        ]
    );
    let got = responses(&seen);
    assert_eq!(got.len(), 1, "{got:?}");
    let response = &got[0];
    assert_eq!(response["requester"], "asker");
    assert_eq!(response["correlation"], "audit:1");
    assert_eq!(response["ok"], true);
    assert_eq!(response["status"], 200);
    assert_eq!(response["error"], Value::Null);
    assert_eq!(
        response["items"],
        json!([{"number": 1}, {"number": 2}, {"number": 3}, {"number": 4}, {"number": 5}])
    );
    assert_eq!(response["body"], Value::Null);
    assert_eq!(
        response["rate_limit"],
        json!({"remaining": 4988, "reset": "2026-03-02T09:30:00Z"}),
        "the last page's rate limit"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_listing_paused_by_the_rate_limit_or_a_server_error_resumes_at_the_page_it_reached() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.push(
        Reply::new(200, json!(["a", "b"]))
            .header("link", format!(r#"<{url}/list?page=2>; rel="next""#))
            .header("x-ratelimit-remaining", "10")
            .header("x-ratelimit-reset", unix(Duration::seconds(60))),
    );
    fake.push(Reply::new(502, json!({"message": "Server Error"})));
    fake.push(Reply::new(200, json!(["c"])).header("x-ratelimit-remaining", "4999"));
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command("/gh list paged /list").await;
    assert_eq!(fake.received().len(), 1, "page 2 waits for the reset");
    bot.advance(Duration::seconds(60)).await;
    assert_eq!(fake.received().len(), 2, "page 2 asked for, and failed");
    assert!(responses(&seen).is_empty());
    bot.advance(Duration::seconds(1)).await;
    let targets: Vec<String> = fake.received().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        ["/list", "/list?page=2", "/list?page=2"],
        "page 1 is not fetched again"
    );
    let got = responses(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["ok"], true);
    assert_eq!(got[0]["items"], json!(["a", "b", "c"]));
    assert_eq!(got[0]["rate_limit"]["remaining"], 4999);
    bot.stop().await;
}

#[tokio::test]
async fn a_listing_longer_than_max_pages_is_truncated_and_says_so() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    for page in 1..=3 {
        fake.push(Reply::new(200, json!([page])).header("link", format!(r#"<{url}/x?page={}>; rel="next""#, page + 1)));
    }
    let (mut bot, seen) = start(&format!("{}max_pages = 2\n", config(&url))).await;
    bot.command("/gh list long /x").await;
    assert_eq!(fake.received().len(), 2);
    let got = responses(&seen);
    assert_eq!(got[0]["ok"], true);
    assert_eq!(got[0]["items"], json!([1, 2]));
    assert_eq!(
        got[0]["error"],
        "truncated: stopped after 2 pages (github.max_pages); more results exist"
    );
    bot.stop().await;
}

#[tokio::test]
async fn below_the_rate_limit_reserve_the_next_request_waits_until_the_window_resets() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.push(
        Reply::new(200, json!({"login": "sentinel-bot"}))
            .header("x-ratelimit-remaining", "50")
            .header("x-ratelimit-reset", unix(Duration::seconds(60))),
    );
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command("/gh get first /user").await;
    let got = responses(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["body"], json!({"login": "sentinel-bot"}));
    assert_eq!(
        got[0]["rate_limit"],
        json!({"remaining": 50, "reset": "2026-03-02T09:01:00Z"})
    );

    // 50 left is below the default reserve of 100: nothing more until 09:01:00.
    bot.command("/gh get second /repos/acme/app").await;
    assert_eq!(fake.received().len(), 1, "held back by the reserve");
    bot.advance(Duration::seconds(59)).await;
    assert_eq!(fake.received().len(), 1, "still before the reset");
    assert_eq!(responses(&seen).len(), 1);

    bot.advance(Duration::seconds(1)).await;
    let received = fake.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].target, "/repos/acme/app");
    let got = responses(&seen);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["correlation"], "second");
    assert_eq!(got[1]["ok"], true);
    assert_eq!(got[1]["rate_limit"]["remaining"], 4999);
    bot.stop().await;
}

#[tokio::test]
async fn two_bad_gateways_then_success_give_one_ok_response_after_backoff() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.push(Reply::new(502, json!({"message": "Server Error"})));
    fake.push(Reply::new(502, json!({"message": "Server Error"})));
    fake.push(Reply::new(200, json!({"full_name": "acme/app"})));
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command("/gh get repo /repos/acme/app").await;
    assert_eq!(fake.received().len(), 1);
    assert!(responses(&seen).is_empty(), "a 502 is retried, not answered");

    // Backoff: 1 s after the first failure, 2 s after the second.
    bot.advance(Duration::milliseconds(900)).await;
    assert_eq!(fake.received().len(), 1, "no retry before the backoff");
    bot.advance(Duration::milliseconds(100)).await;
    assert_eq!(fake.received().len(), 2);
    bot.advance(Duration::seconds(1)).await;
    assert_eq!(fake.received().len(), 2, "second backoff is 2 s");
    bot.advance(Duration::seconds(1)).await;
    assert_eq!(fake.received().len(), 3);

    let got = responses(&seen);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["ok"], true);
    assert_eq!(got[0]["status"], 200);
    assert_eq!(got[0]["body"], json!({"full_name": "acme/app"}));
    bot.advance(Duration::hours(1)).await;
    assert_eq!(fake.received().len(), 3);
    assert_eq!(responses(&seen).len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn server_errors_past_max_attempts_give_a_failed_response() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    for _ in 0..3 {
        fake.push(Reply::new(503, json!({"message": "Unavailable"})));
    }
    let (mut bot, seen) = start(&format!("{}max_attempts = 3\n", config(&url))).await;
    bot.command("/gh get repo /repos/acme/app").await;
    bot.advance(Duration::seconds(1)).await;
    bot.advance(Duration::seconds(2)).await;
    assert_eq!(fake.received().len(), 3);
    let got = responses(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["ok"], false);
    assert_eq!(got[0]["status"], 503);
    assert_eq!(
        got[0]["error"],
        "gave up after 3 attempts: GitHub answered 503 Service Unavailable: Unavailable"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_403_is_answered_at_once_with_githubs_message_and_not_retried() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.push(
        Reply::new(
            403,
            json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest"}),
        )
        .header("x-ratelimit-remaining", "4000")
        .header("github-authentication-token-expiration", "2026-04-01 12:00:00 UTC"),
    );
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command("/gh get alerts /repos/acme/app/code-scanning/alerts").await;
    let got = responses(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["ok"], false);
    assert_eq!(got[0]["status"], 403);
    assert_eq!(
        got[0]["error"],
        "GitHub answered 403 Forbidden: Resource not accessible by integration"
    );
    assert_eq!(got[0]["body"]["message"], "Resource not accessible by integration");
    assert_eq!(got[0]["token_expiration"], "2026-04-01T12:00:00Z");
    bot.advance(Duration::hours(2)).await;
    assert_eq!(fake.received().len(), 1, "a refusal is not retried");
    assert_eq!(responses(&seen).len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_403_with_no_calls_left_is_a_rate_limit_and_is_retried_after_the_reset() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.push(
        Reply::new(
            403,
            json!({"message": "API rate limit exceeded for installation ID 1."}),
        )
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", unix(Duration::minutes(10))),
    );
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command("/gh get user /user").await;
    bot.advance(Duration::minutes(9)).await;
    assert_eq!(fake.received().len(), 1);
    assert!(responses(&seen).is_empty());
    bot.advance(Duration::minutes(1)).await;
    assert_eq!(fake.received().len(), 2);
    let got = responses(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["ok"], true);
    bot.stop().await;
}

#[tokio::test]
async fn without_a_token_every_request_is_answered_at_once_with_an_error() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    let (mut bot, seen) = start(&format!("[github]\napi_url = \"{url}\"\n")).await;
    bot.command("/gh get user /user").await;
    let got = responses(&seen);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["ok"], false);
    assert_eq!(got[0]["status"], Value::Null);
    assert_eq!(got[0]["error"], NO_TOKEN);
    assert_eq!(
        got[0]["error"],
        "no GitHub token configured (set SENTINEL_GITHUB_TOKEN)"
    );
    assert!(fake.received().is_empty(), "nothing was sent");
    bot.stop().await;
}

#[tokio::test]
async fn a_path_that_is_not_relative_is_refused_without_a_request() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command("/gh get bad https://evil.example/steal").await;
    let got = responses(&seen);
    assert_eq!(got[0]["ok"], false);
    assert_eq!(
        got[0]["error"],
        "the path `https://evil.example/steal` must start with a single `/` (it is relative to github.api_url)"
    );
    assert!(fake.received().is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn the_token_goes_in_the_authorization_header_and_nowhere_else() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.push(
        Reply::new(201, json!({"number": 12, "title": "Triage CVE-2026-1"}))
            .header("x-oauth-scopes", "repo, read:org")
            .header("x-ratelimit-remaining", "4321"),
    );
    fake.push(Reply::new(200, json!([{"id": 1}])).header("link", format!(r#"<{url}/next?page=2>; rel="next""#)));
    fake.push(Reply::new(200, json!([{"id": 2}])));
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command(r#"/gh post issue /repos/acme/app/issues {"title":"Triage CVE-2026-1"}"#)
        .await;
    bot.command("/gh list pages /repos/acme/app/issues").await;

    let received = fake.received();
    assert_eq!(received.len(), 3);
    for request in &received {
        assert_eq!(request.authorization.as_deref(), Some("Bearer ghp_test"), "{request:?}");
    }
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        serde_json::from_str::<Value>(&received[0].body).unwrap(),
        json!({"title": "Triage CVE-2026-1"})
    );

    let got = responses(&seen);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["status"], 201);
    assert_eq!(got[0]["ok"], true);
    assert_eq!(got[0]["oauth_scopes"], "repo, read:org");
    assert_eq!(got[0]["body"]["number"], 12);
    for response in &got {
        assert!(!response.to_string().contains(TOKEN), "{response}");
    }

    // Nor is it stored: the request rows, the inbox and every log of the database are free of it.
    bot.settle().await.unwrap();
    let Some(db) = bot.database_file() else {
        // PostgreSQL: no file to read whole; every text column that could carry it instead.
        let found: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM github_requests
                     WHERE path || COALESCE(body, '') || COALESCE(partial, '') || COALESCE(last_error, '') LIKE $1)
                  + (SELECT COUNT(*) FROM inbox WHERE payload LIKE $1)
                  + (SELECT COUNT(*) FROM outbox WHERE message LIKE $1)",
        )
        .bind(format!("%{TOKEN}%"))
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
        assert_eq!(found, 0, "the database holds the token");
        bot.stop().await;
        return;
    };
    bot.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "{path} holds the token"
            );
        }
    }
}

/// GitHub created the issue but its answer was lost (a 502 here): before the POST is sent again,
/// the worker reads the listing, finds the issue by its marker and answers with it. One POST.
#[tokio::test]
async fn a_creating_post_whose_answer_was_lost_is_found_and_not_sent_again() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.set(
        "POST /repos/acme/app/issues",
        vec![Reply::new(502, json!({"message": "Server Error"}))],
    );
    let created = json!({"number": 12, "body": format!("Incident\n{MARKER}\n"), "html_url": "https://github.com/acme/app/issues/12"});
    fake.set(
        "GET /repos/acme/app/issues",
        vec![Reply::ok(json!([{"number": 13, "body": "another"}, created.clone()]))],
    );
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command(&format!(
        r#"/gh create c1 /repos/acme/app/issues {{"title":"t","body":"{MARKER}"}}"#
    ))
    .await;
    assert_eq!(fake.count("/repos/acme/app/issues"), 1, "the first POST");
    bot.advance(Duration::seconds(1)).await;
    let got = responses(&seen);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["ok"], true);
    assert_eq!(got[0]["body"], created);
    let methods: Vec<String> = fake.received().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET"], "looked, and did not post again");
    bot.advance(Duration::hours(1)).await;
    assert_eq!(fake.received().len(), 2);
    bot.stop().await;
}

/// The lost answer's POST had not taken effect: the listing has no entry with the marker, so the
/// POST is sent again; and a plain POST (no `look_first`) is repeated without looking.
#[tokio::test]
async fn a_creating_post_not_found_after_a_lost_answer_is_sent_again_and_a_plain_post_never_looks() {
    let fake = FakeGitHub::start().await.unwrap();
    let url = fake.url.clone();
    fake.set(
        "POST /repos/acme/app/issues",
        vec![
            Reply::new(502, json!({"message": "Server Error"})),
            Reply::new(201, json!({"number": 14, "body": MARKER})),
        ],
    );
    fake.set(
        "GET /repos/acme/app/issues",
        vec![Reply::ok(json!([{"number": 13, "body": "another"}]))],
    );
    let (mut bot, seen) = start(&config(&url)).await;
    bot.command(r#"/gh create c1 /repos/acme/app/issues {"title":"t"}"#)
        .await;
    bot.advance(Duration::seconds(1)).await;
    let got = responses(&seen);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0]["ok"].clone(), got[0]["status"].clone()),
        (json!(true), json!(201))
    );
    let methods: Vec<String> = fake.received().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET", "POST"]);

    fake.set(
        "POST /repos/acme/app/comments",
        vec![
            Reply::new(502, json!({"message": "Server Error"})),
            Reply::new(201, json!({"id": 1})),
        ],
    );
    bot.command(r#"/gh post c2 /repos/acme/app/comments {"body":"hi"}"#)
        .await;
    bot.advance(Duration::seconds(1)).await;
    assert_eq!(fake.count("/repos/acme/app/comments"), 2);
    assert_eq!(fake.received().len(), 5, "no listing read for a plain POST");
    bot.stop().await;
}
