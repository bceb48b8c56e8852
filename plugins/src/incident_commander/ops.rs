//! What each operation does. Every operation checks everything first and answers bad input with
//! [`Failure::User`] before it writes anything, so a refused request changes nothing.
//!
//! Over 600 lines: one function per operation; splitting them by family (lifecycle, people,
//! severity, post-mortem) is open under issue 13 item 3.

use chrono::{DateTime, Utc};
use sentinel_bot::{Cx, DomainEventPayload, Mention, Message, Origin, PluginError, Severity};

use super::commands::{ItemRef, Op, spec};
use super::config::IncidentConfig;
use super::model::{CheckItem, Incident, IncidentId, IncidentState, Stage};
use super::postmortem;
use super::render::{self, View};
use super::space;
use super::store::{self, Change, Filter, NewIncident};
use super::tracking;
use crate::domain::{
    IncidentAcknowledged, IncidentAssigned, IncidentChange, IncidentClosed, IncidentEscalateRequested, IncidentOpened,
    IncidentReopened, IncidentResolved, IncidentSeverityChanged,
};

/// Why an operation did not happen.
#[derive(Debug)]
pub enum Failure {
    /// The caller asked for something that cannot be done; this says what was wrong.
    User(String),
    /// Something worth retrying failed.
    Internal(PluginError),
}

impl From<PluginError> for Failure {
    fn from(err: PluginError) -> Self {
        Failure::Internal(err)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        Failure::Internal(err.into())
    }
}

/// Result of an operation.
pub type Outcome = Result<(), Failure>;

/// The payload of a plain state change `by` someone `now`.
fn changed(id: IncidentId, now: DateTime<Utc>, by: &str) -> IncidentChange {
    IncidentChange {
        id: id.0,
        at: Some(now),
        by: Some(by.to_owned()),
    }
}

/// Who asked, as the timeline names them, and where to answer.
pub struct Caller<'a> {
    /// Their `[people]` key or display name.
    pub name: String,
    /// Where the command or click came from.
    pub origin: &'a Origin,
}

/// Runs `op` for `caller`.
pub async fn run(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, op: Op) -> Outcome {
    match op {
        Op::Declare { severity, title } => declare(cx, config, caller, severity, &title).await,
        Op::Ack(id) => ack(cx, config, caller, id).await,
        Op::Assign(id, person) => assign(cx, config, caller, id, &person, false).await,
        Op::Commander(id, person) => assign(cx, config, caller, id, &person, true).await,
        Op::Update(id, text) => update(cx, config, caller, id, &text).await,
        Op::Severity(id, level) => severity(cx, config, caller, id, level).await,
        Op::Stage(id, stage) => change_stage(cx, config, caller, id, stage).await,
        Op::Check(id, item) => check(cx, config, caller, id, &item).await,
        Op::Resolve(id, summary) => resolve(cx, config, caller, id, summary.as_deref()).await,
        Op::Reopen(id) => reopen(cx, config, caller, id).await,
        Op::Close(id) => close(cx, config, caller, id).await,
        Op::Escalate(id) => escalate(cx, config, caller, id).await,
        Op::List(filter) => list(cx, caller, filter).await,
        Op::Show(id) => show(cx, config, caller, id).await,
        Op::Timeline(id) => timeline(cx, caller, id).await,
        Op::Postmortem(id) => post_mortem(cx, config, caller, id).await,
        Op::Help => reply(cx, caller, spec().help_text()).await,
    }
}

async fn reply(cx: &mut Cx<'_>, caller: &Caller<'_>, text: impl Into<String>) -> Outcome {
    cx.reply_private(caller.origin, Message::reply(text)).await?;
    Ok(())
}

/// The incident `id`, or a user failure naming the incidents that do exist.
async fn load(cx: &mut Cx<'_>, id: IncidentId) -> Result<Incident, Failure> {
    if let Some(incident) = store::get(cx.db(), id).await? {
        return Ok(incident);
    }
    let active = store::list(cx.db(), Filter::Active, 20).await?;
    let known = if active.is_empty() {
        "There are no open incidents.".to_owned()
    } else {
        let ids: Vec<String> = active.iter().map(|i| i.id.to_string()).collect();
        format!("Open incidents: {}.", ids.join(", "))
    };
    Err(Failure::User(format!("There is no incident {id}. {known}")))
}

