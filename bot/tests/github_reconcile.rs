//! Webhook reconciliation against a fake of GitHub's hook deliveries API on 127.0.0.1, on a manual
//! clock: a failed delivery is redelivered once (to Sentinel's real signed webhook endpoint) and its
//! event reaches the inbox once; an event delivered, redelivered successfully, already in the inbox
//! or older than the lookback is not asked for; a restart does not ask twice; the rate-limit reserve
//! holds the asking back until the window resets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sentinel_bot::chat::console::ConsoleSink;
use sentinel_bot::config::Secret;
use sentinel_bot::harness::fakes::github_hooks::FakeHooks;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::harness::test_start;
use sentinel_bot::{Bot, BotOptions, Clock, Cx, Event, ManualClock, Plugin, PluginError, Subscriptions};
use serde_json::Value;

const TOKEN: &str = "ghp_reconcile_test";
const SECRET: &str = "reconcile-test-webhook-secret-0123456789abcdef";
const HOOK: &str = "/repos/acme/app/hooks/1";

/// Records the GitHub events it is given (event name and delivery).
struct Recorder(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["dependabot_alert".to_owned(), "workflow_run".to_owned()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, _cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        if let Event::GitHub(delivery) = event {
            self.0.lock().unwrap().push(delivery.event.clone());
        }
        Ok(())
    }
}

struct Harness {
    bot: Option<Bot>,
    clock: ManualClock,
    seen: Arc<Mutex<Vec<String>>>,
    fake: FakeHooks,
    db: TestDb,
    /// The secret the fake signs redeliveries with (the bot's, unless a test breaks it).
    signing: Secret,
}

impl Harness {
    /// A fake listing `deliveries` (set up by `setup` before the bot starts) and a bot reconciling it.
    async fn start(setup: impl FnOnce(&FakeHooks, DateTime<Utc>)) -> Self {
        Self::start_signing(SECRET, setup).await
    }

    /// Like [`Harness::start`], the fake signing redeliveries with `signing`.
    async fn start_signing(signing: &str, setup: impl FnOnce(&FakeHooks, DateTime<Utc>)) -> Self {
        let fake = FakeHooks::start().await.unwrap();
        let clock = ManualClock::new(test_start());
        fake.set_now(clock.now());
        setup(&fake, clock.now());
        let mut harness = Self {
            bot: None,
            clock,
            seen: Arc::default(),
            fake,
            db: TestDb::new().await,
            signing: Secret::new(signing),
        };
        harness.boot().await;
        harness
    }

