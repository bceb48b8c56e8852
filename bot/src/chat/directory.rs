//! Who is who: `[people]` and `[groups]` from config, across platforms.

use std::collections::BTreeMap;

use crate::config::{Config, GroupConfig, PersonConfig};
use crate::event::Actor;
use crate::ids::Platform;
use crate::message::Mention;

/// People and groups, and how to mention them on each platform.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    people: BTreeMap<String, PersonConfig>,
    groups: BTreeMap<String, GroupConfig>,
}

impl Directory {
    /// The directory `config` describes.
    pub fn from_config(config: &Config) -> Self {
        Self {
            people: config.people.clone(),
            groups: config.groups.clone(),
        }
    }

    /// The `[people]` key of the person behind `actor`, when configured.
    pub fn person_of(&self, actor: &Actor) -> Option<&str> {
        if actor.platform == Platform::Console {
            // At the console the user id is the `[people]` key itself (`SENTINEL_CONSOLE_USER`).
            return self.people.get_key_value(&actor.id).map(|(name, _)| name.as_str());
        }
        self.people
            .iter()
            .find(|(_, person)| Self::id_on(person, actor.platform) == Some(actor.id.as_str()))
            .map(|(name, _)| name.as_str())
    }

    /// How to name `actor` in a timeline: their `[people]` key, else their display name.
    pub fn display(&self, actor: &Actor) -> String {
        self.person_of(actor)
            .map(str::to_owned)
            .unwrap_or_else(|| actor.name.clone())
    }

    /// The groups `actor` belongs to: by membership of their person, or by a platform role or user
    /// group id that arrived with the command.
    pub fn groups_of(&self, actor: &Actor) -> Vec<String> {
        let person = self.person_of(actor);
        self.groups
            .iter()
            .filter(|(_, group)| {
                person.is_some_and(|p| group.members.iter().any(|m| m == p))
                    || match actor.platform {
                        Platform::Slack => group.slack.as_ref().is_some_and(|id| actor.groups.contains(id)),
                        Platform::Discord => group.discord.as_ref().is_some_and(|id| actor.groups.contains(id)),
                        _ => false,
                    }
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// True when `name` is a configured person.
    pub fn has_person(&self, name: &str) -> bool {
        self.people.contains_key(name)
    }

    /// True when `name` is a configured group.
    pub fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// Resolves what a user typed for a person — `@alice`, `alice`, a Slack `<@U123|alice>` or a
    /// Discord `<@123>` — to a `[people]` key when possible, else the text without decoration.
    pub fn resolve_person(&self, text: &str) -> String {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix("<@")
            .and_then(|rest| rest.strip_suffix('>'))
            .map(|rest| rest.trim_start_matches('!').split('|').next().unwrap_or(rest));
        if let Some(id) = inner {
            if let Some((name, _)) = self
                .people
                .iter()
                .find(|(_, p)| p.slack.as_deref() == Some(id) || p.discord.as_deref() == Some(id))
            {
                return name.clone();
            }
            return id.to_owned();
        }
        let plain = trimmed.trim_start_matches('@');
        if let Some((name, _)) = self.people.iter().find(|(name, p)| {
            name.eq_ignore_ascii_case(plain) || p.github.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(plain))
        }) {
            return name.clone();
        }
        plain.to_owned()
    }

    /// A mention rendered for `platform`: native syntax where the id is known, `@name` otherwise.
    pub fn render_mention(&self, platform: Platform, mention: &Mention) -> String {
        match mention {
            Mention::User(id) => match platform {
                Platform::Slack | Platform::Discord => format!("<@{id}>"),
                _ => format!("@{id}"),
            },
            Mention::Person(name) => {
                let id = self.people.get(name).and_then(|p| Self::id_on(p, platform));
                match (platform, id) {
                    (Platform::Slack | Platform::Discord, Some(id)) => format!("<@{id}>"),
                    _ => format!("@{name}"),
                }
            }
            Mention::Group(name) => {
                let group = self.groups.get(name);
                match platform {
                    Platform::Slack => match group.and_then(|g| g.slack.as_ref()) {
                        Some(id) => format!("<!subteam^{id}>"),
                        None => self.members_or_name(platform, name),
                    },
                    Platform::Discord => match group.and_then(|g| g.discord.as_ref()) {
                        Some(id) => format!("<@&{id}>"),
                        None => self.members_or_name(platform, name),
                    },
                    _ => format!("@{name}"),
                }
            }
        }
    }

    /// The platform user ids of `names` (`[people]` and `[groups]` keys), each once, in order: a
    /// person by their id on `platform`, a group by its `members`. Returns the ids and the names
    /// that gave none (unknown, no id on this platform, or a group without listed members).
    pub fn user_ids(&self, platform: Platform, names: &[String]) -> (Vec<String>, Vec<String>) {
        let mut ids: Vec<String> = Vec::new();
        let mut skipped = Vec::new();
        for name in names {
            let people: Vec<&String> = match (self.people.get_key_value(name), self.groups.get(name)) {
                (Some((person, _)), _) => vec![person],
                (None, Some(group)) => group.members.iter().collect(),
                (None, None) => Vec::new(),
            };
            let found: Vec<&str> = people
                .into_iter()
                .filter_map(|p| self.people.get(p).and_then(|p| Self::id_on(p, platform)))
                .collect();
            if found.is_empty() {
                skipped.push(name.clone());
            }
            for id in found {
                if !ids.iter().any(|known| known == id) {
                    ids.push(id.to_owned());
                }
            }
        }
        (ids, skipped)
    }

    /// The mention of `name`: a person, else a group, else none (the directory does not know it).
    pub fn mention_of(&self, name: &str) -> Option<Mention> {
        if self.has_person(name) {
            Some(Mention::Person(name.to_owned()))
        } else if self.has_group(name) {
            Some(Mention::Group(name.to_owned()))
        } else {
            None
        }
    }

    fn members_or_name(&self, platform: Platform, group: &str) -> String {
        let members: Vec<String> = self
            .groups
            .get(group)
            .map(|g| {
                g.members
                    .iter()
                    .map(|m| self.render_mention(platform, &Mention::Person(m.clone())))
                    .collect()
            })
            .unwrap_or_default();
        if members.is_empty() {
            format!("@{group}")
        } else {
            members.join(" ")
        }
    }

    fn id_on(person: &PersonConfig, platform: Platform) -> Option<&str> {
        match platform {
            Platform::Slack => person.slack.as_deref(),
            Platform::Discord => person.discord.as_deref(),
            Platform::Console | Platform::Webhook => None,
        }
    }
}
