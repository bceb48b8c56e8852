//! `/incident …` and the incident message's buttons, parsed into one closed set of operations.
//! The doc comments on [`IncidentCommand`] are the help text `/incident help` shows.

use clap::{CommandFactory, Parser, ValueEnum};
use sentinel_bot::{Action, CommandSpec, Severity};

use super::auth::Role;
use super::model::{IncidentId, Stage};
use super::store::Filter;

/// The command name.
pub const COMMAND: &str = "incident";

/// Run a security incident through the response plan: detection, containment, investigation,
/// recovery, lessons learned.
#[derive(Debug, Parser)]
#[command(
    name = "incident",
    disable_help_subcommand = true,
    disable_help_flag = true,
    disable_version_flag = true
)]
pub enum IncidentCommand {
    /// Declare an incident; you get its number.
    Declare {
        /// How bad it is.
        #[arg(value_name = "critical|high|medium|low")]
        severity: Severity,
        /// What it is about.
        #[arg(value_name = "title", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        title: Vec<String>,
    },
    /// Acknowledge an incident (without an id: the one waiting for you).
    Ack {
        /// Which incident.
        #[arg(value_name = "id")]
        id: Option<IncidentId>,
    },
    /// Assign an incident to someone.
    Assign {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
        /// Who does the work.
        #[arg(value_name = "@person")]
        person: String,
    },
    /// Name an incident's commander.
    Commander {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
        /// Who leads the response.
        #[arg(value_name = "@person")]
        person: String,
    },
    /// Post a status update to an incident's thread and timeline.
    Update {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
        /// The update.
        #[arg(value_name = "text", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Change an incident's severity.
    Severity {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
        /// The new severity.
        #[arg(value_name = "critical|high|medium|low")]
        level: Severity,
    },
    /// Move an incident to a stage and post its checklist.
    Stage {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
        /// The stage.
        #[arg(value_name = "detection|containment|investigation|recovery|lessons")]
        stage: Stage,
    },
    /// Tick a checklist item of the current stage, by number or words.
    Check {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
        /// The item's number (or `stage:number`, or words from it).
        #[arg(value_name = "item", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        item: Vec<String>,
    },
    /// Resolve an incident, optionally saying what was done.
    Resolve {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
        /// What was done.
        #[arg(value_name = "summary", num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
        summary: Vec<String>,
    },
    /// Reopen a resolved or closed incident.
    Reopen {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
    },
    /// Close a resolved incident.
    Close {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
    },
    /// Ask for an incident to be escalated now.
    Escalate {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
    },
    /// List open incidents, or all of them.
    List {
        /// Which incidents.
        #[arg(value_name = "open|all", default_value = "open")]
        which: Which,
    },
    /// Show an incident.
    Show {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
    },
    /// Show an incident's timeline.
    Timeline {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
    },
    /// Post an incident's post-mortem to the incident channel.
    Postmortem {
        /// Which incident.
        #[arg(value_name = "id")]
        id: IncidentId,
    },
    /// Show this help.
    Help,
}

/// Which incidents `list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// Open or acknowledged.
    Open,
    /// Every incident.
    All,
}

/// A checklist item as a caller named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemRef {
    /// By number, in the given stage or the current one.
    Position(Option<Stage>, i64),
    /// By words from its text.
    Words(String),
}

impl ItemRef {
    /// Reads `2`, `containment:2` or words.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Ok(n) = text.trim_start_matches('#').parse::<i64>() {
            return ItemRef::Position(None, n);
        }
        if let Some((stage, n)) = text.split_once(':')
            && let (Ok(stage), Ok(n)) = (stage.parse::<Stage>(), n.trim().parse::<i64>())
        {
            return ItemRef::Position(Some(stage), n);
        }
        ItemRef::Words(text.to_owned())
    }
}

/// One thing a caller asked for, from a command or a button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Declare an incident.
    Declare {
        /// How bad.
        severity: Severity,
        /// What about.
        title: String,
    },
    /// Acknowledge one (or the caller's only unacknowledged one).
    Ack(Option<IncidentId>),
    /// Set the assignee.
    Assign(IncidentId, String),
    /// Set the commander.
    Commander(IncidentId, String),
    /// A status update.
    Update(IncidentId, String),
    /// Change severity.
    Severity(IncidentId, Severity),
    /// Change stage.
    Stage(IncidentId, Stage),
    /// Tick a checklist item.
    Check(IncidentId, ItemRef),
    /// Resolve, with an optional summary.
    Resolve(IncidentId, Option<String>),
    /// Reopen.
    Reopen(IncidentId),
    /// Close.
    Close(IncidentId),
    /// Ask for escalation.
    Escalate(IncidentId),
    /// List incidents.
    List(Filter),
    /// Show one.
    Show(IncidentId),
    /// Show its timeline.
    Timeline(IncidentId),
    /// Post its post-mortem.
    Postmortem(IncidentId),
    /// Show help.
    Help,
}

