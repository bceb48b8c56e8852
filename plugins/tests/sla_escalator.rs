//! The SLA escalator at chat level: real pipeline, real SQLite, manual clock. Incidents are driven
//! by pushing the incident commander's domain events (`sentinel_plugins::domain`) directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::{TestBot, test_start};
use sentinel_bot::ids::TimerKey;
use sentinel_bot::{Clock, DedupKey, DomainEvent, Mention, NewEvent, Plugin, TimerFired};
use sentinel_plugins::sla_escalator::{SlaConfig, SlaEscalator};
use serde_json::{Value, json};

/// Four levels, one group each, one person per group.
const LEVELS: &str = r#"
[people.alice]
[people.bob]
[people.carol]
[people.dave]
[people.mallory]

[groups.team-lead]
members = ["alice"]
[groups.security-champions]
members = ["bob"]
[groups.repository-owners]
members = ["carol"]
[groups.emergency]
members = ["dave"]

[plugins.sla_escalator.levels]
team_lead = ["team-lead"]
security_champion = ["security-champions"]
repository_owner = ["repository-owners"]
emergency_contact = ["emergency"]
"#;

fn make(config_text: &str) -> impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static {
    let table = sentinel_bot::config::load::parse_table(config_text, "test").unwrap();
    let config = sentinel_bot::config::load::from_table(table).unwrap();
    let section: SlaConfig =
        sentinel_bot::config::deserialize_named(config.plugin_section("sla_escalator"), "plugins.sla_escalator")
            .unwrap();
    let settings = section.settings(&config).unwrap_or_else(|e| panic!("{e:?}"));
    move || vec![Arc::new(SlaEscalator::new(settings.clone())) as Arc<dyn Plugin>]
}

async fn start(config_text: &str) -> TestBot {
    TestBot::start(config_text, make(config_text)).await.unwrap()
}

fn rfc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Pushes an incident commander event, as it would arrive after the commander committed.
async fn domain(bot: &mut TestBot, kind: &str, payload: Value) -> Vec<Printed> {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let event = DomainEvent {
        kind: kind.to_owned(),
        payload,
    };
    bot.push(NewEvent {
        dedup_key: DedupKey(format!("t:{n}")),
        kind: "domain",
        name: kind.into(),
        owner: None,
        payload: serde_json::to_string(&event).unwrap(),
    })
    .await;
    bot.pop()
}

async fn open(bot: &mut TestBot, id: i64, severity: &str, title: &str, repository: Option<&str>) -> Vec<Printed> {
    let now = bot.clock.now();
    domain(
        bot,
        "incident.opened",
        json!({ "id": id, "title": title, "severity": severity, "opened_at": rfc(now), "opened_by": "alice",
                "repository": repository, "alert_keys": [] }),
    )
    .await
}

async fn change(bot: &mut TestBot, kind: &str, id: i64, by: &str) -> Vec<Printed> {
    let now = bot.clock.now();
    domain(bot, kind, json!({ "id": id, "at": rfc(now), "by": by })).await
}

/// Moves the clock to `at` and returns what was posted.
async fn until(bot: &mut TestBot, at: DateTime<Utc>) -> Vec<Printed> {
    let by = at - bot.clock.now();
    assert!(by >= Duration::zero(), "the clock only moves forward");
    bot.advance(by).await
}

