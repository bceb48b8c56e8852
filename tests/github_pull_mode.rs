//! Pull mode end to end: the real `sentinel` binary, with its alert notifier, polls a GitHub alert
//! listing on 127.0.0.1 and posts the new alert to the channel; the webhook for the same change
//! that arrives afterwards is a duplicate, and the channel shows the alert once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use support::{SECRET, Sentinel, post_webhook};

const DEPENDABOT: &str = "/repos/acme/app/dependabot/alerts";
const TITLE: &str = "[MEDIUM] semver vulnerable to Regular Expression Denial of Service";

/// The real `dependabot_alert.created` webhook, moved to `acme/app` and to a minute ago (a fresh
/// alert, within the first poll's look-back).
fn webhook() -> Value {
    let mut body: Value = serde_json::from_slice(&support::fixture("dependabot_alert.created.json")).unwrap();
    let minute_ago =
        (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    body["alert"]["created_at"] = json!(minute_ago);
    body["alert"]["updated_at"] = json!(minute_ago);
    body["alert"]["html_url"] = json!("https://github.com/acme/app/security/dependabot/20");
    body["repository"]["full_name"] = json!("acme/app");
    body["repository"]["html_url"] = json!("https://github.com/acme/app");
    body
}

/// A listing API serving `alert` at the Dependabot path and empty lists elsewhere, recording each
/// path asked for (and refusing requests without a token, as GitHub does).
async fn fake_api(alert: Value) -> (String, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let state = (alert, asked.clone());
    let app = axum::Router::new()
        .fallback(
            |State((alert, asked)): State<(Value, Arc<Mutex<Vec<String>>>)>, uri: Uri, headers: HeaderMap| async move {
                asked.lock().unwrap().push(uri.path().to_owned());
                if headers.get("authorization").is_none() {
                    return (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"message": "Requires authentication"})),
                    );
                }
                let items = if uri.path() == DEPENDABOT {
                    json!([alert])
                } else {
                    json!([])
                };
                (StatusCode::OK, axum::Json(items))
            },
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_alert_reaches_the_channel_once_and_its_webhook_is_a_duplicate() {
    let body = webhook();
    let (api, asked) = fake_api(body["alert"].clone()).await;
    let sentinel = Sentinel::start(&format!(
        "[github]\nwebhook_secret = \"{SECRET}\"\ntoken = \"ghp_pull\"\napi_url = \"{api}\"\n\
         [github.pull]\nrepositories = [\"acme/app\"]\n"
    ));
    // (A multi-threaded runtime: `wait_console` blocks its thread while the fake API answers.)
    let console = sentinel.wait_console(TITLE);
    assert_eq!(console.matches(TITLE).count(), 1, "{console}");
    assert!(asked.lock().unwrap().iter().any(|p| p == DEPENDABOT));

    let client = reqwest::Client::new();
    let (status, answer) = post_webhook(
        &client,
        &sentinel.url("/webhooks/github"),
        Some("dependabot_alert"),
        Some("delivery-after-poll"),
        body.to_string().into_bytes(),
        Some(SECRET),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let console = sentinel.console();
    assert_eq!(console.matches(TITLE).count(), 1, "posted once:\n{console}");
    let logs = sentinel.drain_stderr().join("\n");
    assert!(!logs.contains("ghp_pull"), "the token reached a log line");
}
