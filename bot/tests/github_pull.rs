//! GitHub pull mode against a fake of GitHub's alert listings on 127.0.0.1, on a manual clock: a new
//! alert becomes one event, an unchanged listing is a free 304 that stores nothing, a changed alert
//! is one new event, pagination stops at the watermark, an alert seen by webhook and by poll is one
//! event in either order, repositories outside the allow list are skipped, the cursor survives a
//! restart, and the rate-limit reserve stops polling until the window resets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sentinel_bot::chat::console::ConsoleSink;
use sentinel_bot::config::Secret;
use sentinel_bot::harness::fakes::github_alerts::{AlertRequest, FakeAlerts};
use sentinel_bot::harness::test_start;
use sentinel_bot::{Bot, BotOptions, Cx, Event, ManualClock, Plugin, PluginError, Subscriptions};
use serde_json::{Value, json};

const TOKEN: &str = "ghp_pull_test";
const SECRET: &str = "pull-test-webhook-secret-0123456789abcdef";
const DEPENDABOT: &str = "/repos/acme/app/dependabot/alerts";
const CODE_SCANNING: &str = "/repos/acme/app/code-scanning/alerts";
const SECRET_SCANNING: &str = "/repos/acme/app/secret-scanning/alerts";
const ADVISORIES: &str = "/repos/acme/app/security-advisories";

/// What the recorder saw of one GitHub event.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    event: String,
    action: String,
    number: u64,
    state: String,
}

/// Records every security alert event it is given.
struct Recorder(Arc<Mutex<Vec<Seen>>>);

