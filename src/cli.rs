//! Command-line interface: `sentinel run | check-config | migrate | demo | simulate | dead | discord`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use sentinel_bot::chat::console::{ConsoleSink, read_commands};
use sentinel_bot::chat::discord::DiscordAdapter;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::chat::{ChatAdapter, Directory};
use sentinel_bot::config::{self, Loaded};
use sentinel_bot::ingress::secret_file;
use sentinel_bot::store::{self, Engine, inbox, outbox};
use sentinel_bot::{Bot, BotOptions, SystemClock};

/// Sentinel: security incident response in Slack and Discord, fed by GitHub's security signals.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Configuration file (default: ./sentinel.toml when present, else built-in defaults).
    #[arg(long, global = true, env = "SENTINEL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the bot (the default): HTTP server, pipeline, chat adapters; Ctrl-C or SIGTERM stops it.
    Run,
    /// Check the configuration and print every problem with its key; exits 1 when there are any.
    CheckConfig,
    /// Create or upgrade the database, then exit.
    Migrate,
    /// Play a scripted scenario through every plugin on a temporary database and a manual clock.
    Demo,
    /// Sign a GitHub webhook payload with the configured secret and post it to a running Sentinel.
    Simulate(crate::simulate::Simulate),
    /// List or retry events that a plugin gave up on, and messages that could not be delivered.
    Dead {
        #[command(subcommand)]
        action: DeadCmd,
    },
    /// Discord set-up: register the slash commands of every plugin with Discord.
    Discord {
        #[command(subcommand)]
        action: DiscordCmd,
    },
}

