//! Alert notifier: turns GitHub security webhooks (Dependabot, code scanning, secret scanning,
//! advisories, legacy vulnerability alerts and failed security workflows) into one message per
//! alert in the routed channels, edited in place as the alert changes with a note in its thread for
//! each change, and announces `alert.*` domain events (see [`crate::domain`]) so incidents can be
//! opened and resolved. In an alert storm a channel gets digests instead: many alerts listed in
//! one message, with the most severe still posted on their own (see [`DigestConfig`]).

mod config;
mod digest;
mod digest_layout;
mod digest_store;
mod normalize;
mod payload;
mod plugin;
mod render;
mod route;
mod store;
pub mod view;

#[cfg(test)]
mod tests;

pub use config::{AlertNotifierConfig, DigestConfig, Route};
pub use normalize::{
    Alert, AlertChange, AlertSource, AlertState, EVENTS, NormalizeError, SeverityMapping, WorkflowFilter, normalize,
};
pub use plugin::{AlertNotifier, NAME, grouping_key};
pub use render::{ACK, INCIDENT};

impl crate::registry::PluginFactory for AlertNotifier {
    const NAME: &'static str = NAME;
    type Config = AlertNotifierConfig;

    fn build(
        config: AlertNotifierConfig,
        core: &sentinel_bot::config::Config,
    ) -> Result<Self, Vec<sentinel_bot::config::ConfigError>> {
        let problems = config.check(core, &crate::registry::prefix::<Self>());
        if problems.is_empty() {
            Ok(AlertNotifier::new(config))
        } else {
            Err(problems)
        }
    }
}