impl Op {
    /// The sub-command it corresponds to (for usage lines).
    pub fn subcommand(&self) -> &'static str {
        match self {
            Op::Declare { .. } => "declare",
            Op::Ack(_) => "ack",
            Op::Assign(..) => "assign",
            Op::Commander(..) => "commander",
            Op::Update(..) => "update",
            Op::Severity(..) => "severity",
            Op::Stage(..) => "stage",
            Op::Check(..) => "check",
            Op::Resolve(..) => "resolve",
            Op::Reopen(_) => "reopen",
            Op::Close(_) => "close",
            Op::Escalate(_) => "escalate",
            Op::List(_) => "list",
            Op::Show(_) => "show",
            Op::Timeline(_) => "timeline",
            Op::Postmortem(_) => "postmortem",
            Op::Help => "help",
        }
    }

    /// The incident it is about, when it names one.
    pub fn incident(&self) -> Option<IncidentId> {
        match self {
            Op::Declare { .. } | Op::List(_) | Op::Help | Op::Ack(None) => None,
            Op::Ack(Some(id))
            | Op::Assign(id, _)
            | Op::Commander(id, _)
            | Op::Update(id, _)
            | Op::Severity(id, _)
            | Op::Stage(id, _)
            | Op::Check(id, _)
            | Op::Resolve(id, _)
            | Op::Reopen(id)
            | Op::Close(id)
            | Op::Escalate(id)
            | Op::Show(id)
            | Op::Timeline(id)
            | Op::Postmortem(id) => Some(*id),
        }
    }

    /// The role it needs when roles are configured.
    pub fn needs(&self) -> Role {
        match self {
            Op::List(_) | Op::Show(_) | Op::Timeline(_) | Op::Help => Role::Anyone,
            Op::Declare { .. }
            | Op::Ack(_)
            | Op::Assign(..)
            | Op::Update(..)
            | Op::Check(..)
            | Op::Escalate(_)
            | Op::Postmortem(_) => Role::Responder,
            Op::Commander(..) | Op::Severity(..) | Op::Stage(..) | Op::Resolve(..) | Op::Reopen(_) | Op::Close(_) => {
                Role::Commander
            }
        }
    }

    /// What it does, for a refusal: "resolve incidents".
    pub fn describe(&self) -> &'static str {
        match self {
            Op::Declare { .. } => "declare incidents",
            Op::Ack(_) => "acknowledge incidents",
            Op::Assign(..) => "assign incidents",
            Op::Commander(..) => "name an incident's commander",
            Op::Update(..) => "post incident updates",
            Op::Severity(..) => "change an incident's severity",
            Op::Stage(..) => "change an incident's stage",
            Op::Check(..) => "tick checklist items",
            Op::Resolve(..) => "resolve incidents",
            Op::Reopen(_) => "reopen incidents",
            Op::Close(_) => "close incidents",
            Op::Escalate(_) => "escalate incidents",
            Op::List(_) => "list incidents",
            Op::Show(_) => "show incidents",
            Op::Timeline(_) => "read incident timelines",
            Op::Postmortem(_) => "post post-mortems",
            Op::Help => "read the help",
        }
    }
}

fn words(words: Vec<String>) -> String {
    words.join(" ").trim().to_owned()
}

impl From<IncidentCommand> for Op {
    fn from(command: IncidentCommand) -> Self {
        match command {
            IncidentCommand::Declare { severity, title } => Op::Declare {
                severity,
                title: words(title),
            },
            IncidentCommand::Ack { id } => Op::Ack(id),
            IncidentCommand::Assign { id, person } => Op::Assign(id, person),
            IncidentCommand::Commander { id, person } => Op::Commander(id, person),
            IncidentCommand::Update { id, text } => Op::Update(id, words(text)),
            IncidentCommand::Severity { id, level } => Op::Severity(id, level),
            IncidentCommand::Stage { id, stage } => Op::Stage(id, stage),
            IncidentCommand::Check { id, item } => Op::Check(id, ItemRef::parse(&words(item))),
            IncidentCommand::Resolve { id, summary } => {
                let summary = words(summary);
                Op::Resolve(id, (!summary.is_empty()).then_some(summary))
            }
            IncidentCommand::Reopen { id } => Op::Reopen(id),
            IncidentCommand::Close { id } => Op::Close(id),
            IncidentCommand::Escalate { id } => Op::Escalate(id),
            IncidentCommand::List { which } => Op::List(match which {
                Which::Open => Filter::Active,
                Which::All => Filter::All,
            }),
            IncidentCommand::Show { id } => Op::Show(id),
            IncidentCommand::Timeline { id } => Op::Timeline(id),
            IncidentCommand::Postmortem { id } => Op::Postmortem(id),
            IncidentCommand::Help => Op::Help,
        }
    }
}

