//! Building the plugins from configuration.
//!
//! Each plugin declares its name, its `[plugins.<name>]` section and how it is built by
//! implementing [`PluginFactory`]; the one line in [`registry!`] below is all the registration
//! there is. From that list come [`build`] (what `run`, `check-config` and `demo` use) and
//! [`KNOWN`]. The `enabled` key of every section is handled here, so no plugin declares it.

use std::sync::Arc;

use sentinel_bot::Plugin;
use sentinel_bot::config::{Config, ConfigError, deserialize_named};
use serde::de::DeserializeOwned;

use crate::alert_notifier::AlertNotifier;
use crate::audit_scheduler::AuditScheduler;
use crate::example::Ping;
use crate::incident_commander::IncidentCommander;
use crate::sla_escalator::SlaEscalator;

/// How a plugin is made from its configuration section.
pub trait PluginFactory: Plugin + Sized + 'static {
    /// Its name: the `[plugins.<NAME>]` section, and what [`Plugin::name`] returns.
    const NAME: &'static str;

    /// Whether it runs when its section does not say `enabled = …`.
    const ENABLED_BY_DEFAULT: bool = true;

    /// Its section, without `enabled`. Give it `#[serde(default, deny_unknown_fields)]` so an
    /// absent section means the defaults and a misspelt key is refused.
    type Config: DeserializeOwned + Default;

    /// Checks the section against the rest of the configuration (people, channels, time zone) and
    /// builds the plugin. Error keys are full, e.g. `plugins.<NAME>.channel`.
    fn build(config: Self::Config, core: &Config) -> Result<Self, Vec<ConfigError>>;
}

/// The config key prefix of a plugin's section: `plugins.<name>`.
pub fn prefix<P: PluginFactory>() -> String {
    format!("plugins.{}", P::NAME)
}

/// The plugins this build knows, one line each, in dispatch order.
macro_rules! registry {
    ($($plugin:ty),+ $(,)?) => {
        /// The names of the plugins this build knows.
        pub const KNOWN: &[&str] = &[$(<$plugin as PluginFactory>::NAME),+];

        fn build_each(config: &Config, plugins: &mut Vec<Arc<dyn Plugin>>, errors: &mut Vec<ConfigError>) {
            $(match build_one::<$plugin>(config) {
                Ok(Some(plugin)) => plugins.push(plugin),
                Ok(None) => {}
                Err(problems) => errors.extend(problems),
            })+
        }
    };
}

registry![AlertNotifier, IncidentCommander, AuditScheduler, SlaEscalator, Ping];

/// Every enabled plugin, built from its `[plugins.<name>]` section. A disabled plugin's section is
/// still read, so a misspelt key is refused either way. Errors name the offending keys.
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
    build_each(config, &mut plugins, &mut errors);
    if errors.is_empty() { Ok(plugins) } else { Err(errors) }
}

/// One plugin: `Ok(None)` when it is disabled.
pub fn build_one<P: PluginFactory>(core: &Config) -> Result<Option<Arc<dyn Plugin>>, Vec<ConfigError>> {
    let prefix = prefix::<P>();
    let enabled = core
        .plugin_enabled(P::NAME)
        .map_err(|err| vec![err])?
        .unwrap_or(P::ENABLED_BY_DEFAULT);
    let config: P::Config = deserialize_named(core.plugin_section(P::NAME), &prefix).map_err(|err| vec![err])?;
    if !enabled {
        return Ok(None);
    }
    let plugin = P::build(config, core)?;
    Ok(Some(Arc::new(plugin)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn config_of(text: &str) -> Config {
        let table = sentinel_bot::config::load::parse_table(text, "test").unwrap();
        sentinel_bot::config::load::from_table(table).unwrap()
    }

    fn errors(config: &Config) -> Vec<ConfigError> {
        match build(config) {
            Ok(_) => panic!("the config was accepted"),
            Err(errors) => errors,
        }
    }

    fn names(config: &Config) -> Vec<&'static str> {
        build(config).unwrap().iter().map(|p| p.name()).collect()
    }

    #[test]
    fn each_plugin_answers_to_its_registered_name() {
        let all = "[plugins.ping]\nenabled = true\n";
        assert_eq!(names(&config_of(all)), KNOWN);
    }

    #[test]
    fn the_four_shipped_plugins_run_by_default_and_the_example_does_not() {
        assert_eq!(
            names(&config_of("")),
            [
                "alert_notifier",
                "incident_commander",
                "audit_scheduler",
                "sla_escalator"
            ]
        );
    }

    #[test]
    fn enabled_false_leaves_a_plugin_out() {
        let text = "[plugins.sla_escalator]\nenabled = false\n[plugins.audit_scheduler]\nenabled = false\n";
        assert_eq!(names(&config_of(text)), ["alert_notifier", "incident_commander"]);
    }

    #[test]
    fn a_disabled_section_still_refuses_unknown_keys_and_enabled_must_be_a_bool() {
        let errors = errors(&config_of("[plugins.ping]\nenabled = false\nchanel = \"x\"\n"));
        assert!(errors.iter().any(|e| e.key == "plugins.ping.chanel"), "{errors:?}");
        let errors = self::errors(&config_of("[plugins.ping]\nenabled = \"yes\"\n"));
        assert_eq!(errors[0].key, "plugins.ping.enabled");
    }

    #[test]
    fn an_unknown_section_is_refused_with_the_known_names() {
        let errors = errors(&config_of("[plugins.pong]\n"));
        assert_eq!(errors[0].key, "plugins.pong");
        assert!(errors[0].message.contains("ping"), "{errors:?}");
    }
}
