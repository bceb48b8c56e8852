//! Pull mode end to end: the real `sentinel` binary, with its alert notifier, polls a GitHub alert
//! listing on 127.0.0.1 (the harness's fake listings) and posts the new alert to the channel; the webhook for the same change
//! that arrives afterwards is a duplicate, and the channel shows the alert once. The same for a
//! failed security workflow run polled from the runs listing; a successful run is not announced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sentinel_bot::harness::fakes::github_alerts::FakeAlerts;
use serde_json::{Value, json};
use support::{SECRET, Sentinel, post_webhook};

const DEPENDABOT: &str = "/repos/acme/app/dependabot/alerts";
const RUNS: &str = "/repos/acme/app/actions/runs";
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
    for listing in [
        "code-scanning/alerts",
        "secret-scanning/alerts",
        "security-advisories",
        "actions/runs",
    ] {
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

/// The real `workflow_run.completed` webhook, moved to `acme/app` and to a minute ago, for a
/// CodeQL run (a security workflow by the notifier's default filter) concluding `conclusion`.
fn run_webhook(id: u64, conclusion: &str) -> Value {
    let mut body: Value = serde_json::from_slice(&support::fixture("workflow_run.completed.json")).unwrap();
    let minute_ago =
        (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let run = &mut body["workflow_run"];
    run["id"] = json!(id);
    run["name"] = json!(format!("CodeQL {id}"));
    run["path"] = json!(".github/workflows/codeql.yml");
    run["conclusion"] = json!(conclusion);
    run["created_at"] = json!(minute_ago);
    run["updated_at"] = json!(minute_ago);
    run["repository"]["full_name"] = json!("acme/app");
    body["workflow"]["name"] = json!(format!("CodeQL {id}"));
    body["repository"]["full_name"] = json!("acme/app");
    body["repository"]["html_url"] = json!("https://github.com/acme/app");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_failed_security_run_reaches_the_channel_once_and_a_successful_one_not_at_all() {
    let failed = run_webhook(41, "failure");
    let succeeded = run_webhook(42, "success");
    let fake = FakeAlerts::start().await.unwrap();
    for listing in [
        "dependabot/alerts",
        "code-scanning/alerts",
        "secret-scanning/alerts",
        "security-advisories",
    ] {
        fake.set(&format!("/repos/acme/app/{listing}"), Vec::new());
    }
    fake.set(
        RUNS,
        vec![failed["workflow_run"].clone(), succeeded["workflow_run"].clone()],
    );
    let api = &fake.url;
    let sentinel = Sentinel::start(&format!(
        "[github]\nwebhook_secret = \"{SECRET}\"\ntoken = \"ghp_pull\"\napi_url = \"{api}\"\n\
         [github.pull]\nrepositories = [\"acme/app\"]\n"
    ));
    // The notifier's own message (a high alert: the incident opened for it repeats the title).
    let title = "[HIGH] Workflow “CodeQL 41” failed";
    let console = sentinel.wait_console(title);
    assert_eq!(console.matches(title).count(), 1, "{console}");
    assert!(
        fake.received()
            .iter()
            .any(|r| r.target == format!("{RUNS}?status=failure&per_page=100") && r.status == 200)
    );

    // The failed run's webhook is the polled event again; the successful run was never listed,
    // so its webhook is new, and the notifier ignores a successful run.
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    for (body, delivery, expected) in [
        (&failed, "run-41", (200, "duplicate")),
        (&succeeded, "run-42", (202, "accepted")),
    ] {
        let body = body.to_string().into_bytes();
        let (status, answer) =
            post_webhook(&client, &url, Some("workflow_run"), Some(delivery), body, Some(SECRET)).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (expected.0, Some(expected.1)),
            "{answer}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let console = sentinel.console();
    assert_eq!(console.matches(title).count(), 1, "posted once:\n{console}");
    assert!(
        !console.contains("CodeQL 42"),
        "the successful run was announced:\n{console}"
    );
}