fn names(p: &Printed) -> String {
    p.message
        .mentions
        .iter()
        .map(|m| match m {
            Mention::Group(n) | Mention::Person(n) | Mention::User(n) => n.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// What a post is and whom it mentions: `reminder 2/3 → emergency`.
fn sig(p: &Printed) -> String {
    let text = &p.message.text;
    let kind = if text.starts_with("🔔") {
        "ping".to_owned()
    } else if let Some(rest) = text.strip_prefix("🔁 Reminder ") {
        format!("reminder {}", rest.split(':').next().unwrap())
    } else if text.starts_with("🔺") {
        "escalate".to_owned()
    } else if text.starts_with("⏳") {
        if text.contains("response time") {
            "warn response"
        } else {
            "warn resolution"
        }
        .to_owned()
    } else if text.starts_with("🚨") {
        if text.contains("response SLA") {
            "breach response"
        } else {
            "breach resolution"
        }
        .to_owned()
    } else {
        text.clone()
    };
    format!("{kind} → {}", names(p))
}

fn sigs(printed: &[Printed]) -> Vec<String> {
    printed.iter().map(sig).collect()
}

/// For each `(offset from start, posts)`: nothing a minute before, exactly these posts at the
/// offset, all in the incident's thread in the incidents channel.
async fn walk(bot: &mut TestBot, start: DateTime<Utc>, incident: i64, steps: &[(Duration, &[&str])]) {
    for (offset, expected) in steps {
        let before = until(bot, start + *offset - Duration::minutes(1)).await;
        assert!(before.is_empty(), "before +{offset}: {:?}", sigs(&before));
        let got = until(bot, start + *offset).await;
        assert_eq!(sigs(&got), *expected, "at +{offset}");
        for p in &got {
            assert_eq!(p.channel, "security-incidents");
            assert_eq!(
                p.message.thread.as_ref().map(|k| k.as_str().to_owned()),
                Some(format!("incident:{incident}"))
            );
        }
    }
}

/// The payloads of the domain events of `kind` emitted so far.
async fn emitted(bot: &TestBot, kind: &str) -> Vec<Value> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM inbox WHERE kind = 'domain' AND name = ? ORDER BY id")
            .bind(kind)
            .fetch_all(bot.bot().pool())
            .await
            .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str::<DomainEvent>(r).unwrap().payload)
        .collect()
}

async fn timer_keys(bot: &TestBot) -> Vec<String> {
    sqlx::query_scalar("SELECT key FROM timers WHERE owner = 'sla_escalator' ORDER BY key")
        .fetch_all(bot.bot().pool())
        .await
        .unwrap()
}

async fn column(bot: &TestBot, sql: &'static str) -> Option<i64> {
    sqlx::query_scalar(sql).fetch_one(bot.bot().pool()).await.unwrap()
}

fn m(minutes: i64) -> Duration {
    Duration::minutes(minutes)
}

fn h(hours: i64) -> Duration {
    Duration::hours(hours)
}

#[tokio::test]
async fn critical_row_pings_the_emergency_contact_every_15m_then_breaches_both_deadlines() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let first = open(&mut bot, 1, "critical", "Leaked AWS key", Some("acme/api")).await;
    assert_eq!(sigs(&first), ["ping → emergency"]);
    assert_eq!(
        first[0].message.text,
        "🔔 Incident #1 · Leaked AWS key (critical) needs a responder. L4 emergency contact, please acknowledge. \
         Respond by 2026-03-02 10:00 UTC (in 1h)."
    );
    assert_eq!(first[0].message.mentions, [Mention::Group("emergency".into())]);

    walk(
        &mut bot,
        t0,
        1,
        &[
            (m(15), &["reminder 1/3 → emergency"]),
            (m(30), &["reminder 2/3 → emergency"]),
        ],
    )
    .await;
    let at45 = until(&mut bot, t0 + m(45)).await;
    assert_eq!(sigs(&at45), ["reminder 3/3 → emergency", "warn response → emergency"]);
    assert_eq!(
        at45[0].message.text,
        "🔁 Reminder 3/3: incident #1 · Leaked AWS key (critical) is still not acknowledged after 45m. \
         L4 emergency contact, please acknowledge. Respond by 2026-03-02 10:00 UTC (in 15m)."
    );
    assert_eq!(
        at45[1].message.text,
        "⏳ Incident #1 · Leaked AWS key (critical): 75% of the 1h response time has passed. \
         Respond by 2026-03-02 10:00 UTC (in 15m)."
    );
    let at60 = until(&mut bot, t0 + m(60)).await;
    assert_eq!(sigs(&at60), ["breach response → emergency"]);
    assert_eq!(
        at60[0].message.text,
        "🚨 Incident #1 · Leaked AWS key (critical) breached its response SLA: not acknowledged by \
         2026-03-02 10:00 UTC (1h). Escalating to L4 emergency contact."
    );
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(18), &["warn resolution → emergency"]),
            (h(24), &["breach resolution → emergency"]),
        ],
    )
    .await;
    assert!(until(&mut bot, t0 + Duration::days(60)).await.is_empty());

    // Every ping and breach is a timeline entry; the breach is recorded with its time.
    let pings = emitted(&bot, "sla.ping").await;
    assert_eq!(pings.len(), 4);
    assert_eq!(
        pings[0],
        json!({"incident_id": 1, "level": "emergency_contact", "step": 1, "at": "2026-03-02T09:00:00Z", "mentions": ["emergency"]})
    );
    assert_eq!(
        emitted(&bot, "sla.breached").await,
        [
            json!({"incident_id": 1, "kind": "response", "deadline": "2026-03-02T10:00:00Z", "at": "2026-03-02T10:00:00Z"}),
            json!({"incident_id": 1, "kind": "resolution", "deadline": "2026-03-03T09:00:00Z", "at": "2026-03-03T09:00:00Z"}),
        ]
    );
    assert_eq!(emitted(&bot, "sla.warning").await.len(), 2);
    assert_eq!(
        emitted(&bot, "sla.planned").await,
        [
            json!({"incident_id": 1, "severity": "critical", "respond_by": "2026-03-02T10:00:00Z", "resolve_by": "2026-03-03T09:00:00Z"})
        ]
    );
    assert_eq!(
        column(
            &bot,
            "SELECT response_breached_at FROM sla_incidents WHERE incident_id = 1"
        )
        .await,
        Some((t0 + h(1)).timestamp_millis())
    );
    assert_eq!(
        column(
            &bot,
            "SELECT resolution_breached_at FROM sla_incidents WHERE incident_id = 1"
        )
        .await,
        Some((t0 + h(24)).timestamp_millis())
    );
    bot.stop().await;
}