#[async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: [
                "dependabot_alert",
                "code_scanning_alert",
                "secret_scanning_alert",
                "repository_advisory",
            ]
            .map(String::from)
            .to_vec(),
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, _cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        if let Event::GitHub(delivery) = event {
            let alert = &delivery.payload["alert"];
            self.0.lock().unwrap().push(Seen {
                event: delivery.event.clone(),
                action: delivery.action().unwrap_or_default().to_owned(),
                number: alert["number"].as_u64().unwrap_or_default(),
                state: alert["state"].as_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(())
    }
}

struct Harness {
    bot: Option<Bot>,
    clock: ManualClock,
    seen: Arc<Mutex<Vec<Seen>>>,
    fake: FakeAlerts,
    db: tempfile::TempDir,
    extra: String,
}

impl Harness {
    /// A fake with the four `acme/app` listings empty, and a bot polling `acme/app`.
    async fn start(extra: &str) -> Self {
        Self::start_with(extra, Vec::new()).await
    }

    /// Like [`Harness::start`], with `dependabot` listed before the first poll.
    async fn start_with(extra: &str, dependabot: Vec<Value>) -> Self {
        let fake = FakeAlerts::start().await.unwrap();
        for path in [CODE_SCANNING, SECRET_SCANNING, ADVISORIES] {
            fake.set(path, Vec::new());
        }
        fake.set(DEPENDABOT, dependabot);
        let mut harness = Self {
            bot: None,
            clock: ManualClock::new(test_start()),
            seen: Arc::default(),
            fake,
            db: tempfile::tempdir().unwrap(),
            extra: extra.to_owned(),
        };
        harness.boot().await;
        harness
    }

    fn config(&self) -> String {
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[github]\ntoken = \"{TOKEN}\"\n\
             api_url = \"{}\"\nwebhook_secret = \"{SECRET}\"\n{}\n[github.pull]\nrepositories = [\"acme/app\"]\n",
            self.db.path().join("sentinel.db").display(),
            self.fake.url,
            self.extra,
        )
    }

    /// Starts the bot (again) and waits for its first polling round.
    async fn boot(&mut self) {
        let table = sentinel_bot::config::load::parse_table(&self.config(), "test").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        let seen = self.seen.clone();
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(self.clock.clone()),
            plugins: vec![Arc::new(Recorder(seen))],
            adapters: Vec::new(),
            console: ConsoleSink::memory(false).0,
            serve_http: true,
            routes: sentinel_bot::ingress::github::routes(),
        })
        .await
        .unwrap();
        self.bot = Some(bot);
        self.wait_rounds(1).await;
    }

    fn bot(&self) -> &Bot {
        self.bot.as_ref().unwrap()
    }

    /// Waits until `n` polling rounds have completed since start, then until the bot is idle.
    async fn wait_rounds(&self, n: u64) {
        for _ in 0..2000 {
            if self.bot().shared().metrics.github_pull_polls.get() >= n {
                self.bot().settle(StdDuration::from_secs(10)).await.unwrap();
                return;
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        panic!("polling round {n} did not complete");
    }

    /// Moves the clock by one default interval (5 minutes) and waits for that round.
    async fn next_round(&self) {
        let before = self.bot().shared().metrics.github_pull_polls.get();
        self.clock.advance(Duration::minutes(5));
        self.wait_rounds(before + 1).await;
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn requests_to(&self, path: &str) -> Vec<AlertRequest> {
        self.fake.received().into_iter().filter(|r| r.path == path).collect()
    }

    async fn inbox_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE kind = 'github'")
            .fetch_one(self.bot().pool())
            .await
            .unwrap()
    }

    /// POSTs `body` as a signed `event` webhook; returns GitHub's view of the answer.
    async fn webhook(&self, event: &str, delivery: &str, body: &Value) -> (u16, String) {
        let body = body.to_string();
        let url = format!("http://{}/webhooks/github", self.bot().local_addr().unwrap());
        let answer = reqwest::Client::new()
            .post(url)
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header(
                "x-hub-signature-256",
                sentinel_bot::ingress::github::sign(&Secret::new(SECRET), body.as_bytes()),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let json: Value = answer.json().await.unwrap();
        self.bot().settle(StdDuration::from_secs(10)).await.unwrap();
        (status, json["status"].as_str().unwrap_or_default().to_owned())
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

/// A Dependabot alert as the REST API lists it: the real webhook fixture's `alert`, renumbered and
/// moved to the test's time (REST alerts have the webhook alert's shape).
fn dependabot(number: u64, state: &str, created: DateTime<Utc>, updated: DateTime<Utc>) -> Value {
    let path = format!(
        "{}/../tests/fixtures/github/dependabot_alert.created.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut alert = fixture["alert"].clone();
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    alert["number"] = json!(number);
    alert["state"] = json!(state);
    alert["created_at"] = json!(time(created));
    alert["updated_at"] = json!(time(updated));
    alert["html_url"] = json!(format!("https://github.com/acme/app/security/dependabot/{number}"));
    if state == "fixed" {
        alert["fixed_at"] = json!(time(updated));
    }
    alert
}

/// The webhook GitHub would send for `alert` of `acme/app`.
fn dependabot_webhook(action: &str, alert: &Value) -> Value {
    json!({
        "action": action,
        "alert": alert,
        "repository": {"full_name": "acme/app", "html_url": "https://github.com/acme/app"},
        "sender": {"login": "dependabot[bot]"},
    })
}

fn seen(action: &str, number: u64, state: &str) -> Seen {
    Seen {
        event: "dependabot_alert".into(),
        action: action.into(),
        number,
        state: state.into(),
    }
}

#[tokio::test]
async fn a_new_alert_is_one_event_and_an_unchanged_listing_is_a_free_304_that_stores_nothing() {
    let h = Harness::start("").await;
    assert!(h.seen().is_empty(), "nothing listed, nothing found");
    let first = h.requests_to(DEPENDABOT);
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].target,
        format!("{DEPENDABOT}?sort=updated&direction=desc&per_page=100")
    );
    assert_eq!(first[0].if_none_match, None, "never polled: no ETag to send");
    assert_eq!(
        first[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(h.fake.received().len(), 4, "the four acme/app listings");

    let now = test_start() + Duration::minutes(1);
    h.fake.upsert(DEPENDABOT, dependabot(7, "open", now, now));
    h.next_round().await;
    assert_eq!(h.seen(), [seen("created", 7, "open")]);
    assert_eq!(h.inbox_rows().await, 1);

    h.next_round().await;
    let third = h.requests_to(DEPENDABOT).pop().unwrap();
    assert!(third.if_none_match.is_some(), "the stored ETag is sent back");
    assert_eq!(third.status, 304);
    assert_eq!(h.seen().len(), 1, "nothing new");
    assert_eq!(h.inbox_rows().await, 1, "a 304 stores nothing");
    let metrics = h.bot().shared().metrics.encode();
    for line in [
        "sentinel_github_pull_polls_total 3",
        "sentinel_github_pull_events_total 1",
        "sentinel_github_pull_api_calls_total 12",
        // Round 2: the three untouched listings; round 3: all four.
        "sentinel_github_pull_not_modified_total 7",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    assert!(
        h.bot().shared().tasks.snapshot()["github_pull"].running,
        "supervised and shown in /healthz"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_fixed_alert_is_one_new_event_and_the_cursor_survives_a_restart() {
    let mut h = Harness::start("").await;
    let created = test_start() + Duration::minutes(1);
    h.fake.upsert(DEPENDABOT, dependabot(3, "open", created, created));
    h.next_round().await;
    h.fake.upsert(
        DEPENDABOT,
        dependabot(3, "fixed", created, created + Duration::minutes(5)),
    );
    h.next_round().await;
    assert_eq!(h.seen(), [seen("created", 3, "open"), seen("fixed", 3, "fixed")]);

    h.restart().await;
    let after = h.requests_to(DEPENDABOT).pop().unwrap();
    assert_eq!(
        (after.if_none_match.is_some(), after.status),
        (true, 304),
        "the ETag was stored"
    );
    assert_eq!(h.seen().len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn pagination_walks_down_to_the_watermark_and_no_further() {
    let h = Harness::start("").await;
    h.fake.page_size(2);
    for n in 1..=5 {
        let t = test_start() + Duration::seconds(n as i64 * 10);
        h.fake.upsert(DEPENDABOT, dependabot(n, "open", t, t));
    }
    h.next_round().await;
    let pages: Vec<String> = h
        .requests_to(DEPENDABOT)
        .into_iter()
        .skip(1)
        .map(|r| r.target)
        .collect();
    assert_eq!(pages.len(), 3, "five alerts, two per page: {pages:?}");
    assert!(
        pages[1].ends_with("page=2") && pages[2].ends_with("page=3"),
        "{pages:?}"
    );
    let mut numbers: Vec<u64> = h.seen().iter().map(|s| s.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);

    // Alert 2 reopened: page 1 holds it and alert 5 (the watermark, read again and deduplicated);
    // page 2 starts below the watermark, and the walk stops there.
    let t2 = test_start() + Duration::seconds(20);
    h.fake.upsert(
        DEPENDABOT,
        dependabot(2, "open", t2, test_start() + Duration::minutes(6)),
    );
    h.next_round().await;
    assert_eq!(h.requests_to(DEPENDABOT).len(), 1 + 3 + 2);
    assert_eq!(h.seen().len(), 6);
    assert_eq!(h.seen()[5], seen("reopened", 2, "open"));
    h.stop().await;
}

#[tokio::test]
async fn an_alert_seen_by_webhook_and_by_poll_is_one_event_in_either_order() {
    let h = Harness::start("").await;
    let t = test_start() + Duration::minutes(1);

    // Webhook first, then the poll lists the same change.
    let alert = dependabot(11, "open", t, t);
    assert_eq!(
        h.webhook("dependabot_alert", "delivery-1", &dependabot_webhook("created", &alert))
            .await,
        (202, "accepted".to_owned())
    );
    h.fake.upsert(DEPENDABOT, alert);
    h.next_round().await;
    assert_eq!(h.seen(), [seen("created", 11, "open")]);

    // Poll first (the alert is fixed), then the webhook for that change arrives.
    let fixed = dependabot(11, "fixed", t, t + Duration::minutes(4));
    h.fake.upsert(DEPENDABOT, fixed.clone());
    h.next_round().await;
    assert_eq!(h.seen().len(), 2);
    assert_eq!(
        h.webhook("dependabot_alert", "delivery-2", &dependabot_webhook("fixed", &fixed))
            .await,
        (200, "duplicate".to_owned())
    );
    // A redelivery of the first webhook is still the same event.
    assert_eq!(
        h.webhook(
            "dependabot_alert",
            "delivery-1",
            &dependabot_webhook("created", &dependabot(11, "open", t, t))
        )
        .await,
        (200, "duplicate".to_owned())
    );
    assert_eq!(h.seen(), [seen("created", 11, "open"), seen("fixed", 11, "fixed")]);
    assert_eq!(h.inbox_rows().await, 2);
    h.stop().await;
}

#[tokio::test]
async fn the_rate_limit_reserve_stops_polling_until_the_window_resets() {
    let h = Harness::start("rate_limit_reserve = 100").await;
    let reset = test_start() + Duration::minutes(30);
    h.fake.rate_limit(60, reset.timestamp());
    let t = test_start() + Duration::minutes(1);
    h.fake.upsert(DEPENDABOT, dependabot(1, "open", t, t));
    h.next_round().await;
    // The first answer says 59 calls are left, below the reserve of 100: the round stops there.
    assert_eq!(h.fake.received().len(), 4 + 1);
    assert_eq!(h.seen().len(), 1, "what was read is stored");

    for _ in 0..4 {
        h.clock.advance(Duration::minutes(5));
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(h.fake.received().len(), 5, "no call while the window is spent");
    h.fake.rate_limit(5000, (reset + Duration::hours(1)).timestamp());
    let before = h.bot().shared().metrics.github_pull_polls.get();
    h.clock.set(reset);
    h.wait_rounds(before + 1).await;
    assert_eq!(h.fake.received().len(), 5 + 4, "polling resumes at the reset");
    h.stop().await;
}

#[tokio::test]
async fn repositories_outside_the_allow_list_are_not_polled_or_announced() {
    let h = Harness::start("allowed_repositories = [\"acme/api\"]").await;
    assert!(h.fake.received().is_empty(), "acme/app is not allowed: never polled");
    h.stop().await;

    // An organisation's listing names each alert's repository; only allowed ones become events.
    let fake = FakeAlerts::start().await.unwrap();
    let t = test_start() - Duration::minutes(1);
    let mut allowed = dependabot(1, "open", t, t);
    allowed["repository"] = json!({"full_name": "acme/api", "html_url": "https://github.com/acme/api"});
    let mut other = dependabot(2, "open", t, t);
    other["repository"] = json!({"full_name": "acme/app", "html_url": "https://github.com/acme/app"});
    fake.set("/orgs/acme/dependabot/alerts", vec![allowed, other]);
    fake.set("/orgs/acme/code-scanning/alerts", Vec::new());
    fake.set("/orgs/acme/secret-scanning/alerts", Vec::new());
    let db = tempfile::tempdir().unwrap();
    let config = format!(
        "[database]\nurl = \"sqlite://{}\"\n[github]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n\
         allowed_repositories = [\"acme/api\"]\n[github.pull]\norganizations = [\"acme\"]\n",
        db.path().join("s.db").display(),
        fake.url
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let bot = Bot::start(BotOptions {
        config: sentinel_bot::config::load::from_table(
            sentinel_bot::config::load::parse_table(&config, "test").unwrap(),
        )
        .unwrap(),
        clock: Arc::new(ManualClock::new(test_start())),
        plugins: vec![Arc::new(Recorder(seen.clone()))],
        adapters: Vec::new(),
        console: ConsoleSink::memory(false).0,
        serve_http: false,
        routes: axum::Router::new(),
    })
    .await
    .unwrap();
    for _ in 0..2000 {
        if bot.shared().metrics.github_pull_polls.get() >= 1 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    bot.settle(StdDuration::from_secs(10)).await.unwrap();
    let numbers: Vec<u64> = seen.lock().unwrap().iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1], "acme/app's alert skipped");
    assert_eq!(
        fake.received()[0].target,
        "/orgs/acme/dependabot/alerts?sort=updated&direction=desc&per_page=100"
    );
    bot.shutdown(StdDuration::from_secs(5)).await;
}

#[tokio::test]
async fn the_first_poll_announces_only_what_changed_within_the_initial_lookback() {
    let old = test_start() - Duration::days(2);
    let recent = test_start() - Duration::hours(3);
    let h = Harness::start_with(
        "",
        vec![dependabot(1, "open", old, old), dependabot(2, "open", recent, recent)],
    )
    .await;
    assert_eq!(
        h.seen(),
        [seen("created", 2, "open")],
        "the two-day-old alert is taken as known"
    );
    // The old alert changes later: that is news.
    h.fake.upsert(
        DEPENDABOT,
        dependabot(1, "dismissed", old, test_start() + Duration::minutes(2)),
    );
    h.next_round().await;
    assert_eq!(h.seen().len(), 2);
    assert_eq!(h.seen()[1], seen("dismissed", 1, "dismissed"));
    h.stop().await;
}
