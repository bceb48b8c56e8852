//! Discord interactions over the Gateway against a fake Discord on 127.0.0.1 (REST and a real
//! WebSocket speaking Discord's documented frames): an interaction is stored before it is
//! answered through the callback, a resumed session's replay does not run it twice, heartbeats
//! keep the interval on the bot's clock, INVALID_SESSION and a refused token behave as Discord
//! documents, and a reply that overtakes the interaction's answer waits for it (a follow-up, not a
//! direct message) while the interaction is young.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "discord_gateway/fake_gateway.rs"]
mod fake;

#[path = "support/sayer.rs"]
mod sayer;

use std::sync::Arc;
use std::time::Duration;

use fake::{APP, BOT_TOKEN, Behaviour, FakeGateway};
use sayer::Sayer;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::ingress::discord_gateway::{UrlError, check_gateway};
use sentinel_bot::{Bot, BotOptions, ManualClock};
use serde_json::{Value, json};

/// The heartbeat interval the fake's HELLO names (on the bot's manual clock).
const INTERVAL: Duration = Duration::from_millis(41_250);

struct Harness {
    bot: Bot,
    fake: FakeGateway,
    clock: ManualClock,
    _db: TestDb,
}

impl Harness {
    async fn start(token: &str, script: &[Behaviour]) -> Self {
        let fake = FakeGateway::start(INTERVAL).await;
        fake.script(script);
        let db = TestDb::new().await;
        let text = format!(
            "[database]\nurl = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
             [discord]\nbot_token = \"{token}\"\napplication_id = \"{APP}\"\ninteractions = \"gateway\"\n\
             api_url = \"{}\"\n",
            db.url(),
            fake.base
        );
        let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        assert!(config.discord_gateway_enabled());
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let adapter = sentinel_bot::chat::discord::DiscordAdapter::new(
            &config.discord,
            Arc::new(sentinel_bot::chat::Directory::from_config(&config)),
            Duration::from_secs(5),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock.clone()),
            plugins: vec![Arc::new(Sayer)],
            adapters: vec![Arc::new(adapter)],
            console: sentinel_bot::chat::console::ConsoleSink::Stdout,
            serve_http: true,
            routes: sentinel_bot::http::Routes::new(),
        })
        .await
        .unwrap();
        fake.watch_inbox(bot.pool().clone());
        Self {
            bot,
            fake,
            clock,
            _db: db,
        }
    }

    /// Waits (up to 15 s) until `done` holds.
    async fn until(&self, what: &str, done: impl Fn(&FakeGateway) -> bool) {
        for _ in 0..1500 {
            if done(&self.fake) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}; violations: {:?}", self.fake.violations());
    }

    /// Waits for a ready session: READY or RESUMED sent on an open connection.
    async fn ready(&self, sessions: usize) {
        self.until("a ready session", |f| {
            f.identifies().len() + f.resumes().len() >= sessions && f.open_connections() == 1
        })
        .await;
        // The client has READY once its first heartbeat could carry its sequence; give it a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    async fn settle(&self) {
        self.bot.settle(Duration::from_secs(20)).await.unwrap();
    }

    /// Settles, then lets the bot's clock run a second at a time while a message waits for a retry
    /// (a reply that overtook its interaction's answer is tried again after 1 s on that clock).
    async fn deliver(&self) {
        self.settle().await;
        for _ in 0..5 {
            let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
                .fetch_one(self.bot.pool())
                .await
                .unwrap();
            if waiting == 0 {
                return;
            }
            self.clock.advance(chrono::Duration::seconds(1));
            self.settle().await;
        }
        panic!("messages still waiting in the outbox");
    }

    async fn healthz(&self) -> Value {
        let url = format!("http://{}/healthz", self.bot.local_addr().unwrap());
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    async fn inbox_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE kind IN ('command', 'action')")
            .fetch_one(self.bot.pool())
            .await
            .unwrap()
    }

    async fn stop(self) {
        assert_eq!(self.fake.violations(), Vec::<String>::new());
        assert_eq!(
            self.fake.direct_messages(),
            Vec::<Value>::new(),
            "private replies follow up, never as direct messages"
        );
        self.bot.shutdown(Duration::from_secs(5)).await;
    }
}

