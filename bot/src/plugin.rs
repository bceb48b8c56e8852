//! The plugin seam: what a plugin declares and the one method the dispatcher calls.
//!
//! A plugin declares its slash commands, cron schedules and subscriptions; the core owns sockets,
//! retries, timers and transactions. `handle` runs inside one database transaction per event: every
//! effect made through [`Cx`] commits with the record that the plugin handled the event, or not at
//! all. A user's mistake (bad arguments, an unknown id) is returned as [`PluginError::User`]: the
//! dispatcher answers the caller privately with its text and does not retry. Every other `Err` is
//! an internal failure: logged with its cause, retried, and never shown raw to a chat user.

use async_trait::async_trait;
use chrono_tz::Tz;

use crate::cx::Cx;
use crate::event::Event;

/// A unit of behaviour: the alert notifier, the SLA escalator, …
#[async_trait]
pub trait Plugin: Send + Sync {
    /// A short, unique, stable name: it keys the plugin's timers and its handling records.
    fn name(&self) -> &'static str;

    /// The slash commands it owns.
    fn commands(&self) -> Vec<CommandSpec> {
        Vec::new()
    }

    /// The cron schedules it owns; each tick arrives as [`Event::Schedule`].
    fn schedules(&self) -> Vec<Schedule> {
        Vec::new()
    }

    /// The logical channels it posts to, from its configuration, so that start-up and
    /// `check-config` can name a channel a configured platform has no id for.
    fn channels(&self) -> Vec<String> {
        Vec::new()
    }

    /// The GitHub events, domain events and button prefixes it wants. Its own commands, timers and
    /// schedules reach it without being listed.
    fn subscriptions(&self) -> Subscriptions {
        Subscriptions::default()
    }

    /// Handles one event inside the dispatcher's transaction.
    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError>;
}

/// Events a plugin wants besides its own commands, timers and schedules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    /// `X-GitHub-Event` names, e.g. `dependabot_alert`.
    pub github: Vec<String>,
    /// Domain event kinds, e.g. `incident.opened`.
    pub domain: Vec<String>,
    /// Button action id prefixes, e.g. `incident` for `incident.ack`.
    pub actions: Vec<String>,
}

/// A slash command and its help, shown by `/sentinel help` and registered with Discord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The command without its slash, e.g. `incident`.
    pub name: String,
    /// One line saying what it is for.
    pub description: String,
    /// Its sub-commands, in the order help shows them.
    pub subcommands: Vec<SubcommandSpec>,
}

/// One sub-command: `/incident ack [id]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubcommandSpec {
    /// The sub-command word.
    pub name: String,
    /// Its arguments as usage text, e.g. `<id> <@person>`.
    pub usage: String,
    /// One line of help.
    pub help: String,
}

impl CommandSpec {
    /// Builds the spec from a clap command tree, so the doc comments on a plugin's command enum are
    /// the help text users see.
    pub fn from_clap(name: &str, command: &clap::Command) -> Self {
        let subcommands = command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set())
            .map(|sub| SubcommandSpec {
                name: sub.get_name().to_owned(),
                usage: usage_of(sub),
                help: sub.get_about().map(ToString::to_string).unwrap_or_default(),
            })
            .collect();
        Self {
            name: name.to_owned(),
            description: command.get_about().map(ToString::to_string).unwrap_or_default(),
            subcommands,
        }
    }

    /// Multi-line help text: one line per sub-command.
    pub fn help_text(&self) -> String {
        let mut out = format!("/{} — {}\n", self.name, self.description);
        for sub in &self.subcommands {
            let usage = if sub.usage.is_empty() {
                format!("/{} {}", self.name, sub.name)
            } else {
                format!("/{} {} {}", self.name, sub.name, sub.usage)
            };
            out.push_str(&format!("  {usage} — {}\n", sub.help));
        }
        out
    }

    /// The usage line of one sub-command, when it exists.
    pub fn usage_of(&self, subcommand: &str) -> Option<String> {
        self.subcommands
            .iter()
            .find(|s| s.name == subcommand)
            .map(|s| format!("/{} {} {}", self.name, s.name, s.usage).trim_end().to_owned())
    }
}

fn usage_of(command: &clap::Command) -> String {
    command
        .get_arguments()
        .filter(|arg| arg.get_id() != "help" && arg.get_id() != "version")
        .map(|arg| {
            let name = arg
                .get_value_names()
                .and_then(|names| names.first())
                .map(ToString::to_string)
                .unwrap_or_else(|| arg.get_id().to_string());
            let many = matches!(arg.get_num_args(), Some(range) if range.max_values() > 1);
            let name = if many { format!("{name}…") } else { name };
            if arg.is_required_set() {
                format!("<{name}>")
            } else {
                format!("[{name}]")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses a command's argument text into a clap-derived type. On failure the error is a short
/// message with the right usage, ready to reply with.
pub fn parse_args<T: clap::Parser>(command: &str, args: &str) -> Result<T, String> {
    let words = shlex::split(args).ok_or_else(|| "unbalanced quotes".to_owned())?;
    let argv = std::iter::once(format!("/{command}")).chain(words);
    T::try_parse_from(argv).map_err(|err| {
        let rendered = err.render().to_string();
        // clap's errors end with a "For more information, try '--help'." line that means nothing in chat.
        rendered
            .lines()
            .filter(|line| !line.contains("--help") && !line.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
            .replace("error: ", "")
    })
}

/// A cron schedule a plugin owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// A name unique within the plugin, e.g. `daily-audit`.
    pub name: String,
    /// A `cron` crate expression (six or seven fields, seconds first; `Mon-Fri` rather than numbers).
    pub cron: String,
    /// The zone the expression is read in.
    pub time_zone: Tz,
    /// What to do with an occurrence missed while Sentinel was down.
    pub missed: MissedRun,
}

/// What happens to a schedule occurrence that passed while Sentinel was not running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedRun {
    /// Run it once on start, however many occurrences were missed.
    #[default]
    RunOnce,
    /// Skip it and wait for the next occurrence.
    Skip,
}

impl MissedRun {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MissedRun::RunOnce => "run_once",
            MissedRun::Skip => "skip",
        }
    }
}

/// Why a plugin could not handle an event. The dispatcher rolls back the plugin's effects. For
/// [`PluginError::User`] it then answers the command's caller privately and is done; any other
/// error is internal: logged with its cause, retried with backoff and, after the configured number
/// of attempts, parked as dead — the caller of a command or button then only hears that something
/// went wrong and was logged.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The user's mistake (bad arguments, an unknown id, …). The text is what to tell them: it goes
    /// privately to whoever typed the command or clicked the button, is not retried and nothing the
    /// handler did commits. For an event without a person behind it, it is only logged.
    #[error("user error: {0}")]
    User(String),
    /// A database statement failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Stored or received JSON did not have the expected shape.
    #[error("bad JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Anything else, described.
    #[error("{0}")]
    Failed(String),
    /// The handler panicked (caught by the dispatcher; the event is retried like after an error).
    #[error("panicked: {0}")]
    Panicked(String),
}

impl PluginError {
    /// The user's mistake, to be answered privately with `message`.
    pub fn user(message: impl Into<String>) -> Self {
        PluginError::User(message.into())
    }

    /// An error with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        PluginError::Failed(message.into())
    }
}
