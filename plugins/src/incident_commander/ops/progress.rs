//! The work on an active incident: its commander and assignee, status updates, severity, stage
//! and checklist.

use sentinel_bot::{Cx, Message, PluginError, Severity};

use super::super::commands::ItemRef;
use super::super::config::IncidentConfig;
use super::super::model::{CheckItem, Incident, IncidentId, Stage};
use super::super::render::{self};
use super::super::store::{self, Change};
use super::message::{mention_of, note, publish};
use super::{Caller, load_changeable, reply};
use crate::domain::{IncidentAssigned, IncidentSeverityChanged};

pub(super) async fn assign(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    person: &str,
    commander: bool,
) -> Result<(), PluginError> {
    let incident = load_changeable(cx, id).await?;
    let person = cx.directory().resolve_person(person);
    if person.is_empty() {
        return Err(PluginError::User("Say who, e.g. @alice.".to_owned()));
    }
    let (role, current) = if commander {
        ("commander", &incident.commander)
    } else {
        ("assignee", &incident.assignee)
    };
    if current.as_deref() == Some(person.as_str()) {
        return Err(PluginError::User(format!(
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

pub(super) async fn update(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    text: &str,
) -> Result<(), PluginError> {
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

pub(super) async fn severity(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    to: Severity,
) -> Result<(), PluginError> {
    let incident = load_changeable(cx, id).await?;
    if incident.severity == to {
        return Err(PluginError::User(format!("Incident {id} is already {to}.")));
    }
    set_severity(cx, config, &incident, to, &caller.name, "").await?;
    reply(cx, caller, format!("Incident {id} is now {to}.")).await
}

pub(super) async fn change_stage(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    to: Stage,
) -> Result<(), PluginError> {
    let incident = load_changeable(cx, id).await?;
    if incident.stage == to {
        return Err(PluginError::User(format!(
            "Incident {id} is already in {}.",
            to.title()
        )));
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
pub(super) fn find_item<'a>(
    items: &'a [CheckItem],
    stage: Stage,
    id: IncidentId,
    item: &ItemRef,
) -> Result<&'a CheckItem, PluginError> {
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
        ([], ItemRef::Position(_, n)) => Err(PluginError::User(format!("There is no item {n}. {}", listing()))),
        ([], ItemRef::Words(words)) => Err(PluginError::User(format!("No item matches “{words}”. {}", listing()))),
        (_, _) => Err(PluginError::User(format!(
            "Several items match; give the number. {}",
            listing()
        ))),
    }
}

pub(super) async fn check(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    item: &ItemRef,
) -> Result<(), PluginError> {
    let incident = load_changeable(cx, id).await?;
    let stage = match item {
        ItemRef::Position(Some(stage), _) => *stage,
        _ => incident.stage,
    };
    let items = store::checks(cx.db(), id, Some(stage)).await?;
    if items.is_empty() && stage != incident.stage {
        return Err(PluginError::User(format!(
            "Incident {id} has not been in {} yet; it is in {}.",
            stage.title(),
            incident.stage.title()
        )));
    }
    let found = find_item(&items, stage, id, item)?.clone();
    if let Some((by, at)) = &found.checked {
        return Err(PluginError::User(format!(
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
