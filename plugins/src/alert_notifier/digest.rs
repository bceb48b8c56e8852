//! Alert storms (`[plugins.alert_notifier.digest]`): whether a new alert gets its own message or
//! goes in its channel's digest, posting a digest when its `group_wait` timer fires, and keeping a
//! posted digest up to date as its alerts change. Every step runs in the event's transaction, and
//! the timers are the core's durable ones, so a restart loses and doubles nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sentinel_bot::{ChannelRef, Cx, Mention, Message, PluginError};
use serde_json::json;

use super::config::DigestConfig;
use super::digest_layout::{self, Entry, Limits, Part};
use super::digest_store as store;
use super::normalize::Alert;
use super::route::Destination;

/// Key prefix of the timer that posts digest `<id>`: `digest:<id>`.
const FLUSH: &str = "digest:";
/// Key prefix of the timer that edits a posted part: `digest-edit:<id>:<part>`.
const EDIT: &str = "digest-edit:";

/// One of the digest timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Post digest `id`.
    Flush(i64),
    /// Re-render part `part` of digest `id` and note its alerts' changes.
    Edit(i64, u32),
}

impl Timer {
    /// The digest timer a key names, if any.
    pub fn parse(key: &str) -> Option<Self> {
        if let Some(rest) = key.strip_prefix(EDIT) {
            let (id, part) = rest.split_once(':')?;
            return Some(Timer::Edit(id.parse().ok()?, part.parse().ok()?));
        }
        key.strip_prefix(FLUSH)?.parse().ok().map(Timer::Flush)
    }

    fn key(self) -> String {
        match self {
            Timer::Flush(id) => format!("{FLUSH}{id}"),
            Timer::Edit(id, part) => format!("{EDIT}{id}:{part}"),
        }
    }
}

/// Whether an open alert is severe enough to be posted on its own even in a storm — also when it
/// is already listed in a digest.
pub fn stands_alone(config: &DigestConfig, alert: &Alert) -> bool {
    alert.severity >= config.min_severity_alone && !alert.state.is_closed()
}