/// Discord's epoch (2015-01-01) in Unix milliseconds.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The interaction id for `label` (a small number): a snowflake created `age` before the bot's
/// clock started, so the adapter can tell how young the interaction is, as with Discord's ids.
fn interaction_id(label: &str, age: Duration) -> String {
    let created = sentinel_bot::harness::test_start().timestamp_millis() - age.as_millis() as i64;
    let snowflake = (((created - DISCORD_EPOCH_MS) as u64) << 22) + label.parse::<u64>().unwrap();
    snowflake.to_string()
}

fn member() -> Value {
    json!({
        "user": {"id": "200000000000000002", "username": "bob", "global_name": "Bob B.", "discriminator": "0"},
        "roles": ["300000000000000003"], "nick": null
    })
}

/// An `INTERACTION_CREATE` payload for `/name text`, as Discord documents an interaction; `id` is
/// the label of its id (see [`interaction_id`]) and token.
fn slash_command(id: &str, name: &str, text: &str) -> Value {
    json!({
        "id": interaction_id(id, Duration::ZERO), "application_id": APP, "type": 2, "token": format!("token-{id}"), "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000020", "member": member(),
        "locale": "en-GB", "app_permissions": "442368", "entitlements": [], "authorizing_integration_owners": {"0": "400000000000000004"},
        "context": 0,
        "data": {"id": "800000000000000008", "name": name, "type": 1,
                 "options": [{"type": 3, "name": "args", "value": text}]}
    })
}

fn button_click(id: &str, custom_id: &str) -> Value {
    json!({
        "id": interaction_id(id, Duration::ZERO), "application_id": APP, "type": 3, "token": format!("token-{id}"), "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000010", "member": member(),
        "message": {"id": "500000000000000001", "channel_id": "100000000000000010"},
        "data": {"custom_id": custom_id, "component_type": 2}
    })
}

