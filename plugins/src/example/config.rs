//! `[plugins.ping]`: where the example plugin posts and when it sums up.

use chrono_tz::Tz;
use sentinel_bot::config::{Config, ConfigError, HumanDuration};
use serde::Deserialize;

/// `[plugins.ping]` (besides `enabled`, which every plugin has).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PingConfig {
    /// The logical channel pushes and the daily summary are posted to.
    pub channel: String,
    /// When the summary is posted: a cron expression, seconds first, read in `[schedule] time_zone`.
    pub summary: String,
    /// The longest wait `/ping in <duration>` accepts.
    pub max_delay: HumanDuration,
}

impl Default for PingConfig {
    fn default() -> Self {
        Self {
            channel: "general".into(),
            summary: "0 0 9 * * *".into(),
            max_delay: HumanDuration::secs(24 * 60 * 60),
        }
    }
}

/// The checked section, with the time zone the summary's cron expression is read in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub(super) section: PingConfig,
    pub(super) time_zone: Tz,
}

impl PingConfig {
    /// Checks what serde cannot: a channel name, a cron expression, the core's time zone.
    pub fn check(self, core: &Config, prefix: &str) -> Result<Settings, Vec<ConfigError>> {
        let mut problems = Vec::new();
        if self.channel.trim().is_empty() {
            problems.push(ConfigError::new(format!("{prefix}.channel"), "must name a channel"));
        }
        if let Err(err) = sentinel_bot::store::timers::parse_cron(&self.summary) {
            problems.push(ConfigError::new(format!("{prefix}.summary"), err));
        }
        // An unknown zone is reported by the core's own check of `[schedule] time_zone`.
        let time_zone = core.schedule.time_zone.parse().unwrap_or(Tz::UTC);
        if problems.is_empty() {
            Ok(Settings {
                section: self,
                time_zone,
            })
        } else {
            Err(problems)
        }
    }
}