/// The incident `id` unless it is closed, which only `reopen` may change.
async fn load_changeable(cx: &mut Cx<'_>, id: IncidentId) -> Result<Incident, Failure> {
    let incident = load(cx, id).await?;
    if incident.state == IncidentState::Closed {
        return Err(Failure::User(format!(
            "Incident {id} is closed, so it cannot be changed. Reopen it first: /incident reopen {}",
            id.0
        )));
    }
    Ok(incident)
}

/// Re-sends the incident's message (the core edits it in place), in the incident channel and in
/// the incident's space; opens the space first when the incident should have one and has none.
pub async fn publish(cx: &mut Cx<'_>, config: &IncidentConfig, id: IncidentId) -> Result<(), PluginError> {
    let Some(incident) = store::get(cx.db(), id).await? else {
        return Ok(());
    };
    // Every change re-sends the message, so this is where a space opens — before anything is sent
    // to it — whether the incident was declared, opened from an alert or raised to `min_severity`.
    let space = space::ensure(cx, config, &incident).await?;
    let checks = store::checks(cx.db(), id, Some(incident.stage)).await?;
    let alerts = store::alerts(cx.db(), id).await?;
    let last_update = store::last_update(cx.db(), id).await?;
    let tracking_issue = tracking::link(cx, id).await?;
    let now = cx.now();
    let message = render::incident_message(
        &config.channel,
        &View {
            incident: &incident,
            checks: &checks,
            alerts: &alerts,
            last_update: last_update.as_ref(),
            tracking_issue: tracking_issue.as_deref(),
            space: space.as_ref().map(|s| s.name.as_str()),
            now,
        },
    );
    cx.send(message.clone()).await?;
    if let Some(space) = space {
        // The same message, keyed the same way: the core keeps one per channel and edits each.
        let mut copy = message;
        copy.channel = space.channel;
        cx.send(copy).await?;
    }
    // Every change of an incident re-sends its message, so this is where its issue follows.
    tracking::sync(cx, config, id).await
}

/// Posts a note in the incident's thread and, when the incident has a space, in the space (as a
/// message of its own there: the space is the incident's conversation).
pub async fn note(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    message: Message,
) -> Result<(), PluginError> {
    let mut threaded = message.clone().in_thread(render::message_key(id));
    threaded.channel = config.channel.as_str().into();
    cx.send(threaded).await?;
    if let Some(space) = space::of(cx, id).await? {
        let mut copy = message;
        copy.channel = space.channel;
        cx.send(copy).await?;
    }
    Ok(())
}

/// A mention of `name` when it is a configured person.
fn mention_of(cx: &Cx<'_>, name: &str) -> Option<Mention> {
    cx.directory()
        .has_person(name)
        .then(|| Mention::Person(name.to_owned()))
}

/// Creates an incident with its detection checklist and emits `incident.opened`.
pub async fn open(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    new: &NewIncident<'_>,
    alert_keys: &[String],
    how: &str,
) -> Result<IncidentId, PluginError> {
    let now = cx.now();
    let id = store::insert(cx.db(), new, now).await?;
    store::enter_stage(
        cx.db(),
        id,
        Stage::Detection,
        config.checklists.of(Stage::Detection),
        now,
    )
    .await?;
    store::record(cx.db(), id, now, new.opened_by, "declared", how).await?;
    cx.publish(&IncidentOpened {
        id: id.0,
        title: new.title.to_owned(),
        severity: new.severity,
        opened_at: Some(now),
        opened_by: new.opened_by.to_owned(),
        repository: new.repository.map(str::to_owned),
        alert_keys: alert_keys.to_vec(),
    })
    .await?;
    Ok(id)
}