#[derive(Debug, Subcommand)]
enum DiscordCmd {
    /// Replace the application's slash commands with those of every configured plugin (bulk
    /// overwrite). Global commands can take up to an hour to show; guild commands show at once.
    RegisterCommands {
        /// Register in this guild (server) only, instead of globally.
        #[arg(long, value_name = "ID")]
        guild: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum DeadCmd {
    /// List dead events and failed messages.
    List,
    /// Give dead events another round of attempts: one event by id, or all.
    Retry {
        /// The event id (from `sentinel dead list`); omit with --all.
        id: Option<i64>,
        /// Retry every dead event.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Queue failed messages for delivery again: one by id, or all.
    Resend {
        /// The message id (from `sentinel dead list`); omit with --all.
        id: Option<i64>,
        /// Resend every failed message.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

/// Runs the chosen command.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    init_logging()?;
    match cli.command.unwrap_or(Cmd::Run) {
        Cmd::Run => run_bot(cli.config).await,
        Cmd::CheckConfig => check_config(cli.config),
        Cmd::Migrate => {
            let loaded = load(cli.config)?;
            let url = &loaded.config.database.url;
            store::open(url, loaded.config.database.busy_timeout.std())
                .await
                .with_context(|| format!("cannot open database {}", store::redacted(url)))?;
            println!(
                "database {} ({}) is up to date",
                store::redacted(url),
                store::Engine::of_url(url).name()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo => crate::demo::run().await,
        Cmd::Simulate(args) => {
            let loaded = load(cli.config)?;
            crate::simulate::run(&loaded.config, args).await
        }
        Cmd::Dead { action } => dead(cli.config, action).await,
        Cmd::Discord {
            action: DiscordCmd::RegisterCommands { guild },
        } => register_discord_commands(cli.config, guild).await,
    }
}

/// How log lines are written (`SENTINEL_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    /// Human-readable lines; coloured only when stderr is a terminal.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    fn from_env() -> Result<Self> {
        match std::env::var("SENTINEL_LOG_FORMAT") {
            Err(_) => Ok(Self::Text),
            Ok(value) => match value.trim().to_ascii_lowercase().as_str() {
                "" | "text" => Ok(Self::Text),
                "json" => Ok(Self::Json),
                _ => anyhow::bail!("SENTINEL_LOG_FORMAT must be `text` or `json`, not `{value}`"),
            },
        }
    }
}

fn init_logging() -> Result<()> {
    use std::io::IsTerminal;
    let format = LogFormat::from_env()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENTINEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Logs go to stderr: stdout belongs to the console chat.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colour codes only for a person at a terminal, never into a file or a pipe.
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    Ok(())
}

fn load(path: Option<PathBuf>) -> Result<Loaded> {
    config::load(path.as_deref(), std::env::vars()).context("invalid configuration")
}

/// Every problem: plugin sections, then the core checks.
fn problems(loaded: &Loaded) -> Vec<config::ConfigError> {
    let mut problems = Vec::new();
    let mut schedules = Vec::new();
    match sentinel_plugins::build(&loaded.config) {
        Ok(plugins) => {
            for plugin in plugins {
                for schedule in plugin.schedules() {
                    schedules.push((format!("plugins.{}.{}", plugin.name(), schedule.name), schedule));
                }
            }
        }
        Err(errors) => problems.extend(errors),
    }
    problems.extend(config::check::check(loaded, &schedules));
    problems.extend(sentinel_web::check(&loaded.config));
    problems
}

/// What works but is probably not meant (`sentinel run` says the same at start-up).
fn warnings(loaded: &Loaded) -> Vec<config::ConfigError> {
    let posts: Vec<(String, String)> = sentinel_plugins::build(&loaded.config)
        .unwrap_or_default()
        .iter()
        .flat_map(|plugin| plugin.channels().into_iter().map(|c| (plugin.name().to_owned(), c)))
        .collect();
    config::warnings::warnings(&loaded.config, &posts)
}

fn check_config(path: Option<PathBuf>) -> Result<ExitCode> {
    let loaded = match config::load(path.as_deref(), std::env::vars()) {
        Ok(loaded) => loaded,
        Err(err) => {
            println!("{err}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let problems = problems(&loaded);
    let source = loaded
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "built-in defaults".into());
    for warning in warnings(&loaded) {
        println!("warning: {warning}");
    }
    if let Some(modes) = config::slack_modes::describe(&loaded.config) {
        println!("{modes}");
    }
    if let Some(modes) = config::discord_modes::describe(&loaded.config) {
        println!("{modes}");
    }
    if let Some(pull) = config::github_pull::describe(&loaded.config) {
        println!("{pull}");
    }
    if let Some(reconcile) = config::github_reconcile::describe(&loaded.config) {
        println!("{reconcile}");
    }
    if problems.is_empty() {
        println!("{source}: configuration is valid");
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        println!("{problem}");
    }
    println!("{source}: {} problem(s)", problems.len());
    Ok(ExitCode::FAILURE)
}

async fn run_bot(path: Option<PathBuf>) -> Result<ExitCode> {
    let stop = StopSignal::install();
    let loaded = load(path)?;
    let problems = problems(&loaded);
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("config: {problem}");
        }
        anyhow::bail!(
            "{} configuration problem(s); `sentinel check-config` lists them",
            problems.len()
        );
    }
    let mut config = loaded.config;
    if config.github.webhook_secret.is_none() {
        // Several instances share a PostgreSQL database behind one load balancer: a secret generated
        // on each host would differ, and webhooks would fail on all but one.
        if Engine::of_url(&config.database.url) == Engine::Postgres {
            anyhow::bail!(
                "github.webhook_secret (or SENTINEL_GITHUB_WEBHOOK_SECRET) must be set on PostgreSQL: every \
                 instance must verify webhooks with the secret GitHub has, and a generated one would differ per host"
            );
        }
        // Never accept unsigned webhooks: without a configured secret, use (or create) a private one.
        let path = secret_file::path_for(&config.database.url);
        let (secret, created) = secret_file::load_or_create(&path)
            .with_context(|| format!("cannot create the webhook secret file {}", path.display()))?;
        let verb = if created { "generated" } else { "using" };
        eprintln!(
            "github.webhook_secret is not set: {verb} the secret in {} (mode 0600); give GitHub the same value",
            path.display()
        );
        config.github.webhook_secret = Some(secret);
    }
    let plugins = sentinel_plugins::build(&config).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let console = config.console_enabled();
    let grace = config.http.shutdown_grace.std();
    let clock: sentinel_bot::SharedClock = Arc::new(SystemClock);
    let (adapters, mut routes) = chat_platforms(&config, &clock).await?;
    if let Some(web) = sentinel_web::routes(&config).map_err(|e| anyhow::anyhow!("{e:?}"))? {
        routes = routes.merge(web);
        if let Some(url) = config.web.as_ref().map(|w| w.base_url().to_owned()) {
            eprintln!("web status page at {url}/web (sign in with /sentinel web)");
        }
    }
    let bot = Bot::start(BotOptions {
        config,
        clock: clock.clone(),
        plugins,
        adapters,
        console: ConsoleSink::Stdout,
        serve_http: true,
        routes,
    })
    .await
    .context("cannot start")?;
    if let Some(addr) = bot.local_addr() {
        eprintln!("sentinel listening on http://{addr} (GET /healthz, GET /metrics)");
    }
    if console {
        let user = std::env::var("SENTINEL_CONSOLE_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "console".into());
        if let Some(ingest) = bot.ingest() {
            tokio::spawn(read_commands(ingest, clock, user, bot.shutdown_signal()));
            eprintln!("console chat: type /sentinel help");
        }
    }
    stop.wait().await;
    eprintln!("shutting down");
    bot.shutdown(grace).await;
    Ok(ExitCode::SUCCESS)
}

/// The Slack and Discord adapters and ingress routes `config` enables, besides GitHub's route.
/// Credentials are checked first: a token the platform refuses stops the start with a clear
/// message (never the token); a platform that cannot be reached only warns, since messages wait in
/// the outbox until it answers.
async fn chat_platforms(
    config: &config::Config,
    clock: &sentinel_bot::SharedClock,
) -> Result<(Vec<Arc<dyn ChatAdapter>>, sentinel_bot::http::Routes)> {
    let mut adapters: Vec<Arc<dyn ChatAdapter>> = Vec::new();
    let mut routes = sentinel_bot::ingress::github::routes();
    let directory = Arc::new(Directory::from_config(config));
    let timeout = config.outbox.request_timeout.std();
    if config.slack_enabled() {
        let slack = SlackAdapter::new(&config.slack, directory.clone(), timeout).context("cannot set up Slack")?;
        match slack.check_credentials().await {
            Ok(who) => eprintln!("{who}"),
            Err(err @ sentinel_bot::chat::slack::CredentialsError::Rejected(_)) => return Err(err.into()),
            Err(err) => eprintln!("warning: {err}; messages wait in the outbox until Slack answers"),
        }
        adapters.push(Arc::new(slack));
        if config.slack_http_enabled() {
            routes = routes.merge(sentinel_bot::ingress::slack::routes());
        }
        if config.slack_socket_enabled() {
            use sentinel_bot::ingress::slack_socket::{OpenError, check_app_token};
            match check_app_token(&config.slack, timeout).await {
                Ok(()) => eprintln!("Slack: Socket Mode token accepted"),
                Err(err @ OpenError::Rejected(_)) => return Err(err.into()),
                Err(err) => eprintln!("warning: {err}; Socket Mode keeps trying to connect"),
            }
        }
    }
    if config.discord_enabled() {
        let discord =
            DiscordAdapter::new(&config.discord, directory, timeout, clock.clone()).context("cannot set up Discord")?;
        match discord.check_credentials().await {
            Ok(who) => eprintln!("{who}"),
            Err(err @ sentinel_bot::chat::discord::CredentialsError::Rejected(_)) => return Err(err.into()),
            Err(err) => eprintln!("warning: {err}; messages wait in the outbox until Discord answers"),
        }
        adapters.push(Arc::new(discord));
        if config.discord_http_enabled() {
            routes = routes.merge(sentinel_bot::ingress::discord::routes());
        }
        if config.discord_gateway_enabled() {
            use sentinel_bot::ingress::discord_gateway::{UrlError, check_gateway};
            match check_gateway(&config.discord, timeout).await {
                Ok(()) => eprintln!("Discord: Gateway address received; interactions arrive over the Gateway"),
                Err(err @ UrlError::Rejected(_)) => return Err(err.into()),
                Err(err) => eprintln!("warning: {err}; the Gateway connection keeps trying"),
            }
        }
    }
    Ok((adapters, routes))
}

/// `sentinel discord register-commands [--guild ID]`.
async fn register_discord_commands(path: Option<PathBuf>, guild: Option<u64>) -> Result<ExitCode> {
    let loaded = load(path)?;
    let config = loaded.config;
    anyhow::ensure!(
        config.discord_enabled(),
        "discord.bot_token is not set (SENTINEL_DISCORD_BOT_TOKEN)"
    );
    anyhow::ensure!(
        config
            .discord
            .application_id
            .as_deref()
            .is_some_and(|id| !id.trim().is_empty()),
        "discord.application_id is not set (SENTINEL_DISCORD_APPLICATION_ID)"
    );
    let plugins = sentinel_plugins::build(&config).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // The same specs, in the same order, as `/sentinel help` shows.
    let mut specs = vec![sentinel_bot::builtin::Builtin::spec()];
    specs.extend(plugins.iter().flat_map(|plugin| plugin.commands()));
    let clock: sentinel_bot::SharedClock = Arc::new(SystemClock);
    let discord = DiscordAdapter::new(
        &config.discord,
        Arc::new(Directory::from_config(&config)),
        config.outbox.request_timeout.std(),
        clock,
    )
    .context("cannot set up Discord")?;
    let commands = sentinel_bot::chat::discord::commands::commands(&specs);
    let count = discord
        .register_commands(&commands, guild)
        .await
        .context("Discord refused the commands")?;
    let names: Vec<String> = specs.iter().map(|s| format!("/{}", s.name)).collect();
    match guild {
        Some(guild) => println!("registered {count} command(s) in guild {guild}: {}", names.join(" ")),
        None => println!(
            "registered {count} global command(s): {} (Discord may take up to an hour to show changes)",
            names.join(" ")
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM or Ctrl-C. The handlers are installed when this is created, so a signal that arrives
/// while the bot is still starting means a clean shutdown, not the default immediate death.
struct StopSignal {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignal {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::terminate())
                .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut term, mut interrupt)) = self.signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn dead(path: Option<PathBuf>, action: DeadCmd) -> Result<ExitCode> {
    let loaded = load(path)?;
    let url = loaded.config.database.url.clone();
    let pool = store::open(&url, loaded.config.database.busy_timeout.std())
        .await
        .with_context(|| format!("cannot open database {}", store::redacted(&url)))?;
    let mut conn = pool.acquire().await?;
    match action {
        DeadCmd::List => {
            let events = inbox::dead(&mut conn).await?;
            let messages = outbox::failed(&mut conn).await?;
            if events.is_empty() && messages.is_empty() {
                println!("nothing dead: every event was handled and every message delivered");
            }
            for e in &events {
                println!(
                    "event {:>6}  {}  plugin {}  {} attempts  {}  {}",
                    e.event,
                    e.what,
                    e.plugin,
                    e.attempts,
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.error
                );
            }
            for m in &messages {
                println!(
                    "message {:>6}  {}  {} attempts  {}  “{}”",
                    m.id, m.destination, m.attempts, m.error, m.text
                );
            }
        }
        DeadCmd::Retry { id, all } => {
            anyhow::ensure!(id.is_some() || all, "give an event id or --all");
            let n = inbox::revive_dead(&mut conn, id.map(sentinel_bot::EventId)).await?;
            println!("{n} dead handling(s) will be retried by the running bot");
        }
        DeadCmd::Resend { id, all } => {
            anyhow::ensure!(id.is_some() || all, "give a message id or --all");
            let n = outbox::requeue_failed(&mut conn, id, chrono::Utc::now()).await?;
            println!("{n} message(s) queued for delivery again");
        }
    }
    drop(conn);
    pool.close().await;
    Ok(ExitCode::SUCCESS)
}
