//! How an alert renders: fields, buttons, summary lines, closed alerts and change notes.

use super::*;

fn field<'a>(message: &'a sentinel_bot::Message, name: &str) -> Option<&'a str> {
    message.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
}

#[test]
fn a_dependabot_alert_renders_everything_a_responder_needs() {
    use sentinel_bot::{Button, ButtonKind, Mention};
    let alert = fixture("dependabot_alert.created.json").alert;
    let message = render::alert_message(
        &alert,
        &dest("security-incidents", &[Mention::Group("security-champions".into())]),
    );
    assert_eq!(message.channel.as_str(), "security-incidents");
    assert_eq!(
        message.key.as_ref().map(|k| k.as_str()),
        Some("dependabot:wolfy1339/pika-pack:20")
    );
    assert_eq!(message.thread, None);
    assert_eq!(
        message.title.as_deref(),
        Some("[MEDIUM] semver vulnerable to Regular Expression Denial of Service")
    );
    assert_eq!(message.severity, Some(Severity::Medium));
    assert_eq!(message.text, "Dependabot alert #20 in wolfy1339/pika-pack");
    let fields: Vec<(&str, &str)> = message
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("Repository", "wolfy1339/pika-pack"),
            ("Package", "semver (npm)"),
            ("Manifest", "package-lock.json"),
            ("Vulnerable", "< 7.5.2"),
            ("Patched", "7.5.2"),
            ("CVE", "CVE-2022-25883"),
            ("GHSA", "GHSA-c2qf-rxjj-qqgw"),
            ("CVSS", "5.3"),
            ("State", "Open"),
        ]
    );
    assert!(
        message
            .body
            .as_deref()
            .unwrap_or_default()
            .starts_with("Versions of the package semver")
    );
    assert_eq!(
        message.context.as_deref(),
        Some("dependabot · dependabot:wolfy1339/pika-pack:20")
    );
    let key = "dependabot:wolfy1339/pika-pack:20";
    assert_eq!(message.buttons.len(), 3);
    assert_eq!(message.buttons[0].label, "Acknowledge");
    assert_eq!(
        message.buttons[0].kind,
        ButtonKind::Action {
            id: "alert.ack".into(),
            value: key.into()
        }
    );
    assert_eq!(message.buttons[1].label, "Open incident");
    assert_eq!(
        message.buttons[1].kind,
        ButtonKind::Action {
            id: "alert.incident".into(),
            value: key.into()
        }
    );
    assert_eq!(
        message.buttons[2],
        Button::link(
            "View on GitHub",
            "https://github.com/wolfy1339/pika-pack/security/dependabot/20"
        )
    );
    assert_eq!(message.mentions, [Mention::Group("security-champions".into())]);
}

#[test]
fn a_closed_alert_says_so_and_keeps_only_its_link() {
    let alert = fixture("dependabot_alert.fixed.json").alert;
    let message = render::alert_message(&alert, &dest("security-incidents", &[]));
    assert_eq!(message.text, "Dependabot alert #1 in octocat/hello-world — fixed");
    assert_eq!(field(&message, "State"), Some("Fixed"));
    let labels: Vec<&str> = message.buttons.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["View on GitHub"]);
}

#[test]
fn code_scanning_and_secret_alerts_show_their_own_fields() {
    let code = render::alert_message(
        &fixture("code_scanning_alert.created.json").alert,
        &dest("security-incidents", &[]),
    );
    assert_eq!(
        code.title.as_deref(),
        Some("[HIGH] Query built from user-controlled sources")
    );
    assert_eq!(code.text, "Code scanning alert #10 in Codertocat/Hello-World");
    assert_eq!(field(&code, "Rule"), Some("java/sql-injection (CodeQL)"));
    assert_eq!(
        field(&code, "Location"),
        Some("src/main/java/com/github/demo/service/BookService.java:84")
    );
    assert_eq!(field(&code, "Branch"), Some("code-feature"));
    assert_eq!(field(&code, "Package"), None);

    let mut leaked = fixture("secret_scanning_alert.reopened.json").alert;
    let secret = render::alert_message(&leaked, &dest("security-incidents", &[]));
    assert_eq!(field(&secret, "Secret type"), Some("adafruit_io_key"));
    leaked.publicly_leaked = true;
    leaked.validity = Some("active".into());
    let secret = render::alert_message(&leaked, &dest("security-incidents", &[]));
    assert_eq!(
        field(&secret, "Secret type"),
        Some("adafruit_io_key — ⚠️ publicly leaked: revoke it now")
    );
    assert_eq!(field(&secret, "Validity"), Some("active"));
    assert_eq!(
        secret.title.as_deref(),
        Some("[CRITICAL] Secret detected: adafruit_io_key")
    );
}

#[test]
fn advisories_and_workflows_have_their_own_summary_line() {
    let global = fixture("security_advisory.published.json").alert;
    assert_eq!(render::summary(&global), "GitHub security advisory GHSA-rf4j-j272-fj86");
    let withdrawn = fixture("security_advisory.withdrawn.json").alert;
    assert_eq!(
        render::summary(&withdrawn),
        "GitHub security advisory GHSA-8v27-2fg9-7h62 — withdrawn"
    );
    let mut p = load("workflow_run.completed.json");
    p["workflow_run"]["conclusion"] = json!("failure");
    p["workflow_run"]["name"] = json!("CodeQL");
    let run = change_of("workflow_run", &p).alert;
    assert_eq!(
        render::summary(&run),
        format!(
            "Failed security workflow in octo-org/octo-repo (run #{})",
            run.number.unwrap()
        )
    );
}

#[test]
fn a_change_note_is_a_threaded_reply_under_the_alert() {
    let alert = fixture("dependabot_alert.created.json").alert;
    let note = render::note_message(&alert, "security-incidents", "Dismissed by octocat: tolerable_risk");
    assert_eq!(note.text, "Dismissed by octocat: tolerable_risk");
    assert_eq!(note.thread.as_ref().map(|k| k.as_str()), Some(alert.key.as_str()));
    assert_eq!(note.key, None);
    assert_eq!(note.channel.as_str(), "security-incidents");
}