async fn declare(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    severity: Severity,
    title: &str,
) -> Outcome {
    let new = NewIncident {
        title,
        severity,
        opened_by: &caller.name,
        repository: None,
        grouping_key: None,
    };
    let id = open(
        cx,
        config,
        &new,
        &[],
        &format!("declared a {severity} incident: {title}"),
    )
    .await?;
    publish(cx, config, id).await?;
    let also = space::of(cx, id)
        .await?
        .map(|s| format!(" and #{}", s.name))
        .unwrap_or_default();
    reply(
        cx,
        caller,
        format!(
            "Declared incident {id} ({severity}): {title}. It is in #{}{also}; acknowledge it with /incident ack {}",
            config.channel, id.0
        ),
    )
    .await
}

async fn ack(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, id: Option<IncidentId>) -> Outcome {
    let id = match id {
        Some(id) => id,
        None => only_unacknowledged(cx, caller).await?,
    };
    let incident = load(cx, id).await?;
    match incident.state {
        IncidentState::Open => {}
        IncidentState::Acknowledged => {
            let by = incident.acknowledged_by.as_deref().unwrap_or("someone");
            let at = incident.acknowledged_at.map(render::time).unwrap_or_default();
            return Err(Failure::User(format!(
                "Incident {id} is already acknowledged (by {by} at {at})."
            )));
        }
        IncidentState::Resolved | IncidentState::Closed => {
            return Err(Failure::User(format!(
                "Incident {id} is {}, so it cannot be acknowledged. To work on it again: /incident reopen {}",
                incident.state, id.0
            )));
        }
    }
    let now = cx.now();
    store::update(cx.db(), id, Change::Acknowledge { by: &caller.name }, now).await?;
    let change = Announcement {
        by: &caller.name,
        kind: "acknowledged",
        timeline: "acknowledged",
        event: IncidentAcknowledged,
        note: format!("✅ {} acknowledged incident {id}.", caller.name),
    };
    announce(cx, config, id, change).await?;
    reply(cx, caller, format!("Acknowledged incident {id}.")).await
}

/// A state change as everyone hears of it: the timeline, the domain event for other plugins, the
/// refreshed incident message and a note in its thread.
struct Announcement<'a, E> {
    by: &'a str,
    kind: &'static str,
    timeline: &'a str,
    /// The domain event's constructor, e.g. `IncidentAcknowledged`.
    event: fn(IncidentChange) -> E,
    note: String,
}

async fn announce<E: DomainEventPayload>(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    change: Announcement<'_, E>,
) -> Result<(), PluginError> {
    let now = cx.now();
    store::record(cx.db(), id, now, change.by, change.kind, change.timeline).await?;
    cx.publish(&(change.event)(changed(id, now, change.by))).await?;
    publish(cx, config, id).await?;
    note(cx, config, id, Message::new("", change.note)).await
}

/// Picks the incident `ack` without an id means: the caller's only unacknowledged one (as commander
/// or assignee), else the only one there is.
async fn only_unacknowledged(cx: &mut Cx<'_>, caller: &Caller<'_>) -> Result<IncidentId, Failure> {
    let waiting: Vec<Incident> = store::list(cx.db(), Filter::Active, 100)
        .await?
        .into_iter()
        .filter(|i| i.state == IncidentState::Open)
        .collect();
    let mine: Vec<&Incident> = waiting
        .iter()
        .filter(|i| i.assignee.as_deref() == Some(&caller.name) || i.commander.as_deref() == Some(&caller.name))
        .collect();
    let all: Vec<&Incident> = waiting.iter().collect();
    match (mine.as_slice(), all.as_slice()) {
        ([only], _) | ([], [only]) => Ok(only.id),
        (_, []) => Err(Failure::User("No incident is waiting for acknowledgement.".to_owned())),
        _ => {
            let ids: Vec<String> = waiting.iter().map(|i| i.id.0.to_string()).collect();
            Err(Failure::User(format!(
                "Several incidents are waiting for acknowledgement: {}. Say which: /incident ack <id>",
                ids.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
            )))
        }
    }
}

