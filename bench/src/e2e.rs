//! The `e2e` benchmark's pieces: the configuration it writes for the real `sentinel` binary (the
//! fake Slack and Discord, one logical channel per group of repositories on both platforms), the
//! binary as a child process (its address, CPU time and peak memory from `/proc/<pid>`, a clean
//! `SIGTERM` stop), and which alert each top-level message on either fake showed, and when.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sentinel_bot::harness::fakes::discord::FakeDiscord;
use sentinel_bot::harness::fakes::slack::FakeSlack;

use crate::storm::{self, StormAlert};

/// The webhook secret in the generated configuration (≥ 32 characters, as `sentinel` demands).
pub const SECRET: &str = "e2e-bench-webhook-secret-0123456789abcdef";
/// The incident commander's channel (critical alerts open incidents there).
const INCIDENTS: (&str, &str) = ("C0INCIDENTS", "190000000000000000");

/// Where the alerts go: logical channel `alerts-NNN` for every repository whose index is NNN modulo
/// the number of channels, with one Slack and one Discord channel id each.
#[derive(Debug, Clone)]
pub struct Channels {
    count: usize,
}

impl Channels {
    /// `count` channels (at least one).
    pub fn new(count: usize) -> Self {
        Self { count: count.max(1) }
    }

    /// The logical name of channel `k`.
    pub fn name(&self, k: usize) -> String {
        format!("alerts-{k:03}")
    }

    /// The Slack channel id of channel `k`.
    pub fn slack(&self, k: usize) -> String {
        format!("C0ALERTS{k:04}")
    }

    /// The Discord channel id of channel `k` (the fake knows channels whose id starts with `1`).
    pub fn discord(&self, k: usize) -> String {
        format!("{}", 100_000_000_000_000_000u64 + k as u64)
    }

    /// The channel of repository number `repo`.
    pub fn of_repository(&self, repo: usize) -> usize {
        repo % self.count
    }

    /// Every Slack channel id of the alerts.
    pub fn slack_ids(&self) -> HashSet<String> {
        (0..self.count).map(|k| self.slack(k)).collect()
    }

    /// Every Discord channel id of the alerts.
    pub fn discord_ids(&self) -> HashSet<String> {
        (0..self.count).map(|k| self.discord(k)).collect()
    }
}

/// The configuration `sentinel run` gets: a fresh SQLite file `db`, a free port on 127.0.0.1, the
/// two fakes, the channels, one alert-notifier route per repository (`repositories` of them, named
/// as [`storm::alerts`] names them) and, with `digest` false, digests off.
pub fn configuration(
    db: &Path,
    slack_api: &str,
    discord_api: &str,
    channels: &Channels,
    repositories: usize,
    digest: bool,
) -> String {
    let (incidents_slack, incidents_discord) = INCIDENTS;
    let mut text = format!(
        "[database]\nurl = \"sqlite://{db}\"\n\
         [http]\nlisten = \"127.0.0.1:0\"\n\
         [chat]\nconsole = \"off\"\n\
         [github]\nwebhook_secret = \"{SECRET}\"\n\
         [slack]\nbot_token = \"xoxb-e2e-bench\"\nsigning_secret = \"e2e-bench-slack-signing-secret-0123\"\n\
         api_url = \"{slack_api}\"\n\
         [discord]\nbot_token = \"e2e-bench-discord-token\"\napplication_id = \"700000000000000007\"\n\
         public_key = \"{key}\"\napi_url = \"{discord_api}\"\n\
         [channels.security-incidents]\nslack = \"{incidents_slack}\"\ndiscord = \"{incidents_discord}\"\n",
        db = db.display(),
        key = "ab".repeat(32),
    );
    for k in 0..channels.count {
        text.push_str(&format!(
            "[channels.{}]\nslack = \"{}\"\ndiscord = \"{}\"\n",
            channels.name(k),
            channels.slack(k),
            channels.discord(k)
        ));
    }
    text.push_str(&format!(
        "[plugins.alert_notifier]\nchannel = \"{}\"\n",
        channels.name(0)
    ));
    if !digest {
        text.push_str("[plugins.alert_notifier.digest]\nenabled = false\n");
    }
    for repo in 0..repositories.max(1) {
        text.push_str(&format!(
            "[[plugins.alert_notifier.routes]]\nrepository = \"{}/repo-{repo:03}\"\nchannels = [\"{}\"]\n",
            storm::ORG,
            channels.name(channels.of_repository(repo))
        ));
    }
    text
}

