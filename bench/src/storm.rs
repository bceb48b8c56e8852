//! The `storm` benchmark's two ends: the alerts it sends (distinct Dependabot alerts derived from
//! the real `dependabot_alert.created` fixture) and what it reads back from the fake Slack's record
//! (which messages showed which alert, and when).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_slack::Posted;

/// The organisation every storm repository belongs to.
pub const ORG: &str = "storm-org";

/// One alert of the storm.
#[derive(Debug, Clone)]
pub struct StormAlert {
    /// `storm-org/repo-NNN`.
    pub repository: String,
    /// Its alert number, unique in the storm.
    pub number: u64,
    /// GitHub's severity word.
    pub severity: &'static str,
}

impl StormAlert {
    /// The alert notifier's key for it.
    pub fn key(&self) -> String {
        format!("dependabot:{}:{}", self.repository, self.number)
    }

    /// Its page on GitHub, which every message showing it links.
    pub fn url(&self) -> String {
        format!(
            "https://github.com/{}/security/dependabot/{}",
            self.repository, self.number
        )
    }

    /// Whether it is critical (posted on its own).
    pub fn critical(&self) -> bool {
        self.severity == "critical"
    }

    /// The webhook body: the fixture with this alert's number, repository, page and severity.
    pub fn payload(&self, fixture: &Value) -> Value {
        let mut p = fixture.clone();
        let name = self.repository.split_once('/').map_or("", |(_, name)| name);
        p["action"] = json!("created");
        p["alert"]["number"] = json!(self.number);
        p["alert"]["html_url"] = json!(self.url());
        p["alert"]["url"] = json!(format!(
            "https://api.github.com/repos/{}/dependabot/alerts/{}",
            self.repository, self.number
        ));
        p["alert"]["security_advisory"]["severity"] = json!(self.severity);
        p["alert"]["security_vulnerability"]["severity"] = json!(self.severity);
        p["repository"]["full_name"] = json!(self.repository);
        p["repository"]["name"] = json!(name);
        p["repository"]["html_url"] = json!(format!("https://github.com/{}", self.repository));
        p["repository"]["owner"]["login"] = json!(ORG);
        p
    }
}

/// Whether item `i` is one of the `share` of `0..` spread evenly (the 100th, 200th, … for 1 %),
/// shifted by `phase` (0–1) so two shares do not pick the same items.
fn picked(i: usize, share: f64, phase: f64) -> bool {
    let at = |n: usize| (n as f64 * share + phase).floor();
    share > 0.0 && at(i + 1) > at(i)
}

/// `count` alerts over `repositories` repositories: `critical_share` of them critical and
/// `high_share` high, spread evenly through the storm, the rest alternately medium and low.
pub fn alerts(count: usize, repositories: usize, critical_share: f64, high_share: f64) -> Vec<StormAlert> {
    (0..count)
        .map(|i| {
            let severity = if picked(i, critical_share, 0.0) {
                "critical"
            } else if picked(i, high_share, 0.5) {
                "high"
            } else if i % 2 == 0 {
                "medium"
            } else {
                "low"
            };
            StormAlert {
                repository: format!("{ORG}/repo-{:03}", i % repositories.max(1)),
                number: 1000 + i as u64,
                severity,
            }
        })
        .collect()
}

/// What the alert notifier's top-level messages in one channel showed.
#[derive(Debug, Default)]
pub struct Shown {
    /// Per alert number: when each message that showed it was accepted, earliest first.
    pub by_number: HashMap<u64, Vec<Duration>>,
    /// Per alert number: when its own message was accepted.
    pub own: HashMap<u64, Duration>,
    /// Alert messages of their own.
    pub own_posts: usize,
    /// Digest messages.
    pub digests: usize,
    /// Other top-level messages (incidents, when they share the channel).
    pub other: usize,
    /// Thread replies.
    pub replies: usize,
}

/// Reads which alert each top-level post in `channel` showed: an alert's own message (its
/// Acknowledge button carries the alert key) or a digest (its title says so); every URL of a
/// storm alert in it counts as shown once per message.
pub fn shown(posts: &[Posted], channel: &str) -> Shown {
    let mut out = Shown::default();
    for post in posts.iter().filter(|p| p.channel == channel) {
        if post.thread_ts.is_some() {
            out.replies += 1;
            continue;
        }
        let text = post.body.to_string();
        let own_key = acknowledged_key(&post.body);
        let digest = post.body["text"].as_str().is_some_and(|t| t.contains("Alert digest"));
        if own_key.is_none() && !digest {
            out.other += 1;
            continue;
        }
        let mut numbers = numbers_in(&text);
        numbers.sort_unstable();
        numbers.dedup();
        for number in &numbers {
            out.by_number.entry(*number).or_default().push(post.at);
        }
        match own_key {
            Some(key) => {
                out.own_posts += 1;
                if let Some(number) = key.rsplit(':').next().and_then(|n| n.parse().ok()) {
                    out.own.entry(number).or_insert(post.at);
                }
            }
            None => out.digests += 1,
        }
    }
    out
}

/// The value of the `alert.ack` button in a posted message, if it has one.
fn acknowledged_key(body: &Value) -> Option<String> {
    let mut blocks: Vec<&Value> = body["blocks"]
        .as_array()
        .map(|b| b.iter().collect())
        .unwrap_or_default();
    for attachment in body["attachments"].as_array().into_iter().flatten() {
        blocks.extend(attachment["blocks"].as_array().into_iter().flatten());
    }
    blocks
        .iter()
        .flat_map(|block| block["elements"].as_array().into_iter().flatten())
        .find(|element| element["action_id"] == "alert.ack")
        .and_then(|element| element["value"].as_str())
        .map(str::to_owned)
}

/// The alert numbers of every storm alert URL in `text`.
pub fn numbers_in(text: &str) -> Vec<u64> {
    let marker = format!("https://github.com/{ORG}/");
    text.split(marker.as_str())
        .skip(1)
        .filter_map(|rest| {
            let (_, after) = rest.split_once("/security/dependabot/")?;
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_percent_critical_is_every_hundredth_alert() {
        let storm = alerts(2000, 200, 0.01, 0.0);
        let critical: Vec<u64> = storm.iter().filter(|a| a.critical()).map(|a| a.number).collect();
        assert_eq!(critical.len(), 20);
        assert_eq!(critical[..2], [1099, 1199]);
        let mut keys: Vec<String> = storm.iter().map(StormAlert::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 2000, "every alert is distinct");
        let high = alerts(1000, 10, 0.01, 0.1)
            .iter()
            .filter(|a| a.severity == "high")
            .count();
        assert_eq!(high, 100);
    }

    #[test]
    fn urls_are_read_from_slack_links() {
        let text = "<https://github.com/storm-org/repo-001/security/dependabot/1001|#1001> semver, \
                    <https://github.com/storm-org/repo-002/security/dependabot/1002|#1002>";
        assert_eq!(numbers_in(text), [1001, 1002]);
    }
}