async fn assign(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    person: &str,
    commander: bool,
) -> Outcome {
    let incident = load_changeable(cx, id).await?;
    let person = cx.directory().resolve_person(person);
    if person.is_empty() {
        return Err(Failure::User("Say who, e.g. @alice.".to_owned()));
    }
    let (role, current) = if commander {
        ("commander", &incident.commander)
    } else {
        ("assignee", &incident.assignee)
    };
    if current.as_deref() == Some(person.as_str()) {
        return Err(Failure::User(format!(
            "{person} is already the {role} of incident {id}."
        )));
    }
    let now = cx.now();
    if commander {
        store::update(cx.db(), id, Change::Commander(&person), now).await?;
        store::record(
            cx.db(),
            id,
            now,
            &caller.name,
            "commander",
            &format!("named {person} commander"),
        )
        .await?;
    } else {
        store::update(cx.db(), id, Change::Assignee(&person), now).await?;
        store::record(
            cx.db(),
            id,
            now,
            &caller.name,
            "assigned",
            &format!("assigned to {person}"),
        )
        .await?;
        cx.publish(&IncidentAssigned {
            id: id.0,
            assignee: person.clone(),
            at: now,
            by: caller.name.clone(),
        })
        .await?;
    }
    publish(cx, config, id).await?;
    let text = if commander {
        format!("🎖 {} named {person} commander of incident {id}.", caller.name)
    } else {
        format!("👤 {} assigned incident {id} to {person}.", caller.name)
    };
    let mut message = Message::new("", text);
    if let Some(mention) = mention_of(cx, &person) {
        message = message.mention(mention);
    }
    note(cx, config, id, message).await?;
    reply(cx, caller, format!("{person} is now the {role} of incident {id}.")).await
}

async fn update(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, id: IncidentId, text: &str) -> Outcome {
    load_changeable(cx, id).await?;
    let now = cx.now();
    store::record(cx.db(), id, now, &caller.name, "update", text).await?;
    publish(cx, config, id).await?;
    note(cx, config, id, Message::new("", format!("📝 {}: {text}", caller.name))).await?;
    reply(cx, caller, format!("Posted the update to incident {id}.")).await
}

/// Changes severity, recording and announcing it. Used by the command and by linked alerts.
pub async fn set_severity(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    incident: &Incident,
    to: Severity,
    by: &str,
    why: &str,
) -> Result<(), PluginError> {
    let id = incident.id;
    let now = cx.now();
    let from = incident.severity;
    store::update(cx.db(), id, Change::Severity(to), now).await?;
    store::record(
        cx.db(),
        id,
        now,
        by,
        "severity",
        &format!("severity {from} → {to}{why}"),
    )
    .await?;
    cx.publish(&IncidentSeverityChanged {
        id: id.0,
        from: Some(from),
        to,
        at: Some(now),
        by: Some(by.to_owned()),
        opened_at: Some(incident.opened_at),
    })
    .await?;
    publish(cx, config, id).await?;
    note(
        cx,
        config,
        id,
        Message::new(
            "",
            format!(
                "{} {by} changed the severity of incident {id}: {from} → {to}{why}.",
                to.emoji()
            ),
        ),
    )
    .await
}

async fn severity(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    to: Severity,
) -> Outcome {
    let incident = load_changeable(cx, id).await?;
    if incident.severity == to {
        return Err(Failure::User(format!("Incident {id} is already {to}.")));
    }
    set_severity(cx, config, &incident, to, &caller.name, "").await?;
    reply(cx, caller, format!("Incident {id} is now {to}.")).await
}

