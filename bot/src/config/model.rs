//! The configuration as typed values. The doc comment on each field is its user documentation
//! (mirrored in `config/sentinel.example.toml`). Every field has a default that runs with no tokens.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use super::cluster::ClusterConfig;
use super::duration::HumanDuration;
use super::secret::Secret;
use super::web::WebConfig;

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where state lives.
    pub database: DatabaseConfig,
    /// The HTTP server (webhooks, interactions, health, metrics).
    pub http: HttpConfig,
    /// The event pipeline: retries and retention.
    pub pipeline: PipelineConfig,
    /// Outbound message delivery.
    pub outbox: OutboxConfig,
    /// Which chat adapters run besides Slack and Discord.
    pub chat: ChatConfig,
    /// Cron schedule defaults.
    pub schedule: ScheduleConfig,
    /// GitHub: webhook verification and API access.
    pub github: GitHubConfig,
    /// Slack: enabled when `bot_token` is set.
    pub slack: SlackConfig,
    /// Discord: enabled when `bot_token` is set.
    pub discord: DiscordConfig,
    /// Logical channels: `security-incidents = { slack = "C0123", discord = "1234567890" }`.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// People: `[people.alice] slack = "U0123", discord = "1234", github = "alice"`.
    pub people: BTreeMap<String, PersonConfig>,
    /// Groups of people: `[groups.team-lead] slack = "S0123", discord = "5678", members = ["alice"]`.
    pub groups: BTreeMap<String, GroupConfig>,
    /// Each plugin's own section, `[plugins.<name>]`, read by the plugin itself.
    pub plugins: BTreeMap<String, toml::Value>,
    /// The read-only web status page: off unless this section is present.
    pub web: Option<WebConfig>,
    /// Several instances on one database: this one's name, claims and heartbeat.
    pub cluster: ClusterConfig,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Where everything is stored; the scheme picks the engine. SQLite (the default):
    /// `sqlite://path`, `sqlite:path` or a plain path, the file created when missing (0600).
    /// PostgreSQL: `postgres://user:password@host:port/database?sslmode=require` (or
    /// `postgresql://…`), an existing database; the password is never logged.
    /// Env: `SENTINEL_DATABASE_URL`.
    pub url: String,
    /// SQLite only: how long a statement waits for a lock held by another writer.
    pub busy_timeout: HumanDuration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://sentinel.db".into(),
            busy_timeout: HumanDuration::secs(10),
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on. Env: `SENTINEL_LISTEN`.
    pub listen: String,
    /// Largest request body accepted, in bytes (GitHub sends at most 25 MB; security events are far smaller).
    pub max_body_bytes: usize,
    /// How long shutdown waits for in-flight requests and workers. Connections with no request in
    /// flight, and requests whose body is still arriving, are closed at once.
    pub shutdown_grace: HumanDuration,
    /// How long a client may take to send a request's headers, counted from when it connected (or,
    /// on a kept-alive connection, from the request's first byte); a slower client is disconnected.
    pub header_read_timeout: HumanDuration,
    /// How long a client may take to send a request's body once its headers arrived; a slower one is
    /// answered 408 (GitHub gives up on a delivery after 10 s, Slack and Discord after 3 s).
    pub body_read_timeout: HumanDuration,
    /// How long a connection may stay open with no request on it (keep-alive) before it is closed.
    pub idle_timeout: HumanDuration,
    /// Most connections open at once; further clients wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// Proxies (addresses or CIDR ranges, e.g. `["127.0.0.1", "10.0.0.0/8"]`) whose
    /// `client_ip_header` names the real client. Requests from any other peer are attributed to the
    /// peer itself, whatever their headers say.
    pub trusted_proxies: Vec<String>,
    /// The header a trusted proxy names the client in: `X-Forwarded-For` (the right-most address in it
    /// that is not itself a trusted proxy is the client) or a one-address header such as `X-Real-IP`.
    pub client_ip_header: String,
    /// Failed unauthenticated requests (missing or bad signature, stale timestamp, oversized or slow
    /// body) one client may make in a burst before it is answered 429. `0` turns the limit off.
    /// Correctly signed requests are never refused by it.
    pub failed_auth_burst: u32,
    /// How many more failed requests a client is allowed per minute once its burst is spent.
    pub failed_auth_per_minute: u32,
    /// After a client's first rejection, its further rejections within this window are counted, not
    /// logged one by one: the security log gets one summary row per kind when the window ends.
    pub rejection_log_window: HumanDuration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 1024 * 1024,
            shutdown_grace: HumanDuration::secs(10),
            header_read_timeout: HumanDuration::secs(10),
            body_read_timeout: HumanDuration::secs(10),
            idle_timeout: HumanDuration::secs(75),
            max_connections: 512,
            trusted_proxies: Vec::new(),
            client_ip_header: "x-forwarded-for".into(),
            failed_auth_burst: 20,
            failed_auth_per_minute: 6,
            rejection_log_window: HumanDuration::minutes(1),
        }
    }
}

