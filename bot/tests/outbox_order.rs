//! Delivery order where it matters and nowhere else: a message waiting for its `Retry-After` holds
//! up only what depends on it (and does not keep its worker awake), the most severe message goes
//! first, and each channel's posts are paced to the platform's rate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sentinel_bot::chat::{ChatAdapter, Delivered, Delivery, DeliveryError, Target};
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::harness::test_start;
use sentinel_bot::ids::Platform;
use sentinel_bot::pipeline::ingest::Ingest;
use sentinel_bot::{
    Bot, BotOptions, Cx, Event, ManualClock, Message, NewEvent, Plugin, PluginError, Severity, Subscriptions,
};
use serde_json::{Value, json};

/// Sends the message a `probe` delivery describes: `{channel, text, key?, thread?, severity?}`.
struct Poster;

#[async_trait]
impl Plugin for Poster {
    fn name(&self) -> &'static str {
        "poster"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["probe".into()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        let Event::GitHub(delivery) = event else { return Ok(()) };
        let p = &delivery.payload;
        let text = |field: &str| p[field].as_str().map(str::to_owned);
        let mut message = Message::new(text("channel").unwrap_or_default(), text("text").unwrap_or_default());
        if let Some(key) = text("key") {
            message = message.keyed(key);
        }
        if let Some(thread) = text("thread") {
            message = message.in_thread(thread);
        }
        if let Some(severity) = text("severity") {
            message = message.severity(
                severity
                    .parse::<Severity>()
                    .map_err(|e| PluginError::failed(e.to_string()))?,
            );
        }
        cx.send(message).await
    }
}

/// One call the adapter saw: when (by the bot's clock), channel, target, text.
type Call = (chrono::DateTime<chrono::Utc>, String, String, String);

/// Slack's platform: records each call (time by the bot's clock, channel, target, text); a text
/// starting with `hold` is refused with a 60 s `Retry-After` while `holding` is set.
struct Recorder {
    clock: ManualClock,
    pace: Option<Duration>,
    holding: Mutex<bool>,
    calls: Mutex<Vec<Call>>,
}

#[async_trait]
impl ChatAdapter for Recorder {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn post_interval(&self) -> Option<Duration> {
        self.pace
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        use sentinel_bot::Clock;
        let target = match delivery.target {
            Target::New => "new".to_owned(),
            Target::Update { message_id } => format!("edit {message_id}"),
            Target::Reply { parent_id } => format!("reply {parent_id}"),
            Target::Ephemeral { .. } => "ephemeral".to_owned(),
        };
        let text = delivery.message.text.clone();
        let mut calls = self.calls.lock().unwrap();
        calls.push((self.clock.now(), delivery.channel.to_owned(), target, text.clone()));
        if text.starts_with("hold") && *self.holding.lock().unwrap() {
            return Err(DeliveryError::Retry {
                after: Some(Duration::from_secs(60)),
                reason: "Slack rate-limited chat.postMessage".into(),
            });
        }
        let message_id = match delivery.target {
            Target::Update { message_id } => message_id.to_owned(),
            _ => format!("ts{}", calls.len()),
        };
        Ok(Delivered { message_id })
    }
}

struct Setup {
    bot: Bot,
    clock: ManualClock,
    adapter: Arc<Recorder>,
    ingest: Ingest,
    sent: usize,
    _db: TestDb,
}

