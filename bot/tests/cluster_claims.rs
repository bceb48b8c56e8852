//! Several instances, one truth (issue 14 §2): two bots ("a" and "b") on ONE database — SQLite, or
//! PostgreSQL with `SENTINEL_TEST_ENGINE=postgres` — against one fake Slack on 127.0.0.1, on one
//! manual clock.
//!
//! - a storm of messages through both reaches Slack exactly once each, every post before its edit;
//! - timers due on both fire once each, and a schedule ticks once per occurrence;
//! - the same dedup key ingested on both is stored (and handled) once;
//! - a row claimed by an instance that died is taken over after the lease, looking first: when
//!   the dead one's post had landed, no second post appears;
//! - SQLite: a row left claimed by the previous run is delivered at once after a restart, looking first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::chat::{ChatAdapter, Delivery, Directory, Target};
use sentinel_bot::harness::fakes::slack::FakeSlack;
use sentinel_bot::harness::test_db::{TestDb, test_engine};
use sentinel_bot::harness::test_start;
use sentinel_bot::ids::Platform;
use sentinel_bot::plugin::{MissedRun, Schedule};
use sentinel_bot::store::claims::{self, Work};
use sentinel_bot::store::outbox::{self, NewOutbound, Op};
use sentinel_bot::store::{DbPool, Engine, begin_write};
use sentinel_bot::{
    Bot, BotOptions, Clock, Cx, Event, ManualClock, Message, NewEvent, Plugin, PluginError, Subscriptions,
};
use serde_json::json;
use sqlx::Connection;

/// `probe` GitHub events `{text, key?}` post to #ops; `arm` events `{key, in_secs}` set a timer
/// that posts `fired <key>`; the `minutely` schedule posts `tick <due>`.
struct Poster;

#[async_trait]
impl Plugin for Poster {
    fn name(&self) -> &'static str {
        "poster"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["probe".into(), "arm".into()],
            ..Subscriptions::default()
        }
    }

    fn schedules(&self) -> Vec<Schedule> {
        vec![Schedule {
            name: "minutely".into(),
            cron: "0 * * * * *".into(),
            time_zone: chrono_tz::UTC,
            missed: MissedRun::Skip,
        }]
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::GitHub(delivery) if delivery.event == "probe" => {
                let p = &delivery.payload;
                let mut message = Message::new("ops", p["text"].as_str().unwrap_or_default());
                if let Some(key) = p["key"].as_str() {
                    message = message.keyed(key);
                }
                cx.send(message).await
            }
            Event::GitHub(delivery) => {
                let p = &delivery.payload;
                let at = cx.now() + chrono::Duration::seconds(p["in_secs"].as_i64().unwrap_or(1));
                cx.set_timer(p["key"].as_str().unwrap_or_default(), at, json!(null))
                    .await
            }
            Event::Timer(fired) => {
                cx.send(Message::new("ops", format!("fired {}", fired.key.as_str())))
                    .await
            }
            Event::Schedule(tick) => {
                cx.send(Message::new("ops", format!("tick {}", tick.due_at.timestamp())))
                    .await
            }
            _ => Ok(()),
        }
    }
}

fn config(url: &str, api_url: &str, instance: &str) -> sentinel_bot::config::Config {
    let text = format!(
        "[database]\nurl = \"{url}\"\n[chat]\nconsole = \"off\"\n\
         [slack]\nbot_token = \"xoxb-test-token\"\nsigning_secret = \"8f742231b10e8888abcd99yyyzzz85a5\"\n\
         api_url = \"{api_url}\"\npost_interval = \"0s\"\n\
         [cluster]\ninstance = \"{instance}\"\nlease = \"30s\"\n[channels.ops]\nslack = \"C0OPS\"\n"
    );
    let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
    sentinel_bot::config::load::from_table(table).unwrap()
}

fn adapter(config: &sentinel_bot::config::Config) -> Arc<SlackAdapter> {
    Arc::new(
        SlackAdapter::new(
            &config.slack,
            Arc::new(Directory::from_config(config)),
            Duration::from_secs(5),
        )
        .unwrap(),
    )
}

