//! What people read: pings, warnings, breaches, `/sla status` and `/sla policy`.

use chrono::{DateTime, Utc};
use sentinel_bot::Severity;

use super::config::Settings;
use super::plan::Clock;
use super::policy::{Level, Step};
use super::store::{Incident, Silence, State};
use sentinel_bot::chat::duration::human;

/// A time as shown in chat: `2026-03-02 10:00 UTC`.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How far a deadline is: `in 45m` or `overdue by 5m`.
pub fn left(deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if deadline > now {
        format!("in {}", human(deadline - now))
    } else {
        format!("overdue by {}", human(now - deadline))
    }
}

/// `incident #3 · Leaked AWS key (critical)`.
pub fn incident(incident: &Incident) -> String {
    let title = if incident.title.trim().is_empty() {
        String::new()
    } else {
        format!(" · {}", incident.title.trim())
    };
    format!("incident #{}{title} ({})", incident.id, incident.severity())
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The sentence added when a level has no one to mention.
pub fn nobody(level: Level) -> String {
    format!(
        "No one is configured for {}: set plugins.sla_escalator.levels.{}.",
        level.label(),
        level.as_str()
    )
}

/// A notification of the escalation chain.
pub struct PingText<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// The step, from 1.
    pub step: u32,
    /// 0 for the first notification, then the reminder number.
    pub repeat: u32,
    /// How many reminders the step has.
    pub repeats: u32,
    /// Whom.
    pub level: Level,
    /// When it was due.
    pub due: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
    /// True when the level has someone to mention.
    pub has_mentions: bool,
}

impl PingText<'_> {
    /// The message text.
    pub fn render(&self) -> String {
        let i = self.incident;
        let deadline = format!("Respond by {} ({}).", time(i.respond_by), left(i.respond_by, self.now));
        let waited = human(self.due - i.started_at);
        let mut text = if self.repeat > 0 {
            format!(
                "🔁 Reminder {}/{}: {} is still not acknowledged after {waited}. {}, please acknowledge. {deadline}",
                self.repeat,
                self.repeats,
                incident(i),
                self.level.label()
            )
        } else if self.step > 1 {
            format!(
                "🔺 {} is still not acknowledged after {waited}: escalating to {} (step {}). {deadline}",
                capitalised(&incident(i)),
                self.level.label(),
                self.step
            )
        } else {
            format!(
                "🔔 {} needs a responder. {}, please acknowledge. {deadline}",
                capitalised(&incident(i)),
                self.level.label()
            )
        };
        if self.now - self.due > chrono::Duration::minutes(1) {
            text.push_str(&format!(" (Due {}, sent late.)", time(self.due)));
        }
        if !self.has_mentions {
            text.push('\n');
            text.push_str(&nobody(self.level));
        }
        text
    }
}

/// A warning that `percent` of a clock's time has passed.
pub fn warning(incident: &Incident, clock: Clock, percent: u32, now: DateTime<Utc>) -> String {
    let (total, verb, deadline) = match clock {
        Clock::Response => (incident.snapshot.policy.respond, "respond", incident.respond_by),
        Clock::Resolution => (incident.snapshot.policy.resolve, "resolve", incident.resolve_by),
    };
    format!(
        "⏳ {}: {percent}% of the {total} {} time has passed. {} by {} ({}).",
        capitalised(&super::render::incident(incident)),
        clock.as_str(),
        capitalised(verb),
        time(deadline),
        left(deadline, now)
    )
}

/// A breach, posted to the next level.
pub fn breach(incident: &Incident, clock: Clock, next: Level) -> String {
    let (total, what, deadline) = match clock {
        Clock::Response => (incident.snapshot.policy.respond, "acknowledged", incident.respond_by),
        Clock::Resolution => (incident.snapshot.policy.resolve, "resolved", incident.resolve_by),
    };
    format!(
        "🚨 {} breached its {} SLA: not {what} by {} ({total}). Escalating to {}.",
        capitalised(&super::render::incident(incident)),
        clock.as_str(),
        time(deadline),
        next.label()
    )
}

/// A person asked to escalate.
pub fn escalated(incident: &Incident, by: &str, level: Level) -> String {
    format!(
        "🔺 {by} escalated {} to {}.",
        super::render::incident(incident),
        level.label()
    )
}

/// The note on a post whose mentions a silence suppressed.
pub fn silenced(silence: &Silence) -> String {
    format!("Mentions suppressed by silence #{} ({}).", silence.id, silence.reason)
}

/// The next ping of an incident: when, and to whom.
pub type NextPing = Option<(DateTime<Utc>, Level)>;

