//! Registering the slash commands, globally and per guild, and a token Discord refuses.

use sentinel_bot::chat::discord::{CredentialsError, commands};
use sentinel_bot::harness::fakes::discord::{self, FakeDiscord};
use sentinel_bot::{ManualClock, Plugin};

use crate::{APP, Incidents, lone_adapter};

#[tokio::test]
async fn register_commands_overwrites_every_command_and_a_bad_token_is_reported() {
    let fake = FakeDiscord::start().await.unwrap();
    let clock = ManualClock::new(sentinel_bot::harness::test_start());
    let adapter = lone_adapter(&fake, &clock);
    let specs = vec![sentinel_bot::builtin::Builtin::spec(), Incidents.commands().remove(0)];
    let count = adapter
        .register_commands(&commands::commands(&specs), Some(400000000000000004))
        .await
        .unwrap();
    assert_eq!(count, 2);
    let put = fake.calls_of(
        "PUT",
        &format!("/applications/{APP}/guilds/400000000000000004/commands"),
    );
    assert_eq!(put.len(), 1);
    let names: Vec<&str> = put[0]
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sentinel", "incident"]);
    assert_eq!(put[0].body[1]["options"][0]["name"], "declare");
    assert_eq!(put[0].body[1]["options"][0]["options"][0]["description"], "<title…>");

    adapter
        .register_commands(&commands::commands(&specs), None)
        .await
        .unwrap();
    assert_eq!(fake.calls_of("PUT", &format!("/applications/{APP}/commands")).len(), 1);

    fake.fail_next("/users/@me", discord::error(401, 0, "401: Unauthorized"));
    let refused = adapter.check_credentials().await.unwrap_err();
    assert_eq!(
        refused,
        CredentialsError::Rejected("HTTP 401: 401: Unauthorized".into())
    );
    assert!(!refused.to_string().contains("discord-test-token"));
}
