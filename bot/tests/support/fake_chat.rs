//! Transitional, for `plugins/tests/mention_injection.rs` only (it includes this file by
//! `#[path]`, and `plugins/**` is being split by another change): the fake Slack and Discord are
//! `sentinel_bot::harness::fakes::{slack, discord}`. Delete this file and `platform_limits.rs`
//! once that test uses the harness's fakes directly.
#![allow(dead_code, clippy::unwrap_used)]

use std::ops::Deref;

use sentinel_bot::harness::fakes;

/// The harness's fake Slack, started the way the old copy was.
#[derive(Clone)]
pub struct FakeSlack(pub fakes::slack::FakeSlack);

impl FakeSlack {
    /// Starts it; returns it and the value for `slack.api_url`.
    pub async fn start() -> (Self, String) {
        let fake = fakes::slack::FakeSlack::start().await.unwrap();
        let url = fake.api_url();
        (Self(fake), url)
    }
}

impl Deref for FakeSlack {
    type Target = fakes::slack::FakeSlack;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The harness's fake Discord, started the way the old copy was.
#[derive(Clone)]
pub struct FakeDiscord(pub fakes::discord::FakeDiscord);

impl FakeDiscord {
    /// Starts it, every channel existing as in the old copy; returns it and the value for
    /// `discord.api_url`.
    pub async fn start() -> (Self, String) {
        let fake = fakes::discord::FakeDiscord::start().await.unwrap();
        fake.know_every_channel();
        let url = fake.url.clone();
        (Self(fake), url)
    }
}

impl Deref for FakeDiscord {
    type Target = fakes::discord::FakeDiscord;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
