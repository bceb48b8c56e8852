//! Building the plugins from configuration.

use std::sync::Arc;

use sentinel_bot::Plugin;
use sentinel_bot::config::{Config, ConfigError, deserialize_named};

use crate::alert_notifier::{self, AlertNotifier, AlertNotifierConfig};
use crate::audit_scheduler::{self, AuditConfig, AuditScheduler};
use crate::incident_commander::{IncidentCommander, IncidentConfig};
use crate::sla_escalator::{self, SlaConfig, SlaEscalator};

/// Every plugin, built from its `[plugins.<name>]` section. Errors name the offending keys.
pub fn build(config: &Config) -> Result<Vec<Arc<dyn Plugin>>, Vec<ConfigError>> {
    let mut plugins: Vec<Arc<dyn Plugin>> = Vec::new();
    let mut errors: Vec<ConfigError> = config
        .plugins
        .keys()
        .filter(|name| !KNOWN.contains(&name.as_str()))
        .map(|name| {
            ConfigError::new(
                format!("plugins.{name}"),
                format!("no plugin is named `{name}` (known: {})", KNOWN.join(", ")),
            )
        })
        .collect();

    match AlertNotifierConfig::from_config(config) {
        Ok(section) => plugins.push(Arc::new(AlertNotifier::new(section))),
        Err(problems) => errors.extend(problems),
    }

    match IncidentConfig::from_config(config, IncidentCommander::NAME) {
        Ok(section) => plugins.push(Arc::new(IncidentCommander::new(section))),
        Err(problems) => errors.extend(problems),
    }

    let prefix = format!("plugins.{}", audit_scheduler::NAME);
    match deserialize_named::<AuditConfig>(config.plugin_section(audit_scheduler::NAME), &prefix)
        .map_err(|err| vec![err])
        .and_then(|section| section.resolve(&config.schedule.time_zone))
    {
        Ok(settings) => plugins.push(Arc::new(AuditScheduler::new(settings))),
        Err(problems) => errors.extend(problems),
    }

    let prefix = format!("plugins.{}", sla_escalator::NAME);
    match deserialize_named::<SlaConfig>(config.plugin_section(sla_escalator::NAME), &prefix)
        .map_err(|err| vec![err])
        .and_then(|section| SlaEscalator::from_config(&section, config))
    {
        Ok(plugin) => plugins.push(Arc::new(plugin)),
        Err(problems) => errors.extend(problems),
    }

    if errors.is_empty() { Ok(plugins) } else { Err(errors) }
}

/// The plugins this build knows.
pub const KNOWN: &[&str] = &[
    alert_notifier::NAME,
    audit_scheduler::NAME,
    IncidentCommander::NAME,
    sla_escalator::NAME,
];