#[tokio::test]
async fn high_row_starts_with_the_repository_owner_and_climbs_to_the_emergency_contact_after_1h() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let first = open(&mut bot, 1, "high", "SQL injection", Some("acme/api")).await;
    assert_eq!(sigs(&first), ["ping → repository-owners"]);
    walk(
        &mut bot,
        t0,
        1,
        &[
            (m(30), &["reminder 1/1 → repository-owners"]),
            (h(1), &["escalate → emergency"]),
            (h(2), &["reminder 1/2 → emergency"]),
            (h(3), &["reminder 2/2 → emergency", "warn response → emergency"]),
            (h(4), &["breach response → emergency"]),
            (h(126), &["warn resolution → emergency"]),
            (h(168), &["breach resolution → emergency"]),
        ],
    )
    .await;
    let steps: Vec<Value> = emitted(&bot, "sla.ping")
        .await
        .iter()
        .map(|p| p["step"].clone())
        .collect();
    assert_eq!(steps, [json!(1), json!(1), json!(2), json!(2), json!(2)]);
    bot.stop().await;
}

#[tokio::test]
async fn medium_row_starts_with_the_security_champion_and_climbs_to_the_repository_owner_after_4h() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let first = open(&mut bot, 1, "medium", "Reflected XSS", Some("acme/web")).await;
    assert_eq!(sigs(&first), ["ping → security-champions"]);
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(2), &["reminder 1/1 → security-champions"]),
            (h(4), &["escalate → repository-owners"]),
            (h(8), &["reminder 1/4 → repository-owners"]),
            (h(12), &["reminder 2/4 → repository-owners"]),
            (h(16), &["reminder 3/4 → repository-owners"]),
            (h(18), &["warn response → repository-owners"]),
            (h(20), &["reminder 4/4 → repository-owners"]),
            (h(24), &["breach response → emergency"]),
            (h(540), &["warn resolution → emergency"]),
            (h(720), &["breach resolution → emergency"]),
        ],
    )
    .await;
    bot.stop().await;
}

#[tokio::test]
async fn low_row_starts_with_the_team_lead_and_gives_it_one_business_day() {
    let mut bot = start(LEVELS).await;
    // Monday 09:00 UTC; business hours default to Mon–Fri 09:00–17:00 UTC.
    let t0 = test_start();
    let first = open(&mut bot, 1, "low", "Outdated lodash", None).await;
    assert_eq!(sigs(&first), ["ping → team-lead"]);
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(8), &["escalate → security-champions"]), // Monday 17:00: one business day
            (h(32), &["reminder 1/2 → security-champions"]), // Tuesday 17:00
            (h(56), &["reminder 2/2 → security-champions"]), // Wednesday 17:00
            (h(126), &["warn response → security-champions"]), // 75 % of a week (wall clock)
            (h(168), &["breach response → repository-owners"]), // one week
            (h(1620), &["warn resolution → repository-owners"]),
            (h(2160), &["breach resolution → emergency"]), // 90 days
        ],
    )
    .await;
    bot.stop().await;
}

