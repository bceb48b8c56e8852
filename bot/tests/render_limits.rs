//! Messages the real APIs would refuse, and mention injection, for both renderers:
//! - a property test: arbitrary `Message`s (any lengths, any unicode, Slack and Discord syntax in
//!   every string) always render within every documented limit of Slack and Discord, as checked
//!   by `sentinel_bot::harness::fakes::limits` (written from the platforms' documentation, not from the
//!   renderers), and no text but the message's own mentions becomes a mention;
//! - through the real adapters over HTTP against fakes that refuse what the real APIs refuse: the
//!   incident that grew past Discord's 6,000 is edited fine, and a message a platform refuses as
//!   too big anyway is sent once more in its minimal rendering instead of being left failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use proptest::prelude::*;
use sentinel_bot::chat::Directory;
use sentinel_bot::chat::discord::DiscordAdapter;
use sentinel_bot::chat::discord::render as discord;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::chat::slack::render as slack;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::store::outbox;
use sentinel_bot::{
    Bot, BotOptions, Button, ButtonStyle, Cx, Event, ManualClock, Mention, Message, NewEvent, Plugin, PluginError,
    Severity,
};
use serde_json::Value;

use sentinel_bot::harness::fakes::discord::FakeDiscord;
use sentinel_bot::harness::fakes::limits::{
    self as platform_limits, discord_mention_tokens, discord_refusal, slack_mention_tokens, slack_refusal,
};
use sentinel_bot::harness::fakes::slack::FakeSlack;

const SLACK_ALLOWED: [&str; 2] = ["<@U0ALICE>", "<!subteam^S0SEC>"];
const DISCORD_ALLOWED: [&str; 2] = ["<@200000000000000001>", "<@&300000000000000003>"];

/// The directory of the tests: alice and the secops group are known on both platforms; "everyone"
/// is a person with no id, whose fallback `@everyone` must stay text.
fn slack_mention(m: &Mention) -> String {
    match m {
        Mention::Person(p) if p == "alice" => "<@U0ALICE>".into(),
        Mention::Group(g) if g == "secops" => "<!subteam^S0SEC>".into(),
        Mention::Person(name) | Mention::Group(name) | Mention::User(name) => format!("@{name}"),
    }
}

fn discord_mention(m: &Mention) -> String {
    match m {
        Mention::Person(p) if p == "alice" => "<@200000000000000001>".into(),
        Mention::Group(g) if g == "secops" => "<@&300000000000000003>".into(),
        Mention::Person(name) | Mention::Group(name) | Mention::User(name) => format!("@{name}"),
    }
}

const WORDS: [&str; 8] = [
    "lodash ",
    "prototype ",
    "pollution ",
    "in ",
    "org/app ",
    "x",
    "CVE-2021-23337 ",
    "\n",
];

/// Text a payload might hold: words, markup of both platforms, mentions, entities, emoji, CJK,
/// combining marks, zero-width characters, line breaks, and any character at all.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS.as_slice()).prop_map(str::to_owned),
        1 => Just("<!channel>".to_owned()),
        1 => Just("<!here> <!everyone>".to_owned()),
        1 => Just("<@U0EVIL> <@U0EVIL|evil>".to_owned()),
        1 => Just("<!subteam^S0EVIL>".to_owned()),
        1 => Just("@everyone @here".to_owned()),
        1 => Just("<@123456789012345678> <@!123456789012345678> <@&123456789012345678> <#123456789012345678>".to_owned()),
        1 => Just("<https://evil.example/|click> [x](https://e.example/a)(b) **bold**".to_owned()),
        1 => Just("[a](https://x><!channel>|y) & < > &amp; &lt;".to_owned()),
        1 => Just("🔴👩‍👩‍👧‍👦 漢字 é\u{301} \u{200B}\u{FEFF}\n\n".to_owned()),
        2 => any::<char>().prop_map(String::from),
    ]
}

/// A string of up to `max_pieces` pieces, sometimes one long run.
fn text(max_pieces: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(piece(), 0..max_pieces).prop_map(|p| p.concat()),
        1 => (piece(), 0..3000usize).prop_map(|(p, n)| p.repeat(n)),
    ]
}