/// `[pipeline]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Attempts a plugin gets at one event before the event is parked as dead for that plugin.
    pub max_attempts: u32,
    /// First retry delay after a plugin error; doubles each attempt.
    pub retry_base: HumanDuration,
    /// Longest retry delay.
    pub retry_max: HumanDuration,
    /// Most inbox rows written in one synced transaction (group commit).
    pub ingest_batch: usize,
    /// Most events the dispatcher handles in one synced transaction.
    pub dispatch_batch: usize,
    /// While inputs are queueing for the inbox, the dispatcher handles at most this many events...
    pub under_load_dispatch_batch: usize,
    /// ...and then pauses this long, so acknowledging deliveries comes first (GitHub gives up on a
    /// delivery after 10 s and does not send it again by itself). `0s` turns this off.
    pub under_load_dispatch_pause: HumanDuration,
    /// How long handled events (and delivered messages) are kept; a replay older than this is no
    /// longer recognised as a duplicate.
    pub retain: HumanDuration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            retry_base: HumanDuration::secs(2),
            retry_max: HumanDuration::minutes(10),
            ingest_batch: 512,
            dispatch_batch: 128,
            under_load_dispatch_batch: 4,
            under_load_dispatch_pause: HumanDuration::millis(50),
            retain: HumanDuration::days(90),
        }
    }
}

/// `[outbox]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Delivery attempts before a message is marked failed (it stays listed by `sentinel dead list`).
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt unless the platform says `Retry-After`.
    pub retry_base: HumanDuration,
    /// Longest retry delay.
    pub retry_max: HumanDuration,
    /// How long one delivery request may take.
    pub request_timeout: HumanDuration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 25,
            retry_base: HumanDuration::secs(1),
            retry_max: HumanDuration::minutes(5),
            request_timeout: HumanDuration::secs(15),
        }
    }
}

/// When the console adapter runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleMode {
    /// When no other chat platform is configured.
    #[default]
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

/// `[chat]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// The console adapter prints messages and reads slash commands from stdin: `auto`, `on`, `off`.
    pub console: ConsoleMode,
    /// A generic HTTP endpoint that receives every message as JSON (Mattermost, Teams bridges, your own).
    pub webhook: Option<WebhookChatConfig>,
}

/// `[chat.webhook]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChatConfig {
    /// Where each message is POSTed. A secret: such URLs usually carry their credential in the path,
    /// so the URL never reaches a log line or a stored error.
    pub url: Secret,
    /// Sent as `Authorization: Bearer …` when set.
    #[serde(default)]
    pub token: Option<Secret>,
}

/// `[schedule]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The IANA time zone cron schedules are read in unless a schedule names its own.
    pub time_zone: String,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
        }
    }
}

