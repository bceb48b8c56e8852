//! Mention injection, end to end: every real GitHub fixture the alert notifier handles, with
//! Slack and Discord mention syntax appended to each of its free-text fields (advisory summary and
//! description, code-scanning message and rule, branch, dismissal comment, package, path, …), is
//! posted signed to `POST /webhooks/github`; what reaches the fake Slack and Discord APIs (which
//! refuse what the real ones refuse) holds no live mention but the ones configured for the route,
//! and those still ping. A button whose alert key is too long for Discord's `custom_id` still
//! reaches the notifier when clicked through the signed interactions endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use sentinel_bot::chat::Directory;
use sentinel_bot::chat::discord::DiscordAdapter;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::config::Secret;
use sentinel_bot::harness::fakes::discord::FakeDiscord;
use sentinel_bot::harness::fakes::limits::{discord_mention_tokens, slack_mention_tokens};
use sentinel_bot::harness::fakes::slack::FakeSlack;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::{Bot, BotOptions, Clock, ManualClock, Plugin};
use sentinel_plugins::alert_notifier::{AlertNotifier, AlertNotifierConfig};
use serde_json::{Value, json};
use support::fixture;

const WEBHOOK_SECRET: &str = "0123456789abcdef0123456789abcdef-webhooks";
const APP: &str = "900000000000000001";
const CHANNEL: &str = "100000000000000010";

/// What an attacker writes into a field GitHub passes on.
const INJECTION: &str = " <!channel> <!here> <!everyone> <@U0EVIL> <@U0EVIL|boss> <!subteam^S0EVIL> \
                         @everyone @here <@123456789012345678> <@!123456789012345678> <@&123456789012345678> \
                         [x](https://evil.example/<!channel>) <https://evil.example|y>";

/// The route's own mentions: alice and the secops group, on each platform.
const SLACK_MENTIONS: [&str; 2] = ["<!subteam^S0SEC>", "<@U0ALICE>"];
const DISCORD_MENTIONS: [&str; 2] = ["<@&300000000000000003>", "<@200000000000000001>"];

/// Keys whose values GitHub fills from a fixed vocabulary or that are ids, times, addresses:
/// left as they are so the payload still means what it meant.
const STRUCTURAL: [&str; 18] = [
    "action",
    "state",
    "severity",
    "ecosystem",
    "type",
    "node_id",
    "conclusion",
    "status",
    "event",
    "scope",
    "ghsa_id",
    "cve_id",
    "identifier",
    "vector_string",
    "security_severity_level",
    "resolution",
    "dismissed_reason",
    "validity",
];

