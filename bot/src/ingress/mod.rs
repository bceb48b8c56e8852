//! Ingress: verifying senders and turning their requests into inbox events.

pub mod discord;
pub mod discord_gateway;
pub mod discord_interactions;
pub mod github;
pub mod github_body;
pub mod header;
pub mod hmac_sha256;
pub mod refusal;
pub mod secret_file;
pub mod slack;
pub mod slack_events;
pub mod slack_socket;
