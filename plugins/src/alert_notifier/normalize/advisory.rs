//! What the advisory mappers share: the advisory part of an alert and the advisory's identifiers and scores.

use crate::alert_notifier::payload::{Advisory, Vulnerability};

use super::text::{clean, shorten, time};
use super::{Alert, AlertSource, AlertState, SeverityMapping};

/// The part of an alert both advisory events fill the same way.
pub(super) fn advisory_alert(
    source: AlertSource,
    key: String,
    repository: Option<String>,
    advisory: &Advisory,
    ghsa: &str,
    state: AlertState,
    mapping: &SeverityMapping,
) -> Alert {
    let vulnerability = first_vulnerability(advisory).unwrap_or_default();
    let package = vulnerability.package.clone().unwrap_or_default();
    let title = clean(advisory.summary.as_deref()).unwrap_or_else(|| ghsa.to_string());
    let mut alert = Alert::base(
        source,
        repository,
        None,
        mapping.advisory_level(
            clean(advisory.severity.as_deref())
                .or_else(|| clean(vulnerability.severity.as_deref()))
                .as_deref(),
        ),
        state,
        title,
    );
    alert.key = key;
    alert.summary = advisory.description.as_deref().and_then(shorten);
    alert.package = clean(package.name.as_deref());
    alert.ecosystem = clean(package.ecosystem.as_deref());
    alert.vulnerable_range = clean(vulnerability.vulnerable_version_range.as_deref());
    alert.patched_version = patched(&vulnerability);
    alert.cve = cve(advisory);
    alert.ghsa = Some(ghsa.to_string());
    alert.cvss = cvss(advisory);
    alert.created_at = time(advisory.created_at.as_deref()).or_else(|| time(advisory.published_at.as_deref()));
    alert
}

pub(super) fn first_vulnerability(advisory: &Advisory) -> Option<Vulnerability> {
    advisory.vulnerabilities.as_ref().and_then(|list| list.first().cloned())
}

pub(super) fn patched(vulnerability: &Vulnerability) -> Option<String> {
    vulnerability
        .first_patched_version
        .as_ref()
        .and_then(|p| clean(p.identifier.as_deref()))
        .or_else(|| clean(vulnerability.patched_versions.as_deref()))
}

/// `cve_id` is often null while `identifiers` still lists the CVE.
pub(super) fn cve(advisory: &Advisory) -> Option<String> {
    clean(advisory.cve_id.as_deref()).or_else(|| identifier(advisory, "CVE"))
}

pub(super) fn ghsa(advisory: &Advisory) -> Option<String> {
    clean(advisory.ghsa_id.as_deref()).or_else(|| identifier(advisory, "GHSA"))
}

pub(super) fn identifier(advisory: &Advisory, kind: &str) -> Option<String> {
    advisory.identifiers.as_ref().and_then(|ids| {
        ids.iter()
            .find(|id| id.kind.as_deref().is_some_and(|k| k.trim().eq_ignore_ascii_case(kind)))
            .and_then(|id| clean(id.value.as_deref()))
    })
}

/// The deprecated `cvss` first, then v4, then v3. A score of 0 is how GitHub
/// fills the deprecated field once it stops maintaining it, so it counts as absent.
pub(super) fn cvss(advisory: &Advisory) -> Option<f64> {
    let usable = |score: Option<f64>| score.filter(|s| s.is_finite() && *s > 0.0);
    let severities = advisory.cvss_severities.as_ref();
    usable(advisory.cvss.as_ref().and_then(|c| c.score))
        .or_else(|| usable(severities.and_then(|s| s.cvss_v4.as_ref()).and_then(|c| c.score)))
        .or_else(|| usable(severities.and_then(|s| s.cvss_v3.as_ref()).and_then(|c| c.score)))
}
