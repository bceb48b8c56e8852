//! Several instances on one database (issue 14 §2/§3), on this run's engine: two real bots `a` and
//! `b` share one database and one manual clock. Each one's `/healthz` (over HTTP on 127.0.0.1) and
//! `/sentinel status` list both; a stopped instance shows stopped, a silent one gone; and GitHub pull
//! mode, a singleton job, polls the fake GitHub once per interval across both, moving to `b` when `a`
//! stops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Duration;
use sentinel_bot::chat::console::{ConsoleSink, Printed, parse_console_line};
use sentinel_bot::harness::fakes::github_alerts::FakeAlerts;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::harness::test_start;
use sentinel_bot::{Bot, BotOptions, Clock, Cx, Event, ManualClock, NewEvent, Plugin, PluginError, Subscriptions};
use serde_json::{Value, json};

const DEPENDABOT: &str = "/repos/acme/app/dependabot/alerts";

/// Subscribed to Dependabot alerts, so that pull mode has a listing to poll.
struct Dependabot;

#[async_trait]
impl Plugin for Dependabot {
    fn name(&self) -> &'static str {
        "dependabot"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["dependabot_alert".into()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, _cx: &mut Cx<'_>, _event: &Event) -> Result<(), PluginError> {
        Ok(())
    }
}

/// One instance: its bot and what its console printed.
struct Instance {
    bot: Bot,
    printed: Arc<Mutex<Vec<Printed>>>,
}

async fn start(name: &str, url: &str, clock: &ManualClock, extra: &str) -> Instance {
    let text = format!(
        "[database]\nurl = \"{url}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[cluster]\ninstance = \"{name}\"\n{extra}"
    );
    let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
    let mut config = sentinel_bot::config::load::from_table(table).unwrap();
    config.chat.console = sentinel_bot::config::ConsoleMode::On;
    let (console, printed) = ConsoleSink::memory(false);
    let bot = Bot::start(BotOptions {
        config,
        clock: Arc::new(clock.clone()),
        plugins: vec![Arc::new(Dependabot)],
        adapters: Vec::new(),
        console,
        serve_http: true,
        routes: sentinel_bot::ingress::github::routes(),
    })
    .await
    .unwrap();
    Instance { bot, printed }
}

async fn healthz(instance: &Instance) -> Value {
    let addr = instance.bot.local_addr().unwrap();
    let answer = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// `(name, alive, this)` of every instance `/healthz` lists, by name.
fn listed(health: &Value) -> Vec<(String, bool, bool)> {
    let mut listed: Vec<(String, bool, bool)> = health["cluster"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_owned(),
                i["alive"].as_bool().unwrap(),
                i["this"].as_bool().unwrap(),
            )
        })
        .collect();
    listed.sort();
    listed
}

/// Types `/sentinel status` at `instance`'s console and returns the answer.
async fn status(instance: &Instance, n: u32) -> String {
    let command = parse_console_line("/sentinel status", "tester").unwrap();
    let event = NewEvent::command(&format!("status-{n}"), &command).unwrap();
    instance.bot.ingest().unwrap().submit(event).await.unwrap();
    instance.bot.settle(StdDuration::from_secs(20)).await.unwrap();
    let printed = instance.printed.lock().unwrap();
    printed.last().expect("an answer").text.clone()
}