async fn change_stage(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    to: Stage,
) -> Outcome {
    let incident = load_changeable(cx, id).await?;
    if incident.stage == to {
        return Err(Failure::User(format!("Incident {id} is already in {}.", to.title())));
    }
    let now = cx.now();
    store::enter_stage(cx.db(), id, to, config.checklists.of(to), now).await?;
    store::update(cx.db(), id, Change::Stage(to), now).await?;
    store::record(
        cx.db(),
        id,
        now,
        &caller.name,
        "stage",
        &format!("stage {} → {}", incident.stage.title(), to.title()),
    )
    .await?;
    publish(cx, config, id).await?;
    let items = store::checks(cx.db(), id, Some(to)).await?;
    let text = format!(
        "🧭 {} moved incident {id} to {}.\n{}",
        caller.name,
        to.title(),
        render::checklist(to, &items)
    );
    note(cx, config, id, Message::new("", text)).await?;
    reply(cx, caller, format!("Incident {id} is now in {}.", to.title())).await
}

/// Finds the item a caller named, or says which items there are.
fn find_item<'a>(
    items: &'a [CheckItem],
    stage: Stage,
    id: IncidentId,
    item: &ItemRef,
) -> Result<&'a CheckItem, Failure> {
    let listing = || {
        let lines: Vec<String> = items.iter().map(render::check_line).collect();
        if lines.is_empty() {
            format!("Incident {id}'s {} checklist has no items.", stage.title())
        } else {
            format!("Incident {id}'s {} checklist:\n{}", stage.title(), lines.join("\n"))
        }
    };
    let found: Vec<&CheckItem> = match item {
        ItemRef::Position(_, n) => items.iter().filter(|i| i.position == *n).collect(),
        ItemRef::Words(words) => {
            let words = words.to_lowercase();
            items
                .iter()
                .filter(|i| i.item.to_lowercase().contains(&words))
                .collect()
        }
    };
    match (found.as_slice(), item) {
        ([one], _) => Ok(one),
        ([], ItemRef::Position(_, n)) => Err(Failure::User(format!("There is no item {n}. {}", listing()))),
        ([], ItemRef::Words(words)) => Err(Failure::User(format!("No item matches “{words}”. {}", listing()))),
        (_, _) => Err(Failure::User(format!(
            "Several items match; give the number. {}",
            listing()
        ))),
    }
}

async fn check(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    item: &ItemRef,
) -> Outcome {
    let incident = load_changeable(cx, id).await?;
    let stage = match item {
        ItemRef::Position(Some(stage), _) => *stage,
        _ => incident.stage,
    };
    let items = store::checks(cx.db(), id, Some(stage)).await?;
    if items.is_empty() && stage != incident.stage {
        return Err(Failure::User(format!(
            "Incident {id} has not been in {} yet; it is in {}.",
            stage.title(),
            incident.stage.title()
        )));
    }
    let found = find_item(&items, stage, id, item)?.clone();
    if let Some((by, at)) = &found.checked {
        return Err(Failure::User(format!(
            "“{}” is already ticked (by {by} at {}).",
            found.item,
            render::time(*at)
        )));
    }
    let now = cx.now();
    store::tick(cx.db(), id, stage, found.position, &caller.name, now).await?;
    let what = format!("{} {}. {}", stage.title(), found.position, found.item);
    store::record(cx.db(), id, now, &caller.name, "check", &format!("ticked {what}")).await?;
    publish(cx, config, id).await?;
    let done = items.iter().filter(|i| i.checked.is_some()).count() + 1;
    let text = format!(
        "☑ {} ticked “{}” ({} {done}/{}).",
        caller.name,
        found.item,
        stage.title(),
        items.len()
    );
    note(cx, config, id, Message::new("", text)).await?;
    reply(cx, caller, format!("Ticked {what}.")).await
}

/// Resolves an incident, recording and announcing it. Used by the command, the button and alert
/// closures.
pub async fn resolve_as(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    by: &str,
    summary: Option<&str>,
) -> Result<(), PluginError> {
    let now = cx.now();
    let unacknowledged = store::get(cx.db(), id)
        .await?
        .is_some_and(|i| i.acknowledged_at.is_none());
    if unacknowledged {
        // Resolving is a response: time to acknowledge must not stay open for the audit.
        store::record(cx.db(), id, now, by, "acknowledged", "acknowledged (by resolving)").await?;
    }
    store::update(cx.db(), id, Change::Resolve { by, summary }, now).await?;
    let text = match summary {
        Some(summary) => format!("resolved: {summary}"),
        None => "resolved".to_owned(),
    };
    store::record(cx.db(), id, now, by, "resolved", &text).await?;
    cx.publish(&IncidentResolved {
        id: id.0,
        at: Some(now),
        by: Some(by.to_owned()),
        summary: summary.map(str::to_owned),
    })
    .await?;
    publish(cx, config, id).await?;
    let suffix = summary.map(|s| format!(": {s}")).unwrap_or_default();
    note(
        cx,
        config,
        id,
        Message::new("", format!("🏁 {by} resolved incident {id}{suffix}")),
    )
    .await
}