async fn start(url: &str, slack: &FakeSlack, clock: &ManualClock, instance: &str) -> Bot {
    let config = config(url, &slack.api_url(), instance);
    let adapter = adapter(&config);
    Bot::start(BotOptions {
        config,
        clock: Arc::new(clock.clone()),
        plugins: vec![Arc::new(Poster)],
        adapters: vec![adapter],
        console: sentinel_bot::chat::console::ConsoleSink::Stdout,
        serve_http: false,
        routes: axum::Router::new(),
    })
    .await
    .unwrap()
}

async fn settle(bots: &[&Bot]) {
    // Twice round: one bot's work (a dispatch) can make work due for the other.
    for _ in 0..2 {
        for bot in bots {
            bot.settle(Duration::from_secs(20)).await.unwrap();
        }
    }
}

async fn submit(bot: &Bot, event: NewEvent) {
    bot.ingest().unwrap().submit(event).await.unwrap();
}

fn probe(delivery: &str, text: &str, key: Option<&str>) -> NewEvent {
    let mut body = json!({"text": text});
    if let Some(key) = key {
        body["key"] = json!(key);
    }
    NewEvent::github("probe", delivery, body.to_string())
}

/// The texts Slack accepted through `method` (`chat.postMessage`, `chat.update`), in arrival order.
fn texts(slack: &FakeSlack, method: &str) -> Vec<String> {
    slack
        .calls_to(&format!("/api/{method}"))
        .into_iter()
        .filter(|call| call.refused.is_none() && call.answer["ok"] == json!(true))
        .map(|call| call.body["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Which of the takeover tests' messages Slack accepted posts of, in order.
fn posted(slack: &FakeSlack) -> Vec<&'static str> {
    texts(slack, "chat.postMessage")
        .iter()
        .filter_map(|t| ["landed", "lost", "in flight"].into_iter().find(|m| t.contains(m)))
        .collect()
}

async fn count(bot: &Bot, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(bot.pool()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_through_two_instances_reaches_slack_once_each_in_order() {
    let db = TestDb::new().await;
    let slack = FakeSlack::start().await.unwrap();
    let clock = ManualClock::new(test_start());
    let a = start(db.url(), &slack, &clock, "a").await;
    let b = start(db.url(), &slack, &clock, "b").await;
    const N: usize = 30;
    // Each message's post goes in through one instance, its edit through the other.
    let storm = (0..N).map(|i| {
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let key = format!("m{i}");
        async move {
            submit(first, probe(&format!("post-{i}"), &format!("{key} v1"), Some(&key))).await;
            submit(second, probe(&format!("edit-{i}"), &format!("{key} v2"), Some(&key))).await;
        }
    });
    futures_util::future::join_all(storm).await;
    // The same delivery arriving at both instances (a load balancer's retry) is stored once.
    submit(&a, probe("dup", "only once", None)).await;
    submit(&b, probe("dup", "only once", None)).await;
    settle(&[&a, &b]).await;

    let posts = texts(&slack, "chat.postMessage");
    let updates = texts(&slack, "chat.update");
    for i in 0..N {
        let v1 = format!("m{i} v1");
        let v2 = format!("m{i} v2");
        assert_eq!(
            posts.iter().filter(|t| t.contains(&v1)).count(),
            1,
            "{v1} posted once: {posts:?}"
        );
        assert_eq!(
            updates.iter().filter(|t| t.contains(&v2)).count(),
            1,
            "{v2} edited once: {updates:?}"
        );
        assert!(
            !posts.iter().any(|t| t.contains(&v2)),
            "the edit never became a second post"
        );
    }
    assert_eq!(posts.iter().filter(|t| t.contains("only once")).count(), 1);
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM inbox WHERE dedup_key LIKE '%dup%'").await,
        1
    );
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM outbox WHERE state <> 'delivered'").await,
        0
    );
    // Every edit reached Slack after its post: chat.update finds the message by its ts, and a
    // missing one is refused (`message_not_found`), which would have left the row undelivered.
    assert!(
        slack
            .calls_to("/api/chat.update")
            .iter()
            .all(|c| c.answer["ok"] == json!(true))
    );
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn timers_and_schedules_fire_once_across_two_instances() {
    let db = TestDb::new().await;
    let slack = FakeSlack::start().await.unwrap();
    let clock = ManualClock::new(test_start());
    let a = start(db.url(), &slack, &clock, "a").await;
    let b = start(db.url(), &slack, &clock, "b").await;
    const N: usize = 20;
    for i in 0..N {
        let bot = if i % 2 == 0 { &a } else { &b };
        let body = json!({"key": format!("t{i}"), "in_secs": 10 + i}).to_string();
        submit(bot, NewEvent::github("arm", &format!("arm-{i}"), body)).await;
    }
    settle(&[&a, &b]).await;
    // Three minutes, a step at a time: every timer comes due, and three schedule occurrences.
    for _ in 0..6 {
        clock.advance(chrono::Duration::seconds(30));
        settle(&[&a, &b]).await;
    }
    let posts = texts(&slack, "chat.postMessage");
    for i in 0..N {
        let fired = format!("fired t{i}");
        assert_eq!(posts.iter().filter(|t| **t == fired).count(), 1, "{fired}: {posts:?}");
    }
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM inbox WHERE kind = 'timer'").await,
        N as i64
    );
    let ticks = count(&a, "SELECT COUNT(*) FROM inbox WHERE kind = 'schedule'").await;
    assert_eq!(ticks, 3, "one tick per occurrence (09:01, 09:02, 09:03)");
    assert_eq!(posts.iter().filter(|t| t.contains("tick ")).count(), 3, "{posts:?}");
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

fn timer_passes(bot: &Bot) -> u64 {
    let metrics = bot.shared().metrics.encode();
    metrics
        .lines()
        .find(|l| l.starts_with("sentinel_timer_passes_total "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// While another instance's transaction holds due timers (firing them, or paused mid-firing until
/// its session times out), this one looks again every 20 ms instead of spinning; once they are
/// released it fires them. (PostgreSQL: SQLite is one process per file.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn due_timers_held_by_another_instance_are_waited_for_without_spinning() {
    if test_engine() != Engine::Postgres {
        eprintln!("several instances need PostgreSQL: this test runs in .ci/test's PostgreSQL pass");
        return;
    }
    let db = TestDb::new().await;
    let slack = FakeSlack::start().await.unwrap();
    let clock = ManualClock::new(test_start());
    let a = start(db.url(), &slack, &clock, "a").await;
    let body = json!({"key": "held", "in_secs": 10}).to_string();
    submit(&a, NewEvent::github("arm", "arm-held", body)).await;
    settle(&[&a]).await;

    // "Another instance" holds the timer, as its firing transaction would.
    let mut other = sqlx::AnyConnection::connect(db.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    let held: Vec<i64> = sqlx::query_scalar("SELECT id FROM timers WHERE key = 'held' FOR UPDATE")
        .fetch_all(&mut other)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    clock.advance(chrono::Duration::seconds(11));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = timer_passes(&a);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let passes = timer_passes(&a) - before;
    assert!(
        passes <= 40,
        "{passes} passes in 500 ms while the timer was held elsewhere"
    );
    assert!(
        passes >= 5,
        "{passes} passes: it must keep looking while the timer is due"
    );
    assert_eq!(count(&a, "SELECT COUNT(*) FROM inbox WHERE kind = 'timer'").await, 0);

    // Released (that instance rolled back or died): fired here, once.
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count(&a, "SELECT COUNT(*) FROM inbox WHERE kind = 'timer'").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the released timer never fired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    settle(&[&a]).await;
    let posts = texts(&slack, "chat.postMessage");
    assert_eq!(posts.iter().filter(|t| **t == "fired held").count(), 1, "{posts:?}");
    a.shutdown(Duration::from_secs(5)).await;
}

/// Enqueues a message to #ops (`C0OPS`) and claims it as instance `owner`, in one transaction (so
/// no live worker can take it first). Returns the row as the dead instance had it.
async fn enqueue_claimed(pool: &DbPool, clock: &ManualClock, owner: &str, text: &str) -> outbox::Outbound {
    let message = Message::new("ops", text).keyed(text);
    let now = clock.now();
    let mut tx = begin_write(pool).await.unwrap();
    outbox::enqueue(
        &mut tx,
        &NewOutbound {
            idempotency_key: format!("dead:{text}"),
            platform: Platform::Slack,
            channel: "C0OPS",
            op: Op::Post,
            recipient: None,
            response_url: None,
            message: &message,
            space: None,
        },
        now,
    )
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
        .bind(format!("dead:{text}"))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let got = claims::claim(
        &mut tx,
        Work::Outbox,
        &[id],
        owner,
        now,
        now + chrono::Duration::seconds(30),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(got.len(), 1);
    let rows = {
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query_scalar::<_, String>("SELECT lease_owner FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(rows, [owner]);
    outbox::Outbound {
        id,
        idempotency_key: format!("dead:{text}"),
        channel: "C0OPS".into(),
        op: Op::Post,
        recipient: None,
        response_url: None,
        message,
        space: None,
        attempts: 0,
        outcome_unknown: false,
        fence: got[0].fence,
    }
}

/// What the dead instance did before it died: the POST itself, through an adapter of its own.
async fn post_as_dead_instance(slack: &FakeSlack, url: &str, row: &outbox::Outbound) {
    let dead = adapter(&config(url, &slack.api_url(), "dead"));
    dead.deliver(Delivery {
        idempotency_key: &row.idempotency_key,
        channel: &row.channel,
        target: Target::New,
        message: &row.message,
        in_space: false,
        look_first: false,
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_instances_claims_are_taken_over_after_the_lease_looking_first() {
    let db = TestDb::new().await;
    let slack = FakeSlack::start().await.unwrap();
    let clock = ManualClock::new(test_start());
    let live = start(db.url(), &slack, &clock, "live").await;
    // Two rows in flight at "dead": one whose post had landed on Slack, one whose had not.
    let landed = enqueue_claimed(live.pool(), &clock, "dead", "landed").await;
    enqueue_claimed(live.pool(), &clock, "dead", "lost").await;
    post_as_dead_instance(&slack, db.url(), &landed).await;
    // While the lease runs, the live instance leaves them alone.
    clock.advance(chrono::Duration::seconds(10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        count(&live, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await,
        2
    );
    assert_eq!(posted(&slack), ["landed"]);
    // Past the lease: taken over, each looked for first; the landed one is not posted again.
    clock.advance(chrono::Duration::seconds(21));
    settle(&[&live]).await;
    assert_eq!(posted(&slack), ["landed", "lost"]);
    assert_eq!(
        slack.calls_to("/api/conversations.history").len(),
        2,
        "looked first, both times"
    );
    assert_eq!(
        count(
            &live,
            "SELECT COUNT(*) FROM outbox WHERE state = 'delivered' AND lease_owner IS NULL"
        )
        .await,
        2
    );
    live.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_restart_under_the_same_name_the_previous_runs_claims_are_taken_over_at_once() {
    let db = TestDb::new().await;
    let slack = FakeSlack::start().await.unwrap();
    let clock = ManualClock::new(test_start());
    // A previous run of instance "a" claimed the row and died mid-POST: the post landed, no
    // outcome was recorded. (Written straight into the database: a running "a" would itself take
    // the claim over when its delivery worker starts, which may be after this claim.)
    let pool = db.open().await.unwrap();
    let row = enqueue_claimed(&pool, &clock, "a", "in flight").await;
    post_as_dead_instance(&slack, db.url(), &row).await;
    pool.close().await;
    // The same name is the same instance (names are unique per running instance): its delivery
    // worker takes its own claims over when it starts, on both engines (SQLite also expires every
    // claim in the file at start). Another name's claims wait for their lease: see the test above.
    let second = start(db.url(), &slack, &clock, "a").await;
    settle(&[&second]).await;
    assert_eq!(
        count(&second, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'").await,
        1
    );
    assert_eq!(posted(&slack), ["in flight"], "not posted twice");
    assert_eq!(slack.calls_to("/api/conversations.history").len(), 1, "looked first");
    second.shutdown(Duration::from_secs(5)).await;
}
