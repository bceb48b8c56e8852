//! Each alert's link to its chat message.
//!
//! Where an alert's message landed is in `message_refs` (keyed by the alert key); a link also needs
//! the platform's address for that channel, which only the platform knows: Slack's workspace URL
//! (`auth.test`'s `url`), Discord's guild (`GET /channels/{id}`'s `guild_id`). Asking while a page
//! renders would make every render wait on the platform, so each channel's address is learned
//! once, in the background, and kept in `chat_links` (migration `0018_chat_links.sql`); the page
//! joins the three tables in one query and never calls a platform. A render that finds a channel
//! not learned yet starts the learner (one at a time; after a failure not again for
//! [`RETRY_AFTER`]) and shows the alert without its chat link until the learner is done.
//! The cost is one `auth.test` per process and one `GET /channels/{id}` per Discord channel,
//! whatever the number of alerts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sentinel_bot::chat::Directory;
use sentinel_bot::chat::discord::DiscordAdapter;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::http::AppState;
use sentinel_bot::store::{Conn, to_ms};
use sentinel_plugins::alert_notifier::view as alerts;

/// After a failed attempt to learn, renders wait this long before trying again.
pub const RETRY_AFTER: Duration = Duration::from_secs(300);

/// Discord's message links all start here (Discord documents no per-guild host).
const DISCORD_WEB: &str = "https://discord.com/channels/";

/// One link from an alert to its chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLink {
    /// `Slack` or `Discord`.
    pub platform: &'static str,
    /// The message's address.
    pub url: String,
}

/// The chat links of the alerts a page shows (`listing`: the open ones listed and the closed ones),
/// by alert key, and the channels whose address is not learned yet, as `(platform, channel)`. Only
/// those alerts' `message_refs` rows are read: the alerts listed are chosen inside the query by
/// the listing's own SQL ([`alerts::LISTED_KEYS`]).
pub async fn for_alerts(
    conn: &mut Conn,
    listing: &alerts::Listing<'_>,
) -> Result<(HashMap<String, Vec<ChatLink>>, Vec<(String, String)>), sqlx::Error> {
    let sql = format!(
        "SELECT r.message_key, r.platform, r.channel, r.platform_message_id, l.base_url
         FROM message_refs r
         LEFT JOIN chat_links l ON l.platform = r.platform AND l.channel = r.channel
         WHERE r.platform IN ('slack', 'discord') AND r.message_key IN ({})
         ORDER BY r.message_key, r.platform, r.channel",
        alerts::LISTED_KEYS
    );
    let rows: Vec<(String, String, String, String, Option<String>)> =
        sqlx::query_as_with(sqlx::AssertSqlSafe(sql), listing.arguments()?)
            .fetch_all(conn)
            .await?;
    let mut links: HashMap<String, Vec<ChatLink>> = HashMap::new();
    let mut missing: Vec<(String, String)> = Vec::new();
    for (key, platform, channel, message_id, base) in rows {
        match base {
            Some(base) => {
                if let Some(link) = link(&platform, &base, &message_id) {
                    links.entry(key).or_default().push(link);
                }
            }
            None => {
                let pair = (platform, channel);
                if !missing.contains(&pair) {
                    missing.push(pair);
                }
            }
        }
    }
    Ok((links, missing))
}

/// A message's address from its channel's base and its id; `None` for an id of another shape
/// (ids come from the platform, but are checked before they become part of a link).
fn link(platform: &str, base: &str, message_id: &str) -> Option<ChatLink> {
    match platform {
        "slack" => {
            let (secs, micros) = message_id.split_once('.')?;
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (digits(secs) && digits(micros)).then(|| ChatLink {
                platform: "Slack",
                url: format!("{base}{secs}{micros}"),
            })
        }
        "discord" => is_snowflake(message_id).then(|| ChatLink {
            platform: "Discord",
            url: format!("{base}{message_id}"),
        }),
        _ => None,
    }
}

fn is_snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_slack_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Slack's workspace URL as `auth.test` gives it, when it is a plain `https://` address.
fn workspace_base(url: &str) -> Option<String> {
    let host = url.strip_prefix("https://")?.trim_end_matches('/');
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    plain.then(|| format!("https://{host}/"))
}

