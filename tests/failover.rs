//! Failover, end to end (issue 14 §5): three `sentinel` binaries on one PostgreSQL database, a
//! storm of distinct Dependabot alerts spread over all three (the test plays the load balancer:
//! each webhook goes to the next instance, and one whose instance died unanswered goes to the next
//! live one with the same delivery id, as a balancer's retry would), escalation timers pending
//! for three critical incidents, and `kill -9` of one instance, then of another, mid-storm.
//!
//! What must hold: every alert appears exactly once on each platform (one message id on the fake
//! Slack, one on the fake Discord), every escalation ping exactly once per platform, and each
//! within the lease plus 5 s of when it was due (an alert: of its acknowledgement or of the kill
//! that stranded it; a ping: of its due time).
//!
//! Several instances need PostgreSQL (one SQLite file is one process): the test runs in the
//! PostgreSQL pass of `.ci/test` and says so in the SQLite pass.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use sentinel_bot::config::Secret;
use sentinel_bot::harness::fakes::discord::FakeDiscord;
use sentinel_bot::harness::fakes::slack::FakeSlack;
use sentinel_bot::harness::test_db::{TestDb, test_engine};
use sentinel_bot::store::Engine;
use serde_json::{Value, json};
use support::{SECRET, Sentinel, fixture};

/// The claims' lease the instances run with: a dead instance's work waits at most this long.
const LEASE: Duration = Duration::from_secs(3);
/// The alerts of the storm, and the channels they are spread over (three per channel: Slack's
/// per-channel burst, so pacing does not blur the failover's timing).
const ALERTS: usize = 90;
const CHANNELS: usize = 30;
/// The incidents declared before the storm; each pings at 4 s, then reminds at 6, 8 and 10 s.
const INCIDENTS: usize = 3;
const PINGS: [(&str, u64); 4] = [
    ("needs a responder", 4),
    ("Reminder 1/3", 6),
    ("Reminder 2/3", 8),
    ("Reminder 3/3", 10),
];
const SLACK_SIGNING_SECRET: &str = "failover-slack-signing-secret-0123456789";

fn slack_channel(k: usize) -> String {
    format!("C0FAIL{k:04}")
}

/// The fake Discord knows channels whose id starts with `1`.
fn discord_channel(k: usize) -> String {
    format!("1{:018}", 500 + k)
}

fn repository(i: usize) -> String {
    format!("failover-org/repo-{:03}", i % CHANNELS)
}

/// Alert numbers have four digits, so no alert's page address is a prefix of another's.
fn number(i: usize) -> u64 {
    1000 + i as u64
}

fn page(i: usize) -> String {
    format!("https://github.com/{}/security/dependabot/{}", repository(i), number(i))
}

fn config(instance: &str, slack: &FakeSlack, discord: &FakeDiscord) -> String {
    let mut text = format!(
        r#"[cluster]
instance = "{instance}"
lease = "{lease}s"
heartbeat = "1s"
[chat]
console = "off"
[github]
webhook_secret = "{SECRET}"
[slack]
bot_token = "xoxb-failover"
signing_secret = "{SLACK_SIGNING_SECRET}"
api_url = "{slack_api}"
[discord]
bot_token = "failover-discord-token"
application_id = "700000000000000007"
public_key = "{key}"
api_url = "{discord_api}"
[people.oncall]
slack = "U0ONCALL"
discord = "600000000000000001"
[channels.security-incidents]
slack = "C0INCIDENTS"
discord = "1000000000000000001"
[plugins.alert_notifier]
channel = "alerts-0"
[plugins.alert_notifier.digest]
enabled = false
[plugins.sla_escalator.levels]
emergency_contact = ["oncall"]
[plugins.sla_escalator.policy.critical]
respond = "1h"
resolve = "24h"
steps = [{{ after = "4s", notify = "emergency_contact", repeat_every = "2s", repeat = 3 }}]
"#,
        lease = LEASE.as_secs(),
        slack_api = slack.api_url(),
        key = "0".repeat(64),
        discord_api = discord.url,
    );
    for k in 0..CHANNELS {
        text.push_str(&format!(
            "[channels.alerts-{k}]\nslack = \"{}\"\ndiscord = \"{}\"\n[[plugins.alert_notifier.routes]]\nrepository = \"{}\"\nchannels = [\"alerts-{k}\"]\n",
            slack_channel(k),
            discord_channel(k),
            repository(k),
        ));
    }
    text
}