/// `[github]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitHubConfig {
    /// The webhook secret (`X-Hub-Signature-256`). When unset, `sentinel run` generates one and keeps
    /// it beside the database. Env: `SENTINEL_GITHUB_WEBHOOK_SECRET`.
    pub webhook_secret: Option<Secret>,
    /// Older secrets still accepted while a rotation is under way.
    pub previous_webhook_secrets: Vec<Secret>,
    /// Repositories whose webhooks are accepted, as repository patterns (`acme/*`, `acme/api-?`,
    /// `acme/api`; see [`crate::RepoPattern`]). Empty accepts all.
    pub allowed_repositories: Vec<crate::RepoPattern>,
    /// API token for automatic checks and tracking issues. Env: `SENTINEL_GITHUB_TOKEN`.
    pub token: Option<Secret>,
    /// API base URL (GitHub Enterprise: `https://ghe.example.com/api/v3`). Env: `SENTINEL_GITHUB_API_URL`.
    /// HTTPS is verified against the bundled Mozilla root certificates (no system CA store needed); a
    /// GitHub Enterprise server behind a private CA is not trusted.
    pub api_url: String,
    /// API calls left in the rate-limit window below which Sentinel stops calling GitHub until the
    /// window resets (`x-ratelimit-reset`), so other tools sharing the token are never starved.
    pub rate_limit_reserve: u32,
    /// How long one API request may take (connect, send and read) before it counts as a failed attempt.
    pub request_timeout: HumanDuration,
    /// Attempts at one API request (server errors, timeouts, network failures) before its requester
    /// is told it failed.
    pub max_attempts: u32,
    /// First retry delay after a failed API request; doubles each attempt.
    pub retry_base: HumanDuration,
    /// Longest retry delay.
    pub retry_max: HumanDuration,
    /// Most pages fetched for one paginated request; the result says so when more existed.
    pub max_pages: u32,
    /// Pull mode: poll GitHub's security alert APIs instead of (or besides) receiving webhooks.
    pub pull: GitHubPullConfig,
    /// Webhook reconciliation: ask GitHub to redeliver webhook deliveries that failed.
    pub reconcile: GitHubReconcileConfig,
}

/// `[github.pull]`: GitHub without webhooks. Sentinel polls the security alert APIs of these
/// organisations and repositories with `github.token` and turns each changed alert into the same
/// event a webhook would have produced (an alert seen both ways is handled once). Off while both
/// lists are empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitHubPullConfig {
    /// Organisations whose Dependabot, code scanning and secret scanning alerts are polled
    /// (`/orgs/{org}/…/alerts`; the token needs the org's security alert read permissions).
    /// Failed workflow runs are not: GitHub has no organisation-wide runs listing; list the
    /// repositories whose security workflows matter under `repositories`.
    pub organizations: Vec<String>,
    /// Repositories (`owner/name`) whose Dependabot, code scanning and secret scanning alerts,
    /// repository security advisories and failed workflow runs (`workflow_run`, when a plugin
    /// handles it) are polled. Repositories outside `github.allowed_repositories` are skipped, as
    /// their webhooks would be.
    pub repositories: Vec<String>,
    /// Time between two polls (at least 30s). A poll that finds nothing changed costs no rate
    /// limit: it is a conditional request GitHub answers `304 Not Modified`.
    pub interval: HumanDuration,
    /// On the very first poll of a listing (no earlier poll stored), alerts updated within this
    /// span before now become events; older ones are taken as already known. `0s` announces none.
    pub initial_lookback: HumanDuration,
}

/// The shortest `github.pull.interval` accepted.
pub const MIN_PULL_INTERVAL: HumanDuration = HumanDuration::secs(30);

impl Default for GitHubPullConfig {
    fn default() -> Self {
        Self {
            organizations: Vec::new(),
            repositories: Vec::new(),
            interval: HumanDuration::minutes(5),
            initial_lookback: HumanDuration::days(1),
        }
    }
}

impl GitHubPullConfig {
    /// True when something is to be polled.
    pub fn enabled(&self) -> bool {
        !self.organizations.is_empty() || !self.repositories.is_empty()
    }
}

/// `[github.reconcile]`: GitHub does not redeliver a failed webhook delivery by itself. For each
/// hook listed here Sentinel reads the hook's recent deliveries every `interval` and asks GitHub,
/// once per event, to redeliver those that failed and never reached Sentinel since. The token needs
/// `admin:repo_hook` (repository hooks) or `admin:org_hook` (organisation hooks), read and write.
/// Off while `hooks` is empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitHubReconcileConfig {
    /// The webhooks to watch: `{ repository = "acme/app", id = 123 }` or
    /// `{ organization = "acme", id = 456 }` (the id is in the hook's settings URL).
    pub hooks: Vec<HookRef>,
    /// Time between two readings of the deliveries (at least 1m).
    pub interval: HumanDuration,
    /// How far back failed deliveries are looked for (at most 3d: GitHub keeps deliveries that long).
    pub lookback: HumanDuration,
}

/// One webhook whose deliveries are reconciled: exactly one of `repository` and `organization`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HookRef {
    /// The repository (`owner/name`) of a repository webhook.
    pub repository: Option<String>,
    /// The organisation (login) of an organisation webhook.
    pub organization: Option<String>,
    /// The hook's id.
    pub id: u64,
}