/// Appends [`INJECTION`] to every free-text string of `value`.
fn inject(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let structural = STRUCTURAL.contains(&key.as_str())
                    || key.ends_with("url")
                    || key.ends_with("_at")
                    || key.ends_with("sha");
                match v {
                    Value::String(s) if !structural => s.push_str(INJECTION),
                    Value::String(_) => {}
                    other => inject(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(inject),
        _ => {}
    }
}

/// Every fixture of an event the notifier handles, plus the variants its tests use: a dismissal
/// with a comment and a failed security workflow.
fn payloads() -> Vec<(&'static str, String, Value)> {
    let mut out: Vec<(&'static str, String, Value)> = [
        ("dependabot_alert", "dependabot_alert.created.json"),
        ("dependabot_alert", "dependabot_alert.fixed.json"),
        ("code_scanning_alert", "code_scanning_alert.created.json"),
        ("code_scanning_alert", "code_scanning_alert.fixed.json"),
        ("code_scanning_alert", "code_scanning_alert.reopened.json"),
        ("secret_scanning_alert", "secret_scanning_alert.reopened.json"),
        (
            "secret_scanning_alert_location",
            "secret_scanning_alert_location.created.json",
        ),
        ("repository_advisory", "repository_advisory.published.json"),
        ("security_advisory", "security_advisory.published.json"),
        ("security_advisory", "security_advisory.withdrawn.json"),
        (
            "repository_vulnerability_alert",
            "repository_vulnerability_alert.create.json",
        ),
        (
            "repository_vulnerability_alert",
            "repository_vulnerability_alert.dismiss.json",
        ),
        (
            "repository_vulnerability_alert",
            "repository_vulnerability_alert.resolve.json",
        ),
    ]
    .into_iter()
    .map(|(event, file)| (event, file.to_owned(), fixture(file)))
    .collect();
    let mut dismissed = fixture("dependabot_alert.created.json");
    dismissed["action"] = json!("dismissed");
    dismissed["alert"]["state"] = json!("dismissed");
    dismissed["alert"]["dismissed_at"] = json!("2023-06-25T10:00:00Z");
    dismissed["alert"]["dismissed_by"] = json!({ "login": "octocat" });
    dismissed["alert"]["dismissed_reason"] = json!("tolerable_risk");
    dismissed["alert"]["dismissed_comment"] = json!("only used in tests");
    out.push((
        "dependabot_alert",
        "dependabot_alert.dismissed (edited)".into(),
        dismissed,
    ));
    let mut run = fixture("workflow_run.completed.json");
    run["workflow_run"]["conclusion"] = json!("failure");
    run["workflow_run"]["name"] = json!("CodeQL");
    out.push(("workflow_run", "workflow_run.completed failure (edited)".into(), run));
    for (_, _, payload) in &mut out {
        inject(payload);
    }
    out
}

struct Harness {
    bot: Bot,
    clock: ManualClock,
    slack: FakeSlack,
    discord: FakeDiscord,
    url: String,
    key: SigningKey,
    http: reqwest::Client,
    _db: TestDb,
}

impl Harness {
    async fn start() -> Self {
        let slack = FakeSlack::start().await.unwrap();
        let discord = FakeDiscord::start().await.unwrap();
        let (slack_url, discord_url) = (slack.api_url(), discord.url.clone());
        let db = TestDb::new().await;
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let public_key = hex::encode(key.verifying_key().to_bytes());
        let text = format!(
            "[database]\nurl = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
             [github]\nwebhook_secret = \"{WEBHOOK_SECRET}\"\n\
             [slack]\nbot_token = \"xoxb-test\"\nsigning_secret = \"8f742231b10e8888abcd99yyyzzz85a5\"\napi_url = \"{slack_url}\"\npost_interval = \"0s\"\n\
             [discord]\nbot_token = \"discord-test\"\napplication_id = \"{APP}\"\npublic_key = \"{public_key}\"\n\
             api_url = \"{discord_url}\"\n\
             [channels.security-incidents]\nslack = \"C0INC\"\ndiscord = \"{CHANNEL}\"\n\
             [people.alice]\nslack = \"U0ALICE\"\ndiscord = \"200000000000000001\"\n\
             [groups.secops]\nslack = \"S0SEC\"\ndiscord = \"300000000000000003\"\n\
             [[plugins.alert_notifier.routes]]\nmention = [\"secops\", \"alice\"]\n",
            db.url()
        );
        let config = support::config(&text);
        let notifier = AlertNotifierConfig::from_config(&config).unwrap();
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let directory = Arc::new(Directory::from_config(&config));
        let slack_adapter = SlackAdapter::new(&config.slack, directory.clone(), Duration::from_secs(5)).unwrap();
        let discord_adapter = DiscordAdapter::new(
            &config.discord,
            directory,
            Duration::from_secs(5),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock.clone()),
            plugins: vec![Arc::new(AlertNotifier::new(notifier)) as Arc<dyn Plugin>],
            adapters: vec![Arc::new(slack_adapter), Arc::new(discord_adapter)],
            console: sentinel_bot::chat::console::ConsoleSink::Stdout,
            serve_http: true,
            routes: sentinel_bot::ingress::github::routes().merge(sentinel_bot::ingress::discord::routes()),
        })
        .await
        .unwrap();
        let url = format!("http://{}", bot.local_addr().unwrap());
        Self {
            bot,
            clock,
            slack,
            discord,
            url,
            key,
            http: reqwest::Client::new(),
            _db: db,
        }
    }

    async fn settle(&self) {
        self.bot.settle(Duration::from_secs(20)).await.unwrap();
    }

    /// POSTs `payload` as GitHub would: signed, with its event and a delivery id.
    async fn webhook(&self, event: &str, delivery: &str, payload: &Value) -> u16 {
        let body = payload.to_string().into_bytes();
        let signature = sentinel_bot::ingress::github::sign(&Secret::new(WEBHOOK_SECRET), &body);
        let response = self
            .http
            .post(format!("{}/webhooks/github", self.url))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        self.settle().await;
        response.status().as_u16()
    }

    /// Clicks the button with `custom_id` as alice, through the signed interactions endpoint.
    async fn click(&self, custom_id: &str) -> u16 {
        let body = json!({
            "id": "950000000000000001", "application_id": APP, "type": 3, "token": "click-token", "version": 1,
            "guild_id": "400000000000000004", "channel_id": CHANNEL,
            "member": {"user": {"id": "200000000000000001", "username": "alice"}, "roles": []},
            "message": {"id": "500000000000000001"},
            "data": {"custom_id": custom_id, "component_type": 2}
        })
        .to_string();
        let timestamp = self.clock.now().timestamp().to_string();
        let signature = self.key.sign(format!("{timestamp}{body}").as_bytes());
        let response = self
            .http
            .post(format!("{}/discord/interactions", self.url))
            .header("content-type", "application/json")
            .header("x-signature-ed25519", hex::encode(signature.to_bytes()))
            .header("x-signature-timestamp", timestamp)
            .body(body)
            .send()
            .await
            .unwrap();
        self.settle().await;
        response.status().as_u16()
    }
}

