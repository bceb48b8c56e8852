//! The webhook check: the repositories' webhooks and their deliveries that failed since the last
//! run.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::answers::{Answer, Context, Outcome, of_kind, repo_of};
use super::requests::{HOOK_DELIVERIES, HOOKS};
use crate::audit_scheduler::render::{fmt_time, plural};

/// Failed webhook deliveries since the last run, per hook with their status codes: any is flagged.
pub(super) fn webhook_deliveries(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let hooks: usize = of_kind(answers, HOOKS).map(|a| a.entries().len()).sum();
    let mut failures: BTreeMap<String, (usize, Vec<i64>)> = BTreeMap::new();
    let mut checked = 0;
    for answer in of_kind(answers, HOOK_DELIVERIES) {
        for delivery in answer.entries() {
            let at = delivery
                .get("delivered_at")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            if at.is_some_and(|t| t < cx.since) {
                continue;
            }
            checked += 1;
            let code = delivery.get("status_code").and_then(Value::as_i64).unwrap_or_default();
            let status = delivery.get("status").and_then(Value::as_str).unwrap_or("OK");
            if code >= 400 || code == 0 || !status.eq_ignore_ascii_case("ok") {
                let hook = delivery.get("hook_id").and_then(Value::as_i64);
                let key = match hook {
                    Some(id) => format!("{} hook {id}", repo_of(answer)),
                    None => repo_of(answer).to_owned(),
                };
                let entry = failures.entry(key).or_default();
                entry.0 += 1;
                if !entry.1.contains(&code) {
                    entry.1.push(code);
                }
            }
        }
    }
    let since = fmt_time(cx.since, cx.tz);
    if hooks == 0 {
        return Outcome::new(false, "no repository webhooks configured".to_owned());
    }
    let total: usize = failures.values().map(|(n, _)| n).sum();
    if total == 0 {
        return Outcome::new(
            false,
            format!(
                "no failed deliveries since {since} ({} checked, {})",
                plural(checked, "delivery"),
                plural(hooks, "webhook")
            ),
        );
    }
    let parts: Vec<String> = failures
        .iter()
        .map(|(hook, (n, codes))| {
            let codes: Vec<String> = codes
                .iter()
                .map(|c| {
                    if *c == 0 {
                        "no response".to_owned()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            format!("{hook}: {n}× {}", codes.join("/"))
        })
        .collect();
    Outcome::new(
        true,
        format!(
            "{} since {since}: {}",
            plural(total, "failed delivery"),
            parts.join(", ")
        ),
    )
}
