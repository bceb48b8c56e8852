//! Pull mode end to end: the real `sentinel` binary, with its alert notifier, polls a GitHub alert
//! listing on 127.0.0.1 (the harness's fake listings) and posts the new alert to the channel; the webhook for the same change
//! that arrives afterwards is a duplicate, and the channel shows the alert once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sentinel_bot::harness::fakes::github_alerts::FakeAlerts;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_alert_reaches_the_channel_once_and_its_webhook_is_a_duplicate() {
    let body = webhook();
    let fake = FakeAlerts::start().await.unwrap();
    fake.set(DEPENDABOT, vec![body["alert"].clone()]);
    for listing in ["code-scanning/alerts", "secret-scanning/alerts", "security-advisories"] {
        fake.set(&format!("/repos/acme/app/{listing}"), Vec::new());
    }
    let api = &fake.url;
    let sentinel = Sentinel::start(&format!(
        "[github]\nwebhook_secret = \"{SECRET}\"\ntoken = \"ghp_pull\"\napi_url = \"{api}\"\n\
         [github.pull]\nrepositories = [\"acme/app\"]\n"
    ));
    // (A multi-threaded runtime: `wait_console` blocks its thread while the fake API answers.)
    let console = sentinel.wait_console(TITLE);
    assert_eq!(console.matches(TITLE).count(), 1, "{console}");
    assert!(
        fake.received()
            .iter()
            .any(|r| r.path == DEPENDABOT && r.status == 200 && r.authorization.is_some())
    );

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