/// The webhook body of alert `i`: the real `dependabot_alert.created` fixture with its own number,
/// repository and page, at medium severity (below the alert notifier's `incident_severity`, so the
/// storm's alerts do not open incidents of their own).
fn alert_body(fixture: &Value, i: usize) -> Vec<u8> {
    let mut p = fixture.clone();
    let repo = repository(i);
    let name = repo.split_once('/').map_or("", |(_, name)| name).to_owned();
    p["alert"]["number"] = json!(number(i));
    p["alert"]["html_url"] = json!(page(i));
    p["alert"]["url"] = json!(format!(
        "https://api.github.com/repos/{repo}/dependabot/alerts/{}",
        number(i)
    ));
    p["alert"]["security_advisory"]["severity"] = json!("medium");
    p["alert"]["security_vulnerability"]["severity"] = json!("medium");
    p["repository"]["full_name"] = json!(repo);
    p["repository"]["name"] = json!(name);
    p["repository"]["html_url"] = json!(format!("https://github.com/{repo}"));
    p["repository"]["owner"]["login"] = json!("failover-org");
    serde_json::to_vec(&p).unwrap()
}

/// `application/x-www-form-urlencoded`.
fn form(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Declares incident `n` through a signed Slack slash command to `instance`.
async fn declare(client: &reqwest::Client, instance: &Sentinel, slack: &FakeSlack, n: usize) {
    let trigger = format!("declare-{n}");
    let body = form(&[
        ("token", "legacy-verification-token"),
        ("team_id", "T0ACME"),
        ("team_domain", "acme"),
        ("channel_id", "C0INCIDENTS"),
        ("channel_name", "security-incidents"),
        ("user_id", "U0ALICE"),
        ("user_name", "alice.s"),
        ("command", "/incident"),
        ("text", &format!("declare critical Failover drill {n}")),
        ("api_app_id", "A0SENTINEL"),
        ("response_url", &slack.response_url(&trigger)),
        ("trigger_id", &trigger),
    ]);
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let signature = sentinel_bot::ingress::slack::sign(&Secret::new(SLACK_SIGNING_SECRET), &timestamp, body.as_bytes());
    let response = client
        .post(instance.url("/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp)
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "declare {n}: {}", response.status());
}

/// Posts one signed webhook; `None` when the instance did not answer (it died).
async fn deliver(client: &reqwest::Client, base: &str, delivery: &str, body: &[u8]) -> Option<u16> {
    let signature = sentinel_bot::ingress::github::sign(&Secret::new(SECRET), body);
    let response = client
        .post(format!("{base}/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "dependabot_alert")
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", signature)
        .body(body.to_vec())
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

/// An outbox row not delivered at the end: platform, channel, state, attempts, last error, lease owner.
type Waiting = (String, String, String, i64, Option<String>, Option<String>);

/// A message the platform accepted: which text it carried, its platform id, and when.
struct Shown {
    body: String,
    id: String,
    at: Instant,
    top_level: bool,
}

fn slack_shown(slack: &FakeSlack) -> Vec<Shown> {
    let started = slack.started();
    slack
        .accepted_messages()
        .into_iter()
        .filter(|call| call.path.ends_with("/chat.postMessage"))
        .map(|call| Shown {
            top_level: call.body.get("thread_ts").is_none_or(Value::is_null),
            body: call.body.to_string(),
            id: format!("{}:{}", call.answer["channel"], call.answer["ts"]),
            at: started + call.at,
        })
        .collect()
}

fn discord_shown(discord: &FakeDiscord) -> Vec<Shown> {
    let started = discord.started();
    discord
        .accepted_messages()
        .into_iter()
        .filter(|call| call.method == "POST" && call.path.ends_with("/messages"))
        .map(|call| Shown {
            top_level: (0..CHANNELS).any(|k| {
                call.path
                    .ends_with(&format!("/channels/{}/messages", discord_channel(k)))
            }),
            body: call.body.to_string(),
            id: call.answer["id"].to_string(),
            at: started + call.at,
        })
        .collect()
}

/// Per needle: the distinct message ids showing it, and when the first was accepted.
fn by_needle(
    shown: &[Shown],
    needles: &[String],
    top_level: bool,
) -> BTreeMap<String, (HashSet<String>, Option<Instant>)> {
    let mut out: BTreeMap<String, (HashSet<String>, Option<Instant>)> =
        needles.iter().map(|n| (n.clone(), (HashSet::new(), None))).collect();
    for message in shown.iter().filter(|m| m.top_level == top_level) {
        for needle in needles {
            if message.body.contains(needle.as_str()) {
                let entry = out.get_mut(needle).unwrap();
                entry.0.insert(message.id.clone());
                entry.1 = Some(entry.1.map_or(message.at, |at: Instant| at.min(message.at)));
            }
        }
    }
    out
}

/// A ping's needle: its marker and its incident's title, as the ping text shows them.
fn ping_needle(marker: &str, n: usize) -> String {
    format!("{marker}|Failover drill {n} (critical)")
}

fn ping_matches(body: &str, needle: &str) -> bool {
    let (marker, incident) = needle.split_once('|').unwrap();
    body.contains(marker) && body.contains(incident)
}

/// Per ping needle: the distinct message ids showing it (replies only), and the first one's time.
fn pings(shown: &[Shown]) -> BTreeMap<String, (HashSet<String>, Option<Instant>)> {
    let mut out = BTreeMap::new();
    for n in 0..INCIDENTS {
        for (marker, _) in PINGS {
            let needle = ping_needle(marker, n);
            let hits: Vec<&Shown> = shown
                .iter()
                .filter(|m| !m.top_level && ping_matches(&m.body, &needle))
                .collect();
            let ids = hits.iter().map(|m| m.id.clone()).collect();
            out.insert(needle, (ids, hits.iter().map(|m| m.at).min()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_two_of_three_instances_mid_storm_loses_and_doubles_nothing() {
    if test_engine() != Engine::Postgres {
        eprintln!("several instances need PostgreSQL: this test runs in .ci/test's PostgreSQL pass");
        return;
    }
    let db = TestDb::new().await;
    let slack = FakeSlack::start().await.unwrap();
    slack.rate_limit(3.0);
    let discord = FakeDiscord::start().await.unwrap();
    let mut instances: Vec<Option<Sentinel>> = ["n1", "n2", "n3"]
        .iter()
        .map(|name| Some(Sentinel::start_on_database(db.url(), &config(name, &slack, &discord))))
        .collect();
    let client = reqwest::Client::new();

    // Three critical incidents, one declared through each instance: their pings are pending timers.
    let mut declared = Vec::new();
    for (n, instance) in instances.iter().flatten().enumerate().take(INCIDENTS) {
        let sent = Instant::now();
        declare(&client, instance, &slack, n).await;
        declared.push(sent);
    }

    // The storm, round robin, ~18 a second; n1 is killed after a third, n2 after two thirds.
    let fixture: Value = serde_json::from_slice(&fixture("dependabot_alert.created.json")).unwrap();
    let mut acknowledged: Vec<Instant> = Vec::with_capacity(ALERTS);
    let mut kills: Vec<Instant> = Vec::new();
    for i in 0..ALERTS {
        if i == ALERTS / 3 || i == 2 * ALERTS / 3 {
            let victim = kills.len();
            instances[victim].take().unwrap().kill9();
            kills.push(Instant::now());
        }
        let body = alert_body(&fixture, i);
        let delivery = format!("failover-{i}");
        let mut tried = 0;
        let status = loop {
            let live: Vec<&Sentinel> = instances.iter().flatten().collect();
            let target = live[(i + tried) % live.len()];
            match deliver(&client, &target.base, &delivery, &body).await {
                Some(status) => break status,
                None => tried += 1,
            }
            assert!(tried < 10, "no instance answered alert {i}");
        };
        assert!((200..300).contains(&status), "alert {i}: {status}");
        acknowledged.push(Instant::now());
        tokio::time::sleep(Duration::from_millis(55)).await;
    }
    let last_kill = *kills.last().unwrap();

    // Everything arrives: each alert within the lease + 5 s of its acknowledgement (or of the last
    // kill, for one acknowledged before it), each ping within the lease + 5 s of its due time.
    let bound = LEASE + Duration::from_secs(5);
    let last_ping_due = declared
        .iter()
        .max()
        .unwrap()
        .checked_add(Duration::from_secs(PINGS[3].1))
        .unwrap();
    let deadline = (last_kill.max(*acknowledged.last().unwrap()) + bound).max(last_ping_due + bound);
    let pages: Vec<String> = (0..ALERTS).map(page).collect();
    let complete = |shown: &[Shown]| {
        by_needle(shown, &pages, true).values().all(|(ids, _)| !ids.is_empty())
            && pings(shown).values().all(|(ids, _)| !ids.is_empty())
    };
    while !(complete(&slack_shown(&slack)) && complete(&discord_shown(&discord))) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give a duplicate every chance to show up.
    tokio::time::sleep(LEASE + Duration::from_secs(2)).await;

    let pool = db.open().await.unwrap();
    let waiting: Vec<Waiting> = sqlx::query_as(
        "SELECT platform, channel, state, attempts, last_error, lease_owner FROM outbox WHERE state <> 'delivered' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let rate_limited = slack.calls().iter().filter(|c| c.status == 429).count();
    assert!(
        waiting.is_empty(),
        "messages not delivered ({rate_limited} Slack 429s): {waiting:#?}"
    );
    for (platform, shown) in [("Slack", slack_shown(&slack)), ("Discord", discord_shown(&discord))] {
        let alerts = by_needle(&shown, &pages, true);
        for (i, needle) in pages.iter().enumerate() {
            let (ids, first) = &alerts[needle];
            assert_eq!(ids.len(), 1, "{platform}: alert {needle} shown {} times", ids.len());
            let due = if acknowledged[i] < last_kill {
                last_kill
            } else {
                acknowledged[i]
            };
            let late = first.unwrap().saturating_duration_since(due);
            assert!(
                late <= bound,
                "{platform}: alert {needle} came {late:?} after {due:?}-relative due time"
            );
        }
        for (needle, (ids, first)) in pings(&shown) {
            let seen: Vec<String> = slack
                .calls()
                .into_iter()
                .chain(discord.calls())
                .filter(|c| c.path.contains("/response/") || c.body.to_string().contains("drill"))
                .map(|c| format!("{} {} → {}", c.path, c.body, c.status))
                .collect();
            assert_eq!(
                ids.len(),
                1,
                "{platform}: ping {needle} shown {} times; the incident's messages: {seen:#?}",
                ids.len()
            );
            let n: usize = needle
                .rsplit("drill ")
                .next()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let after = PINGS.iter().find(|(marker, _)| needle.starts_with(marker)).unwrap().1;
            let due = declared[n] + Duration::from_secs(after);
            let late = first.unwrap().saturating_duration_since(due);
            assert!(
                late <= bound,
                "{platform}: ping {needle} came {late:?} after it was due"
            );
        }
    }
    for call in slack.calls().into_iter().chain(discord.calls()) {
        assert!(
            call.refused.is_none(),
            "a fake refused {} {}: {:?}",
            call.method,
            call.path,
            call.refused
        );
    }
    drop(instances);
}
