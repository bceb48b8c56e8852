//! What a new alert looks like: the Dependabot alert with everything a responder needs, every
//! security fixture, failed security workflows (and not other failures), malformed payloads dropped.

use super::*;

#[tokio::test]
async fn a_new_dependabot_alert_is_posted_once_with_everything_a_responder_needs() {
    let mut bot = start("").await;
    let printed = deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    assert_eq!(printed.len(), 1, "{printed:#?}");
    let post = &printed[0];
    assert_eq!(post.channel, "security-incidents");
    assert_eq!(post.kind, PrintedKind::New);
    assert_eq!(
        post.text,
        "── #security-incidents ──\n\
         🟡 [MEDIUM] semver vulnerable to Regular Expression Denial of Service\n\
         Dependabot alert #20 in wolfy1339/pika-pack\n  \
         Repository: wolfy1339/pika-pack\n  \
         Package: semver (npm)\n  \
         Manifest: package-lock.json\n  \
         Vulnerable: < 7.5.2\n  \
         Patched: 7.5.2\n  \
         CVE: CVE-2022-25883\n  \
         GHSA: GHSA-c2qf-rxjj-qqgw\n  \
         CVSS: 5.3\n  \
         State: Open\n  \
         Versions of the package semver before 7.5.2 are vulnerable to Regular Expression Denial of Service \
         (ReDoS) via the function new Range, when untrusted user data is provided as a range.\n  \
         [Acknowledge: alert.ack dependabot:wolfy1339/pika-pack:20] \
         [Open incident: alert.incident dependabot:wolfy1339/pika-pack:20] \
         [View on GitHub](https://github.com/wolfy1339/pika-pack/security/dependabot/20)\n  \
         — dependabot · dependabot:wolfy1339/pika-pack:20\n"
    );
    bot.stop().await;
}

