//! The incident commander (`/incident`): one place to run a security incident through the
//! security guide's response plan — Detection & Analysis → Containment & Mitigation →
//! Investigation → Recovery → Lessons Learned. Each incident has one message in the incident
//! channel kept up to date in place, a thread of notes, stage checklists, a timeline and a
//! post-mortem. Alerts open incidents (or join one) through the alert notifier's domain events;
//! the SLA escalator's deadlines and breaches show on the message. Roles from config decide who
//! may do what. Optionally each incident also has a GitHub tracking issue (`tracking`, `issue`),
//! created and kept up to date through the core's GitHub worker, which gets the post-mortem as a
//! comment. Optionally, too, each incident has a space of its own (`space`: a Slack channel or a
//! Discord thread) where its message is kept up to date and its notes are posted as well.

mod auth;
mod commands;
mod config;
mod events;
mod issue;
mod model;
mod ops;
mod plugin;
mod postmortem;
mod render;
mod space;
mod store;
mod tracking;
pub mod view;

pub use auth::Role;
pub use commands::{IncidentCommand, Op};
pub use config::{Checklists, Grouping, IncidentConfig, Roles, SpaceConfig, TrackingIssue};
pub use model::{IncidentId, IncidentState, Stage};
pub use plugin::IncidentCommander;

impl crate::registry::PluginFactory for IncidentCommander {
    const NAME: &'static str = IncidentCommander::NAME;
    type Config = IncidentConfig;

    /// Checks the roles against `[people]` and `[groups]` and learns everyone's GitHub login.
    fn build(
        config: IncidentConfig,
        core: &sentinel_bot::config::Config,
    ) -> Result<Self, Vec<sentinel_bot::config::ConfigError>> {
        config
            .resolve(core, &crate::registry::prefix::<Self>())
            .map(IncidentCommander::new)
    }
}
