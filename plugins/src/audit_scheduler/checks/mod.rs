//! Automatic checks: which GitHub requests an item needs, and what their answers mean. Pure
//! functions, so every rule is unit-tested without a bot.
//!
//! - [`requests`]: the requests a check makes, and the follow-ups of a `hooks` answer.
//! - [`answers`]: answers, the run's context, outcomes, and the readers every check shares.
//! - One file per check family, each concluding its checks from the answers: [`alerts`] (open
//!   alerts and new advisories), [`workflows`] (failed security workflows, Dependabot pull requests
//!   and merged updates), [`collaborators`], [`webhooks`], [`token`] (token and rate limit) and
//!   [`security_log`] (Sentinel's own log, not GitHub).
//!
//! [`evaluate`] sends each check to its family and turns any failed answer into "could not check".

mod alerts;
mod answers;
mod collaborators;
mod requests;
mod security_log;
mod token;
mod webhooks;
mod workflows;

pub use alerts::{alert_entries, alert_label, alert_severity};
pub use answers::{Answer, Context, Outcome, Verdict, created_at};
pub use requests::{
    CODE_SCANNING_ALERTS, DEPENDABOT_ALERTS, HOOKS, MERGED_UPDATES, Planned, SECRET_SCANNING_ALERTS, alerts_path,
    hook_followups, merged_updates_path, plan,
};
pub use security_log::evaluate_security_log;

use super::checklist::Check;

/// Concludes `check` from its answers. Any failed answer makes the item fail ("could not check"),
/// with what the other answers showed appended: never a silent pass.
pub fn evaluate(check: Check, answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let failures: Vec<String> = answers.iter().filter_map(Answer::failure).collect();
    let good: Vec<Answer> = answers.iter().filter(|a| a.failure().is_none()).cloned().collect();
    let outcome = evaluate_ok(check, &good, cx);
    if failures.is_empty() {
        return outcome;
    }
    let mut evidence = format!("could not check: {}", failures.join("; "));
    if !good.is_empty() {
        evidence.push_str(&format!(" — the rest: {}", outcome.evidence));
    }
    Outcome {
        verdict: Verdict::Failed,
        evidence,
    }
}

/// Concludes a GitHub check from answers that all succeeded.
fn evaluate_ok(check: Check, answers: &[Answer], cx: &Context<'_>) -> Outcome {
    match check {
        Check::DependabotAlerts => alerts::dependabot_alerts(answers, cx),
        Check::NewAdvisories => alerts::new_advisories(answers, cx),
        Check::CodeScanningAlerts => alerts::code_scanning_alerts(answers, cx),
        Check::SecretScanningAlerts => alerts::secret_scanning_alerts(answers, cx),
        Check::OpenAlerts => alerts::open_alerts(answers, cx),
        Check::FailedWorkflows => workflows::failed_workflows(answers, cx),
        Check::DependabotPrs => workflows::dependabot_prs(answers),
        Check::DependencyUpdates => workflows::dependency_updates(answers, cx),
        Check::Collaborators => collaborators::collaborators(answers),
        Check::WebhookDeliveries => webhooks::webhook_deliveries(answers, cx),
        Check::Token => token::token(answers, cx),
        Check::ApiHealth => token::api_health(answers, cx),
        Check::SecurityLog | Check::AuthFailures | Check::Report => Outcome::failed("not a GitHub check"),
    }
}
