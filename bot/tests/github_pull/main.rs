//! GitHub pull mode against a fake of GitHub's alert listings on 127.0.0.1, on a manual clock: the
//! harness here; security alerts in [`alerts`], failed workflow runs in [`runs`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod runs;

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sentinel_bot::chat::console::ConsoleSink;
use sentinel_bot::config::Secret;
use sentinel_bot::harness::fakes::github_alerts::{AlertRequest, FakeAlerts};
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::harness::test_start;
use sentinel_bot::{Bot, BotOptions, Cx, Event, ManualClock, Plugin, PluginError, Subscriptions};
use serde_json::{Value, json};

const TOKEN: &str = "ghp_pull_test";
const SECRET: &str = "pull-test-webhook-secret-0123456789abcdef";
const DEPENDABOT: &str = "/repos/acme/app/dependabot/alerts";
const CODE_SCANNING: &str = "/repos/acme/app/code-scanning/alerts";
const SECRET_SCANNING: &str = "/repos/acme/app/secret-scanning/alerts";
const ADVISORIES: &str = "/repos/acme/app/security-advisories";
const RUNS: &str = "/repos/acme/app/actions/runs";

/// What the recorder saw of one GitHub event.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    event: String,
    action: String,
    number: u64,
    state: String,
}

/// Records every security alert event it is given; with `runs`, also subscribed to `workflow_run`
/// (so pull mode polls the runs listing too), recorded as the run's id and conclusion.
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    runs: bool,
}

#[async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn subscriptions(&self) -> Subscriptions {
        let mut github: Vec<String> = [
            "dependabot_alert",
            "code_scanning_alert",
            "secret_scanning_alert",
            "repository_advisory",
        ]
        .map(String::from)
        .to_vec();
        if self.runs {
            github.push("workflow_run".into());
        }
        Subscriptions {
            github,
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, _cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        if let Event::GitHub(delivery) = event {
            let (number, state) = match delivery.payload.get("workflow_run") {
                Some(run) => (&run["id"], &run["conclusion"]),
                None => (
                    &delivery.payload["alert"]["number"],
                    &delivery.payload["alert"]["state"],
                ),
            };
            self.seen.lock().unwrap().push(Seen {
                event: delivery.event.clone(),
                action: delivery.action().unwrap_or_default().to_owned(),
                number: number.as_u64().unwrap_or_default(),
                state: state.as_str().unwrap_or_default().to_owned(),
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
    db: TestDb,
    extra: String,
    runs: bool,
}

impl Harness {
    /// A fake with the four `acme/app` listings empty, and a bot polling `acme/app`.
    async fn start(extra: &str) -> Self {
        Self::start_with(extra, Vec::new()).await
    }

    /// Like [`Harness::start`], with `dependabot` listed before the first poll.
    async fn start_with(extra: &str, dependabot: Vec<Value>) -> Self {
        Self::start_full(extra, dependabot, false).await
    }

    /// Like [`Harness::start`], with the recorder subscribed to `workflow_run`, so that the
    /// `acme/app` runs listing (empty) is polled too.
    async fn start_runs() -> Self {
        Self::start_full("", Vec::new(), true).await
    }

    async fn start_full(extra: &str, dependabot: Vec<Value>, runs: bool) -> Self {
        let fake = FakeAlerts::start().await.unwrap();
        for path in [CODE_SCANNING, SECRET_SCANNING, ADVISORIES, RUNS] {
            fake.set(path, Vec::new());
        }
        fake.set(DEPENDABOT, dependabot);
        let mut harness = Self {
            bot: None,
            clock: ManualClock::new(test_start()),
            seen: Arc::default(),
            fake,
            db: TestDb::new().await,
            extra: extra.to_owned(),
            runs,
        };
        harness.boot().await;
        harness
    }

    fn config(&self) -> String {
        format!(
            "[database]\nurl = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[github]\ntoken = \"{TOKEN}\"\n\
             api_url = \"{}\"\nwebhook_secret = \"{SECRET}\"\n{}\n[github.pull]\nrepositories = [\"acme/app\"]\n",
            self.db.url(),
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
            plugins: vec![Arc::new(Recorder { seen, runs: self.runs })],
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
