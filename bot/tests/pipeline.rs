//! The event pipeline end to end on a real SQLite file: dedup, transactional handling, retries,
//! dead events, and timers that fire exactly once across restarts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::Duration;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::harness::{TestBot, test_start};
use sentinel_bot::pipeline::ingest::Accepted;
use sentinel_bot::store::{inbox, outbox, timers};
use sentinel_bot::{Cx, Event, Message, NewEvent, Plugin, PluginError, Subscriptions};
use serde_json::json;

/// Sends a message, sets a timer and emits a domain event for each `probe` delivery, then fails
/// while `failures` remain.
struct Effectful {
    name: &'static str,
    failures: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl Plugin for Effectful {
    fn name(&self) -> &'static str {
        self.name
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["probe".into()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        let Event::GitHub(delivery) = event else { return Ok(()) };
        self.calls.fetch_add(1, Ordering::SeqCst);
        cx.send(Message::new(
            "security-incidents",
            format!("{} saw {}", self.name, delivery.delivery),
        ))
        .await?;
        let at = cx.now() + Duration::hours(1);
        cx.set_timer(&format!("probe:{}", delivery.delivery), at, json!({}))
            .await?;
        cx.emit("probe.seen", json!({ "by": self.name })).await?;
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(PluginError::failed("simulated failure"));
        }
        Ok(())
    }
}

struct Counters {
    failures: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
}

fn effectful(name: &'static str, failures: usize) -> (Arc<dyn Plugin>, Counters) {
    let failures = Arc::new(AtomicUsize::new(failures));
    let calls = Arc::new(AtomicUsize::new(0));
    let plugin = Arc::new(Effectful {
        name,
        failures: failures.clone(),
        calls: calls.clone(),
    });
    (plugin, Counters { failures, calls })
}

fn probe(delivery: &str) -> NewEvent {
    NewEvent::github("probe", delivery, json!({ "action": "created" }).to_string())
}

