//! The post-mortem: a markdown report of one incident, from its row, stage visits, checklists,
//! alerts and timeline.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::model::{CheckItem, Incident, IncidentState, LinkedAlert, Stage, StageVisit, TimelineEntry};
use super::render::{span, time, timeline_line};

/// Everything a post-mortem is made from.
pub struct Facts<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// Its stage visits.
    pub visits: &'a [StageVisit],
    /// Every stage's checklist.
    pub checks: &'a [CheckItem],
    /// Its alerts.
    pub alerts: &'a [LinkedAlert],
    /// Its timeline.
    pub timeline: &'a [TimelineEntry],
    /// The lessons-learned items from config (used when the incident never reached that stage).
    pub lessons: &'a [String],
    /// Now.
    pub now: DateTime<Utc>,
}

fn sla_line(
    name: &str,
    deadline: Option<DateTime<Utc>>,
    done: Option<DateTime<Utc>>,
    breached: bool,
    now: DateTime<Utc>,
) -> String {
    let Some(deadline) = deadline else {
        return format!("- {name}: no deadline planned");
    };
    let verdict = match done {
        Some(done) if done <= deadline && !breached => "met".to_owned(),
        Some(done) if done > deadline => format!("breached (late by {})", span(deadline, done)),
        None if now > deadline => format!("breached (overdue by {})", span(deadline, now)),
        _ if breached => "breached".to_owned(),
        _ => "pending".to_owned(),
    };
    format!("- {name}: {verdict} (deadline {})", time(deadline))
}

/// The report, as markdown.
pub fn markdown(facts: &Facts<'_>) -> String {
    let incident = facts.incident;
    let mut out = format!("# Post-mortem: incident {} — {}\n\n", incident.id, incident.title);

    out.push_str("## Summary\n");
    out.push_str(
        incident
            .summary
            .as_deref()
            .unwrap_or("(no resolution summary was given)"),
    );
    out.push_str("\n\n");
    out.push_str(&format!("- Severity: {}\n", incident.severity));
    out.push_str(&format!("- State: {}\n", incident.state));
    out.push_str(&format!(
        "- Commander: {}\n",
        incident.commander.as_deref().unwrap_or("none named")
    ));
    out.push_str(&format!(
        "- Assignee: {}\n",
        incident.assignee.as_deref().unwrap_or("none")
    ));
    out.push_str(&format!(
        "- Opened: {} by {}\n",
        time(incident.opened_at),
        incident.opened_by
    ));
    match (incident.acknowledged_at, &incident.acknowledged_by) {
        (Some(at), by) => out.push_str(&format!(
            "- Acknowledged: {} by {} — time to acknowledge: {}\n",
            time(at),
            by.as_deref().unwrap_or("unknown"),
            span(incident.opened_at, at)
        )),
        (None, _) => out.push_str("- Acknowledged: not yet\n"),
    }
    match (incident.resolved_at, &incident.resolved_by) {
        (Some(at), by) => out.push_str(&format!(
            "- Resolved: {} by {} — time to resolve: {}\n",
            time(at),
            by.as_deref().unwrap_or("unknown"),
            span(incident.opened_at, at)
        )),
        (None, _) => out.push_str("- Resolved: not yet\n"),
    }
    if let Some(at) = incident.closed_at {
        out.push_str(&format!(
            "- Closed: {} by {}\n",
            time(at),
            incident.closed_by.as_deref().unwrap_or("unknown")
        ));
    }

    out.push_str("\n## SLA\n");
    out.push_str(&sla_line(
        "Response",
        incident.respond_by,
        incident.acknowledged_at,
        incident.response_breached,
        facts.now,
    ));
    out.push('\n');
    out.push_str(&sla_line(
        "Resolution",
        incident.resolve_by,
        incident.resolved_at,
        incident.resolution_breached,
        facts.now,
    ));
    out.push('\n');

    out.push_str("\n## Time in each stage\n");
    // A stage still under way counts until now, or until the incident was closed.
    let end = incident
        .closed_at
        .filter(|_| incident.state == IncidentState::Closed)
        .unwrap_or(facts.now);
    let mut per_stage: BTreeMap<Stage, chrono::Duration> = BTreeMap::new();
    for visit in facts.visits {
        let left = visit.left_at.unwrap_or(end);
        *per_stage.entry(visit.stage).or_insert_with(chrono::Duration::zero) += left - visit.entered_at;
    }
    if per_stage.is_empty() {
        out.push_str("- (no stage recorded)\n");
    }
    for (stage, spent) in &per_stage {
        let current = if *stage == incident.stage && incident.state != IncidentState::Closed {
            " (current)"
        } else {
            ""
        };
        out.push_str(&format!(
            "- {}: {}{current}\n",
            stage.title(),
            sentinel_bot::builtin::describe(*spent)
        ));
    }

    out.push_str("\n## Linked alerts\n");
    if facts.alerts.is_empty() {
        out.push_str("- none\n");
    }
    for alert in facts.alerts {
        let url = alert.url.as_ref().map(|u| format!(" — {u}")).unwrap_or_default();
        out.push_str(&format!("- {}{url}\n", alert.describe()));
    }

    out.push_str("\n## Checklists\n");
    let mut stages: Vec<Stage> = facts.checks.iter().map(|c| c.stage).collect();
    stages.dedup();
    if stages.is_empty() {
        out.push_str("- none\n");
    }
    for stage in stages {
        let items: Vec<&CheckItem> = facts.checks.iter().filter(|c| c.stage == stage).collect();
        let done = items.iter().filter(|c| c.checked.is_some()).count();
        out.push_str(&format!("- {}: {done}/{} done\n", stage.title(), items.len()));
        for item in items.iter().filter(|c| c.stage != Stage::Lessons) {
            out.push_str(&format!("  - {}\n", checkbox(item)));
        }
    }

    out.push_str("\n## Timeline\n");
    for entry in facts.timeline {
        out.push_str(&format!("- {}\n", timeline_line(entry)));
    }

    out.push_str("\n## Lessons learned\n");
    let lessons: Vec<&CheckItem> = facts.checks.iter().filter(|c| c.stage == Stage::Lessons).collect();
    if lessons.is_empty() {
        for item in facts.lessons {
            out.push_str(&format!("- [ ] {item}\n"));
        }
    } else {
        for item in lessons {
            out.push_str(&format!("- {}\n", checkbox(item)));
        }
    }
    out.push_str("- What went well:\n- What should change:\n");
    out
}

fn checkbox(item: &CheckItem) -> String {
    match &item.checked {
        Some((by, at)) => format!("[x] {} ({by}, {})", item.item, time(*at)),
        None => format!("[ ] {}", item.item),
    }
}