#[tokio::test]
async fn injected_mentions_in_every_github_fixture_ping_nobody_and_configured_mentions_still_do() {
    let h = Harness::start().await;
    for (n, (event, name, payload)) in payloads().into_iter().enumerate() {
        let (slack_before, discord_before) = (h.slack.accepted_messages().len(), h.discord.accepted_messages().len());
        let status = h.webhook(event, &format!("injected-{n}"), &payload).await;
        assert_eq!(status, 202, "{name}");
        assert!(
            h.slack.accepted_messages().len() > slack_before,
            "{name}: nothing reached Slack"
        );
        assert!(
            h.discord.accepted_messages().len() > discord_before,
            "{name}: nothing reached Discord"
        );
    }
    // The fakes refuse what the platforms refuse (`limits::slack_refusal`, `discord_refusal`): no
    // injected text made a message unsendable. A thread reply answered `Unknown Channel` before its
    // thread was started is not a refusal of what it said: the same reply follows in the thread.
    for call in h.slack.calls() {
        assert_eq!(call.refused, None, "Slack refused {}: {:#}", call.path, call.body);
    }
    for call in h.discord.calls() {
        assert_eq!(call.refused, None, "Discord refused {}: {:#}", call.path, call.body);
    }

    let slack = h.slack.accepted_messages();
    let discord = h.discord.accepted_messages();
    for call in &slack {
        for token in slack_mention_tokens(&call.body) {
            assert!(
                SLACK_MENTIONS.contains(&token.as_str()),
                "Slack: {token} is live in {:#}",
                call.body
            );
        }
    }
    assert!(
        slack
            .iter()
            .any(|c| c.body.to_string().contains("&lt;!channel&gt; &lt;!here&gt;")),
        "the injected text is shown, as text"
    );
    assert!(
        discord
            .iter()
            .any(|c| c.body.to_string().contains("@\u{200B}everyone @\u{200B}here")),
        "the injected text is shown on Discord, its mentions broken"
    );
    for call in &discord {
        for token in discord_mention_tokens(&call.body) {
            assert!(
                DISCORD_MENTIONS.contains(&token.as_str()),
                "Discord: {token} is live in {:#}",
                call.body
            );
        }
        if let Some(allowed) = call.body.get("allowed_mentions") {
            assert_eq!(allowed["parse"], json!([]), "never @everyone or @here");
            for user in allowed["users"].as_array().unwrap() {
                assert_eq!(user, "200000000000000001", "only alice may be pinged");
            }
            for role in allowed["roles"].as_array().unwrap() {
                assert_eq!(role, "300000000000000003", "only secops may be pinged");
            }
        }
    }

    // The alert messages (not the thread notes) ping the route's mentions.
    let first_slack = h.slack.calls_to("chat.postMessage").remove(0);
    assert_eq!(first_slack.body["thread_ts"], Value::Null);
    let text = first_slack.body["text"].as_str().unwrap();
    assert!(text.ends_with("cc <!subteam^S0SEC> <@U0ALICE>"), "{text}");
    let first_discord = h.discord.calls_to(&format!("/channels/{CHANNEL}/messages")).remove(0);
    assert_eq!(
        first_discord.body["content"],
        "<@&300000000000000003> <@200000000000000001>"
    );
    assert_eq!(
        first_discord.body["allowed_mentions"],
        json!({"parse": [], "users": ["200000000000000001"], "roles": ["300000000000000003"]})
    );
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_button_of_an_alert_whose_key_is_too_long_for_discord_still_acknowledges_it() {
    let h = Harness::start().await;
    let mut alert = fixture("dependabot_alert.created.json");
    // GitHub allows owner names of 39 and repository names of 100 characters.
    let repository = format!("{}/{}", "o".repeat(39), "r".repeat(100));
    alert["repository"]["full_name"] = json!(repository);
    assert_eq!(h.webhook("dependabot_alert", "long-1", &alert).await, 202);
    let post = h.discord.calls_to(&format!("/channels/{CHANNEL}/messages")).remove(0);
    let buttons = post.body["components"][0]["components"].as_array().unwrap().clone();
    let labels: Vec<&str> = buttons.iter().map(|b| b["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["Acknowledge", "Open incident", "View on GitHub"],
        "no button is lost"
    );
    let custom_id = buttons[0]["custom_id"].as_str().unwrap();
    assert!(
        custom_id.len() <= 100 && custom_id.starts_with("alert.ack|~"),
        "{custom_id}"
    );

    assert_eq!(h.click(custom_id).await, 200);
    let replies = h.discord.calls_to(&format!("/webhooks/{APP}/click-token"));
    assert_eq!(replies.len(), 1, "{:#?}", h.discord.calls());
    let reply = replies[0].body["content"].as_str().unwrap();
    assert!(
        reply.starts_with("Acknowledged "),
        "the notifier found the alert: {reply}"
    );
    // The alert's thread is started by the first note (its first attempt is `Unknown Channel`).
    let notes: Vec<_> = h
        .discord
        .accepted_messages()
        .into_iter()
        .filter(|c| c.path.ends_with("/channels/500000000000000001/messages"))
        .collect();
    assert_eq!(notes.len(), 1, "a note in the alert's thread");
    assert_eq!(notes[0].body["content"], "Acknowledged by alice");
    h.bot.shutdown(Duration::from_secs(5)).await;
}