impl HookRef {
    /// The hook's API path (`/repos/acme/app/hooks/123`), `None` unless exactly one owner is set.
    pub fn path(&self) -> Option<String> {
        match (&self.repository, &self.organization) {
            (Some(repo), None) => Some(format!("/repos/{repo}/hooks/{}", self.id)),
            (None, Some(org)) => Some(format!("/orgs/{org}/hooks/{}", self.id)),
            _ => None,
        }
    }
}

/// The shortest `github.reconcile.interval` accepted.
pub const MIN_RECONCILE_INTERVAL: HumanDuration = HumanDuration::minutes(1);
/// The longest `github.reconcile.lookback` useful: GitHub keeps deliveries for 3 days.
pub const MAX_RECONCILE_LOOKBACK: HumanDuration = HumanDuration::days(3);

impl Default for GitHubReconcileConfig {
    fn default() -> Self {
        Self {
            hooks: Vec::new(),
            interval: HumanDuration::minutes(10),
            lookback: HumanDuration::days(1),
        }
    }
}

impl GitHubReconcileConfig {
    /// True when some hook is to be reconciled.
    pub fn enabled(&self) -> bool {
        !self.hooks.is_empty()
    }
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self {
            webhook_secret: None,
            previous_webhook_secrets: Vec::new(),
            allowed_repositories: Vec::new(),
            token: None,
            api_url: "https://api.github.com".into(),
            rate_limit_reserve: 100,
            request_timeout: HumanDuration::secs(30),
            max_attempts: 5,
            retry_base: HumanDuration::secs(1),
            retry_max: HumanDuration::minutes(5),
            max_pages: 50,
            pull: GitHubPullConfig::default(),
            reconcile: GitHubReconcileConfig::default(),
        }
    }
}

/// `[slack]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// Bot token (`xoxb-…`). Env: `SENTINEL_SLACK_BOT_TOKEN`.
    pub bot_token: Option<Secret>,
    /// Signing secret for slash commands and interactions over HTTP (`POST /slack/commands`,
    /// `POST /slack/interactions`); without it those routes are not served. Env:
    /// `SENTINEL_SLACK_SIGNING_SECRET`.
    pub signing_secret: Option<Secret>,
    /// App-level token (`xapp-…`, scope `connections:write`): when set, Sentinel receives slash
    /// commands and button clicks over Slack's Socket Mode, an outbound WebSocket, so Slack needs
    /// no inbound port. Either this or `signing_secret` (or both) must be set with `bot_token`.
    /// Env: `SENTINEL_SLACK_APP_TOKEN`.
    pub app_token: Option<Secret>,
    /// Socket Mode connections kept open at once (1 to 10, Slack's limit per app). Slack delivers
    /// each envelope on one of them; with two, one still receives while the other reconnects
    /// after Slack's routine refresh.
    pub socket_connections: usize,
    /// Web API base URL (GovSlack: `https://slack-gov.com/api`). Env: `SENTINEL_SLACK_API_URL`.
    pub api_url: String,
    /// The least time between two messages to one channel. Slack takes about one
    /// `chat.postMessage` per second per channel; pacing to it sends an alert storm at the rate
    /// Slack accepts (most severe first) instead of running into 429s. `0s` turns pacing off.
    pub post_interval: HumanDuration,
}

impl Default for SlackConfig {
    fn default() -> Self {
        Self {
            bot_token: None,
            signing_secret: None,
            app_token: None,
            socket_connections: 2,
            api_url: "https://slack.com/api".into(),
            post_interval: HumanDuration::secs(1),
        }
    }
}

/// `[discord]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Bot token. Env: `SENTINEL_DISCORD_BOT_TOKEN`.
    pub bot_token: Option<Secret>,
    /// Application id. Env: `SENTINEL_DISCORD_APPLICATION_ID`.
    pub application_id: Option<String>,
    /// The application's Ed25519 public key, hex; required with `interactions = "http"`, unused
    /// with `"gateway"`. Env: `SENTINEL_DISCORD_PUBLIC_KEY`.
    pub public_key: Option<String>,
    /// How slash commands and button clicks reach Sentinel. `"http"`: Discord POSTs them, signed,
    /// to `/discord/interactions` at a public HTTPS address (the application's Interactions
    /// Endpoint URL). `"gateway"`: Sentinel opens an outbound WebSocket to the Discord Gateway and
    /// receives them there, so Discord needs no inbound port and no public key; Discord sends
    /// interactions over the Gateway only while the Interactions Endpoint URL is empty. Messages
    /// out use the REST API either way. Env: `SENTINEL_DISCORD_INTERACTIONS`.
    pub interactions: DiscordInteractions,
    /// API base URL (the Gateway's address is asked from `{api_url}/api/v10/gateway/bot`). Env:
    /// `SENTINEL_DISCORD_API_URL`.
    pub api_url: String,
}