/// The real `sentinel` binary running `sentinel run` on a configuration file.
pub struct Sentinel {
    child: Child,
    /// Its stderr (logs), kept in a file so a full pipe never blocks it.
    pub log: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Sentinel {
    /// Writes `config` to `dir/sentinel.toml` (mode 0600: it holds secrets) and starts `exe` on
    /// it, with every other `SENTINEL_*` variable removed; waits until it says where it listens.
    pub fn start(exe: &Path, dir: &Path, config: &str) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("sentinel.toml");
        std::fs::write(&path, config).context("writing the configuration")?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let log = dir.join("sentinel.stderr");
        let stderr = std::fs::File::create(&log).context("creating the log file")?;
        let mut command = Command::new(exe);
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("SENTINEL_")) {
            command.env_remove(name);
        }
        let level = std::env::var("E2E_SENTINEL_LOG").unwrap_or_else(|_| "warn".into());
        let child = command
            .arg("--config")
            .arg(&path)
            .arg("run")
            .env("SENTINEL_LOG", level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let mut sentinel = Self {
            child,
            log,
            base: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&sentinel.log).unwrap_or_default();
            if let Some(rest) = text.split("listening on ").nth(1) {
                sentinel.base = rest.split_whitespace().next().unwrap_or_default().to_owned();
                return Ok(sentinel);
            }
            if let Some(status) = sentinel.child.try_wait()? {
                bail!("sentinel exited ({status}) before listening:\n{text}");
            }
            if Instant::now() > deadline {
                sentinel.stop(Duration::from_secs(5))?;
                bail!("sentinel did not say where it listens within 60 s:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) it has used so far, from `/proc/<pid>/stat`.
    pub fn cpu_time(&self) -> Duration {
        crate::cpu_time_of(&format!("/proc/{}/stat", self.pid()))
    }

    /// A field of its `/proc/<pid>/status` in kilobytes (`VmHWM`: peak resident set).
    pub fn status_kb(&self, field: &str) -> Option<u64> {
        crate::status_kb_of(&format!("/proc/{}/status", self.pid()), field)
    }

    /// Sends `SIGTERM` (the `kill` command) and waits up to `grace` for it to exit; past that it
    /// is killed (`kill -9`) and this is an error.
    pub fn stop(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        Command::new("kill")
            .arg(self.pid().to_string())
            .status()
            .context("running kill")?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").arg("-9").arg(self.pid().to_string()).status();
        let _ = self.child.wait();
        bail!("sentinel did not stop within {grace:?} of SIGTERM; killed")
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        // Never leave the binary running, whatever went wrong.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What the top-level messages in the alert channels of one platform showed.
#[derive(Debug, Default)]
pub struct Shown {
    /// Per alert number: when each top-level message showing it was accepted, since `origin`.
    pub by_number: HashMap<u64, Vec<Duration>>,
    /// Top-level messages in the alert channels.
    pub posts: usize,
    /// Per channel id: top-level messages, and the first and last acceptance time.
    pub per_channel: HashMap<String, (usize, Duration, Duration)>,
    /// Answers 429.
    pub rate_limited: u64,
    /// Messages refused for a platform limit.
    pub refused: usize,
}

impl Shown {
    fn add(&mut self, channel: &str, at: Duration, text: &str) {
        let mut numbers = storm::numbers_in(text);
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.is_empty() {
            return;
        }
        self.posts += 1;
        for number in numbers {
            self.by_number.entry(number).or_default().push(at);
        }
        let entry = self.per_channel.entry(channel.to_owned()).or_insert((0, at, at));
        entry.0 += 1;
        entry.1 = entry.1.min(at);
        entry.2 = entry.2.max(at);
    }

    /// When `alert` was first shown, if it was.
    pub fn first(&self, alert: &StormAlert) -> Option<Duration> {
        self.by_number.get(&alert.number)?.iter().min().copied()
    }

    /// The busiest channel: (top-level messages, first → last acceptance).
    pub fn busiest(&self) -> (usize, Duration) {
        self.per_channel
            .values()
            .max_by_key(|(n, _, _)| *n)
            .map_or((0, Duration::ZERO), |(n, first, last)| {
                (*n, last.saturating_sub(*first))
            })
    }
}

/// Time since `origin` of a fake's `at` (since `started`).
fn since(origin: Instant, started: Instant, at: Duration) -> Duration {
    (started + at).saturating_duration_since(origin)
}

/// The Slack fake's top-level posts in `channels` (thread replies are notes, not new messages).
pub fn slack_shown(fake: &FakeSlack, channels: &HashSet<String>, origin: Instant) -> Shown {
    let mut shown = Shown::default();
    let started = fake.started();
    let record = crate::fake_slack::record(fake);
    shown.rate_limited = record.rate_limited.values().sum();
    shown.refused = record.refused.len();
    for post in record.posts {
        if post.thread_ts.is_none() && channels.contains(&post.channel) {
            shown.add(&post.channel, since(origin, started, post.at), &post.body.to_string());
        }
    }
    shown
}

/// The Discord fake's accepted messages created in `channels` (notes go to threads, whose ids
/// are not channel ids, so they are not counted).
pub fn discord_shown(fake: &FakeDiscord, channels: &HashSet<String>, origin: Instant) -> Shown {
    let mut shown = Shown::default();
    let started = fake.started();
    for call in fake.calls() {
        if call.status == 429 {
            shown.rate_limited += 1;
            continue;
        }
        if call.refused.is_some() {
            shown.refused += 1;
            continue;
        }
        let channel = call
            .path
            .strip_prefix("/api/v10/channels/")
            .and_then(|rest| rest.strip_suffix("/messages"));
        if call.method == "POST"
            && call.status == 200
            && let Some(channel) = channel.filter(|c| channels.contains(*c))
        {
            shown.add(channel, since(origin, started, call.at), &call.body.to_string());
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_repository_is_routed_to_its_channel_on_both_platforms() {
        let channels = Channels::new(3);
        let text = configuration(Path::new("/tmp/x.db"), "http://s/api", "http://d", &channels, 4, false);
        let table = sentinel_bot::config::load::parse_table(&text, "e2e").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        assert_eq!(
            config.channels["alerts-002"].discord.as_deref(),
            Some("100000000000000002")
        );
        assert_eq!(config.channels["alerts-002"].slack.as_deref(), Some("C0ALERTS0002"));
        assert!(text.contains("repository = \"storm-org/repo-003\"\nchannels = [\"alerts-000\"]"));
        assert!(text.contains("enabled = false"));
    }
}