/// Counts a new alert for `channel` and says whether it goes in the channel's digest: when
/// digests are on, it is below `min_severity_alone`, and either a digest is gathering there or
/// more than `threshold` new alerts reached the channel within `window`.
pub async fn wants_digest(
    cx: &mut Cx<'_>,
    config: &DigestConfig,
    alert: &Alert,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<bool, PluginError> {
    if !config.enabled {
        return Ok(false);
    }
    let arrived = store::arrive(cx.db(), channel, now, config.window.chrono()).await?;
    if alert.severity >= config.min_severity_alone {
        return Ok(false);
    }
    if store::gathering(cx.db(), channel).await?.is_some() {
        return Ok(true);
    }
    Ok(arrived > u64::from(config.threshold))
}

/// Lists the (already stored) alert `alert_key` in the digest gathering for the destination's
/// channel, opening one when none gathers: it is posted `group_wait` from now, and no sooner than
/// `group_interval` after the channel's previous digest.
pub async fn gather(
    cx: &mut Cx<'_>,
    config: &DigestConfig,
    alert_key: &str,
    destination: &Destination,
    now: DateTime<Utc>,
) -> Result<(), PluginError> {
    let channel = destination.channel.as_str();
    let id = match store::gathering(cx.db(), channel).await? {
        Some(id) => id,
        None => {
            let mut flush_at = now + config.group_wait.chrono();
            if let Some(last) = store::last_posted(cx.db(), channel).await? {
                flush_at = flush_at.max(last + config.group_interval.chrono());
            }
            let id = store::open(cx.db(), channel, now, flush_at).await?;
            cx.set_timer(&Timer::Flush(id).key(), flush_at, json!({ "digest": id }))
                .await?;
            id
        }
    };
    store::add(cx.db(), id, channel, alert_key, &destination.mentions).await?;
    Ok(())
}

/// Posts digest `id`: its alerts as they are now, sorted and split into parts within the limits
/// of every platform the channel reaches, each part a message of its own.
pub async fn flush(cx: &mut Cx<'_>, config: &DigestConfig, id: i64) -> Result<(), PluginError> {
    let Some(digest) = store::digest(cx.db(), id).await? else {
        return Ok(());
    };
    if !digest.gathering {
        return Ok(());
    }
    let now = cx.now();
    let gathered = store::gathered(cx.db(), id).await?;
    let mut entries: Vec<Entry> = gathered.iter().map(|(alert, _)| Entry::of(alert)).collect();
    let mentions_of: HashMap<&str, &[Mention]> = gathered
        .iter()
        .map(|(alert, mentions)| (alert.key.as_str(), mentions.as_slice()))
        .collect();
    digest_layout::sort(&mut entries);
    let limits = limits(cx, &digest.channel);
    let parts = digest_layout::split(entries, limits);
    let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
    let footer = footer(config);
    for (number, entries) in (1..).zip(&parts) {
        let mut mentions: Vec<Mention> = Vec::new();
        for entry in entries {
            store::list(cx.db(), id, number, entry).await?;
            let listed = mentions_of.get(entry.alert_key.as_str()).copied().unwrap_or_default();
            for mention in listed {
                if !mentions.contains(mention) {
                    mentions.push(mention.clone());
                }
            }
        }
        let part = Part {
            channel: &digest.channel,
            digest: id,
            part: number,
            parts: count,
            entries,
            mentions: &mentions,
            footer: &footer,
        };
        cx.send(digest_layout::part_message(&part, limits.field)).await?;
    }
    store::posted(cx.db(), id, count, now).await?;
    tracing::info!(digest = id, channel = %digest.channel, parts = count, "alert digest posted");
    Ok(())
}

/// An alert shown in digests changed: the posted parts that show it are edited, and the change
/// noted in their threads, `group_wait` from now — together with whatever else changes by then.
pub async fn changed(
    cx: &mut Cx<'_>,
    config: &DigestConfig,
    alert_key: &str,
    now: DateTime<Utc>,
) -> Result<(), PluginError> {
    for listing in store::listings(cx.db(), alert_key).await? {
        // A gathering digest shows the alert as it is when it is posted.
        let Some(part) = listing.part else { continue };
        let timer = Timer::Edit(listing.digest, part);
        let key = timer.key();
        let pending = cx.timers(&key).await?.iter().any(|t| t.key.as_str() == key);
        if !pending {
            let payload = json!({ "digest": listing.digest, "part": part });
            cx.set_timer(&key, now + config.group_wait.chrono(), payload).await?;
        }
    }
    Ok(())
}

/// The logical channels where `alert_key` is listed in a digest.
pub async fn listed_in(cx: &mut Cx<'_>, alert_key: &str) -> Result<Vec<String>, PluginError> {
    Ok(store::listings(cx.db(), alert_key)
        .await?
        .into_iter()
        .map(|listing| listing.channel)
        .collect())
}

/// Re-renders part `part` of digest `id` from the store (an edit in place) and notes the changes
/// of its alerts since they were last shown in the part's thread.
pub async fn refresh(cx: &mut Cx<'_>, config: &DigestConfig, id: i64, part: u32) -> Result<(), PluginError> {
    let Some(digest) = store::digest(cx.db(), id).await? else {
        return Ok(());
    };
    let (mut entries, mentions) = store::part(cx.db(), id, part).await?;
    if entries.is_empty() {
        return Ok(());
    }
    digest_layout::sort(&mut entries);
    let limits = limits(cx, &digest.channel);
    let footer = footer(config);
    let shown = Part {
        channel: &digest.channel,
        digest: id,
        part,
        parts: digest.parts,
        entries: &entries,
        mentions: &mentions,
        footer: &footer,
    };
    cx.send(digest_layout::part_message(&shown, limits.field)).await?;
    let (changes, newest) = store::unnoted(cx.db(), id, part).await?;
    let lines: Vec<(String, String, String)> = changes
        .into_iter()
        .map(|change| (change.line, change.repository, change.note))
        .collect();
    let thread = digest_layout::message_key(id, part);
    for text in digest_layout::notes(&lines, limits) {
        cx.send(Message::new(digest.channel.as_str(), text).in_thread(thread.as_str()))
            .await?;
    }
    if newest > 0 {
        store::noted(cx.db(), id, part, newest).await?;
    }
    Ok(())
}

fn limits(cx: &Cx<'_>, channel: &str) -> Limits {
    Limits::for_platforms(&cx.platforms(&ChannelRef::from(channel)))
}

/// The footer of every digest: why the alerts are listed together and where changes go.
fn footer(config: &DigestConfig) -> String {
    format!(
        "More than {} new alerts within {} in this channel, so they are listed together; alerts \
         rated {} or above are still posted on their own. Changes are noted in the thread.",
        config.threshold, config.window, config.min_severity_alone
    )
}
