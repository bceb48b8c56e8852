//! Routing: which channels an alert goes to and whom it mentions there.

use sentinel_bot::Mention;
use sentinel_bot::chat::Directory;
use serde::{Deserialize, Serialize};

use super::config::{AlertNotifierConfig, Route};
use super::normalize::Alert;

/// One channel an alert's message goes to, with the people and groups to mention there. Stored with
/// the alert, so later changes edit the same messages even when the routes have changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// The logical channel.
    pub channel: String,
    /// Who to mention there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Mention>,
}

/// Where `alert` goes under `config`'s routes: every matching route up to and including the first
/// one without `continue`, or the default channel with no mention when none matches. A channel
/// named by several routes appears once, with all their mentions.
pub fn destinations(config: &AlertNotifierConfig, alert: &Alert, directory: &Directory) -> Vec<Destination> {
    let mut out: Vec<Destination> = Vec::new();
    let mut matched = false;
    for route in config.routes.iter().filter(|route| route.matches(alert)) {
        matched = true;
        let mentions: Vec<Mention> = route.mention.iter().map(|name| mention(directory, name)).collect();
        let channels = if route.channels.is_empty() {
            std::slice::from_ref(&config.channel)
        } else {
            route.channels.as_slice()
        };
        for channel in channels {
            let index = match out.iter().position(|d| d.channel == *channel) {
                Some(index) => index,
                None => {
                    out.push(Destination {
                        channel: channel.clone(),
                        mentions: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            if let Some(destination) = out.get_mut(index) {
                for m in &mentions {
                    if !destination.mentions.contains(m) {
                        destination.mentions.push(m.clone());
                    }
                }
            }
        }
        if !route.continue_matching {
            break;
        }
    }
    if !matched {
        out.push(Destination {
            channel: config.channel.clone(),
            mentions: Vec::new(),
        });
    }
    out
}

/// A `[groups]` key mentions the group, a `[people]` key the person. `check` rejects any other
/// name at start-up; should one slip through (a directory built from another config), it is still
/// shown as a person's `@name` rather than dropped, so readers see who was meant.
fn mention(directory: &Directory, name: &str) -> Mention {
    if directory.has_group(name) {
        Mention::Group(name.to_owned())
    } else {
        if !directory.has_person(name) {
            tracing::warn!(name, "alert route mentions someone not in [people] or [groups]");
        }
        Mention::Person(name.to_owned())
    }
}

impl Route {
    /// Whether every condition this route sets holds for `alert`.
    pub fn matches(&self, alert: &Alert) -> bool {
        let severity = self.severity.is_empty() || self.severity.contains(&alert.severity);
        let source = self.source.is_empty() || self.source.contains(&alert.source);
        let repository = match (&self.repository, &alert.repository) {
            (None, _) => true,
            (Some(pattern), Some(repository)) => pattern.matches(repository),
            (Some(_), None) => false,
        };
        severity && source && repository
    }
}