fn button() -> impl Strategy<Value = Button> {
    let action = (
        text(6),
        prop_oneof![
            Just("alert.ack".to_owned()),
            Just("incident.check".to_owned()),
            "[a-z.]{1,40}"
        ],
        // Ids and keys: any text, long enough to need a digest, not megabytes of it.
        prop::collection::vec(piece(), 0..60).prop_map(|p| p.concat()),
    )
        .prop_map(|(label, id, value)| Button::action(label, id, value).styled(ButtonStyle::Primary));
    let link = (text(6), "[a-z0-9/]{0,600}")
        .prop_map(|(label, path)| Button::link(label, format!("https://github.com/{path}")));
    prop_oneof![3 => action, 1 => link]
}

fn mention() -> impl Strategy<Value = Mention> {
    prop_oneof![
        Just(Mention::Person("alice".into())),
        Just(Mention::Group("secops".into())),
        Just(Mention::Person("everyone".into())),
        Just(Mention::Person("<!channel>".into())),
    ]
}

prop_compose! {
    fn message()(
        text in text(400),
        title in prop::option::of(text(60)),
        severity in prop::option::of(prop_oneof![Just(Severity::Critical), Just(Severity::Low)]),
        fields in prop::collection::vec((text(20), text(200)), 0..40),
        body in prop::option::of(text(600)),
        buttons in prop::collection::vec(button(), 0..35),
        mentions in prop::collection::vec(mention(), 0..6),
        context in prop::option::of(text(300)),
        link in prop::option::of("[a-z/]{1,80}"),
    ) -> Message {
        let mut message = Message::new("security-incidents", text);
        message.title = title;
        message.severity = severity;
        for (name, value) in fields {
            message = message.field(name, value);
        }
        message.body = body;
        message.buttons = buttons;
        message.mentions = mentions;
        message.context = context;
        message.link = link.map(|path| format!("https://github.com/{path}"));
        message
    }
}

fn slack_json(message: &Message) -> Value {
    serde_json::to_value(slack::render(message, slack_mention)).unwrap()
}

fn discord_json(message: &Message) -> Value {
    serde_json::to_value(discord::render(message, discord_mention).create("nonce".into())).unwrap()
}

/// Every mention token is one the message asked for, and every one it asked for is there.
fn assert_mentions(message: &Message, found: Vec<String>, allowed: [&str; 2], platform: &str) {
    for token in &found {
        assert!(
            allowed.contains(&token.as_str()),
            "{platform}: live token {token} from text"
        );
    }
    let wanted = |m: &Mention, token: &str| message.mentions.contains(m) && !found.iter().any(|t| t == token);
    assert!(
        !wanted(&Mention::Person("alice".into()), allowed[0]),
        "{platform}: alice not mentioned"
    );
    assert!(
        !wanted(&Mention::Group("secops".into()), allowed[1]),
        "{platform}: secops not mentioned"
    );
}

