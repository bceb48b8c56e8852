//! Each alert on `/web/alerts` links to its chat message on Slack and on Discord: a real GitHub
//! alert webhook (fixture) goes through the alert notifier to the fake Slack and Discord servers;
//! the page learns each channel's address once, in the background (Slack `auth.test`, Discord
//! `GET /channels/{id}`), and then links every alert without asking the platforms again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use sentinel_bot::NewEvent;
use sentinel_bot::chat::discord::DiscordAdapter;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::chat::{ChatAdapter, Directory};
use sentinel_bot::harness::fakes::discord::FakeDiscord;
use sentinel_bot::harness::fakes::slack::FakeSlack;
use support::{WebBot, sign_in};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/github/dependabot_alert.created.json"
);

async fn page(web: &WebBot, cookie: &str) -> String {
    reqwest::Client::new()
        .get(format!("{}/web/alerts", web.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn calls_to(paths: &[String], wanted: &str) -> usize {
    paths.iter().filter(|p| p.as_str() == wanted).count()
}

#[tokio::test]
async fn an_alert_links_to_its_slack_and_discord_messages_learned_once() {
    let slack = FakeSlack::start().await.unwrap();
    let discord = FakeDiscord::start().await.unwrap();
    let extra = format!(
        "[slack]\nbot_token = \"xoxb-test\"\nsigning_secret = \"8f742231b10e8888abcd99yyyzzz85a5\"\n\
         api_url = \"{}\"\npost_interval = \"0s\"\n\
         [discord]\nbot_token = \"discord-test\"\napi_url = \"{}\"\n\
         [channels.security-incidents]\nslack = \"C0INC\"\ndiscord = \"100000000000000010\"\n",
        slack.api_url(),
        discord.url
    );
    let mut web = WebBot::start_with_chat(&extra, |config, clock| {
        let directory = Arc::new(Directory::from_config(config));
        let timeout = Duration::from_secs(5);
        let slack = SlackAdapter::new(&config.slack, directory.clone(), timeout).unwrap();
        let discord = DiscordAdapter::new(&config.discord, directory, timeout, Arc::new(clock.clone())).unwrap();
        vec![Arc::new(slack) as Arc<dyn ChatAdapter>, Arc::new(discord)]
    })
    .await;
    let payload = std::fs::read_to_string(FIXTURE).unwrap();
    let event = NewEvent::github("dependabot_alert", "delivery-1", payload);
    web.bot().ingest().unwrap().submit(event).await.unwrap();
    web.settle().await;
    let ts = slack.messages_in("C0INC")[0]["ts"].as_str().unwrap().to_owned();
    let discord_id: String =
        sqlx::query_scalar("SELECT platform_message_id FROM message_refs WHERE platform = 'discord'")
            .fetch_one(web.bot().pool())
            .await
            .unwrap();
    let cookie = sign_in(&web.sign_in_link("alice").await).await;

    // The first render asks no platform itself; it starts the learner and shows the alert.
    let first = page(&web, &cookie).await;
    assert!(first.contains("semver"), "{first}");
    let mut learned = 0;
    for _ in 0..100 {
        learned = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM chat_links")
            .fetch_one(web.bot().pool())
            .await
            .unwrap();
        if learned == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(learned, 2, "both channels learned");

    let body = page(&web, &cookie).await;
    let slack_link = format!(
        "<a href=\"https://acme.slack.com/archives/C0INC/p{}\" rel=\"noopener noreferrer\">Slack</a>",
        ts.replace('.', "")
    );
    assert!(body.contains(&slack_link), "{slack_link} in {body}");
    let discord_link = format!(
        "<a href=\"https://discord.com/channels/400000000000000004/100000000000000010/{discord_id}\" \
         rel=\"noopener noreferrer\">Discord</a>"
    );
    assert!(body.contains(&discord_link), "{discord_link} in {body}");

    // More renders ask the platforms nothing more: one auth.test, one channel lookup in all.
    for _ in 0..3 {
        page(&web, &cookie).await;
    }
    let slack_paths: Vec<String> = slack.calls().into_iter().map(|c| c.path).collect();
    let discord_paths: Vec<String> = discord.calls().into_iter().map(|c| c.path).collect();
    assert_eq!(calls_to(&slack_paths, "/api/auth.test"), 1, "{slack_paths:?}");
    assert_eq!(
        calls_to(&discord_paths, "/api/v10/channels/100000000000000010"),
        1,
        "{discord_paths:?}"
    );
    web.stop().await;
}