impl Setup {
    /// A bot whose Slack adapter allows one post per `pace` per channel (none: no pacing).
    async fn start(pace: Option<Duration>) -> Self {
        let db = TestDb::new().await;
        let text = format!(
            "[database]\nurl = \"{}\"\n[chat]\nconsole = \"off\"\n[slack]\nbot_token = \"xoxb-test\"\n\
             [outbox]\nretry_base = \"1s\"\nretry_max = \"1m\"\nmax_attempts = 10\n\
             [channels.alerts]\nslack = \"C0ALERTS\"\n[channels.other]\nslack = \"C0OTHER\"\n",
            db.url()
        );
        let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        let clock = ManualClock::new(test_start());
        let adapter = Arc::new(Recorder {
            clock: clock.clone(),
            pace,
            holding: Mutex::new(true),
            calls: Mutex::new(Vec::new()),
        });
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock.clone()),
            plugins: vec![Arc::new(Poster)],
            adapters: vec![adapter.clone()],
            console: sentinel_bot::chat::console::ConsoleSink::Stdout,
            serve_http: false,
            routes: axum::Router::new(),
        })
        .await
        .unwrap();
        let ingest = bot.ingest().unwrap();
        Self {
            bot,
            clock,
            adapter,
            ingest,
            sent: 0,
            _db: db,
        }
    }

    /// Has Poster send `message`, and waits until the dispatcher has queued it.
    async fn send(&mut self, message: Value) {
        self.sent += 1;
        let body = message.to_string();
        self.ingest
            .submit(NewEvent::github("probe", &format!("d-{}", self.sent), body))
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.count("SELECT COUNT(*) FROM inbox WHERE state = 'pending'").await > 0 {
            assert!(tokio::time::Instant::now() < deadline, "not dispatched");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.bot.pool()).await.unwrap()
    }

    /// Waits until the adapter has seen `n` calls.
    async fn calls(&self, n: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let calls = self.adapter.calls.lock().unwrap().clone();
            if calls.len() >= n {
                return calls;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} calls: {calls:?}",
                calls.len()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Moves the clock a second at a time until the adapter has seen `n` calls.
    async fn tick_until(&self, n: usize) -> Vec<Call> {
        for _ in 0..100 {
            let seen = self.adapter.calls.lock().unwrap().len();
            if seen >= n {
                break;
            }
            self.clock.advance(chrono::Duration::seconds(1));
            // Let the worker send what this second allows before the clock moves on, so the
            // recorded times show the pace and not how busy the machine is.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while self.adapter.calls.lock().unwrap().len() == seen && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        self.calls(n).await
    }

    fn passes(&self) -> u64 {
        let metrics = self.bot.shared().metrics.encode();
        metrics
            .lines()
            .find(|l| l.starts_with("sentinel_delivery_passes_total{platform=\"slack\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn a_message_waiting_for_retry_after_holds_up_only_what_depends_on_it_and_lets_the_worker_sleep() {
    // No pacing: nothing but the Retry-After keeps the worker from sending.
    let mut s = Setup::start(None).await;
    s.send(json!({"channel": "alerts", "key": "a-1", "text": "hold: first version"}))
        .await;
    s.calls(1).await;
    // Edits and a thread reply of the held message wait for it; an independent message does not.
    for n in 2..=20 {
        s.send(json!({"channel": "alerts", "key": "a-1", "text": format!("hold: version {n}")}))
            .await;
    }
    s.send(json!({"channel": "alerts", "thread": "a-1", "text": "a note under a-1"}))
        .await;
    s.clock.advance(chrono::Duration::seconds(1));
    s.send(json!({"channel": "alerts", "key": "a-2", "text": "another alert"}))
        .await;
    let calls = s.calls(2).await;
    assert_eq!(calls[1].3, "another alert", "not held up by a-1's Retry-After");

    // Nothing can be sent for a minute: the worker sleeps instead of looking again and again.
    // (Before, it woke for the edits queued behind a-1, which were due but could not go: 83–116 %
    // of a core.)
    let before = s.passes();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let woke = s.passes() - before;
    assert!(woke <= 1, "the worker woke {woke} times while nothing could be sent");
    assert_eq!(s.adapter.calls.lock().unwrap().len(), 2);

    // Retry-After passes: the post goes, then its edits collapse into updates, then the note.
    *s.adapter.holding.lock().unwrap() = false;
    s.clock.advance(chrono::Duration::seconds(60));
    let calls = s.tick_until(23).await;
    assert_eq!(calls[2].2, "new");
    assert_eq!(calls[2].3, "hold: first version");
    assert!(calls[3..22].iter().all(|c| c.2 == "edit ts3"), "{calls:?}");
    assert_eq!(calls[22].2, "reply ts3", "the note follows its parent and every edit");
    s.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_most_severe_message_goes_first_and_each_channel_is_paced_to_one_post_a_second() {
    let mut s = Setup::start(Some(Duration::from_secs(1))).await;
    *s.adapter.holding.lock().unwrap() = false;
    // The first post takes the channel's turn; five more wait for theirs, in severity order.
    s.send(json!({"channel": "alerts", "text": "opening"})).await;
    s.calls(1).await;
    for (n, severity) in ["low", "medium", "low", "critical", "high"].iter().enumerate() {
        s.send(json!({"channel": "alerts", "text": format!("{severity} {n}"), "severity": severity}))
            .await;
    }
    // Another channel has its own pace.
    s.send(json!({"channel": "other", "text": "elsewhere"})).await;
    let calls = s.calls(2).await;
    assert_eq!(calls[1].1, "C0OTHER");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.adapter.calls.lock().unwrap().len(),
        2,
        "#alerts waits for its next second"
    );

    let calls = s.tick_until(7).await;
    let order: Vec<&str> = calls[2..].iter().map(|c| c.3.as_str()).collect();
    assert_eq!(order, ["critical 3", "high 4", "medium 1", "low 0", "low 2"]);
    for pair in calls[2..].windows(2) {
        assert_eq!(
            pair[1].0 - pair[0].0,
            chrono::Duration::seconds(1),
            "one post a second: {calls:?}"
        );
    }
    s.bot.shutdown(Duration::from_secs(5)).await;
}
