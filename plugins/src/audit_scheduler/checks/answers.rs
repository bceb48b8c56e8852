//! What the evaluation works with: GitHub's answers, the context of the run, and the outcome a
//! check concludes (a verdict and its evidence), with the small readers every check family shares.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sentinel_bot::github::GitHubResponse;
use serde_json::Value;

/// One answered request, as the evaluation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Its kind.
    pub kind: String,
    /// Its repository.
    pub repository: Option<String>,
    /// The response (for a request that timed out: `ok` false and the reason).
    pub response: GitHubResponse,
}

impl Answer {
    /// The entries of a listing, or of a single answer that is a JSON list.
    pub fn entries(&self) -> Vec<Value> {
        match (&self.response.items, &self.response.body) {
            (Some(items), _) => items.clone(),
            (None, Some(Value::Array(items))) => items.clone(),
            _ => Vec::new(),
        }
    }

    pub(super) fn failure(&self) -> Option<String> {
        if self.response.ok && self.response.error.is_none() {
            return None;
        }
        let reason = match (&self.response.error, self.response.status) {
            (Some(error), _) => error.clone(),
            (None, Some(status)) => format!("GitHub answered {status}"),
            (None, None) => "no answer".to_owned(),
        };
        Some(match &self.repository {
            Some(repo) => format!("{repo}: {reason}"),
            None => reason,
        })
    }
}

/// What the check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing for a person to do: the item is ticked by Sentinel.
    Checked,
    /// A person must look: the item stays open with the evidence.
    Flagged,
    /// The check could not be made: the item stays open saying why.
    Failed,
}

/// A verdict and its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// What was found, for people.
    pub evidence: String,
}

impl Outcome {
    pub(super) fn new(flag: bool, evidence: String) -> Self {
        Self {
            verdict: if flag { Verdict::Flagged } else { Verdict::Checked },
            evidence,
        }
    }

    /// An outcome saying the check could not be made.
    pub fn failed(reason: impl std::fmt::Display) -> Self {
        Self {
            verdict: Verdict::Failed,
            evidence: format!("could not check: {reason}"),
        }
    }
}

/// What the evaluation needs besides the answers.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Now.
    pub now: DateTime<Utc>,
    /// The previous run (or the look-back for a first run).
    pub since: DateTime<Utc>,
    /// Display zone.
    pub tz: Tz,
    /// Lowercase security workflow name patterns.
    pub security_workflows: &'a [String],
    /// Token expiry warning window.
    pub token_expiry_warning: chrono::Duration,
    /// Rate-limit warning threshold, percent.
    pub rate_limit_warning_percent: u8,
}

/// When GitHub created an alert (or anything with `created_at`).
pub fn created_at(entry: &Value) -> Option<DateTime<Utc>> {
    entry
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The answers of one request kind.
pub(super) fn of_kind<'a>(answers: &'a [Answer], kind: &'a str) -> impl Iterator<Item = &'a Answer> + 'a {
    answers.iter().filter(move |a| a.kind == kind)
}

/// The repository an answer is about, `?` for one about none.
pub(super) fn repo_of(answer: &Answer) -> &str {
    answer.repository.as_deref().unwrap_or("?")
}

/// The `total_count` of a search answer.
pub(super) fn total_count(answer: &Answer) -> i64 {
    answer
        .response
        .body
        .as_ref()
        .and_then(|b| b.get("total_count"))
        .and_then(Value::as_i64)
        .unwrap_or_default()
}

/// Up to `n` entries, then "and N more".
pub(super) fn sample(entries: &[String], n: usize) -> String {
    let mut text = entries.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if entries.len() > n {
        text.push_str(&format!(" and {} more", entries.len() - n));
    }
    text
}