async fn resolve(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    summary: Option<&str>,
) -> Outcome {
    let incident = load_changeable(cx, id).await?;
    if incident.state == IncidentState::Resolved {
        let by = incident.resolved_by.as_deref().unwrap_or("someone");
        let at = incident.resolved_at.map(render::time).unwrap_or_default();
        return Err(Failure::User(format!(
            "Incident {id} is already resolved (by {by} at {at}). Close it with /incident close {}",
            id.0
        )));
    }
    resolve_as(cx, config, id, &caller.name, summary).await?;
    reply(cx, caller, format!("Resolved incident {id}.")).await
}

async fn reopen(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, id: IncidentId) -> Outcome {
    let incident = load(cx, id).await?;
    if incident.state.is_active() {
        return Err(Failure::User(format!(
            "Incident {id} is {}, not resolved or closed, so there is nothing to reopen.",
            incident.state
        )));
    }
    // Work resumes where it was: an incident someone had acknowledged does not need acknowledging again.
    let to = if incident.acknowledged_at.is_some() {
        IncidentState::Acknowledged
    } else {
        IncidentState::Open
    };
    let now = cx.now();
    if incident.state == IncidentState::Closed {
        store::resume_stage(cx.db(), id, incident.stage, now).await?;
    }
    store::update(cx.db(), id, Change::Reopen { to }, now).await?;
    let change = Announcement {
        by: &caller.name,
        kind: "reopened",
        timeline: &format!("reopened ({to})"),
        event: IncidentReopened,
        note: format!("🔁 {} reopened incident {id}.", caller.name),
    };
    announce(cx, config, id, change).await?;
    reply(cx, caller, format!("Reopened incident {id}; it is {to}.")).await
}

async fn close(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, id: IncidentId) -> Outcome {
    let incident = load(cx, id).await?;
    match incident.state {
        IncidentState::Resolved => {}
        IncidentState::Closed => return Err(Failure::User(format!("Incident {id} is already closed."))),
        IncidentState::Open | IncidentState::Acknowledged => {
            return Err(Failure::User(format!(
                "Incident {id} is {}; resolve it before closing it: /incident resolve {} [summary]",
                incident.state, id.0
            )));
        }
    }
    let now = cx.now();
    store::leave_stage(cx.db(), id, now).await?;
    store::update(cx.db(), id, Change::Close { by: &caller.name }, now).await?;
    let change = Announcement {
        by: &caller.name,
        kind: "closed",
        timeline: "closed",
        event: IncidentClosed,
        note: format!("🔒 {} closed incident {id}.", caller.name),
    };
    announce(cx, config, id, change).await?;
    reply(cx, caller, format!("Closed incident {id}.")).await
}

async fn escalate(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, id: IncidentId) -> Outcome {
    let incident = load(cx, id).await?;
    if !incident.state.is_active() {
        return Err(Failure::User(format!(
            "Incident {id} is {}; there is nothing to escalate.",
            incident.state
        )));
    }
    let now = cx.now();
    store::record(cx.db(), id, now, &caller.name, "escalate", "asked for escalation").await?;
    cx.publish(&IncidentEscalateRequested(changed(id, now, &caller.name)))
        .await?;
    note(
        cx,
        config,
        id,
        Message::new("", format!("🚨 {} asked to escalate incident {id}.", caller.name)),
    )
    .await?;
    reply(cx, caller, format!("Asked for incident {id} to be escalated.")).await
}

