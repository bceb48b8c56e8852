//! # Example plugin: `ping`, the smallest plugin that uses every part of the plugin seam
//!
//! Not shipped: it runs only with `[plugins.ping] enabled = true`. It is here to be read (the
//! README's "Writing a plugin" walks through it) and copied.
//!
//! - `/ping` answers `pong`; `/ping in 10m` answers again ten minutes later, through a durable
//!   timer that survives a restart.
//! - A GitHub `push` is posted to `[plugins.ping] channel`.
//! - Every day (`[plugins.ping] summary`, a cron expression) the channel gets the counts of pings
//!   and pushes since the last summary.
//!
//! The counts are kept with [`sentinel_bot::Cx::kv_get`] / [`kv_set`](sentinel_bot::Cx::kv_set):
//! per-plugin storage inside the event's transaction, so the plugin needs no migration.
//!
//! - `config`: `[plugins.ping]`.
//! - `plugin`: the behaviour.

mod config;
mod plugin;

pub use config::{PingConfig, Settings};
pub use plugin::Ping;

use sentinel_bot::config::{Config, ConfigError};

use crate::registry::PluginFactory;

impl PluginFactory for Ping {
    const NAME: &'static str = "ping";
    const ENABLED_BY_DEFAULT: bool = false;
    type Config = PingConfig;

    fn build(config: PingConfig, core: &Config) -> Result<Self, Vec<ConfigError>> {
        config.check(core, &crate::registry::prefix::<Self>()).map(Ping::new)
    }
}