async fn start_at(config_text: &str, at: DateTime<Utc>, dir: &tempfile::TempDir) -> TestBot {
    let db = dir.path().join("sentinel.db");
    TestBot::start_on(&db, config_text, make(config_text), at, false)
        .await
        .unwrap()
}

#[tokio::test]
async fn one_business_day_from_friday_afternoon_in_berlin_ends_monday_afternoon_across_the_dst_change() {
    let config = format!(
        "{LEVELS}\n[plugins.sla_escalator.business_hours]\ntime_zone = \"Europe/Berlin\"\n\
         days = [\"Mon\", \"Tue\", \"Wed\", \"Thu\", \"Fri\"]\nstart = \"09:00\"\nend = \"17:00\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    // Friday 2026-03-27 16:00 CET; the clocks go forward on Sunday 2026-03-29.
    let friday = utc("2026-03-27T15:00:00Z");
    let mut bot = start_at(&config, friday, &dir).await;
    assert_eq!(
        sigs(&open(&mut bot, 1, "low", "Outdated lodash", None).await),
        ["ping → team-lead"]
    );
    // One business hour on Friday, seven on Monday from 09:00 CEST (07:00 UTC): 16:00 CEST, 14:00 UTC.
    let monday = utc("2026-03-30T14:00:00Z");
    walk(
        &mut bot,
        monday,
        1,
        &[(Duration::zero(), &["escalate → security-champions"])],
    )
    .await;
    // The next business day ends Tuesday 16:00 CEST.
    walk(&mut bot, monday, 1, &[(h(24), &["reminder 1/2 → security-champions"])]).await;
    bot.stop().await;
}

#[tokio::test]
async fn an_acknowledgement_cancels_the_response_timers_and_a_ping_already_queued_behind_it() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "high", "SQL injection", Some("acme/api")).await;
    walk(&mut bot, t0, 1, &[(m(30), &["reminder 1/1 → repository-owners"])]).await;
    assert!(change(&mut bot, "incident.acknowledged", 1, "carol").await.is_empty());
    assert_eq!(
        timer_keys(&bot).await,
        ["incident:1:resolve:breach", "incident:1:resolve:warn:75"]
    );
    assert_eq!(
        column(&bot, "SELECT acknowledged_at FROM sla_incidents WHERE incident_id = 1").await,
        Some((t0 + m(30)).timestamp_millis())
    );

    // A ping timer that fired before the acknowledgement committed but is handled after it: silent.
    let stale = |incident: i64| {
        let key = format!("incident:{incident}:respond:ping:2:0");
        let fired = TimerFired {
            key: TimerKey(key.clone()),
            due_at: t0 + m(30),
            payload: json!({"incident": incident, "generation": 1, "what": "ping", "step": 2, "repeat": 0,
                            "repeats": 2, "level": "emergency_contact"}),
        };
        NewEvent {
            dedup_key: DedupKey(format!("stale:{incident}")),
            kind: "timer",
            name: key,
            owner: Some("sla_escalator".into()),
            payload: serde_json::to_string(&fired).unwrap(),
        }
    };
    bot.push(stale(1)).await;
    assert!(bot.pop().is_empty());
    // The same event for an unacknowledged incident does ping: it is the acknowledgement that stops it.
    open(&mut bot, 2, "high", "Auth bypass", Some("acme/api")).await;
    bot.push(stale(2)).await;
    assert_eq!(sigs(&bot.pop()), ["escalate → emergency"]);
    change(&mut bot, "incident.acknowledged", 2, "carol").await;

    // Nothing more until the resolution clock warns; the response deadline is not breached.
    walk(&mut bot, t0, 1, &[(h(126), &["warn resolution → repository-owners"])]).await;
    assert!(emitted(&bot, "sla.breached").await.is_empty());
    let status = bot.command("/sla status 1").await;
    assert_eq!(
        status[0].message.text,
        "🟠 Incident #1 · SQL injection (high) in acme/api\n  acknowledged 2026-03-02 09:30 UTC (respond by 2026-03-02 13:00 UTC)\n  \
         resolve by 2026-03-09 09:00 UTC (in 1d 18h)\nNo silences.\n"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_severity_rise_replans_from_the_original_start_and_catches_up_with_one_ping() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "medium", "Reflected XSS", Some("acme/web")).await;
    walk(&mut bot, t0, 1, &[(h(2), &["reminder 1/1 → security-champions"])]).await;
    let now = bot.clock.now();
    let replanned = domain(
        &mut bot,
        "incident.severity_changed",
        json!({"id": 1, "from": "medium", "to": "high", "at": rfc(now), "by": "alice", "opened_at": rfc(t0)}),
    )
    .await;
    // The high chain is at its step 2 two hours in: one catch-up escalation, not a burst.
    assert_eq!(sigs(&replanned), ["escalate → emergency"]);
    assert!(replanned[0].message.text.contains("still not acknowledged after 2h: escalating to L4 emergency contact (step 2). Respond by 2026-03-02 13:00 UTC (in 2h)."), "{}", replanned[0].message.text);
    // Deadlines count from the opening: the 4 h response deadline is at 13:00, not 15:00.
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(3), &["reminder 2/2 → emergency", "warn response → emergency"]),
            (h(4), &["breach response → emergency"]),
            (h(126), &["warn resolution → emergency"]),
        ],
    )
    .await;
    let planned = emitted(&bot, "sla.planned").await;
    assert_eq!(planned.len(), 2);
    assert_eq!(
        planned[1],
        json!({"incident_id": 1, "severity": "high", "respond_by": "2026-03-02T13:00:00Z", "resolve_by": "2026-03-09T09:00:00Z"})
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_rise_past_the_new_deadline_breaches_at_once_and_a_fall_replans_quietly() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "low", "Outdated lodash", None).await;
    open(&mut bot, 2, "critical", "Leaked token", None).await;
    walk(&mut bot, t0, 2, &[(m(15), &["reminder 1/3 → emergency"])]).await;

    // 20 minutes in, incident 2 goes critical → low: no reminder at 30m, the low chain from the opening.
    until(&mut bot, t0 + m(20)).await;
    let fall = domain(
        &mut bot,
        "incident.severity_changed",
        json!({"id": 2, "from": "critical", "to": "low", "at": rfc(t0 + m(20)), "by": "alice", "opened_at": rfc(t0)}),
    )
    .await;
    assert!(fall.is_empty(), "{:?}", sigs(&fall));
    assert!(until(&mut bot, t0 + h(2)).await.is_empty());
    assert_eq!(
        column(&bot, "SELECT respond_by FROM sla_incidents WHERE incident_id = 2").await,
        Some((t0 + Duration::days(7)).timestamp_millis())
    );

    // Two hours in, incident 1 goes low → critical: the 1 h response deadline from the opening has
    // passed, so one catch-up ping to the new first level and the breach come at once.
    let rise = domain(
        &mut bot,
        "incident.severity_changed",
        json!({"id": 1, "from": "low", "to": "critical", "at": rfc(t0 + h(2)), "by": "alice", "opened_at": rfc(t0)}),
    )
    .await;
    assert_eq!(sigs(&rise), ["ping → emergency", "breach response → emergency"]);
    assert!(
        rise[0]
            .message
            .text
            .ends_with("Respond by 2026-03-02 10:00 UTC (overdue by 1h)."),
        "{}",
        rise[0].message.text
    );

    // Both low chains (incident 1's is gone) go on: incident 2 climbs to L2 after one business day.
    let at8 = until(&mut bot, t0 + h(8)).await;
    assert_eq!(sigs(&at8), ["escalate → security-champions"]);
    assert_eq!(at8[0].message.thread.as_ref().unwrap().as_str(), "incident:2");
    walk(&mut bot, t0, 1, &[(h(18), &["warn resolution → emergency"])]).await;
    bot.stop().await;
}