#[tokio::test]
async fn a_slash_command_over_the_gateway_is_stored_then_answered_and_runs_once() {
    let h = Harness::start(BOT_TOKEN, &[]).await;
    h.ready(1).await;
    let identify = &h.fake.identifies()[0].1;
    assert_eq!(identify["intents"], 0, "interactions need no intents: {identify}");
    assert_eq!(identify["token"], "<the bot token>");
    assert_eq!(h.fake.gateway_bot_calls(), 1);
    assert_eq!(h.fake.paths(), vec![(1, "/".to_owned())]);

    h.fake.dispatch(slash_command("1001", "say", "hello"));
    h.until("the callback", |f| f.callbacks().len() == 1).await;
    let callback = &h.fake.callbacks()[0];
    assert_eq!(callback.interaction, interaction_id("1001", Duration::ZERO));
    assert_eq!(callback.status, 204);
    assert_eq!(callback.stored_before, 1, "in the inbox before it was answered");
    let deferred = (callback.body["type"].clone(), callback.body["data"]["flags"].clone());
    assert_eq!(
        deferred,
        (json!(5), json!(64)),
        "deferred and ephemeral, as over HTTP: {}",
        callback.body
    );
    h.deliver().await;
    assert_eq!(h.fake.delivered("token-1001"), ["Said: hello"], "answered once");

    // A command no plugin owns gets the HTTP path's ephemeral answer, and nothing is stored.
    h.fake.dispatch(slash_command("1002", "nope", ""));
    h.until("the second callback", |f| f.callbacks().len() == 2).await;
    let body = &h.fake.callbacks()[1].body;
    assert_eq!(
        (body["type"].clone(), body["data"]["flags"].clone()),
        (json!(4), json!(64))
    );
    assert!(
        body["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Unknown command `/nope`")
    );

    // A button click is acknowledged without a visible change and reaches its plugin.
    h.fake.dispatch(button_click("1003", "say|42"));
    h.until("the click's callback", |f| f.callbacks().len() == 3).await;
    assert_eq!(h.fake.callbacks()[2].body, json!({"type": 6}));
    assert_eq!(h.fake.callbacks()[2].stored_before, 1);
    h.deliver().await;
    assert_eq!(h.fake.delivered("token-1003"), ["Thanks, Bob B. (42)"]);
    assert_eq!(h.inbox_rows().await, 2);

    // Validated at the door: a token that would leave its URL path segment, or an interaction
    // naming no user, is neither stored nor answered; the next proper one still is.
    let mut escaping = slash_command("1004", "say", "x");
    escaping["token"] = json!("../../applications/1/commands");
    h.fake.dispatch(escaping);
    let mut anonymous = slash_command("1005", "say", "x");
    anonymous.as_object_mut().unwrap().remove("member");
    h.fake.dispatch(anonymous);
    h.fake.dispatch(slash_command("1006", "say", "after"));
    h.until("the proper one's callback", |f| f.callbacks().len() == 4).await;
    assert_eq!(
        h.fake.callbacks()[3].interaction,
        interaction_id("1006", Duration::ZERO)
    );
    h.settle().await;
    assert_eq!(h.inbox_rows().await, 3);
    let health = h.healthz().await;
    assert_eq!(health["tasks"]["discord_gateway"]["running"], true, "{health}");
    // Nothing listens for Discord over HTTP in gateway mode.
    let url = format!("http://{}/discord/interactions", h.bot.local_addr().unwrap());
    let status = reqwest::Client::new()
        .post(url)
        .body("{}")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404);
    h.stop().await;
}

#[tokio::test]
async fn a_gateway_dropped_after_dispatch_resumes_and_the_replayed_interaction_runs_once() {
    let h = Harness::start(BOT_TOKEN, &[Behaviour::DropAfterDispatch]).await;
    h.ready(1).await;
    h.fake.dispatch(slash_command("2001", "say", "once"));

    // The connection dies right after the dispatch; the client resumes at resume_gateway_url and
    // Discord sends the interaction again.
    h.until("the resume", |f| f.resumes().len() == 1 && f.open_connections() == 1)
        .await;
    let (connection, resume) = h.fake.resumes()[0].clone();
    assert_eq!(connection, 2);
    assert_eq!(resume["session_id"], "fake-session-1");
    assert_eq!(resume["seq"], 2, "READY was 1, the interaction 2");
    assert_eq!(h.fake.paths()[1], (2, "/resume".to_owned()));
    assert_eq!(h.fake.identifies().len(), 1, "resumed, not identified again");
    assert_eq!(h.fake.gateway_bot_calls(), 1, "the resume URL came with READY");

    h.until("both callbacks", |f| f.callbacks().len() == 2).await;
    h.deliver().await;
    let statuses: Vec<u16> = h.fake.callbacks().iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [204, 400],
        "the replay's answer is refused as already acknowledged"
    );
    assert_eq!(h.fake.delivered("token-2001"), ["Said: once"], "the command ran once");
    assert_eq!(h.inbox_rows().await, 1);

    // The session goes on: a new interaction on the resumed connection.
    h.fake.dispatch(slash_command("2002", "say", "again"));
    h.until("the next callback", |f| f.callbacks().len() == 3).await;
    h.deliver().await;
    assert_eq!(h.fake.delivered("token-2002"), ["Said: again"]);
    // The drop was a failure the supervisor handled (restart after its backoff, then resume).
    let health = h.healthz().await;
    assert_eq!(health["tasks"]["discord_gateway"]["restarts"], 1, "{health}");
    assert_eq!(health["tasks"]["discord_gateway"]["running"], true, "{health}");
    h.stop().await;
}

