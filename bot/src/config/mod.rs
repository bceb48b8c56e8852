//! Configuration: TOML file plus environment overrides, typed, checked, with secrets that never print.

pub mod check;
pub mod cluster;
pub mod discord_modes;
pub mod duration;
pub mod github_pull;
pub mod github_reconcile;
pub mod load;
pub mod model;
pub mod secret;
pub mod slack_modes;
pub mod warnings;
pub mod web;

pub use cluster::ClusterConfig;
pub use duration::HumanDuration;
pub use load::{ConfigError, Loaded, deserialize_named, load};
pub use model::*;
pub use secret::Secret;
pub use web::WebConfig;