fn check(message: &Message) {
    let slack = slack_json(message);
    assert_eq!(slack_refusal(&slack), None, "Slack would refuse:\n{slack:#}");
    // Slack truncates `text` at 40,000 and advises at most 4,000; the attachment's fallback, a
    // notification line, once carried a 1.8 MB summary.
    let fallbacks = slack["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| &a["fallback"]);
    for text in fallbacks.chain([&slack["text"]]) {
        assert!(
            platform_limits::units(text.as_str().unwrap_or_default()) <= 4000,
            "{text}"
        );
    }
    assert_mentions(message, slack_mention_tokens(&slack), SLACK_ALLOWED, "Slack");
    let discord = discord_json(message);
    assert_eq!(discord_refusal(&discord), None, "Discord would refuse:\n{discord:#}");
    assert_mentions(message, discord_mention_tokens(&discord), DISCORD_ALLOWED, "Discord");
    assert_eq!(
        discord["allowed_mentions"]["parse"],
        serde_json::json!([]),
        "never @everyone"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_message_renders_within_every_limit_on_both_platforms(message in message()) {
        check(&message);
        check(&message.minimal());
    }
}

#[test]
fn the_incident_that_grew_past_6000_fits_and_says_where_the_rest_is() {
    // The case from the field: a long title, a long update and a resolve summary (6,7xx in all).
    let message = Message::new("security-incidents", "Incident #12 resolved")
        .title(format!("SQL injection in {}", "the checkout service ".repeat(12)))
        .severity(Severity::Critical)
        .field("Summary", "Root cause: unparameterised query. ".repeat(30))
        .field("Last update", "Rotated every credential; ".repeat(40))
        .body("☐ step\n".repeat(500))
        .context("incident 12 · org/shop")
        .link("https://github.com/org/shop/issues/12");
    check(&message);
    let json = discord_json(&message);
    let embed = &json["embeds"][0];
    let value = embed["fields"][0]["value"].as_str().unwrap();
    assert!(
        value.ends_with("… [full text](https://github.com/org/shop/issues/12)"),
        "{value}"
    );
    let slack = slack_json(&message);
    let body = slack["attachments"][0]["blocks"][2]["text"]["text"].as_str().unwrap();
    assert!(
        body.ends_with("… <https://github.com/org/shop/issues/12|full text>"),
        "{body}"
    );
}

#[test]
fn a_long_alert_key_keeps_its_buttons_and_they_still_route() {
    let key = format!("dependabot:{}/{}:20", "o".repeat(39), "r".repeat(100));
    let message = Message::new("security-incidents", "Dependabot alert #20")
        .button(Button::action("Acknowledge", "alert.ack", key.as_str()))
        .button(Button::action("Open incident", "alert.incident", key.as_str()));
    let json = discord_json(&message);
    let buttons = json["components"][0]["components"].as_array().unwrap();
    assert_eq!(buttons.len(), 2, "no button is lost");
    for (button, id) in buttons.iter().zip(["alert.ack", "alert.incident"]) {
        let custom_id = button["custom_id"].as_str().unwrap();
        assert!(custom_id.len() <= 100, "{custom_id}");
        let (action, value) = discord::parse_custom_id(custom_id);
        assert_eq!(action, id, "the click reaches the plugin of the action id");
        assert!(sentinel_bot::message::value_matches(value, &key));
    }
    let slack = slack_json(&message);
    assert_eq!(
        slack["blocks"][1]["elements"][0]["value"],
        key.as_str(),
        "Slack takes 2,000"
    );
}

/// On a `say` GitHub event `{"title", "text", "body", "update"}` posts a keyed message, or with
/// `update` edits it.
struct Sayer;

#[async_trait]
impl Plugin for Sayer {
    fn name(&self) -> &'static str {
        "sayer"
    }

    fn subscriptions(&self) -> sentinel_bot::Subscriptions {
        sentinel_bot::Subscriptions {
            github: vec!["say".into()],
            ..Default::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        let Event::GitHub(delivery) = event else { return Ok(()) };
        let p = &delivery.payload;
        let get = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
        let message = Message::new("security-incidents", get("text"))
            .title(get("title"))
            .severity(Severity::High)
            .field("Last update", get("update"))
            .body(get("body"))
            .button(Button::action("Acknowledge", "sayer.ack", "1"))
            .mention(Mention::Person("alice".into()))
            .keyed("incident-1");
        cx.send(message).await
    }
}

struct Harness {
    bot: Bot,
    slack: FakeSlack,
    discord: FakeDiscord,
    _db: TestDb,
}

impl Harness {
    async fn start() -> Self {
        let slack = FakeSlack::start().await.unwrap();
        let discord = FakeDiscord::start().await.unwrap();
        let (slack_url, discord_url) = (slack.api_url(), discord.url.clone());
        let db = TestDb::new().await;
        let text = format!(
            "[database]\nurl = \"{}\"\n[chat]\nconsole = \"off\"\n\
             [slack]\nbot_token = \"xoxb-test\"\nsigning_secret = \"8f742231b10e8888abcd99yyyzzz85a5\"\napi_url = \"{slack_url}\"\npost_interval = \"0s\"\n\
             [discord]\nbot_token = \"discord-test\"\napi_url = \"{discord_url}\"\n\
             [outbox]\nretry_base = \"2s\"\nretry_max = \"1m\"\nmax_attempts = 5\n\
             [channels.security-incidents]\nslack = \"C0INC\"\ndiscord = \"100000000000000010\"\n\
             [people.alice]\nslack = \"U0ALICE\"\ndiscord = \"200000000000000001\"\n",
            db.url()
        );
        let config =
            sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(&text, "test").unwrap())
                .unwrap();
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let directory = Arc::new(Directory::from_config(&config));
        let slack_adapter = SlackAdapter::new(&config.slack, directory.clone(), Duration::from_secs(5)).unwrap();
        let discord_adapter = DiscordAdapter::new(
            &config.discord,
            directory,
            Duration::from_secs(5),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock),
            plugins: vec![Arc::new(Sayer)],
            adapters: vec![Arc::new(slack_adapter), Arc::new(discord_adapter)],
            console: sentinel_bot::chat::console::ConsoleSink::Stdout,
            serve_http: false,
            routes: sentinel_bot::ingress::github::routes(),
        })
        .await
        .unwrap();
        Self {
            bot,
            slack,
            discord,
            _db: db,
        }
    }

    async fn say(&self, delivery: &str, payload: Value) {
        let event = NewEvent::github("say", delivery, payload.to_string());
        self.bot.ingest().unwrap().submit(event).await.unwrap();
        self.bot.settle(Duration::from_secs(20)).await.unwrap();
    }

    async fn failed(&self) -> i64 {
        let mut conn = self.bot.pool().acquire().await.unwrap();
        let counts = outbox::counts(&mut conn).await.unwrap();
        assert_eq!(counts.pending, 0, "nothing left waiting");
        counts.failed
    }
}