    async fn boot(&mut self) {
        let config = format!(
            "[database]\nurl = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[github]\ntoken = \"{TOKEN}\"\n\
             api_url = \"{}\"\nwebhook_secret = \"{SECRET}\"\n[github.reconcile]\n\
             hooks = [{{ repository = \"acme/app\", id = 1 }}]\nlookback = \"1h\"\n",
            self.db.url(),
            self.fake.url,
        );
        let table = sentinel_bot::config::load::parse_table(&config, "test").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(self.clock.clone()),
            plugins: vec![Arc::new(Recorder(self.seen.clone()))],
            adapters: Vec::new(),
            console: ConsoleSink::memory(false).0,
            serve_http: true,
            routes: sentinel_bot::ingress::github::routes(),
        })
        .await
        .unwrap();
        let url = format!("http://{}/webhooks/github", bot.local_addr().unwrap());
        self.fake.deliver_to(&url, &self.signing);
        self.bot = Some(bot);
        self.wait_rounds(1).await;
    }

    fn bot(&self) -> &Bot {
        self.bot.as_ref().unwrap()
    }

    async fn wait_rounds(&self, n: u64) {
        for _ in 0..2000 {
            if self.bot().shared().metrics.github_reconcile_rounds.get() >= n {
                self.bot().settle(StdDuration::from_secs(10)).await.unwrap();
                return;
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        panic!("reconciliation round {n} did not complete");
    }

    /// Moves the clock by `minutes` and waits for the round that wakes.
    async fn next_round(&self, minutes: i64) {
        let before = self.bot().shared().metrics.github_reconcile_rounds.get();
        self.clock.advance(Duration::minutes(minutes));
        self.fake.set_now(self.clock.now());
        self.wait_rounds(before + 1).await;
    }

    async fn inbox_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE kind = 'github'")
            .fetch_one(self.bot().pool())
            .await
            .unwrap()
    }

    async fn logged(&self, kind: &str) -> i64 {
        let mut conn = self.bot().pool().acquire().await.unwrap();
        sentinel_bot::store::security_log::count_since(&mut conn, Some(kind), test_start() - Duration::days(1))
            .await
            .unwrap()
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    async fn restart(&mut self) {
        self.bot.take().unwrap().shutdown(StdDuration::from_secs(5)).await;
        self.boot().await;
    }

    async fn stop(mut self) {
        if let Some(bot) = self.bot.take() {
            bot.shutdown(StdDuration::from_secs(5)).await;
        }
    }
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/../tests/fixtures/github/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_failed_delivery_is_redelivered_once_and_its_event_reaches_the_inbox_once() {
    let mut failed = 0;
    let h = Harness::start(|fake, now| {
        failed = fake.add(
            HOOK,
            "guid-failed",
            "dependabot_alert",
            &fixture("dependabot_alert.created"),
            now - Duration::minutes(5),
            502,
        );
    })
    .await;
    assert_eq!(
        h.fake.attempts(),
        [format!("{HOOK}/deliveries/{failed}/attempts")],
        "the failed delivery is asked for once"
    );
    assert_eq!(h.inbox_rows().await, 1, "the redelivery reached the inbox");
    assert_eq!(h.seen(), ["dependabot_alert"]);
    let redelivered = h.fake.deliveries(HOOK);
    assert_eq!(redelivered.len(), 2);
    assert_eq!(redelivered[1]["redelivery"], true);
    assert_eq!(redelivered[1]["status_code"], 202, "Sentinel took the redelivery");
    assert_eq!(h.logged("github_redelivery_requested").await, 1);
    let metrics = &h.bot().shared().metrics;
    assert_eq!(metrics.github_redeliveries_requested.get(), 1);
    assert_eq!(metrics.github_redeliveries_recovered.get(), 0);

    h.next_round(10).await;
    assert_eq!(h.fake.attempts().len(), 1, "not asked again");
    assert_eq!(h.inbox_rows().await, 1);
    assert_eq!(h.seen().len(), 1, "handled once");
    assert_eq!(
        metrics.github_redeliveries_recovered.get(),
        1,
        "the successful redelivery counts as recovered"
    );
    assert_eq!(h.logged("github_delivery_recovered").await, 1);
    h.next_round(10).await;
    assert_eq!(metrics.github_redeliveries_recovered.get(), 1, "recovered once");
    let text = h.bot().shared().metrics.encode();
    assert!(
        text.contains("sentinel_github_redeliveries_requested_total 1"),
        "{text}"
    );
    assert!(
        text.contains("sentinel_github_redeliveries_recovered_total 1"),
        "{text}"
    );
    h.stop().await;
}

#[tokio::test]
async fn delivered_redelivered_stored_or_old_events_are_not_asked_for_and_pages_are_walked() {
    let h = Harness::start(|fake, now| {
        fake.page_size(2);
        let alert = fixture("dependabot_alert.created");
        let old = now - Duration::hours(2);
        fake.add(HOOK, "guid-old", "dependabot_alert", &alert, old, 500);
        let at = now - Duration::minutes(30);
        fake.add(HOOK, "guid-ok", "dependabot_alert", &alert, at, 202);
        fake.add(HOOK, "guid-redone", "dependabot_alert", &alert, at, 0);
        fake.add(
            HOOK,
            "guid-redone",
            "dependabot_alert",
            &alert,
            at + Duration::minutes(1),
            200,
        );
        fake.add(
            HOOK,
            "guid-ok-2",
            "workflow_run",
            &fixture("workflow_run.completed"),
            at,
            200,
        );
    })
    .await;
    assert!(h.fake.attempts().is_empty(), "{:?}", h.fake.attempts());
    let pages: Vec<String> = h.fake.received().into_iter().map(|r| r.target).collect();
    assert_eq!(pages.len(), 3, "three pages of two, newest first: {pages:?}");
    assert_eq!(pages[0], format!("{HOOK}/deliveries?per_page=100"));
    assert!(pages[1].contains("cursor=v1_"), "{pages:?}");

    // A workflow run Sentinel stored (keyed by its delivery id: a requested run; a completed one
    // is keyed by its content, as pull mode keys it) although GitHub saw it time out.
    let body = fixture("workflow_run.requested");
    let text = body.to_string();
    let url = format!("http://{}/webhooks/github", h.bot().local_addr().unwrap());
    let answer = reqwest::Client::new()
        .post(url)
        .header("x-github-event", "workflow_run")
        .header("x-github-delivery", "guid-stored")
        .header(
            "x-hub-signature-256",
            sentinel_bot::ingress::github::sign(&Secret::new(SECRET), text.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    h.fake.add(HOOK, "guid-stored", "workflow_run", &body, h.clock.now(), 0);
    h.next_round(10).await;
    assert!(h.fake.attempts().is_empty(), "{:?}", h.fake.attempts());
    assert_eq!(h.bot().shared().metrics.github_redeliveries_requested.get(), 0);
    h.stop().await;
}

#[tokio::test]
async fn a_restart_does_not_ask_twice() {
    // The redelivery fails too (signed with a wrong secret), so the event stays failed.
    let mut h = Harness::start_signing("a-wrong-secret-for-the-redelivery-0123456789", |fake, now| {
        fake.add(
            HOOK,
            "guid-failed",
            "workflow_run",
            &fixture("workflow_run.completed"),
            now - Duration::minutes(5),
            0,
        );
    })
    .await;
    assert_eq!(h.fake.attempts().len(), 1);
    assert_eq!(
        h.fake.deliveries(HOOK)[1]["status_code"],
        401,
        "the redelivery was refused"
    );
    h.restart().await;
    h.next_round(10).await;
    assert_eq!(
        h.fake.attempts().len(),
        1,
        "asked once across a restart: {:?}",
        h.fake.attempts()
    );
    h.stop().await;
}

#[tokio::test]
async fn the_rate_limit_reserve_holds_the_asking_back_until_the_window_resets() {
    let reset = test_start() + Duration::minutes(30);
    let h = Harness::start(|fake, now| {
        fake.rate_limit(50, reset.timestamp());
        fake.add(
            HOOK,
            "guid-failed",
            "dependabot_alert",
            &fixture("dependabot_alert.created"),
            now - Duration::minutes(5),
            502,
        );
    })
    .await;
    assert!(h.fake.attempts().is_empty(), "below the reserve (100): nothing asked");
    let gets = h.fake.received().len();
    h.fake.rate_limit(5000, reset.timestamp() + 3600);
    h.clock.advance(Duration::minutes(10));
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    assert_eq!(h.fake.received().len(), gets, "paused: no request before the reset");
    h.next_round(20).await;
    assert_eq!(h.fake.attempts().len(), 1, "asked once the window reset");
    h.stop().await;
}
