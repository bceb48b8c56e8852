//! `/audit`: status, done, skip, history, report, run.

use clap::Parser;
use sentinel_bot::{Command, Cx, Message, Origin, PluginError};

use super::checklist::Cadence;
use super::period::Period;
use super::plugin::AuditScheduler;
use super::render;
use super::store::{self, Item, ItemState, Run};

/// Security audits: the guide's daily, weekly, monthly and quarterly checklists, and the security report.
#[derive(Debug, Parser)]
#[command(
    name = "audit",
    no_binary_name = false,
    disable_help_subcommand = true,
    disable_help_flag = true
)]
pub enum AuditCommand {
    /// Show the open audit runs and what is left in each.
    Status,
    /// Tick an item of a run (a run number, or daily/weekly/monthly/quarterly for the latest).
    Done {
        /// The run: its number, or daily, weekly, monthly, quarterly for the latest of that audit.
        #[arg(value_name = "run")]
        run: String,
        /// The item: its number or id.
        #[arg(value_name = "item")]
        item: String,
        /// What you found or did.
        #[arg(value_name = "note", trailing_var_arg = true, allow_hyphen_values = true)]
        note: Vec<String>,
    },
    /// Skip an item of a run, saying why.
    Skip {
        /// The run: its number, or daily, weekly, monthly, quarterly for the latest of that audit.
        #[arg(value_name = "run")]
        run: String,
        /// The item: its number or id.
        #[arg(value_name = "item")]
        item: String,
        /// Why it is skipped.
        #[arg(
            value_name = "reason",
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        reason: Vec<String>,
    },
    /// Recent runs and who did what (optionally of one audit).
    History {
        /// daily, weekly, monthly or quarterly.
        #[arg(value_name = "audit")]
        audit: Option<String>,
    },
    /// Post the security report of a month (YYYY-MM) or quarter (YYYY-Qn); default: last month.
    Report {
        /// The period, e.g. 2026-03 or 2026-Q1.
        #[arg(value_name = "period")]
        period: Option<String>,
    },
    /// Start an audit now: daily, weekly, monthly or quarterly.
    Run {
        /// daily, weekly, monthly or quarterly.
        #[arg(value_name = "audit")]
        audit: String,
    },
}

/// Replies to the caller only.
async fn tell(cx: &mut Cx<'_>, origin: &Origin, text: impl Into<String>) -> Result<(), PluginError> {
    cx.reply_private(origin, Message::reply(text)).await
}

/// Handles one `/audit` command.
pub async fn handle(plugin: &AuditScheduler, cx: &mut Cx<'_>, command: &Command) -> Result<(), PluginError> {
    let parsed = match sentinel_bot::parse_args::<AuditCommand>("audit", &protect_hashes(&command.args)) {
        Ok(parsed) => parsed,
        Err(err) => {
            let help = plugin.spec().help_text();
            return Err(PluginError::user(format!("{err}\n{help}")));
        }
    };
    let origin = &command.origin;
    let who = cx.directory().display(&origin.actor);
    let tz = plugin.settings().tz;
    match parsed {
        AuditCommand::Status => {
            let mut runs = Vec::new();
            for run in store::open_runs(cx.db()).await? {
                let items = store::items(cx.db(), run.id).await?;
                runs.push((run, items));
            }
            tell(cx, origin, render::status(&runs, tz)).await
        }
        AuditCommand::Done { run, item, note } => {
            let note = note.join(" ");
            let note = (!note.trim().is_empty()).then_some(note);
            let request = Tick {
                origin,
                run: &run,
                item: &item,
                who: &who,
                state: ItemState::Done,
                note: note.as_deref(),
            };
            tick(plugin, cx, &request).await
        }
        AuditCommand::Skip { run, item, reason } => {
            let reason = reason.join(" ");
            let request = Tick {
                origin,
                run: &run,
                item: &item,
                who: &who,
                state: ItemState::Skipped,
                note: Some(&reason),
            };
            tick(plugin, cx, &request).await
        }
        AuditCommand::History { audit } => {
            let cadence = match audit.as_deref().map(str::parse::<Cadence>).transpose() {
                Ok(cadence) => cadence,
                Err(err) => return Err(PluginError::user(format!("{err}\nUsage: /audit history [audit]"))),
            };
            let mut runs = Vec::new();
            for run in store::recent_runs(cx.db(), cadence, 10).await? {
                let items = store::items(cx.db(), run.id).await?;
                runs.push((run, items));
            }
            tell(cx, origin, render::history(&runs, tz)).await
        }
        AuditCommand::Report { period } => report(plugin, cx, origin, period.as_deref(), &who).await,
        AuditCommand::Run { audit } => {
            let cadence = match audit.parse::<Cadence>() {
                Ok(cadence) => cadence,
                Err(err) => return Err(PluginError::user(format!("{err}\nUsage: /audit run <audit>"))),
            };
            if plugin.settings().audit(cadence).is_none() {
                return Err(PluginError::user(format!(
                    "The {cadence} audit is disabled (plugins.audit_scheduler.{cadence}.enabled)."
                )));
            }
            let now = cx.now();
            match plugin.start_run(cx, cadence, now, false, Some(&who)).await? {
                Some(id) => tell(cx, origin, format!("Started {} #{id}.", cadence.title())).await,
                None => {
                    tell(
                        cx,
                        origin,
                        format!("A {cadence} audit was started this very moment already."),
                    )
                    .await
                }
            }
        }
    }
}