fn big(update: &str) -> Value {
    serde_json::json!({
        "title": format!("SQL injection in {}", "the checkout service ".repeat(12)),
        "text": "Incident #1",
        "update": update,
        "body": "Resolved: the query is parameterised now. ".repeat(150),
    })
}

#[tokio::test]
async fn an_incident_past_discord_6000_is_edited_in_place_on_both_platforms() {
    let h = Harness::start().await;
    h.say("d-1", big("opened")).await;
    h.say("d-2", big(&"Rotated every credential; ".repeat(60))).await;
    assert_eq!(h.failed().await, 0, "no message left failed");
    let edits = h.discord.calls_to("/messages/500000000000000001");
    assert_eq!(edits.len(), 1, "{:?}", h.discord.calls());
    assert!(edits[0].refused.is_none(), "{:?}", edits[0].refused);
    assert!(
        h.discord.calls().iter().all(|c| c.refused.is_none()),
        "nothing was refused"
    );
    let updates = h.slack.calls_to("chat.update");
    assert_eq!(updates.len(), 1);
    assert!(
        h.slack.calls().iter().all(|c| c.refused.is_none()),
        "nothing was refused"
    );
    assert_eq!(updates[0].body["ts"], "1700000000.000001");
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_message_refused_as_too_big_is_sent_once_more_minimal_and_then_not_again() {
    let h = Harness::start().await;
    // Platforms stricter than their documentation: anything over 1,500 characters is refused.
    h.slack.refuse_over(1500);
    h.discord.refuse_over(1500);
    h.say("d-1", big("opened")).await;
    assert_eq!(h.failed().await, 0, "delivered, in its minimal form");
    for (platform, calls) in [
        ("Slack", h.slack.calls_to("chat.postMessage")),
        ("Discord", h.discord.calls_to("/channels/100000000000000010/messages")),
    ] {
        assert_eq!(calls.len(), 2, "{platform}: the full message, then the minimal one");
        assert!(
            calls[0].refused.is_some() && calls[1].refused.is_none(),
            "{platform}: {calls:?}"
        );
        let minimal = calls[1].body.to_string();
        assert!(minimal.contains("Shortened"), "{platform}: {minimal}");
        assert!(minimal.contains("Acknowledge"), "{platform}: the buttons stay");
    }
    assert!(
        h.slack.calls_to("chat.postMessage")[1].body["text"]
            .as_str()
            .unwrap()
            .contains("<@U0ALICE>")
    );
    assert!(
        h.discord.calls_to("/messages")[1].body["content"]
            .as_str()
            .unwrap()
            .contains("<@200000000000000001>")
    );

    // When even the minimal form is refused, it fails once (listed by `sentinel dead list`) and is
    // not sent a third time.
    h.slack.refuse_over(10);
    h.discord.refuse_over(10);
    h.say("d-2", big("again")).await;
    assert_eq!(h.slack.calls_to("chat.update").len(), 2);
    assert_eq!(h.discord.calls_to("/messages/500000000000000001").len(), 2);
    assert_eq!(h.failed().await, 2, "one failed message per platform");
    h.bot.shutdown(Duration::from_secs(5)).await;
}
