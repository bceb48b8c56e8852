//! `/sla`: status, policy, silence, unsilence. The doc comments are the help text.

use clap::{CommandFactory, Parser};
use sentinel_bot::config::HumanDuration;
use sentinel_bot::{Command, CommandSpec, Cx, Message, PluginError};

use super::config::Settings;
use super::policy::Level;
use super::render;
use super::silence::check_pattern;
use super::store;

/// The command's name.
pub const COMMAND: &str = "sla";

/// Deadlines, escalations and silences of open incidents.
#[derive(Debug, Parser)]
#[command(name = "sla")]
pub enum SlaCommand {
    /// Each open incident's deadlines and time left, and the silences in force.
    Status {
        /// An incident id; every open incident when left out.
        #[arg(value_name = "id")]
        id: Option<String>,
    },
    /// The SLA policy in force: deadlines and escalation chain per severity.
    Policy,
    /// Suppresses pings (not deadlines, which are still recorded) for a maintenance window.
    Silence {
        /// `all`, or a repository glob such as acme/* .
        #[arg(value_name = "repo-glob|all")]
        pattern: String,
        /// How long, e.g. 2h or 30m.
        #[arg(value_name = "duration")]
        duration: String,
        /// Why (shown in /sla status).
        #[arg(value_name = "reason", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        reason: Vec<String>,
    },
    /// Lifts a silence before it ends.
    Unsilence {
        /// The silence id shown by /sla status.
        #[arg(value_name = "id")]
        id: String,
    },
}

/// Runs one `/sla` command.
pub async fn handle(settings: &Settings, cx: &mut Cx<'_>, command: &Command) -> Result<(), PluginError> {
    let parsed = match sentinel_bot::parse_args::<SlaCommand>(COMMAND, &command.args) {
        Ok(parsed) => parsed,
        Err(message) => {
            let help = CommandSpec::from_clap(COMMAND, &SlaCommand::command()).help_text();
            return Err(PluginError::user(format!("{message}\n\n{help}")));
        }
    };
    match parsed {
        SlaCommand::Status { id } => status(cx, command, id.as_deref()).await,
        SlaCommand::Policy => {
            let text = render::policy(settings);
            cx.reply(&command.origin, Message::reply(text)).await
        }
        SlaCommand::Silence {
            pattern,
            duration,
            reason,
        } => silence(settings, cx, command, &pattern, &duration, &reason.join(" ")).await,
        SlaCommand::Unsilence { id } => unsilence(settings, cx, command, &id).await,
    }
}

fn usage(subcommand: &str) -> String {
    CommandSpec::from_clap(COMMAND, &SlaCommand::command())
        .usage_of(subcommand)
        .unwrap_or_default()
}

fn parse_id(text: &str) -> Option<i64> {
    text.trim().trim_start_matches('#').parse().ok()
}

async fn status(cx: &mut Cx<'_>, command: &Command, id: Option<&str>) -> Result<(), PluginError> {
    let mut more = 0;
    let incidents = match id {
        None => {
            let mut open = store::open(cx.db()).await?;
            // Most urgent first, and few enough to fit one chat message (Discord takes 2,000 characters).
            open.sort_by_key(|i| (next_deadline(i), i.id));
            more = open.len().saturating_sub(STATUS_LIMIT);
            open.truncate(STATUS_LIMIT);
            open
        }
        Some(text) => {
            let found = match parse_id(text) {
                Some(id) => store::get(cx.db(), id).await?,
                None => None,
            };
            match found {
                Some(incident) => vec![incident],
                None => {
                    let text = format!(
                        "No incident #{} has SLA deadlines. Usage: {}",
                        text.trim_start_matches('#'),
                        usage("status")
                    );
                    return Err(PluginError::User(text));
                }
            }
        }
    };
    let mut rows = Vec::with_capacity(incidents.len());
    for incident in incidents {
        let next = cx
            .timers(&format!("incident:{}:respond:ping:", incident.id))
            .await?
            .into_iter()
            .next()
            .and_then(|t| {
                let level = t.payload.get("level").and_then(|l| l.as_str()).and_then(Level::parse)?;
                Some((t.due_at, level))
            });
        rows.push((incident, next));
    }
    let now = cx.now();
    let silences = store::active_silences(cx.db(), now).await?;
    let text = render::status(&rows, &silences, now, id.is_some(), more);
    cx.reply(&command.origin, Message::reply(text)).await
}

