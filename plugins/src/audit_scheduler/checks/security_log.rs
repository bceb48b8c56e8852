//! The checks of Sentinel's own security log: its entries since the last run, and the
//! authentication failures among them.

use super::answers::{Context, Outcome};
use crate::audit_scheduler::checklist::Check;
use crate::audit_scheduler::render::{fmt_time, plural, plural_noun};

/// Kinds in the security log that are authentication failures.
fn is_auth_failure(kind: &str) -> bool {
    let kind = kind.to_ascii_lowercase();
    ["signature", "unauthori", "forbidden", "denied", "auth", "token"]
        .iter()
        .any(|needle| kind.contains(needle))
}

/// Concludes the security-log checks from the entries counted by kind since the last run.
pub fn evaluate_security_log(check: Check, counts: &[(String, i64)], cx: &Context<'_>) -> Outcome {
    let since = fmt_time(cx.since, cx.tz);
    let relevant: Vec<&(String, i64)> = counts
        .iter()
        .filter(|(kind, _)| check != Check::AuthFailures || is_auth_failure(kind))
        .collect();
    let total: i64 = relevant.iter().map(|(_, n)| n).sum();
    let noun = if check == Check::AuthFailures {
        "authentication failure"
    } else {
        "security log entry"
    };
    if total == 0 {
        return Outcome::new(false, format!("no {} since {since}", plural_noun(noun)));
    }
    let parts: Vec<String> = relevant.iter().map(|(kind, n)| format!("{kind} ×{n}")).collect();
    Outcome::new(
        true,
        format!("{} since {since}: {}", plural(total as usize, noun), parts.join(", ")),
    )
}
