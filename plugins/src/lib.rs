//! # sentinel-plugins: what Sentinel does
//!
//! Each plugin is a folder with one file per concern. Plugins never name each other: they talk
//! through domain events (see [`domain`]), and reach chat and GitHub only through [`sentinel_bot::Cx`].
//!
//! ## Layout
//! - [`alert_notifier`]: GitHub security alerts to chat, one message per alert kept up to date.
//! - [`audit_scheduler`]: `/audit` — the guide's daily, weekly, monthly and quarterly checklists,
//!   checked against GitHub where a bot can, and the monthly security report.
//! - [`domain`]: the domain events plugins exchange.
//! - [`example`]: `ping`, a small example plugin (off unless enabled) to read and copy.
//! - [`incident_commander`]: `/incident` — run an incident through the response plan, with
//!   checklists, timeline and post-mortem.
//! - [`registry`]: the one-line-per-plugin list, and [`PluginFactory`], how a plugin declares its
//!   name, its `[plugins.<name>]` section and its construction; builds every enabled plugin.
//! - [`sla_escalator`]: `/sla` — every incident's deadlines, escalation one level at a time,
//!   breaches and silences.

pub mod alert_notifier;
pub mod audit_scheduler;
pub mod domain;
pub mod example;
pub mod incident_commander;
pub mod registry;
pub mod sla_escalator;

pub use registry::{PluginFactory, build};