async fn count(bot: &TestBot, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(bot.bot().pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_replayed_delivery_is_stored_and_handled_once() {
    let (plugin, counters) = effectful("steady", 0);
    let plugin = Arc::new(std::sync::Mutex::new(Some(plugin)));
    let mut bot = TestBot::start("", move || plugin.lock().expect("lock").take().into_iter().collect())
        .await
        .expect("start");

    assert!(matches!(bot.push(probe("d-1")).await, Accepted::New(_)));
    assert_eq!(bot.push(probe("d-1")).await, Accepted::Duplicate);

    assert_eq!(counters.calls.load(Ordering::SeqCst), 1);
    let printed = bot.pop();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert_eq!(printed[0].message.text, "steady saw d-1");
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM inbox WHERE kind = 'github'").await, 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_failing_plugin_rolls_back_alone_is_retried_with_backoff_and_then_parked_as_dead() {
    let (good, good_counters) = effectful("good", 0);
    let (flaky, flaky_counters) = effectful("flaky", 1);
    let (broken, broken_counters) = effectful("broken", usize::MAX);
    let plugins = Arc::new(std::sync::Mutex::new(Some(vec![good, flaky, broken])));
    let config = "[pipeline]\nmax_attempts = 3\nretry_base = \"10s\"\nretry_max = \"1m\"\n";
    let mut bot = TestBot::start(config, move || plugins.lock().expect("lock").take().unwrap_or_default())
        .await
        .expect("start");

    bot.push(probe("d-1")).await;
    // Only the good plugin's effects exist: one message, one timer, one emitted event.
    let texts: Vec<String> = bot.pop().into_iter().map(|p| p.message.text).collect();
    assert_eq!(texts, ["good saw d-1"]);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM timers").await, 1);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM inbox WHERE kind = 'domain'").await, 1);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM outbox").await, 1);

    // Before the backoff has passed nothing runs again.
    bot.advance(Duration::seconds(5)).await;
    assert_eq!(flaky_counters.calls.load(Ordering::SeqCst), 1);

    // After it, only the failed plugins run again: the flaky one now succeeds, the good one is not re-run.
    let texts: Vec<String> = bot
        .advance(Duration::seconds(6))
        .await
        .into_iter()
        .map(|p| p.message.text)
        .collect();
    assert_eq!(texts, ["flaky saw d-1"]);
    assert_eq!(good_counters.calls.load(Ordering::SeqCst), 1);
    assert_eq!(flaky_counters.calls.load(Ordering::SeqCst), 2);
    assert_eq!(flaky_counters.failures.load(Ordering::SeqCst), 0);
    assert_eq!(broken_counters.calls.load(Ordering::SeqCst), 2);

    // The broken plugin's third attempt (after 20 s more) is its last: it is parked as dead.
    bot.advance(Duration::seconds(25)).await;
    assert_eq!(broken_counters.calls.load(Ordering::SeqCst), 3);
    let mut conn = bot.bot().pool().acquire().await.expect("conn");
    let dead = inbox::dead(&mut conn).await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].plugin.as_str(), dead[0].attempts), ("broken", 3));
    assert_eq!(dead[0].error, "simulated failure");
    assert_eq!(dead[0].what, "github probe");
    // The broken plugin left nothing behind: still one timer and one domain event per successful plugin.
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM timers").await, 2);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM inbox WHERE kind = 'domain'").await, 2);
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM inbox WHERE state = 'pending'").await,
        0
    );

    // `/sentinel status` shows it; reviving it runs only the broken plugin again.
    let status = bot.command("/sentinel status").await;
    assert!(
        status[0].message.text.contains("Dead events: 1"),
        "{}",
        status[0].message.text
    );
    broken_counters.failures.store(0, Ordering::SeqCst);
    assert_eq!(
        inbox::revive_dead(&mut conn, Some(dead[0].event))
            .await
            .expect("revive"),
        1
    );
    drop(conn);
    bot.bot().wake_all();
    let texts: Vec<String> = bot
        .advance(Duration::seconds(6))
        .await
        .into_iter()
        .map(|p| p.message.text)
        .collect();
    assert_eq!(texts, ["broken saw d-1"]);
    assert_eq!(good_counters.calls.load(Ordering::SeqCst), 1);
    assert_eq!(flaky_counters.calls.load(Ordering::SeqCst), 2);
    bot.stop().await;
}

/// Sets a timer on `/arm <minutes>` and records each firing.
struct Alarm {
    fired: Arc<AtomicUsize>,
}