#[tokio::test]
async fn resolve_pauses_every_clock_and_reopen_resumes_the_resolution_clock_where_it_stopped() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "critical", "Leaked AWS key", None).await;
    until(&mut bot, t0 + m(10)).await;
    change(&mut bot, "incident.acknowledged", 1, "dave").await;
    until(&mut bot, t0 + h(6)).await;
    assert!(change(&mut bot, "incident.resolved", 1, "dave").await.is_empty());
    assert!(timer_keys(&bot).await.is_empty());
    // Paused: neither the 18 h warning nor the 24 h deadline comes.
    assert!(until(&mut bot, t0 + Duration::days(2)).await.is_empty());
    assert_eq!(
        bot.command("/sla status").await[0].message.text,
        "No open incidents.\nNo silences.\n"
    );

    // Reopened two days in: 6 of the 24 hours were used, 18 are left.
    let reopened = t0 + Duration::days(2);
    assert!(change(&mut bot, "incident.reopened", 1, "dave").await.is_empty());
    walk(
        &mut bot,
        reopened,
        1,
        &[
            (h(12), &["warn resolution → emergency"]),
            (h(18), &["breach resolution → emergency"]),
        ],
    )
    .await;
    assert_eq!(
        emitted(&bot, "sla.breached").await,
        [
            json!({"incident_id": 1, "kind": "resolution", "deadline": "2026-03-05T03:00:00Z", "at": "2026-03-05T03:00:00Z"})
        ]
    );

    // Closing stops everything for good.
    open(&mut bot, 2, "high", "Auth bypass", None).await;
    assert!(change(&mut bot, "incident.closed", 2, "carol").await.is_empty());
    assert!(until(&mut bot, reopened + Duration::days(30)).await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn silences_suppress_pings_but_not_deadlines_and_are_listed_and_lifted() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let reply = bot
        .command_as("alice", "/sla silence acme/* 2h maintenance window")
        .await;
    assert_eq!(
        reply[0].message.text,
        "🔕 Silence #1: SLA pings for incidents in acme/* are suppressed until 2026-03-02 11:00 UTC (in 2h) — \
         maintenance window. Deadlines and breaches are still recorded. Lift it with /sla unsilence 1."
    );
    assert_eq!(reply[0].kind, PrintedKind::New);

    assert!(
        open(&mut bot, 1, "critical", "Leaked key", Some("acme/api"))
            .await
            .is_empty()
    );
    assert_eq!(
        sigs(&open(&mut bot, 2, "critical", "Leaked key", Some("other/web")).await),
        ["ping → emergency"]
    );
    let at45 = until(&mut bot, t0 + m(45)).await;
    assert!(
        at45.iter()
            .all(|p| p.message.thread.as_ref().unwrap().as_str() == "incident:2")
    );
    assert_eq!(at45.len(), 4);

    // The deadline is still recorded and posted, without mentions.
    let at60 = until(&mut bot, t0 + m(60)).await;
    assert_eq!(sigs(&at60), ["breach response → ", "breach response → emergency"]);
    assert!(
        at60[0]
            .message
            .text
            .ends_with("Escalating to L4 emergency contact. Mentions suppressed by silence #1 (maintenance window)."),
        "{}",
        at60[0].message.text
    );
    assert_eq!(emitted(&bot, "sla.breached").await.len(), 2);
    assert_eq!(
        emitted(&bot, "sla.warning").await.len(),
        2,
        "warnings are recorded even when not posted"
    );
    let pinged: Vec<i64> = emitted(&bot, "sla.ping")
        .await
        .iter()
        .map(|p| p["incident_id"].as_i64().unwrap())
        .collect();
    assert_eq!(pinged, [2, 2, 2, 2]);

    let status = bot.command("/sla status").await;
    assert!(
        status[0]
            .message
            .text
            .ends_with("Silences (pings suppressed, deadlines still recorded):\n  #1 acme/* until 2026-03-02 11:00 UTC (in 1h) — maintenance window (by alice)\n"),
        "{}",
        status[0].message.text
    );
    let lifted = bot.command_as("bob", "/sla unsilence 1").await;
    assert_eq!(
        lifted[0].message.text,
        "🔔 Silence #1 (acme/*, maintenance window) lifted by bob: SLA pings resume."
    );
    let at18 = until(&mut bot, t0 + h(18)).await;
    assert_eq!(
        sigs(&at18),
        ["warn resolution → emergency", "warn resolution → emergency"]
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_silence_ends_by_itself_and_bad_input_gets_the_usage() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    bot.command("/sla silence all 20m deploy").await;
    assert!(open(&mut bot, 1, "critical", "Leaked key", None).await.is_empty());
    assert!(until(&mut bot, t0 + m(15)).await.is_empty());
    walk(&mut bot, t0, 1, &[(m(30), &["reminder 2/3 → emergency"])]).await;

    let bad = bot.command("/sla silence acme/* soon maintenance").await;
    assert!(matches!(bad[0].kind, PrintedKind::Ephemeral { .. }));
    assert!(
        bad[0].message.text.contains("`soon` is not a duration"),
        "{}",
        bad[0].message.text
    );
    assert!(
        bad[0]
            .message
            .text
            .ends_with("Usage: /sla silence <repo-glob|all> <duration> <reason…>"),
        "{}",
        bad[0].message.text
    );
    let missing = bot.command("/sla silence acme/* 1h").await;
    assert!(matches!(missing[0].kind, PrintedKind::Ephemeral { .. }));
    let unknown = bot.command("/sla unsilence 42").await;
    assert_eq!(
        unknown[0].message.text,
        "No silence #42 is in force (see /sla status). Usage: /sla unsilence <id>"
    );
    let expired = bot.command("/sla unsilence 1").await;
    assert!(expired[0].message.text.starts_with("No silence #1 is in force"));
    let bare = bot.command("/sla").await;
    assert!(matches!(bare[0].kind, PrintedKind::Ephemeral { .. }));
    assert!(
        bare[0]
            .message
            .text
            .contains("/sla silence <repo-glob|all> <duration> <reason…> — Suppresses pings"),
        "{}",
        bare[0].message.text
    );
    let nonsense = bot.command("/sla frobnicate").await;
    assert!(matches!(nonsense[0].kind, PrintedKind::Ephemeral { .. }));
    assert!(
        nonsense[0].message.text.contains("/sla status [id]"),
        "{}",
        nonsense[0].message.text
    );
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sla_silences")
            .fetch_one(bot.bot().pool())
            .await
            .unwrap(),
        1
    );
    bot.stop().await;
}