/// The spec `/sentinel help` and Discord registration use.
pub fn spec() -> CommandSpec {
    CommandSpec::from_clap(COMMAND, &IncidentCommand::command())
}

/// Parses `/incident <args>`. On failure: what was wrong and the right usage, ready to reply with.
pub fn parse(args: &str) -> Result<Op, String> {
    if args.trim().is_empty() {
        return Ok(Op::Help);
    }
    let parsed = sentinel_bot::parse_args::<IncidentCommand>(COMMAND, args).or_else(|err| {
        // Free text such as "can't reproduce" has a lone quote that shell-style splitting rejects;
        // escaping the quotes keeps the words as typed.
        if err == "unbalanced quotes" {
            let escaped = args.replace('\\', "\\\\").replace('\'', "\\'").replace('"', "\\\"");
            sentinel_bot::parse_args::<IncidentCommand>(COMMAND, &escaped)
        } else {
            Err(err)
        }
    });
    match parsed {
        Ok(command) => Ok(command.into()),
        Err(err) => {
            let spec = spec();
            let sub = args.split_whitespace().next().unwrap_or_default();
            let usage = match spec.usage_of(sub) {
                Some(usage) => format!("Usage: {usage}"),
                None => spec.help_text(),
            };
            // clap's own "Usage:" line repeats ours in its own words; keep only the reason.
            let reason: Vec<&str> = err
                .lines()
                .take_while(|line| !line.trim_start().starts_with("Usage:"))
                .filter(|line| !line.trim().is_empty())
                .collect();
            Err(format!("{}\n{usage}", reason.join("\n")))
        }
    }
}

/// Reads a button click: `incident.ack|resolve|escalate` with the incident id, `incident.check`
/// with `id:stage:position` (or `id:position` for the current stage).
pub fn parse_action(action: &Action) -> Result<Op, String> {
    let verb = action.id.strip_prefix("incident.").unwrap_or_default();
    let bad = || {
        format!(
            "This button (`{}` `{}`) is not one Sentinel knows.",
            action.id, action.value
        )
    };
    let id = |text: &str| text.parse::<IncidentId>().map_err(|_| bad());
    match verb {
        "ack" => Ok(Op::Ack(Some(id(&action.value)?))),
        "resolve" => Ok(Op::Resolve(id(&action.value)?, None)),
        "escalate" => Ok(Op::Escalate(id(&action.value)?)),
        "check" => {
            let (incident, item) = action.value.split_once(':').ok_or_else(bad)?;
            match ItemRef::parse(item) {
                item @ ItemRef::Position(..) => Ok(Op::Check(id(incident)?, item)),
                ItemRef::Words(_) => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_keeps_apostrophes_and_items_read_numbers_stages_or_words() {
        assert_eq!(
            parse("update 3 can't reproduce it"),
            Ok(Op::Update(IncidentId(3), "can't reproduce it".into()))
        );
        assert_eq!(
            ItemRef::parse("containment:2"),
            ItemRef::Position(Some(Stage::Containment), 2)
        );
        assert_eq!(ItemRef::parse("#4"), ItemRef::Position(None, 4));
        assert_eq!(ItemRef::parse("rotate tokens"), ItemRef::Words("rotate tokens".into()));
    }

    #[test]
    fn bad_input_says_what_was_wrong_and_the_usage() {
        let Err(err) = parse("show") else {
            panic!("`show` without an id parsed")
        };
        assert!(err.contains("<id>"), "{err}");
        assert!(err.ends_with("Usage: /incident show <id>"), "{err}");
        let Err(err) = parse("frobnicate 3") else {
            panic!("an unknown sub-command parsed")
        };
        assert!(err.contains("frobnicate"), "{err}");
        assert!(
            err.contains("/incident declare <critical|high|medium|low> <title…>"),
            "{err}"
        );
    }
}