/// Escapes a `#` that starts a word outside quotes, so `#12` in a note or a run number is not read
/// as the start of a shell comment by the argument splitter.
fn protect_hashes(args: &str) -> String {
    let mut out = String::with_capacity(args.len());
    let mut quote: Option<char> = None;
    let mut previous: Option<char> = None;
    for c in args.chars() {
        match (quote, c) {
            (None, '\'' | '"') if previous != Some('\\') => quote = Some(c),
            (Some(open), _) if c == open && previous != Some('\\') => quote = None,
            (None, '#') if previous.is_none_or(char::is_whitespace) => out.push('\\'),
            _ => {}
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Finds the run a person meant: `12`, `#12`, or the latest run of an audit.
async fn find_run(cx: &mut Cx<'_>, text: &str) -> Result<Result<Run, String>, PluginError> {
    let trimmed = text.trim().trim_start_matches('#');
    if let Ok(id) = trimmed.parse::<i64>() {
        return Ok(store::run(cx.db(), id)
            .await?
            .ok_or_else(|| format!("There is no audit run #{id}.")));
    }
    match trimmed.parse::<Cadence>() {
        Ok(cadence) => Ok(store::latest_run(cx.db(), cadence)
            .await?
            .ok_or_else(|| format!("No {cadence} audit has run yet."))),
        Err(_) => Ok(Err(format!(
            "`{text}` is not a run: give its number (see /audit status) or daily, weekly, monthly, quarterly."
        ))),
    }
}

/// Finds an item by position or id.
fn find_item<'a>(items: &'a [Item], text: &str) -> Result<&'a Item, String> {
    let found = match text.trim().parse::<i64>() {
        Ok(position) => items.iter().find(|i| i.position == position),
        Err(_) => items.iter().find(|i| i.item.eq_ignore_ascii_case(text.trim())),
    };
    found.ok_or_else(|| {
        let ids: Vec<String> = items.iter().map(|i| format!("{} {}", i.position, i.item)).collect();
        format!("`{text}` is not an item of this run. Items: {}.", ids.join(", "))
    })
}

/// One person's tick or skip of an item, as asked by a command or a button.
pub struct Tick<'a> {
    /// Where the request came from; the answer goes back there, privately.
    pub origin: &'a Origin,
    /// The run as the person wrote it: `12`, `#12`, or an audit name for its latest run.
    pub run: &'a str,
    /// The item as the person wrote it: its position or its id.
    pub item: &'a str,
    /// The person's display name, recorded as the item's actor.
    pub who: &'a str,
    /// Done or skipped.
    pub state: ItemState,
    /// What they found (done) or why (skipped).
    pub note: Option<&'a str>,
}