/// How many incidents `/sla status` lists.
const STATUS_LIMIT: usize = 10;

/// The deadline an open incident is racing against: the response deadline while unanswered, else
/// the resolution deadline.
fn next_deadline(incident: &store::Incident) -> chrono::DateTime<chrono::Utc> {
    if incident.response_stopped_at.is_none() && incident.response_breached_at.is_none() {
        incident.respond_by.min(incident.resolve_by)
    } else {
        incident.resolve_by
    }
}

/// True when the caller may silence: anyone when no silencers are configured.
fn may_silence(settings: &Settings, cx: &Cx<'_>, command: &Command) -> bool {
    if settings.silencers.is_empty() {
        return true;
    }
    let directory = cx.directory();
    let person = directory.person_of(&command.origin.actor);
    let groups = directory.groups_of(&command.origin.actor);
    settings
        .silencers
        .iter()
        .any(|name| person == Some(name.as_str()) || groups.contains(name))
}

async fn refuse(settings: &Settings, cx: &mut Cx<'_>, command: &Command, what: &str) -> Result<(), PluginError> {
    let actor = &command.origin.actor;
    let detail = format!("/sla {what} refused for {} ({})", actor.id, actor.name);
    cx.security_log("sla_silence_refused", actor.platform, &detail).await?;
    let text = format!(
        "Only {} may silence or unsilence SLA pings.",
        settings.silencers.join(", ")
    );
    cx.reply_private(&command.origin, Message::reply(text)).await
}

async fn silence(
    settings: &Settings,
    cx: &mut Cx<'_>,
    command: &Command,
    pattern: &str,
    duration: &str,
    reason: &str,
) -> Result<(), PluginError> {
    if !may_silence(settings, cx, command) {
        return refuse(settings, cx, command, "silence").await;
    }
    let bad = |problem: String| PluginError::User(format!("{problem}\nUsage: {}", usage("silence")));
    if let Err(problem) = check_pattern(pattern) {
        return Err(bad(problem));
    }
    let length = match duration.parse::<HumanDuration>() {
        Ok(length) if !length.std().is_zero() => length.chrono(),
        Ok(_) => return Err(bad("A silence must last longer than 0.".to_owned())),
        Err(problem) => return Err(bad(problem)),
    };
    let reason = reason.trim();
    let now = cx.now();
    let until = now + length;
    let by = cx.directory().display(&command.origin.actor);
    let pattern = if pattern.eq_ignore_ascii_case("all") {
        "all"
    } else {
        pattern
    };
    let id = store::add_silence(cx.db(), pattern, until, reason, &by, now).await?;
    let scope = if pattern == "all" {
        "every incident".to_owned()
    } else {
        format!("incidents in {pattern}")
    };
    let text = format!(
        "🔕 Silence #{id}: SLA pings for {scope} are suppressed until {} ({}) — {reason}. Deadlines and breaches are still recorded. Lift it with /sla unsilence {id}.",
        render::time(until),
        render::left(until, now)
    );
    cx.reply(&command.origin, Message::reply(text)).await
}

async fn unsilence(settings: &Settings, cx: &mut Cx<'_>, command: &Command, id: &str) -> Result<(), PluginError> {
    if !may_silence(settings, cx, command) {
        return refuse(settings, cx, command, "unsilence").await;
    }
    let now = cx.now();
    let found = match parse_id(id) {
        Some(id) => store::silence(cx.db(), id).await?,
        None => None,
    };
    let Some(silence) = found.filter(|s| s.lifted_at.is_none() && s.until > now) else {
        let text = format!(
            "No silence #{} is in force (see /sla status). Usage: {}",
            id.trim_start_matches('#'),
            usage("unsilence")
        );
        return Err(PluginError::User(text));
    };
    let by = cx.directory().display(&command.origin.actor);
    store::lift_silence(cx.db(), silence.id, &by, now).await?;
    let text = format!(
        "🔔 Silence #{} ({}, {}) lifted by {by}: SLA pings resume.",
        silence.id, silence.pattern, silence.reason
    );
    cx.reply(&command.origin, Message::reply(text)).await
}
