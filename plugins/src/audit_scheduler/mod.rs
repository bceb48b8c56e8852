//! # Audit scheduler: the security monitoring guide's audit schedule, run by the bot
//!
//! Daily, weekly (Monday), monthly (first Monday) and quarterly (first Monday of the quarter)
//! checklists post themselves on cron schedules. Items Sentinel can check — open Dependabot,
//! code-scanning and secret-scanning alerts, failed security workflows, Dependabot pull requests,
//! collaborators, webhook deliveries, the token's scopes and expiry, the rate limit, its own
//! security log — are asked of GitHub through the core's request worker and ticked with their
//! evidence, or left open saying what needs a person or "could not check: <reason>". People tick
//! the rest with `/audit done` or a button; who did what and when is kept. An incomplete run is
//! reminded, then escalated. The monthly and quarterly runs post the security report of the period
//! before (the guide's template), with the change from the stored snapshot of the period before that.
//!
//! Report data comes from GitHub's answers and the plugin's own record of `alert.*`, `incident.*` and
//! `sla.breached` events (tables `audit_alerts`, `audit_incidents`), never from another plugin's tables.
//!
//! - `checklist`: cadences, checks and the guide's default items.
//! - `config`: `[plugins.audit_scheduler]`.
//! - `checks`: which requests a check makes and what the answers mean.
//! - `period`: report months and quarters.
//! - `store`: SQL for the plugin's tables.
//! - `render`: checklists, status and history in chat.
//! - `report`: the security report.
//! - `commands`: `/audit`.
//! - `facts`: other plugins' alert and incident events, recorded for the report.
//! - `plugin`: subscriptions, and where each event goes.
//! - `runs`: the lifecycle of a run and GitHub's answers to its checks.
//! - `reporting`: collecting, posting and filing the security report.
//! - `reminders`: reminding and escalating an incomplete run.

mod checklist;
mod checks;
mod commands;
mod config;
mod facts;
mod period;
mod plugin;
mod reminders;
mod render;
mod report;
mod reporting;
mod runs;
mod store;
#[cfg(test)]
mod tests;
pub mod view;

pub use checklist::{Cadence, Check, ItemSpec, default_cron, default_items};
pub use config::{AuditConfig, ScheduleSection, Settings};
pub use period::Period;
pub use plugin::{AuditScheduler, NAME};

impl crate::registry::PluginFactory for AuditScheduler {
    const NAME: &'static str = NAME;
    type Config = AuditConfig;

    /// Resolves the schedules in `[schedule] time_zone` unless the section names its own zone.
    fn build(
        config: AuditConfig,
        core: &sentinel_bot::config::Config,
    ) -> Result<Self, Vec<sentinel_bot::config::ConfigError>> {
        config.resolve(&core.schedule.time_zone).map(AuditScheduler::new)
    }
}