#[async_trait]
impl Plugin for Alarm {
    fn name(&self) -> &'static str {
        "alarm"
    }

    fn commands(&self) -> Vec<sentinel_bot::CommandSpec> {
        vec![sentinel_bot::CommandSpec {
            name: "arm".into(),
            description: "Arm an alarm".into(),
            subcommands: Vec::new(),
        }]
    }

    fn schedules(&self) -> Vec<sentinel_bot::Schedule> {
        vec![sentinel_bot::Schedule {
            name: "weekly".into(),
            cron: "0 0 9 * * Mon".into(),
            time_zone: chrono_tz::Tz::UTC,
            missed: sentinel_bot::MissedRun::RunOnce,
        }]
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => {
                let minutes: i64 = command.args.parse().unwrap_or(1);
                cx.set_timer(
                    "alarm",
                    cx.now() + Duration::minutes(minutes),
                    json!({"minutes": minutes}),
                )
                .await
            }
            Event::Timer(fired) => {
                self.fired.fetch_add(1, Ordering::SeqCst);
                cx.send(Message::new(
                    "alarms",
                    format!("alarm {} fired", fired.payload["minutes"]),
                ))
                .await
            }
            Event::Schedule(tick) => {
                cx.send(Message::new(
                    "alarms",
                    format!("weekly tick {} late={}", tick.due_at, tick.late),
                ))
                .await
            }
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn a_timer_fires_once_when_due_and_a_later_set_replaces_an_earlier_one() {
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let mut bot = TestBot::start(
        "",
        move || vec![Arc::new(Alarm { fired: f.clone() }) as Arc<dyn Plugin>],
    )
    .await
    .expect("start");
    bot.command("/arm 10").await;
    bot.command("/arm 30").await; // replaces the 10-minute alarm
    assert!(bot.advance(Duration::minutes(20)).await.is_empty());
    let printed = bot.advance(Duration::minutes(10)).await;
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0].message.text, "alarm 30 fired");
    assert!(bot.advance(Duration::hours(2)).await.is_empty());
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_cron_schedule_ticks_each_occurrence_and_runs_a_missed_one_once_after_downtime() {
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    // The harness starts on Monday 2026-03-02 09:00 UTC, exactly an occurrence: the next is a week later.
    let mut bot = TestBot::start(
        "",
        move || vec![Arc::new(Alarm { fired: f.clone() }) as Arc<dyn Plugin>],
    )
    .await
    .expect("start");
    let ticks = bot.advance(Duration::days(7)).await;
    assert_eq!(ticks.len(), 1, "{ticks:?}");
    assert_eq!(ticks[0].message.text, "weekly tick 2026-03-09 09:00:00 UTC late=false");

    // Three weeks pass while Sentinel is down: on start the missed occurrence runs once, late.
    bot.clock.advance(Duration::days(21));
    bot.restart().await.expect("restart");
    let ticks = bot.pop();
    assert_eq!(ticks.len(), 1, "{ticks:?}");
    assert_eq!(ticks[0].message.text, "weekly tick 2026-03-16 09:00:00 UTC late=true");
    // …and the schedule carries on from now (Monday 2026-03-30 09:00), not from the missed occurrence.
    assert!(bot.advance(Duration::days(6)).await.is_empty());
    let ticks = bot.advance(Duration::days(1)).await;
    assert_eq!(ticks[0].message.text, "weekly tick 2026-04-06 09:00:00 UTC late=false");
    bot.stop().await;
}

#[test]
fn a_pending_timer_survives_a_dropped_runtime_and_fires_once_overdue_on_the_next_start() {
    // The test run's engine; the database outlives both "processes".
    let db = tokio::runtime::Runtime::new().expect("runtime").block_on(TestDb::new());
    let fired = Arc::new(AtomicUsize::new(0));

    // First process: arm a timer, then die without any shutdown (the runtime is simply dropped).
    {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let f = fired.clone();
            let make = move || vec![Arc::new(Alarm { fired: f.clone() }) as Arc<dyn Plugin>];
            let mut bot = TestBot::start_on_url(db.url(), "", make, test_start(), false)
                .await
                .expect("start");
            bot.command("/arm 15").await;
            let mut conn = bot.bot().pool().acquire().await.expect("conn");
            assert_eq!(
                timers::count(&mut conn).await.expect("count"),
                2,
                "the alarm and the weekly schedule"
            );
            std::mem::forget(bot); // no orderly shutdown: as if killed
        });
        drop(runtime);
    }
    assert_eq!(fired.load(Ordering::SeqCst), 0);

    // Second process, an hour later: the overdue timer fires on start, exactly once.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let f = fired.clone();
        let make = move || vec![Arc::new(Alarm { fired: f.clone() }) as Arc<dyn Plugin>];
        let start = test_start() + Duration::hours(1);
        let mut bot = TestBot::start_on_url(db.url(), "", make, start, false)
            .await
            .expect("restart");
        let printed = bot.pop();
        assert_eq!(printed.len(), 1, "{printed:?}");
        assert_eq!(printed[0].message.text, "alarm 15 fired");
        bot.advance(Duration::days(1)).await;
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        let mut conn = bot.bot().pool().acquire().await.expect("conn");
        assert_eq!(outbox::counts(&mut conn).await.expect("counts").pending, 0);
        drop(conn);
        bot.stop().await;
    });
}

