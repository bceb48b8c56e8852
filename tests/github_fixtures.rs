//! Every GitHub fixture through the real `POST /webhooks/github` of the real binary, signed with
//! GitHub's scheme: security events are stored and reach the channel, the rest are acknowledged as
//! ignored, and nothing is lost or doubled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{SECRET, Sentinel, post_webhook};

/// The events the alert notifier handles.
const SECURITY: &[&str] = &[
    "code_scanning_alert",
    "dependabot_alert",
    "repository_advisory",
    "repository_vulnerability_alert",
    "secret_scanning_alert",
    "secret_scanning_alert_location",
    "security_advisory",
    "workflow_run",
];

#[tokio::test]
async fn every_fixture_goes_through_the_signed_endpoint_and_security_alerts_reach_the_channel() {
    let sentinel = Sentinel::start(&format!("[github]\nwebhook_secret = \"{SECRET}\"\n"));
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    let dir = format!("{}/tests/fixtures/github", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 55, "the fixture set changed: {names:?}");

    let mut accepted = 0;
    for (n, name) in names.iter().enumerate() {
        let event = name.split('.').next().unwrap();
        let body = std::fs::read(format!("{dir}/{name}")).unwrap();
        let delivery = format!("fixture-{n}");
        let (status, answer) =
            post_webhook(&client, &url, Some(event), Some(&delivery), body.clone(), Some(SECRET)).await;
        if event == "ping" {
            assert_eq!((status, answer["status"].as_str()), (200, Some("pong")), "{name}");
        } else if SECURITY.contains(&event) {
            assert_eq!(
                (status, answer["status"].as_str()),
                (202, Some("accepted")),
                "{name}: {answer}"
            );
            accepted += 1;
            // A redelivery (same delivery id) is recognised and not processed again.
            let (status, answer) = post_webhook(&client, &url, Some(event), Some(&delivery), body, Some(SECRET)).await;
            assert_eq!((status, answer["status"].as_str()), (200, Some("duplicate")), "{name}");
        } else {
            assert_eq!(
                (status, answer["status"].as_str()),
                (202, Some("ignored")),
                "{name}: {answer}"
            );
        }
    }
    assert_eq!(accepted, 16);

    let pool = sentinel_bot::store::open(sentinel.database_url(), std::time::Duration::from_secs(5))
        .await
        .unwrap();
    // Everything acknowledged is handled and delivered before the channel is read.
    let mut quiet = false;
    for _ in 0..400 {
        let busy: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM inbox WHERE state = 'pending') + \
                    (SELECT COUNT(*) FROM outbox WHERE state = 'pending')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if busy == 0 {
            quiet = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(quiet, "events or messages still pending after 10 s");

    // What #security-incidents shows: one message per distinct alert, each title once as a new post.
    let console = sentinel.wait_console("Secret scanning alert");
    for title in [
        "[MEDIUM] semver vulnerable to Regular Expression Denial of Service",
        "[MEDIUM] Insertion of Sensitive Information into Log File in ansible",
    ] {
        assert!(console.contains(title), "{title} missing from:\n{console}");
    }
    let new_posts = console.matches("── #security-incidents ──").count();
    assert!(
        new_posts >= 8,
        "expected a post per distinct alert, saw {new_posts}:\n{console}"
    );

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE kind = 'github'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 16, "each accepted delivery stored exactly once");
    let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM handling WHERE state = 'dead'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(dead, 0);
}