#[tokio::test]
async fn heartbeats_keep_the_interval_and_a_missing_ack_resumes_on_a_new_connection() {
    let h = Harness::start(BOT_TOKEN, &[]).await;
    h.ready(1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(h.fake.heartbeats().is_empty(), "the bot's clock has not moved");

    // The first beat comes within one interval (jittered), carrying the last sequence (READY's).
    h.clock.advance(chrono::Duration::from_std(INTERVAL).unwrap());
    h.until("the first heartbeat", |f| f.heartbeats().len() == 1).await;
    assert_eq!(h.fake.heartbeats()[0], (1, json!(1)));
    let step = chrono::Duration::from_std(INTERVAL).unwrap();
    for n in 2..=4 {
        // Not a moment before the interval has passed since the last beat...
        h.clock.advance(step - chrono::Duration::milliseconds(1));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(h.fake.heartbeats().len(), n - 1, "beat {n} early");
        // ...and then at once.
        h.clock.advance(chrono::Duration::milliseconds(1));
        h.until("the next heartbeat", |f| f.heartbeats().len() == n).await;
    }
    assert_eq!(h.fake.connections(), 1);

    // A zombie connection: the next beat goes unacknowledged, and when the one after is due the
    // client closes it and resumes elsewhere.
    h.fake.ack_heartbeats(false);
    h.clock.advance(step);
    h.until("the unacknowledged heartbeat", |f| f.heartbeats().len() == 5)
        .await;
    h.fake.ack_heartbeats(true);
    h.clock.advance(step);
    h.until("the resume", |f| f.resumes().len() == 1).await;
    assert_eq!(h.fake.resumes()[0].1["seq"], 1);
    assert_eq!(
        h.fake.heartbeats().len(),
        5,
        "no beat sent on the zombie after the missed ACK"
    );
    h.stop().await;
}

#[tokio::test]
async fn reconnect_resumes_and_an_invalid_session_that_cannot_resume_identifies_afresh() {
    let h = Harness::start(BOT_TOKEN, &[Behaviour::Reconnect, Behaviour::InvalidSession(false)]).await;
    // Connection 1: READY, then RECONNECT; connection 2: the RESUME is refused with op 9 false;
    // connection 3 (after Discord's 1–5 s): a fresh IDENTIFY at the Gateway URL.
    h.until("the fresh identify", |f| {
        f.identifies().len() == 2 && f.open_connections() == 1
    })
    .await;
    assert_eq!(h.fake.resumes().len(), 1);
    assert_eq!(h.fake.resumes()[0].0, 2);
    let paths: Vec<String> = h.fake.paths().into_iter().map(|(_, p)| p).collect();
    assert_eq!(paths, ["/", "/resume", "/"]);
    assert_eq!(h.fake.identifies()[1].0, 3);
    assert_eq!(
        h.fake.gateway_bot_calls(),
        2,
        "the Gateway URL asked again for the new session"
    );

    h.fake.dispatch(slash_command("3001", "say", "fresh"));
    h.until("the callback", |f| f.callbacks().len() == 1).await;
    h.deliver().await;
    assert_eq!(h.fake.delivered("token-3001"), ["Said: fresh"]);
    let health = h.healthz().await;
    assert_eq!(health["tasks"]["discord_gateway"]["restarts"], 0, "routine: {health}");
    h.stop().await;
}

#[tokio::test]
async fn a_refused_token_shows_the_gateway_down_and_is_not_retried_at_once() {
    // REST accepts the token, the Gateway refuses it (reset in between): close 4004.
    let h = Harness::start(BOT_TOKEN, &[Behaviour::AuthFailed, Behaviour::AuthFailed]).await;
    h.until("the refusal", |f| f.closes() == [4004]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = h.healthz().await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["tasks"]["discord_gateway"]["running"], false, "{health}");
    assert_eq!(h.fake.connections(), 1, "not retried tight");
    // The supervisor tries again after its backoff (1 s, then 2 s, ...).
    h.until("the second attempt", |f| f.closes().len() == 2).await;
    h.stop().await;

    // A token REST already refuses: never connected, down, and check_gateway says why.
    let h = Harness::start("a-wrong-token", &[]).await;
    h.until("the refused /gateway/bot", |f| !f.refused_rest().is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health = h.healthz().await;
    assert_eq!(health["tasks"]["discord_gateway"]["running"], false, "{health}");
    assert_eq!(h.fake.connections(), 0);
    let config = |token: &str| sentinel_bot::config::DiscordConfig {
        bot_token: Some(sentinel_bot::config::Secret::new(token)),
        api_url: h.fake.base.clone(),
        ..Default::default()
    };
    let wrong = check_gateway(&config("a-wrong-token"), Duration::from_secs(5)).await;
    assert_eq!(wrong, Err(UrlError::Rejected("HTTP 401 Unauthorized".into())));
    let message = wrong.unwrap_err().to_string();
    assert!(message.contains("SENTINEL_DISCORD_BOT_TOKEN"), "{message}");
    assert!(!message.contains("a-wrong-token"), "the token never prints: {message}");
    assert_eq!(check_gateway(&config(BOT_TOKEN), Duration::from_secs(5)).await, Ok(()));
    h.stop().await;
}

#[tokio::test]
async fn a_reply_that_overtakes_the_answer_waits_for_it_and_follows_up_once_not_as_a_dm() {
    let h = Harness::start(BOT_TOKEN, &[]).await;
    h.ready(1).await;
    // The answer is slow to reach Discord: the plugin's reply gets there first and is refused
    // with 10015 "Unknown Webhook".
    h.fake.hold_callbacks(true);
    h.fake.dispatch(slash_command("4001", "say", "slow"));
    h.until("the early follow-up", |f| f.early_followups().len() == 1).await;
    h.settle().await;
    assert_eq!(
        h.fake.direct_messages(),
        Vec::<Value>::new(),
        "no direct message at once"
    );
    assert_eq!(h.fake.delivered("token-4001"), Vec::<String>::new());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(h.fake.early_followups().len(), 1, "the retry waits for the bot's clock");

    // The answer arrives; a second later (on the bot's clock) the reply follows up, once.
    h.fake.hold_callbacks(false);
    h.until("the callback", |f| f.callbacks().len() == 1).await;
    assert_eq!(h.fake.callbacks()[0].status, 204);
    h.deliver().await;
    assert_eq!(h.fake.delivered("token-4001"), ["Said: slow"], "followed up once");
    assert_eq!(h.fake.early_followups().len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_follow_up_for_an_interaction_past_its_answer_window_falls_back_to_a_direct_message() {
    let h = Harness::start(BOT_TOKEN, &[]).await;
    h.ready(1).await;
    h.fake.hold_callbacks(true);
    // Created 11 s before the bot's clock: past sentinel_bot::chat::discord::ANSWER_WINDOW.
    assert!(sentinel_bot::chat::discord::ANSWER_WINDOW < Duration::from_secs(11));
    let mut old = slash_command("5001", "say", "late");
    old["id"] = json!(interaction_id("5001", Duration::from_secs(11)));
    h.fake.dispatch(old);
    h.until("the direct message", |f| f.direct_messages().len() == 1).await;
    assert_eq!(h.fake.direct_messages()[0]["content"], "Said: late");
    assert_eq!(h.fake.early_followups().len(), 1, "tried as a follow-up first");
    h.fake.hold_callbacks(false);
    h.until("the callback", |f| f.callbacks().len() == 1).await;
    h.deliver().await;
    assert_eq!(h.fake.delivered("token-5001"), Vec::<String>::new());
    assert_eq!(h.fake.direct_messages().len(), 1, "delivered once");
    assert_eq!(h.fake.violations(), Vec::<String>::new());
    h.bot.shutdown(Duration::from_secs(5)).await;
}