#[tokio::test]
async fn unknown_commands_and_help_answer_the_caller_only() {
    let mut bot = TestBot::start("", Vec::new).await.expect("start");
    let printed = bot.command_as("alice", "/deploy now").await;
    assert_eq!(printed.len(), 1);
    assert_eq!(
        printed[0].message.text,
        "Unknown command `/deploy`. Type `/sentinel help` for the list."
    );
    assert_eq!(
        printed[0].kind,
        sentinel_bot::chat::console::PrintedKind::Ephemeral { user: "alice".into() }
    );
    let help = bot.command("/sentinel help").await;
    assert!(
        help[0]
            .message
            .text
            .contains("/sentinel status — Show the bot's health"),
        "{}",
        help[0].message.text
    );
    let bad = bot.command("/sentinel frobnicate").await;
    assert!(bad[0].message.text.contains("frobnicate"), "{}", bad[0].message.text);
    assert!(
        bad[0].message.text.contains("/sentinel help"),
        "{}",
        bad[0].message.text
    );
    bot.stop().await;
}

/// `/picky <word>`: `oops` is the caller's mistake, `boom` an internal failure; both after effects
/// that must not survive.
struct Picky {
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl Plugin for Picky {
    fn name(&self) -> &'static str {
        "picky"
    }

    fn commands(&self) -> Vec<sentinel_bot::CommandSpec> {
        vec![sentinel_bot::CommandSpec {
            name: "picky".into(),
            description: "Fails on purpose".into(),
            subcommands: Vec::new(),
        }]
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        let Event::Command(command) = event else { return Ok(()) };
        self.calls.fetch_add(1, Ordering::SeqCst);
        cx.send(Message::new("security-incidents", "half done")).await?;
        cx.set_timer("half", cx.now() + Duration::hours(1), json!({})).await?;
        match command.args.as_str() {
            "oops" => Err(PluginError::user("`oops` is not a word picky knows.")),
            _ => Err(PluginError::failed("token=s3cret rejected by the database")),
        }
    }
}

#[tokio::test]
async fn a_user_error_is_answered_privately_once_and_an_internal_one_only_as_logged() {
    let calls = Arc::new(AtomicUsize::new(0));
    let plugin: Arc<dyn Plugin> = Arc::new(Picky { calls: calls.clone() });
    let plugin = Arc::new(std::sync::Mutex::new(Some(plugin)));
    let config = "[pipeline]\nmax_attempts = 2\nretry_base = \"10s\"\nretry_max = \"1m\"\n";
    let mut bot = TestBot::start(config, move || {
        plugin.lock().expect("lock").take().into_iter().collect()
    })
    .await
    .expect("start");

    // The user's mistake: their private answer only, nothing the handler did, no retry, not dead.
    let printed = bot.command_as("alice", "/picky oops").await;
    let texts: Vec<&str> = printed.iter().map(|p| p.message.text.as_str()).collect();
    assert_eq!(texts, ["`oops` is not a word picky knows."]);
    assert_eq!(
        printed[0].kind,
        sentinel_bot::chat::console::PrintedKind::Ephemeral { user: "alice".into() }
    );
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM timers").await, 0);
    assert!(bot.advance(Duration::minutes(5)).await.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let mut conn = bot.bot().pool().acquire().await.expect("conn");
    assert!(inbox::dead(&mut conn).await.expect("dead").is_empty());
    drop(conn);

    // An internal failure: retried, then parked; the caller hears only that it was logged.
    let printed = bot.command_as("alice", "/picky boom").await;
    assert!(printed.is_empty(), "{printed:?}");
    let printed = bot.advance(Duration::seconds(11)).await;
    let texts: Vec<&str> = printed.iter().map(|p| p.message.text.as_str()).collect();
    assert_eq!(texts, [sentinel_bot::pipeline::dispatcher::SOMETHING_WENT_WRONG]);
    assert_eq!(
        printed[0].kind,
        sentinel_bot::chat::console::PrintedKind::Ephemeral { user: "alice".into() }
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let mut conn = bot.bot().pool().acquire().await.expect("conn");
    let dead = inbox::dead(&mut conn).await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error, "token=s3cret rejected by the database");
    drop(conn);
    assert!(bot.advance(Duration::minutes(5)).await.is_empty());
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM timers").await, 0);
    bot.stop().await;
}