/// Ticks or skips an item for the person who asked.
pub async fn tick(plugin: &AuditScheduler, cx: &mut Cx<'_>, request: &Tick<'_>) -> Result<(), PluginError> {
    let Tick {
        origin,
        run: run_text,
        item: item_text,
        who,
        state,
        note,
    } = *request;
    let usage = if state == ItemState::Done {
        "/audit done <run> <item> [note]"
    } else {
        "/audit skip <run> <item> <reason>"
    };
    let run = match find_run(cx, run_text).await? {
        Ok(run) => run,
        Err(err) => return Err(PluginError::user(format!("{err}\nUsage: {usage}"))),
    };
    let items = store::items(cx.db(), run.id).await?;
    let item = match find_item(&items, item_text) {
        Ok(item) => item.clone(),
        Err(err) => return Err(PluginError::user(format!("{err}\nUsage: {usage}"))),
    };
    let tz = plugin.settings().tz;
    if item.state == state {
        let by = item.actor.as_deref().unwrap_or("someone");
        let when = item.at.map(|t| render::fmt_time(t, tz)).unwrap_or_default();
        let verb = if state == ItemState::Done { "done" } else { "skipped" };
        return tell(
            cx,
            origin,
            format!("{} of audit #{} was already {verb} by {by} {when}.", item.item, run.id),
        )
        .await;
    }
    if state == ItemState::Skipped && item.state == ItemState::Done {
        let by = item.actor.as_deref().unwrap_or("someone");
        return tell(
            cx,
            origin,
            format!(
                "{} of audit #{} was already done by {by}; it cannot be skipped.",
                item.item, run.id
            ),
        )
        .await;
    }
    let now = cx.now();
    store::update_item(
        cx.db(),
        run.id,
        &item.item,
        &store::ItemUpdate {
            state,
            actor: Some(who),
            at: now,
            note,
            evidence: None,
        },
    )
    .await?;
    plugin.after_change(cx, run.id).await?;
    let verb = if state == ItemState::Done { "Done" } else { "Skipped" };
    tell(
        cx,
        origin,
        format!("{verb}: {} — {} (audit #{}).", item.item, item.text, run.id),
    )
    .await
}

async fn report(
    plugin: &AuditScheduler,
    cx: &mut Cx<'_>,
    origin: &Origin,
    period: Option<&str>,
    who: &str,
) -> Result<(), PluginError> {
    let tz = plugin.settings().tz;
    let now = cx.now();
    let period = match period {
        Some(text) => match text.parse::<Period>() {
            Ok(period) => period,
            Err(err) => return Err(PluginError::user(format!("{err}\nUsage: /audit report [period]"))),
        },
        None => Period::month_of(now, tz).previous(),
    };
    if period.start(tz) > now {
        return Err(PluginError::user(format!("{} has not started yet.", period.label())));
    }
    if let Some(existing) = store::latest_report(cx.db(), &period.to_string()).await? {
        if let (true, Some(markdown)) = (existing.posted, existing.markdown.as_deref()) {
            let posted = existing.posted_at.map(|t| render::fmt_time(t, tz)).unwrap_or_default();
            let web = super::reporting::web_base(cx);
            let message = plugin
                .report_message(period, markdown, existing.issue_url.as_deref(), web.as_deref())
                .context(format!("report #{} · posted {posted}", existing.id));
            return cx.reply(origin, message).await;
        }
        if !existing.posted {
            return tell(
                cx,
                origin,
                format!(
                    "The report for {} is being collected (since {}); it will be posted in {}.",
                    period.label(),
                    render::fmt_time(existing.created_at, tz),
                    plugin.settings().channel
                ),
            )
            .await;
        }
    }
    let (_, requests) = plugin.start_report(cx, period, None, Some(who)).await?;
    let text = if requests == 0 {
        format!(
            "Posted the report for {} in {}.",
            period.label(),
            plugin.settings().channel
        )
    } else {
        format!(
            "Collecting the report for {} ({} to GitHub); it will be posted in {}.",
            period.label(),
            render::plural(requests, "request"),
            plugin.settings().channel
        )
    };
    tell(cx, origin, text).await
}