async fn list(cx: &mut Cx<'_>, caller: &Caller<'_>, filter: Filter) -> Outcome {
    let incidents = store::list(cx.db(), filter, 50).await?;
    let text = if incidents.is_empty() {
        match filter {
            Filter::Active => "No open incidents.".to_owned(),
            Filter::All => "No incidents yet.".to_owned(),
        }
    } else {
        let heading = match filter {
            Filter::Active => "Open incidents:",
            Filter::All => "Incidents, newest first:",
        };
        let lines: Vec<String> = incidents.iter().map(render::list_line).collect();
        format!("{heading}\n{}", lines.join("\n"))
    };
    reply(cx, caller, text).await
}

async fn show(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, id: IncidentId) -> Outcome {
    let incident = load(cx, id).await?;
    let checks = store::checks(cx.db(), id, Some(incident.stage)).await?;
    let alerts = store::alerts(cx.db(), id).await?;
    let last_update = store::last_update(cx.db(), id).await?;
    let tracking_issue = tracking::link(cx, id).await?;
    let space = space::of(cx, id).await?;
    let now = cx.now();
    let mut message = render::incident_message(
        &config.channel,
        &View {
            incident: &incident,
            checks: &checks,
            alerts: &alerts,
            last_update: last_update.as_ref(),
            tracking_issue: tracking_issue.as_deref(),
            space: space.as_ref().map(|s| s.name.as_str()),
            now,
        },
    );
    // A copy for the caller: not the channel's message, so neither keyed nor clickable.
    message.key = None;
    message.buttons.clear();
    cx.reply_private(caller.origin, message).await?;
    Ok(())
}

async fn timeline(cx: &mut Cx<'_>, caller: &Caller<'_>, id: IncidentId) -> Outcome {
    let incident = load(cx, id).await?;
    let entries = store::timeline(cx.db(), id).await?;
    let lines: Vec<String> = entries.iter().map(render::timeline_line).collect();
    reply(
        cx,
        caller,
        format!("Timeline of incident {id}: {}\n{}", incident.title, lines.join("\n")),
    )
    .await
}

/// The post-mortem of incident `id` as of now, when it exists.
pub async fn post_mortem_markdown(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
) -> Result<Option<String>, PluginError> {
    let Some(incident) = store::get(cx.db(), id).await? else {
        return Ok(None);
    };
    let visits = store::stage_visits(cx.db(), id).await?;
    let checks = store::checks(cx.db(), id, None).await?;
    let alerts = store::alerts(cx.db(), id).await?;
    let entries = store::timeline(cx.db(), id).await?;
    let now = cx.now();
    Ok(Some(postmortem::markdown(&postmortem::Facts {
        incident: &incident,
        visits: &visits,
        checks: &checks,
        alerts: &alerts,
        timeline: &entries,
        lessons: config.checklists.of(Stage::Lessons),
        now,
    })))
}

async fn post_mortem(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, id: IncidentId) -> Outcome {
    let incident = load(cx, id).await?;
    let body = post_mortem_markdown(cx, config, id).await?.unwrap_or_default();
    let now = cx.now();
    store::record(cx.db(), id, now, &caller.name, "postmortem", "posted the post-mortem").await?;
    let issue = tracking::post_mortem(cx, config, id, &body).await?.unwrap_or_default();
    let message = Message::new(
        config.channel.as_str(),
        format!("Post-mortem of incident {id}: {}", incident.title),
    )
    .title(format!("Post-mortem: incident {id} — {}", incident.title))
    .severity(incident.severity)
    .body(body);
    cx.send(message.clone()).await?;
    let mut also = String::new();
    if let Some(space) = space::of(cx, id).await? {
        also = format!(" and #{}", space.name);
        let mut copy = message;
        copy.channel = space.channel;
        cx.send(copy).await?;
    }
    reply(
        cx,
        caller,
        format!(
            "Posted the post-mortem of incident {id} to #{}{also}{issue}.",
            config.channel
        ),
    )
    .await
}