/// How Discord interactions reach Sentinel (`discord.interactions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscordInteractions {
    /// Discord POSTs them to `/discord/interactions` (inbound HTTPS, signed).
    #[default]
    Http,
    /// Sentinel receives them on an outbound Gateway WebSocket (no inbound port).
    Gateway,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            bot_token: None,
            application_id: None,
            public_key: None,
            interactions: DiscordInteractions::Http,
            api_url: "https://discord.com".into(),
        }
    }
}

/// One logical channel's id on each platform.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelConfig {
    /// Slack channel id (`C0123…`).
    pub slack: Option<String>,
    /// Discord channel id.
    pub discord: Option<String>,
}

/// One person's identities.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonConfig {
    /// Slack user id (`U0123…`).
    pub slack: Option<String>,
    /// Discord user id.
    pub discord: Option<String>,
    /// GitHub login.
    pub github: Option<String>,
}

/// A group: a Slack user group and/or a Discord role, and/or a list of people.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupConfig {
    /// Slack user group id (`S0123…`).
    pub slack: Option<String>,
    /// Discord role id.
    pub discord: Option<String>,
    /// Members by `[people]` key.
    pub members: Vec<String>,
}

impl Config {
    /// True when Slack is configured.
    pub fn slack_enabled(&self) -> bool {
        self.slack.bot_token.as_ref().is_some_and(|t| !t.is_empty())
    }

    /// True when Slack commands and clicks come in over HTTP (a signing secret is set).
    pub fn slack_http_enabled(&self) -> bool {
        self.slack_enabled() && self.slack.signing_secret.as_ref().is_some_and(|s| !s.is_empty())
    }

    /// True when Slack commands and clicks come in over Socket Mode (an app-level token is set).
    pub fn slack_socket_enabled(&self) -> bool {
        self.slack_enabled() && self.slack.app_token.as_ref().is_some_and(|t| !t.is_empty())
    }

    /// True when Discord is configured.
    pub fn discord_enabled(&self) -> bool {
        self.discord.bot_token.as_ref().is_some_and(|t| !t.is_empty())
    }

    /// True when Discord interactions come in over HTTP (`discord.interactions = "http"`).
    pub fn discord_http_enabled(&self) -> bool {
        self.discord_enabled() && self.discord.interactions == DiscordInteractions::Http
    }

    /// True when Discord interactions come in over the Gateway (`discord.interactions = "gateway"`).
    pub fn discord_gateway_enabled(&self) -> bool {
        self.discord_enabled() && self.discord.interactions == DiscordInteractions::Gateway
    }

    /// True when the console adapter should run.
    pub fn console_enabled(&self) -> bool {
        match self.chat.console {
            ConsoleMode::On => true,
            ConsoleMode::Off => false,
            ConsoleMode::Auto => !self.slack_enabled() && !self.discord_enabled() && self.chat.webhook.is_none(),
        }
    }

    /// A plugin's own settings as TOML (an empty table when absent): its section without the
    /// `enabled` switch, which every plugin has and the plugin registry reads
    /// ([`Config::plugin_enabled`]).
    pub fn plugin_section(&self, name: &str) -> toml::Value {
        let mut section = self
            .plugins
            .get(name)
            .cloned()
            .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
        if let Some(table) = section.as_table_mut() {
            table.remove("enabled");
        }
        section
    }

    /// The `enabled` switch of a plugin's section, when it is set; an error when it is not a
    /// boolean.
    pub fn plugin_enabled(&self, name: &str) -> Result<Option<bool>, ConfigError> {
        match self.plugins.get(name).and_then(|section| section.get("enabled")) {
            None => Ok(None),
            Some(toml::Value::Boolean(on)) => Ok(Some(*on)),
            Some(other) => Err(ConfigError::new(
                format!("plugins.{name}.enabled"),
                format!("must be true or false, not {}", other.type_str()),
            )),
        }
    }
}
