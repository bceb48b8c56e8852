//! The Slack adapter: messages out through the Web API (slack-morphism), rendered as Block Kit.
//! Slash commands and button clicks come in through `ingress::slack`.

mod adapter;
mod idempotency;
pub mod render;

pub use adapter::{BuildError, CredentialsError, SlackAdapter, channel_name};