#[tokio::test]
async fn only_configured_silencers_may_silence() {
    let config = format!("{LEVELS}\n[plugins.sla_escalator]\nsilencers = [\"security-champions\"]\n");
    let mut bot = start(&config).await;
    let refused = bot.command_as("mallory", "/sla silence all 1h quiet please").await;
    assert!(matches!(refused[0].kind, PrintedKind::Ephemeral { .. }));
    assert_eq!(
        refused[0].message.text,
        "Only security-champions may silence or unsilence SLA pings."
    );
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM security_log WHERE kind = 'sla_silence_refused'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(logged, 1);
    let allowed = bot.command_as("bob", "/sla silence all 1h release").await;
    assert!(
        allowed[0]
            .message
            .text
            .starts_with("🔕 Silence #1: SLA pings for every incident")
    );
    bot.stop().await;
}

#[tokio::test]
async fn status_shows_each_open_incidents_deadlines_time_left_and_next_ping_and_policy_shows_the_table() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "critical", "Leaked AWS key", Some("acme/api")).await;
    open(&mut bot, 2, "low", "Old lodash", None).await;
    until(&mut bot, t0 + m(10)).await;
    let status = bot.command("/sla status").await;
    assert_eq!(
        status[0].message.text,
        "2 open incidents:\n\
         🔴 Incident #1 · Leaked AWS key (critical) in acme/api\n  \
         respond by 2026-03-02 10:00 UTC (in 50m)\n  \
         resolve by 2026-03-03 09:00 UTC (in 23h 50m)\n  \
         next ping 2026-03-02 09:15 UTC (in 5m): L4 emergency contact\n\
         🔵 Incident #2 · Old lodash (low)\n  \
         respond by 2026-03-09 09:00 UTC (in 6d 23h)\n  \
         resolve by 2026-05-31 09:00 UTC (in 89d 23h)\n  \
         next ping 2026-03-02 17:00 UTC (in 7h 50m): L2 security champion\n\
         No silences.\n"
    );
    let missing = bot.command("/sla status 9").await;
    assert!(matches!(missing[0].kind, PrintedKind::Ephemeral { .. }));

    // Many open incidents: the ten most urgent, and how many more.
    for id in 3..=13 {
        open(&mut bot, id, "low", "Old lodash", None).await;
    }
    let many = bot.command("/sla status").await[0].message.text.clone();
    assert!(many.starts_with("13 open incidents:\n🔴 Incident #1 "), "{many}");
    assert!(
        many.contains("Incident #10 ") && !many.contains("Incident #11 "),
        "{many}"
    );
    assert!(
        many.ends_with("… and 3 more (most urgent first); /sla status <id> shows any one.\nNo silences.\n"),
        "{many}"
    );

    let policy = bot.command("/sla policy").await[0].message.text.clone();
    for line in [
        "SLA policy in force (business time: Mon Tue Wed Thu Fri 09:00–17:00 UTC):",
        "🔴 critical: respond 1h, resolve 1d, warn at 75%",
        "  1. at once → L4 emergency contact (emergency), then every 15m ×3",
        "🟠 high: respond 4h, resolve 7d, warn at 75%",
        "  2. after 1h → L4 emergency contact (emergency), then every 1h ×2",
        "🟡 medium: respond 1d, resolve 30d, warn at 75%",
        "🔵 low: respond 7d, resolve 90d, warn at 75%",
        "  2. after 1 business day → L2 security champion (security-champions), then every 1 business day ×2",
        "  L1 team lead: team-lead",
    ] {
        assert!(policy.lines().any(|l| l == line), "missing {line:?} in\n{policy}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_level_with_no_one_configured_still_gets_its_post_and_escalate_requests_climb_a_level() {
    let mut bot = start("").await;
    let first = open(&mut bot, 1, "critical", "Leaked key", None).await;
    assert!(first[0].message.mentions.is_empty());
    assert!(
        first[0].message.text.ends_with(
            "\nNo one is configured for L4 emergency contact: set plugins.sla_escalator.levels.emergency_contact."
        ),
        "{}",
        first[0].message.text
    );
    bot.stop().await;

    let mut bot = start(LEVELS).await;
    open(&mut bot, 1, "high", "Auth bypass", None).await;
    let escalated = change(&mut bot, "incident.escalate_requested", 1, "alice").await;
    assert_eq!(sigs(&escalated), ["escalate → emergency"]);
    assert_eq!(
        escalated[0].message.text,
        "🔺 alice escalated incident #1 · Auth bypass (high) to L4 emergency contact."
    );
    assert_eq!(emitted(&bot, "sla.ping").await[1]["step"], json!(0));

    // A replayed opening changes nothing.
    assert!(open(&mut bot, 1, "high", "Auth bypass", None).await.is_empty());
    assert_eq!(emitted(&bot, "sla.planned").await.len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_restart_with_pending_timers_fires_each_step_once() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "critical", "Leaked key", None).await;
    until(&mut bot, t0 + m(10)).await;
    bot.restart().await.unwrap();
    assert!(bot.pop().is_empty(), "a restart re-sends nothing");
    walk(&mut bot, t0, 1, &[(m(15), &["reminder 1/3 → emergency"])]).await;
    bot.restart().await.unwrap();
    assert!(bot.pop().is_empty());
    walk(&mut bot, t0, 1, &[(m(30), &["reminder 2/3 → emergency"])]).await;
    assert_eq!(emitted(&bot, "sla.ping").await.len(), 3);
    bot.stop().await;
}

#[tokio::test]
async fn steps_that_came_due_while_sentinel_was_down_fire_once_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let mut bot = start_at(LEVELS, t0, &dir).await;
    open(&mut bot, 1, "critical", "Leaked key", None).await;
    bot.stop().await;

    // Down from 09:00 to 09:50: three reminders and the warning were due meanwhile.
    let mut bot = start_at(LEVELS, t0 + m(50), &dir).await;
    let late = bot.pop();
    assert_eq!(
        sigs(&late),
        [
            "reminder 1/3 → emergency",
            "reminder 2/3 → emergency",
            "reminder 3/3 → emergency",
            "warn response → emergency"
        ]
    );
    assert!(
        late[0].message.text.ends_with("(Due 2026-03-02 09:15 UTC, sent late.)"),
        "{}",
        late[0].message.text
    );
    bot.restart().await.unwrap();
    assert!(bot.pop().is_empty(), "nothing fires twice");
    walk(&mut bot, t0, 1, &[(m(60), &["breach response → emergency"])]).await;
    assert_eq!(emitted(&bot, "sla.ping").await.len(), 4);
    assert_eq!(emitted(&bot, "sla.breached").await.len(), 1);
    bot.stop().await;
}
