//! The collaborators check: who has access to each repository, admins and outside collaborators
//! marked.

use serde_json::Value;

use super::answers::{Answer, Outcome, repo_of};
use crate::audit_scheduler::render::plural;

/// A collaborator's permission as GitHub names roles: `admin`, `maintain`, `write`, `triage`, `read`.
fn permission_of(entry: &Value) -> String {
    if let Some(role) = entry.get("role_name").and_then(Value::as_str) {
        return role.to_owned();
    }
    for (flag, name) in [
        ("admin", "admin"),
        ("maintain", "maintain"),
        ("push", "write"),
        ("triage", "triage"),
    ] {
        if entry.pointer(&format!("/permissions/{flag}")).and_then(Value::as_bool) == Some(true) {
            return name.to_owned();
        }
    }
    "read".to_owned()
}

/// Collaborators per repository with their admins: flagged when any is an outside collaborator.
pub(super) fn collaborators(answers: &[Answer]) -> Outcome {
    let mut lines = Vec::new();
    let mut outside_total = 0;
    let mut repos: Vec<&str> = Vec::new();
    for repo in answers.iter().map(repo_of) {
        if !repos.contains(&repo) {
            repos.push(repo);
        }
    }
    for repo in repos {
        let all: Vec<Value> = answers
            .iter()
            .filter(|a| a.kind == "collaborators" && repo_of(a) == repo)
            .flat_map(Answer::entries)
            .collect();
        let outside: Vec<String> = answers
            .iter()
            .filter(|a| a.kind == "outside_collaborators" && repo_of(a) == repo)
            .flat_map(Answer::entries)
            .filter_map(|c| c.get("login").and_then(Value::as_str).map(str::to_owned))
            .collect();
        outside_total += outside.len();
        let login = |c: &Value| c.get("login").and_then(Value::as_str).unwrap_or("?").to_owned();
        let admins: Vec<String> = all
            .iter()
            .filter(|c| permission_of(c) == "admin")
            .map(|c| format!("⚑ {}", login(c)))
            .collect();
        let outsiders: Vec<String> = all
            .iter()
            .filter(|c| outside.contains(&login(c)))
            .map(|c| format!("⚑ {} ({})", login(c), permission_of(c)))
            .collect();
        let mut line = format!("{repo}: {}", plural(all.len(), "collaborator"));
        if !admins.is_empty() {
            line.push_str(&format!("; admins: {}", admins.join(", ")));
        }
        if !outsiders.is_empty() {
            line.push_str(&format!("; outside collaborators: {}", outsiders.join(", ")));
        } else if !outside.is_empty() {
            let marked: Vec<String> = outside.iter().map(|l| format!("⚑ {l}")).collect();
            line.push_str(&format!("; outside collaborators: {}", marked.join(", ")));
        } else {
            line.push_str("; no outside collaborators");
        }
        lines.push(line);
    }
    Outcome::new(outside_total > 0, lines.join(" · "))
}
