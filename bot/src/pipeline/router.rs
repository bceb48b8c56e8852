//! Which plugins want which event, computed once from their declarations.

use std::collections::HashMap;
use std::sync::Arc;

use crate::event::{Event, StoredEvent};
use crate::plugin::{CommandSpec, Plugin};

/// The name of the core's own plugin, which answers commands nobody owns.
pub const BUILTIN: &str = "sentinel";

/// Routes events to plugins.
pub struct Router {
    plugins: Vec<Arc<dyn Plugin>>,
    commands: HashMap<String, usize>,
    github: HashMap<String, Vec<usize>>,
    domain: HashMap<String, Vec<usize>>,
    actions: HashMap<String, Vec<usize>>,
    by_name: HashMap<&'static str, usize>,
    specs: Vec<CommandSpec>,
}

/// Two plugins declared the same thing.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// Plugin names must be unique: they key timers and handling records.
    #[error("two plugins are named `{0}`")]
    DuplicatePlugin(String),
    /// A command belongs to one plugin.
    #[error("command `/{command}` is declared by both `{first}` and `{second}`")]
    DuplicateCommand {
        /// The command.
        command: String,
        /// One plugin.
        first: String,
        /// The other.
        second: String,
    },
}

impl Router {
    /// Builds the routing tables.
    pub fn new(plugins: Vec<Arc<dyn Plugin>>) -> Result<Self, RouterError> {
        let mut router = Self {
            commands: HashMap::new(),
            github: HashMap::new(),
            domain: HashMap::new(),
            actions: HashMap::new(),
            by_name: HashMap::new(),
            specs: Vec::new(),
            plugins: Vec::new(),
        };
        for (index, plugin) in plugins.iter().enumerate() {
            if router.by_name.insert(plugin.name(), index).is_some() {
                return Err(RouterError::DuplicatePlugin(plugin.name().to_owned()));
            }
            for spec in plugin.commands() {
                if let Some(other) = router.commands.insert(spec.name.clone(), index) {
                    return Err(RouterError::DuplicateCommand {
                        command: spec.name,
                        first: plugins[other].name().to_owned(),
                        second: plugin.name().to_owned(),
                    });
                }
                router.specs.push(spec);
            }
            let subs = plugin.subscriptions();
            for name in subs.github {
                router.github.entry(name).or_default().push(index);
            }
            for name in subs.domain {
                router.domain.entry(name).or_default().push(index);
            }
            for prefix in subs.actions {
                router.actions.entry(prefix).or_default().push(index);
            }
        }
        router.plugins = plugins;
        Ok(router)
    }

    /// The plugins that want `event`, in registration order.
    pub fn plugins_for(&self, stored: &StoredEvent) -> Vec<&Arc<dyn Plugin>> {
        let indexes: Vec<usize> = match &stored.event {
            Event::GitHub(delivery) => self.github.get(&delivery.event).cloned().unwrap_or_default(),
            Event::Domain(domain) => self.domain.get(&domain.kind).cloned().unwrap_or_default(),
            Event::Command(command) => self
                .commands
                .get(&command.name)
                .or_else(|| self.by_name.get(BUILTIN))
                .map(|i| vec![*i])
                .unwrap_or_default(),
            Event::Action(action) => {
                let prefix = action.id.split('.').next().unwrap_or_default();
                self.actions.get(prefix).cloned().unwrap_or_default()
            }
            Event::Timer(_) | Event::Schedule(_) => stored
                .owner
                .as_deref()
                .and_then(|owner| self.by_name.get(owner))
                .map(|i| vec![*i])
                .unwrap_or_default(),
        };
        indexes.into_iter().filter_map(|i| self.plugins.get(i)).collect()
    }

    /// True when some plugin wants GitHub events named `event`.
    pub fn wants_github(&self, event: &str) -> bool {
        self.github.contains_key(event)
    }

    /// Every plugin's command specs.
    pub fn command_specs(&self) -> &[CommandSpec] {
        &self.specs
    }

    /// The registered plugins.
    pub fn plugins(&self) -> &[Arc<dyn Plugin>] {
        &self.plugins
    }
}
