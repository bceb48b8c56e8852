//! The Discord adapter: messages out through Discord's REST API (serenity's routes, builders and
//! request type; no gateway), rendered as embeds with buttons; slash-command registration from the
//! core's command specs. Interactions come in through `ingress::discord`.

mod adapter;
pub mod api;
pub mod commands;
pub mod render;

pub use adapter::{
    ANSWER_WINDOW, BuildError, CredentialsError, DiscordAdapter, EARLY_FOLLOWUP_RETRY, INTERACTION_PREFIX,
    InteractionAddress, interaction_url, parse_interaction,
};