/// Moves the clock one heartbeat (5 s) on and waits until each of `names` has beaten at the new time.
async fn beat(clock: &ManualClock, pool: &sentinel_bot::store::DbPool, names: &[&str]) {
    clock.advance(Duration::seconds(5));
    let now = clock.now().timestamp_millis();
    for _ in 0..2000 {
        let mut fresh = 0;
        for name in names {
            let at: i64 = sqlx::query_scalar("SELECT heartbeat_at FROM instances WHERE name = $1")
                .bind(*name)
                .fetch_one(pool)
                .await
                .unwrap();
            fresh += usize::from(at == now);
        }
        if fresh == names.len() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    panic!("{names:?} did not beat");
}

#[tokio::test]
async fn each_instance_shows_the_cluster_and_a_stopped_or_silent_instance_shows_gone() {
    let db = TestDb::new().await;
    let clock = ManualClock::new(test_start());
    let a = start("a", db.url(), &clock, "").await;
    let b = start("b", db.url(), &clock, "").await;

    let seen_by_a = healthz(&a).await;
    assert_eq!(seen_by_a["instance"], "a");
    assert_eq!(seen_by_a["cluster"]["alive"], 2);
    assert_eq!(
        listed(&seen_by_a),
        [("a".into(), true, true), ("b".into(), true, false)]
    );
    let seen_by_b = healthz(&b).await;
    assert_eq!(seen_by_b["instance"], "b");
    assert_eq!(
        listed(&seen_by_b),
        [("a".into(), true, false), ("b".into(), true, true)]
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(seen_by_b["cluster"]["instances"][0]["version"], version);
    // The lead of housekeeping went to one of them, and only one.
    let held = |h: &Value| h["cluster"]["jobs_held"].as_array().unwrap().len();
    assert_eq!(held(&seen_by_a) + held(&seen_by_b), 1, "{seen_by_a}\n{seen_by_b}");
    // Nothing is in flight.
    assert_eq!(seen_by_a["cluster"]["claims_held"], json!({"outbox": 0, "github": 0}));

    let text = status(&a, 1).await;
    assert!(text.contains("Instances alive: 2"), "{text}");
    assert!(text.contains("a (this one): alive"), "{text}");
    assert!(text.contains("b: alive"), "{text}");

    // `/metrics` says the same.
    let addr = a.bot.local_addr().unwrap();
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "sentinel_instance_info{{instance=\"a\",version=\"{version}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(metrics.contains("sentinel_instances_alive 2"), "{metrics}");
    assert!(metrics.contains("sentinel_claims_held{work=\"outbox\"} 0"), "{metrics}");
    assert!(
        metrics.contains("sentinel_cluster_jobs_held{job=\"github_pull\"} 0"),
        "{metrics}"
    );

    // `b` stops cleanly: `a` sees it stopped at once.
    b.bot.shutdown(StdDuration::from_secs(5)).await;
    let health = healthz(&a).await;
    assert_eq!(health["cluster"]["alive"], 1);
    assert_eq!(listed(&health), [("a".into(), true, true), ("b".into(), false, false)]);
    let b_row = &health["cluster"]["instances"][1];
    assert!(b_row["stopped"].is_string(), "{health}");

    // `c` was killed: its row says alive until three heartbeats pass without one.
    let now = clock.now().timestamp_millis();
    sqlx::query(
        "INSERT INTO instances (name, host, pid, version, started_at, heartbeat_at) VALUES ('c', 'h', 7, 'v', $1, $1)",
    )
    .bind(now)
    .execute(a.bot.pool())
    .await
    .unwrap();
    assert_eq!(healthz(&a).await["cluster"]["alive"], 2);
    for _ in 0..3 {
        beat(&clock, a.bot.pool(), &["a"]).await;
    }
    // 15 s without a beat from `c`: gone (not stopped), while `a` beat all along.
    let health = healthz(&a).await;
    assert_eq!(health["cluster"]["alive"], 1, "{health}");
    assert_eq!(
        listed(&health),
        [
            ("a".into(), true, true),
            ("b".into(), false, false),
            ("c".into(), false, false)
        ]
    );
    let text = status(&a, 2).await;
    assert!(text.contains("Instances alive: 1"), "{text}");
    assert!(text.contains("b: stopped"), "{text}");
    assert!(text.contains("c: gone, last heartbeat 15s ago"), "{text}");
    a.bot.shutdown(StdDuration::from_secs(5)).await;
}

/// How many rounds `bot` has polled.
fn polls(bot: &Bot) -> u64 {
    bot.shared().metrics.github_pull_polls.get()
}

async fn wait_polls(bot: &Bot, n: u64) {
    for _ in 0..2000 {
        if polls(bot) >= n {
            bot.settle(StdDuration::from_secs(10)).await.unwrap();
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    panic!("polling round {n} did not complete");
}

/// The holder and fencing token of the `github_pull` job.
async fn pull_job(pool: &sentinel_bot::store::DbPool) -> (String, i64) {
    use sqlx::Row;
    let row = sqlx::query("SELECT owner, fence FROM cluster_jobs WHERE name = 'github_pull'")
        .fetch_one(pool)
        .await
        .unwrap();
    (row.get("owner"), row.get("fence"))
}

#[tokio::test]
async fn one_instance_polls_github_per_interval_and_the_other_takes_over_when_it_stops() {
    let fake = FakeAlerts::start().await.unwrap();
    fake.set(DEPENDABOT, Vec::new());
    let db = TestDb::new().await;
    let clock = ManualClock::new(test_start());
    let pull = format!(
        "[github]\ntoken = \"ghp_cluster_test\"\napi_url = \"{}\"\n[github.pull]\nrepositories = [\"acme/app\"]\n",
        fake.url
    );
    let requests = || fake.received().into_iter().filter(|r| r.path == DEPENDABOT).count();

    let a = start("a", db.url(), &clock, &pull).await;
    wait_polls(&a.bot, 1).await;
    let b = start("b", db.url(), &clock, &pull).await;
    // `b` looked, found `a` leading, and skipped its round.
    assert_eq!(requests(), 1);
    assert_eq!(pull_job(a.bot.pool()).await, ("a".into(), 1));

    // Three intervals (5 minutes each), a heartbeat at a time (both alive throughout), `b` looking
    // every 30 s: one request per interval, all by `a`.
    for interval in 1..=3 {
        for _ in 0..60 {
            beat(&clock, a.bot.pool(), &["a", "b"]).await;
        }
        wait_polls(&a.bot, 1 + interval).await;
        assert_eq!(requests(), 1 + interval as usize, "interval {interval}");
    }
    assert_eq!(polls(&b.bot), 0);

    // `a` stops and gives the job up: `b` takes it at its next look (within the 30 s lease), with a
    // new fencing token, and polls from then on.
    a.bot.shutdown(StdDuration::from_secs(5)).await;
    for _ in 0..6 {
        beat(&clock, b.bot.pool(), &["b"]).await;
    }
    wait_polls(&b.bot, 1).await;
    assert_eq!(requests(), 5);
    assert_eq!(pull_job(b.bot.pool()).await, ("b".into(), 2));
    for _ in 0..60 {
        beat(&clock, b.bot.pool(), &["b"]).await;
    }
    wait_polls(&b.bot, 2).await;
    assert_eq!(requests(), 6);
    b.bot.shutdown(StdDuration::from_secs(5)).await;
}
