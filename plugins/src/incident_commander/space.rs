//! The incident's space (`[plugins.incident_commander.space]`): a Slack channel or Discord thread
//! of its own, opened through the core's `Cx::open_space` with the key `incident-<id>`.
//!
//! Whether an incident has a space, and its name, is the timeline entry of kind `space` written in
//! the same transaction as the opening: the core opens a key once whatever replays happen, and the
//! name it was first asked for stays the space's name even if `name_prefix` changes later.

use sentinel_bot::{ChannelRef, Cx, PluginError, Space, SpaceKey};

use super::config::{EVERYONE, IncidentConfig};
use super::model::{Incident, IncidentId};
use super::store;

/// The timeline kind that records a space's opening.
pub const OPENED: &str = "space";
/// The start of that entry's text; the space's name follows (`opened the space #inc-12-x`).
const OPENED_TEXT: &str = "opened the space #";
/// The actor the timeline names for the opening: Sentinel decides it from the configuration.
const SENTINEL: &str = "sentinel";
/// The longest title slug in a name, so the name stays well inside Slack's 80 characters.
const MAX_SLUG: usize = 40;

/// An incident's space: its name as people see it and the logical channel that addresses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSpace {
    /// `inc-12-sql-injection`.
    pub name: String,
    /// `space:incident-12`.
    pub channel: ChannelRef,
}

/// The space key of incident `id`: `incident-<id>`.
pub fn key(id: IncidentId) -> SpaceKey {
    SpaceKey::from(format!("incident-{}", id.0).as_str())
}

/// The title as a channel-name slug: lowercase ASCII letters and digits, everything else one `-`,
/// at most [`MAX_SLUG`] characters, cut at a word boundary when there is one.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    if out.len() > MAX_SLUG {
        // Only ASCII was pushed, so byte positions are character positions.
        out.truncate(MAX_SLUG + 1);
        match out.rfind('-') {
            Some(cut) if cut > 0 => out.truncate(cut),
            _ => out.truncate(MAX_SLUG),
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The name of incident `id`'s space: `<prefix>-<id>-<slug>`, or `<prefix>-<id>` when the title
/// has nothing to slug.
pub fn name(prefix: &str, id: IncidentId, title: &str) -> String {
    match slug(title) {
        slug if slug.is_empty() => format!("{prefix}-{}", id.0),
        slug => format!("{prefix}-{}-{slug}", id.0),
    }
}

/// Who a new space brings in: the configured `invite` (or the responder and commander roles), then
/// whoever declared the incident, its commander and its assignee when they are configured people.
pub fn members(cx: &Cx<'_>, config: &IncidentConfig, incident: &Incident) -> Vec<String> {
    let configured: Vec<String> = match &config.space.invite {
        Some(invite) => invite.clone(),
        None => config
            .roles
            .responder
            .iter()
            .chain(&config.roles.commander)
            .filter(|m| m.as_str() != EVERYONE)
            .cloned()
            .collect(),
    };
    let people = [
        Some(&incident.opened_by),
        incident.commander.as_ref(),
        incident.assignee.as_ref(),
    ];
    let people = people
        .into_iter()
        .flatten()
        .filter(|name| cx.directory().has_person(name))
        .cloned();
    let mut members: Vec<String> = Vec::new();
    for member in configured.into_iter().chain(people) {
        if !members.contains(&member) {
            members.push(member);
        }
    }
    members
}

/// Incident `id`'s space, when it has one. Never opens one.
pub async fn of(cx: &mut Cx<'_>, id: IncidentId) -> Result<Option<IncidentSpace>, PluginError> {
    let recorded = store::timeline_texts(cx.db(), id, OPENED).await?;
    Ok(recorded
        .iter()
        .find_map(|text| text.strip_prefix(OPENED_TEXT))
        .and_then(|rest| rest.split_whitespace().next())
        .map(|name| IncidentSpace {
            name: name.to_owned(),
            channel: ChannelRef::space(&key(id)),
        }))
}

/// The incident's space, opening it first when spaces are on, the incident is active and severe
/// enough, and it has none yet. Call it before sending anything to the space in a handler.
pub async fn ensure(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    incident: &Incident,
) -> Result<Option<IncidentSpace>, PluginError> {
    let settings = &config.space;
    if let Some(existing) = of(cx, incident.id).await? {
        if settings.enabled {
            // Harmless for a platform it is open on; opens it on a platform added since.
            let again = Space::new(key(incident.id), existing.name.as_str(), config.channel.as_str())
                .members(members(cx, config, incident));
            cx.open_space(again).await?;
        }
        return Ok(Some(existing));
    }
    if !settings.enabled || !incident.state.is_active() || incident.severity < settings.min_severity {
        return Ok(None);
    }
    let name = name(&settings.name_prefix, incident.id, &incident.title);
    let members = members(cx, config, incident);
    let space = Space::new(key(incident.id), name.as_str(), config.channel.as_str()).members(members.iter());
    let channel = cx.open_space(space).await?;
    let with = if members.is_empty() {
        String::new()
    } else {
        format!(" with {}", members.join(", "))
    };
    let now = cx.now();
    store::record(
        cx.db(),
        incident.id,
        now,
        SENTINEL,
        OPENED,
        &format!("{OPENED_TEXT}{name}{with}"),
    )
    .await?;
    tracing::info!(incident = incident.id.0, space = %name, "opened the incident's space");
    Ok(Some(IncidentSpace { name, channel }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_prefix_the_id_and_a_slug_of_the_title() {
        assert_eq!(name("inc", IncidentId(12), "SQL injection"), "inc-12-sql-injection");
        assert_eq!(
            name("inc", IncidentId(3), "lodash: prototype pollution (acme/app)"),
            "inc-3-lodash-prototype-pollution-acme-app"
        );
        assert_eq!(name("sec_inc", IncidentId(4), "  Über-leak!! "), "sec_inc-4-ber-leak");
        assert_eq!(name("inc", IncidentId(5), "???"), "inc-5");
        let long = name(
            "inc",
            IncidentId(6),
            "Leaked deploy token found in a public gist of the acme organisation",
        );
        assert_eq!(long, "inc-6-leaked-deploy-token-found-in-a-public");
        assert_eq!(slug(&"a".repeat(60)), "a".repeat(MAX_SLUG));
    }
}