/// Every security fixture GitHub documents becomes one new message keyed by its alert; workflow
/// runs that did not fail post nothing.
#[tokio::test]
async fn every_security_fixture_posts_the_alert_it_describes() {
    let cases: [(&str, &str, &str, &str); 13] = [
        (
            "code_scanning_alert.created.json",
            "code_scanning:Codertocat/Hello-World:10",
            "[HIGH] Query built from user-controlled sources",
            "Code scanning alert #10 in Codertocat/Hello-World",
        ),
        (
            "code_scanning_alert.fixed.json",
            "code_scanning:Codertocat/Hello-World:10",
            "[HIGH] Query built from user-controlled sources",
            "Code scanning alert #10 in Codertocat/Hello-World — fixed",
        ),
        (
            "code_scanning_alert.reopened.json",
            "code_scanning:Codertocat/Hello-World:10",
            "[LOW] Add the frozen_string_literal comment",
            "Code scanning alert #10 in Codertocat/Hello-World",
        ),
        (
            "dependabot_alert.created.json",
            "dependabot:wolfy1339/pika-pack:20",
            "[MEDIUM] semver vulnerable to Regular Expression Denial of Service",
            "Dependabot alert #20 in wolfy1339/pika-pack",
        ),
        (
            "dependabot_alert.fixed.json",
            "dependabot:octocat/hello-world:1",
            "[MEDIUM] Insertion of Sensitive Information into Log File in ansible",
            "Dependabot alert #1 in octocat/hello-world — fixed",
        ),
        (
            "repository_advisory.published.json",
            "repository_advisory:",
            "[LOW] 12314",
            "Repository security advisory GHSA-",
        ),
        (
            "repository_vulnerability_alert.create.json",
            "vulnerability_alert:Codertocat/Hello-World:2",
            "[MEDIUM] Vulnerable dependency rack (CVE-2018-16470)",
            "Vulnerable dependency alert #2 in Codertocat/Hello-World",
        ),
        (
            "repository_vulnerability_alert.dismiss.json",
            "vulnerability_alert:Codertocat/Hello-World:2",
            "[MEDIUM] Vulnerable dependency many_versioned_gem",
            "Vulnerable dependency alert #2 in Codertocat/Hello-World — dismissed",
        ),
        (
            "repository_vulnerability_alert.resolve.json",
            "vulnerability_alert:Codertocat/Hello-World:2",
            "[MEDIUM] Vulnerable dependency rack",
            "Vulnerable dependency alert #2 in Codertocat/Hello-World — fixed",
        ),
        (
            "secret_scanning_alert.reopened.json",
            "secret_scanning:Codertocat/Hello-World:191",
            "[CRITICAL] Secret detected: adafruit_io_key",
            "Secret scanning alert #191 in Codertocat/Hello-World",
        ),
        (
            "secret_scanning_alert_location.created.json",
            "secret_scanning:Codertocat/Hello-World:191",
            "[CRITICAL] Secret detected: adafruit_io_key",
            "Secret scanning alert #191 in Codertocat/Hello-World",
        ),
        (
            "security_advisory.published.json",
            "security_advisory:GHSA-rf4j-j272-fj86",
            "[MEDIUM] Moderate severity vulnerability that affects django",
            "GitHub security advisory GHSA-rf4j-j272-fj86",
        ),
        (
            "security_advisory.withdrawn.json",
            "security_advisory:GHSA-8v27-2fg9-7h62",
            "[CRITICAL] ",
            "GitHub security advisory GHSA-8v27-2fg9-7h62 — withdrawn",
        ),
    ];
    for (file, key, title, text) in cases {
        // A fresh bot each time: several fixtures describe the same alert.
        let mut bot = start("").await;
        let printed = deliver(&mut bot, event_of(file), file, &fixture(file)).await;
        assert_eq!(printed.len(), 1, "{file}: {printed:#?}");
        let message = &printed[0].message;
        assert_eq!(printed[0].kind, PrintedKind::New, "{file}");
        assert_eq!(printed[0].channel, "security-incidents", "{file}");
        let message_key = message.key.as_ref().map(|k| k.as_str()).unwrap_or_default();
        assert!(message_key.starts_with(key), "{file}: {message_key}");
        let heading = message.title.as_deref().unwrap_or_default();
        assert!(heading.starts_with(title), "{file}: {heading}");
        assert!(message.text.starts_with(text), "{file}: {}", message.text);
        assert!(
            message.buttons.iter().any(|b| b.label == "View on GitHub"),
            "{file}: every alert links to GitHub"
        );
        bot.stop().await;
    }

    let mut bot = start("").await;
    for file in [
        "workflow_run.completed.json",
        "workflow_run.in_progress.json",
        "workflow_run.requested.json",
    ] {
        let printed = deliver(&mut bot, event_of(file), file, &fixture(file)).await;
        assert!(printed.is_empty(), "{file}: {printed:#?}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_failed_security_workflow_is_an_alert_and_other_failures_are_not() {
    let mut bot = start("").await;
    let mut run = fixture("workflow_run.completed.json");
    run["workflow_run"]["conclusion"] = json!("failure");
    run["workflow_run"]["name"] = json!("CodeQL");
    let printed = deliver(&mut bot, "workflow_run", "w-1", &run).await;
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(
        printed[0]
            .message
            .text
            .starts_with("Failed security workflow in octo-org/octo-repo"),
        "{}",
        printed[0].message.text
    );

    let mut build = fixture("workflow_run.completed.json");
    build["workflow_run"]["conclusion"] = json!("failure");
    build["workflow_run"]["name"] = json!("Build");
    build["workflow_run"]["path"] = json!(".github/workflows/build.yml");
    build["workflow"] = json!({ "name": "Build", "path": ".github/workflows/build.yml" });
    build["workflow_run"]["id"] = json!(1);
    assert!(deliver(&mut bot, "workflow_run", "w-2", &build).await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn a_malformed_payload_is_dropped_with_a_warning_not_retried_or_parked() {
    let mut bot = start("").await;
    let mut broken = dependabot("created");
    broken.as_object_mut().unwrap().remove("alert");
    assert!(deliver(&mut bot, "dependabot_alert", "bad-1", &broken).await.is_empty());
    assert!(
        deliver(
            &mut bot,
            "code_scanning_alert",
            "bad-2",
            &json!(["not", "an", "object"])
        )
        .await
        .is_empty()
    );
    let unfinished: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM handling WHERE state <> 'done'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(unfinished, 0);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE state = 'pending'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(pending, 0);
    bot.stop().await;
}