/// Learns channels' addresses in the background, one run at a time.
#[derive(Default)]
pub struct Learner {
    running: AtomicBool,
    failed_at: Mutex<Option<Instant>>,
    /// Slack's workspace URL, once asked.
    slack_url: Mutex<Option<String>>,
}

impl Learner {
    /// Starts learning `missing` unless a run is going on or the last one failed recently.
    pub fn learn_in_background(self: &Arc<Self>, state: &AppState, missing: Vec<(String, String)>) {
        let recently_failed = self
            .failed_at
            .lock()
            .ok()
            .and_then(|at| *at)
            .is_some_and(|at| at.elapsed() < RETRY_AFTER);
        if missing.is_empty() || recently_failed || self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let learner = Arc::clone(self);
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(cause) = learner.learn(&state, &missing).await {
                tracing::warn!(%cause, "could not learn where chat messages open; alerts show without chat links");
                if let Ok(mut at) = learner.failed_at.lock() {
                    *at = Some(Instant::now());
                }
            }
            learner.running.store(false, Ordering::SeqCst);
        });
    }

    async fn learn(&self, state: &AppState, missing: &[(String, String)]) -> Result<(), String> {
        let config = &state.shared.config;
        let timeout = config.outbox.request_timeout.std();
        let directory = Arc::new(Directory::from_config(config));
        let mut learned = Vec::new();
        for (platform, channel) in missing {
            let base = match platform.as_str() {
                "slack" if config.slack_enabled() && is_slack_id(channel) => {
                    let url = self.slack_url(state, directory.clone(), timeout).await?;
                    format!("{url}archives/{channel}/p")
                }
                "discord" if config.discord_enabled() && is_snowflake(channel) => {
                    let discord =
                        DiscordAdapter::new(&config.discord, directory.clone(), timeout, state.shared.clock.clone())
                            .map_err(|e| e.to_string())?;
                    let guild = discord.guild_of(channel).await.map_err(|e| e.to_string())?;
                    match guild.filter(|g| is_snowflake(g)) {
                        Some(guild) => format!("{DISCORD_WEB}{guild}/{channel}/"),
                        None => format!("{DISCORD_WEB}@me/{channel}/"),
                    }
                }
                _ => continue,
            };
            learned.push((platform, channel, base));
        }
        let now = to_ms(state.shared.clock.now());
        let _turn = state.shared.writes.turn().await;
        let mut conn = state.pool.acquire().await.map_err(|e| e.to_string())?;
        for (platform, channel, base) in learned {
            sqlx::query(
                "INSERT INTO chat_links (platform, channel, base_url, learned_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (platform, channel) DO NOTHING",
            )
            .bind(platform)
            .bind(channel)
            .bind(base)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn slack_url(
        &self,
        state: &AppState,
        directory: Arc<Directory>,
        timeout: Duration,
    ) -> Result<String, String> {
        if let Some(url) = self.slack_url.lock().ok().and_then(|u| u.clone()) {
            return Ok(url);
        }
        let slack = SlackAdapter::new(&state.shared.config.slack, directory, timeout).map_err(|e| e.to_string())?;
        let asked = slack.workspace_url().await?;
        let url = workspace_base(&asked).ok_or_else(|| format!("auth.test answered an unusable url `{asked}`"))?;
        if let Ok(mut cached) = self.slack_url.lock() {
            *cached = Some(url.clone());
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_take_the_platforms_forms_and_refuse_odd_ids() {
        let slack = link("slack", "https://acme.slack.com/archives/C0INC/p", "1700000000.000001");
        assert_eq!(
            slack.map(|l| l.url).as_deref(),
            Some("https://acme.slack.com/archives/C0INC/p1700000000000001")
        );
        let discord = link("discord", "https://discord.com/channels/4/10/", "500000000000000002");
        assert_eq!(
            discord.map(|l| l.url).as_deref(),
            Some("https://discord.com/channels/4/10/500000000000000002")
        );
        assert_eq!(link("slack", "b", "17\"><script>.1"), None);
        assert_eq!(link("discord", "b", "12/../x"), None);
        assert_eq!(
            workspace_base("https://acme.slack.com/").as_deref(),
            Some("https://acme.slack.com/")
        );
        assert_eq!(workspace_base("javascript:alert(1)"), None);
        assert_eq!(workspace_base("https://evil.com/\"x"), None);
    }
}