/// `/sla status`: each incident's deadlines and time left, then the silences.
/// `more` open incidents were left out of `incidents`.
pub fn status(
    incidents: &[(Incident, NextPing)],
    silences: &[Silence],
    now: DateTime<Utc>,
    one: bool,
    more: usize,
) -> String {
    let mut out = String::new();
    if !one {
        out.push_str(&match incidents.len() + more {
            0 => "No open incidents.\n".to_owned(),
            1 => "1 open incident:\n".to_owned(),
            n => format!("{n} open incidents:\n"),
        });
    }
    for (i, next_ping) in incidents {
        out.push_str(&format!("{} {}", i.severity().emoji(), capitalised(&incident(i))));
        if let Some(repository) = &i.repository {
            out.push_str(&format!(" in {repository}"));
        }
        if i.state != State::Open {
            out.push_str(&format!(
                " — {}",
                if i.state == State::Resolved {
                    "resolved"
                } else {
                    "closed"
                }
            ));
        }
        out.push('\n');
        out.push_str(&format!("  {}\n", response_line(i, now)));
        out.push_str(&format!("  {}\n", resolution_line(i, now)));
        if let Some((at, level)) = next_ping {
            out.push_str(&format!(
                "  next ping {} ({}): {}\n",
                time(*at),
                left(*at, now),
                level.label()
            ));
        }
    }
    if more > 0 {
        out.push_str(&format!(
            "… and {more} more (most urgent first); /sla status <id> shows any one.\n"
        ));
    }
    if silences.is_empty() {
        out.push_str("No silences.\n");
    } else {
        out.push_str("Silences (pings suppressed, deadlines still recorded):\n");
        for s in silences {
            out.push_str(&format!(
                "  #{} {} until {} ({}) — {} (by {})\n",
                s.id,
                s.pattern,
                time(s.until),
                left(s.until, now),
                s.reason,
                s.created_by
            ));
        }
    }
    out
}

fn response_line(i: &Incident, now: DateTime<Utc>) -> String {
    let breached = i
        .response_breached_at
        .map(|at| format!(" — BREACHED, recorded {}", time(at)))
        .unwrap_or_default();
    match (i.acknowledged_at, i.response_stopped_at) {
        (Some(ack), _) => format!(
            "acknowledged {} (respond by {}){breached}",
            time(ack),
            time(i.respond_by)
        ),
        (None, Some(stopped)) => format!("response clock stopped {}{breached}", time(stopped)),
        (None, None) if i.response_breached_at.is_some() => {
            format!(
                "respond by {} ({}){breached}",
                time(i.respond_by),
                left(i.respond_by, now)
            )
        }
        (None, None) => format!("respond by {} ({})", time(i.respond_by), left(i.respond_by, now)),
    }
}

fn resolution_line(i: &Incident, now: DateTime<Utc>) -> String {
    let breached = i
        .resolution_breached_at
        .map(|at| format!(" — BREACHED, recorded {}", time(at)))
        .unwrap_or_default();
    match i.resolution_resumed_at {
        Some(_) if i.state == State::Open => {
            format!(
                "resolve by {} ({}){breached}",
                time(i.resolve_by),
                left(i.resolve_by, now)
            )
        }
        _ => format!(
            "resolution clock paused ({} used of {}){breached}",
            human(i.resolution_used),
            i.snapshot.policy.resolve
        ),
    }
}

/// `/sla policy`: the table in force.
pub fn policy(settings: &Settings) -> String {
    let hours = &settings.business_hours;
    let mut out = format!(
        "SLA policy in force (business time: {} {}–{} {}):\n",
        hours.days.join(" "),
        hours.start,
        hours.end,
        hours.time_zone
    );
    for severity in Severity::ALL {
        let policy = settings.policy(severity);
        let warn: Vec<String> = policy
            .warn_at
            .iter()
            .map(|f| format!("{}%", (f * 100.0).round()))
            .collect();
        let warn = if warn.is_empty() {
            "no warnings".to_owned()
        } else {
            format!("warn at {}", warn.join(", "))
        };
        out.push_str(&format!(
            "{} {severity}: respond {}, resolve {}, {warn}\n",
            severity.emoji(),
            policy.respond,
            policy.resolve
        ));
        for (n, step) in policy.steps.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", n + 1, step_line(step, settings)));
        }
        let last = policy
            .steps
            .last()
            .map(|s| s.notify.next())
            .unwrap_or(Level::EmergencyContact);
        out.push_str(&format!(
            "  a breach goes one level above the last one notified: {} when the chain ran its course\n",
            last.label()
        ));
    }
    out.push_str("Levels:\n");
    for level in Level::ALL {
        out.push_str(&format!("  {}: {}\n", level.label(), who(settings, level)));
    }
    out
}

fn step_line(step: &Step, settings: &Settings) -> String {
    let when = if step.after.is_zero() {
        "at once".to_owned()
    } else {
        format!("after {}", step.after)
    };
    let repeat = match step.repeat_every {
        Some(every) if step.repeat > 0 => format!(", then every {} ×{}", every, step.repeat),
        _ => String::new(),
    };
    format!(
        "{when} → {} ({}){repeat}",
        step.notify.label(),
        who(settings, step.notify)
    )
}

fn who(settings: &Settings, level: Level) -> String {
    let names = settings.levels.names(level);
    if names.is_empty() {
        "no one configured".to_owned()
    } else {
        names.join(", ")
    }
}
