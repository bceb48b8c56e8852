//! The configurable parts of normalizing: severity vocabularies and which workflows count.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use sentinel_bot::Severity;

/// How GitHub's various severity vocabularies map to ours. Each feature rates
/// findings differently, and teams disagree on e.g. whether a leaked secret is
/// always critical, so every mapping is configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityMapping {
    /// Advisory severity (`critical`, `high`, `medium`/`moderate`, `low`) used by
    /// Dependabot, advisories and legacy vulnerability alerts. Keys are matched
    /// case-insensitively; a level missing here falls back to its own name, so
    /// a config only needs the levels it changes.
    pub advisory: BTreeMap<String, Severity>,
    /// Code scanning `rule.security_severity_level` (`critical`, `high`,
    /// `medium`, `low`), which security queries carry. Same fallback as `advisory`.
    pub code_scanning_security: BTreeMap<String, Severity>,
    /// Code scanning `rule.severity` (`error`, `warning`, `note`, `none`), used
    /// only when the rule has no security level (style and quality queries).
    pub code_scanning_rule: BTreeMap<String, Severity>,
    /// Every secret scanning alert: a committed credential is usable by anyone who can read it.
    pub secret_scanning: Severity,
    /// A failed security workflow: findings go unreported while it is broken.
    pub workflow_failure: Severity,
    /// When GitHub gives no severity, or one we do not know.
    pub unknown: Severity,
}

impl Default for SeverityMapping {
    fn default() -> Self {
        let identity = |pairs: &[(&str, Severity)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        Self {
            advisory: identity(&[
                ("critical", Severity::Critical),
                ("high", Severity::High),
                ("medium", Severity::Medium),
                ("moderate", Severity::Medium),
                ("low", Severity::Low),
            ]),
            code_scanning_security: identity(&[
                ("critical", Severity::Critical),
                ("high", Severity::High),
                ("medium", Severity::Medium),
                ("low", Severity::Low),
            ]),
            code_scanning_rule: identity(&[
                ("error", Severity::High),
                ("warning", Severity::Medium),
                ("note", Severity::Low),
                ("none", Severity::Low),
            ]),
            secret_scanning: Severity::Critical,
            workflow_failure: Severity::High,
            unknown: Severity::Medium,
        }
    }
}

impl SeverityMapping {
    /// Our severity for an advisory-style level.
    pub(super) fn advisory_level(&self, raw: Option<&str>) -> Severity {
        raw.and_then(|level| lookup(&self.advisory, level).or_else(|| level.parse().ok()))
            .unwrap_or(self.unknown)
    }

    /// Our severity for a code scanning rule: the security level wins because
    /// `rule.severity` says how sure the query is, not how bad the finding is.
    pub(super) fn code_scanning(&self, security_level: Option<&str>, rule_severity: Option<&str>) -> Severity {
        security_level
            .and_then(|level| lookup(&self.code_scanning_security, level).or_else(|| level.parse().ok()))
            .or_else(|| rule_severity.and_then(|level| lookup(&self.code_scanning_rule, level)))
            .unwrap_or(self.unknown)
    }
}

/// Case-insensitive map lookup: GitHub is consistent about case, hand-written
/// configs are not.
fn lookup(map: &BTreeMap<String, Severity>, key: &str) -> Option<Severity> {
    let key = key.trim();
    map.get(key).copied().or_else(|| {
        map.iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    })
}

/// Which workflow runs count as security workflows: most CI failures are not
/// incidents, but a broken scanner silently stops alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowFilter {
    /// Case-insensitive substrings matched against the workflow's name and its
    /// file path. An empty list turns workflow alerts off; `[""]` matches every workflow.
    pub names: Vec<String>,
}

impl Default for WorkflowFilter {
    fn default() -> Self {
        Self {
            names: [
                "codeql",
                "security",
                "scan",
                "dependency-review",
                "trivy",
                "semgrep",
                "gitleaks",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

impl WorkflowFilter {
    /// Whether a workflow name or path is one we alert on.
    #[must_use]
    pub fn matches(&self, name_or_path: &str) -> bool {
        let haystack = name_or_path.to_lowercase();
        self.names
            .iter()
            .any(|needle| haystack.contains(&needle.to_lowercase()))
    }
}
