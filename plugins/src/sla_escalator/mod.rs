//! # SLA escalator (`/sla`)
//!
//! Nobody has to watch the clock. When an incident opens, the policy of its severity is
//! snapshotted and its timers are set: the escalation chain's pings and reminders (L1 team lead →
//! L2 security champion → L3 repository owner → L4 emergency contact), warnings before each
//! deadline, the response and the resolution deadline. An acknowledgement cancels the response
//! timers, a severity change re-plans from the original start, a resolve or close pauses
//! everything and a reopen resumes the resolution clock. A breach is recorded, announced
//! (`sla.breached`) and posted to the next level; every ping is announced (`sla.ping`) for the
//! incident's timeline. `/sla silence` suppresses pings (never deadlines) for maintenance windows.
//!
//! Durations are wall-clock (`4h`, `7d`) or business time (`1 business day`, `8 business hours`),
//! counted in `[plugins.sla_escalator.business_hours]`.

mod calendar;
mod commands;
mod config;
mod duration;
mod plan;
mod plugin;
mod policy;
mod render;
mod silence;
mod store;
pub mod view;

pub use calendar::BusinessCalendar;
pub use commands::SlaCommand;
pub use config::{BusinessHoursConfig, LevelsConfig, PolicyConfig, Settings, SeverityPolicyConfig, SlaConfig};
pub use duration::{BusinessUnit, SlaDuration, Span};
pub use plugin::{NAME, SlaEscalator};
pub use policy::{Level, SeverityPolicy, Snapshot, Step, default_policy};

impl crate::registry::PluginFactory for SlaEscalator {
    const NAME: &'static str = NAME;
    type Config = SlaConfig;

    /// Checks the levels and policies against `[people]`, `[groups]` and the business calendar.
    fn build(
        config: SlaConfig,
        core: &sentinel_bot::config::Config,
    ) -> Result<Self, Vec<sentinel_bot::config::ConfigError>> {
        SlaEscalator::from_config(&config, core)
    }
}
