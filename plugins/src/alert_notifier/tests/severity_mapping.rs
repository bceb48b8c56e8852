//! The severity mapping: defaults, overrides, unknown fields refused.

use super::*;

#[test]
fn severity_mapping_defaults() {
    let m = SeverityMapping::default();
    assert_eq!(m.advisory.get("moderate"), Some(&Severity::Medium));
    assert_eq!(m.advisory.get("critical"), Some(&Severity::Critical));
    assert_eq!(m.code_scanning_rule.get("error"), Some(&Severity::High));
    assert_eq!(m.code_scanning_rule.get("none"), Some(&Severity::Low));
    assert_eq!(m.secret_scanning, Severity::Critical);
    assert_eq!(m.workflow_failure, Severity::High);
    assert_eq!(m.unknown, Severity::Medium);
    let parsed: SeverityMapping = serde_json::from_value(json!({})).unwrap();
    assert_eq!(parsed, m);
}

#[test]
fn severity_mapping_overrides() {
    let mapping: SeverityMapping = serde_json::from_value(json!({
        "advisory": { "Moderate": "high" },
        "code_scanning_rule": { "note": "medium" },
        "secret_scanning": "high",
        "workflow_failure": "low",
        "unknown": "low"
    }))
    .unwrap();
    let run = |file: &str| {
        normalize(event_of(file), &load(file), &mapping, &WorkflowFilter::default())
            .unwrap()
            .unwrap()
            .alert
            .severity
    };
    // Overridden (case-insensitively)…
    assert_eq!(run("security_advisory.published.json"), Severity::High);
    assert_eq!(run("code_scanning_alert.reopened.json"), Severity::Medium);
    assert_eq!(run("secret_scanning_alert.reopened.json"), Severity::High);
    // …and levels the override map omits keep their own meaning.
    assert_eq!(run("security_advisory.withdrawn.json"), Severity::Critical);
    // A rule severity the map no longer lists falls to `unknown`.
    assert_eq!(run("code_scanning_alert.created.json"), Severity::Low);

    let p = failed_run("failure", "CodeQL");
    let c = normalize("workflow_run", &p, &mapping, &WorkflowFilter::default())
        .unwrap()
        .unwrap();
    assert_eq!(c.alert.severity, Severity::Low);

    // A missing severity uses `unknown`.
    let mut p = load("security_advisory.published.json");
    p["security_advisory"]["severity"] = json!(null);
    p["security_advisory"]["vulnerabilities"] = json!([]);
    let c = normalize("security_advisory", &p, &mapping, &WorkflowFilter::default())
        .unwrap()
        .unwrap();
    assert_eq!(c.alert.severity, Severity::Low);
}

#[test]
fn severity_mapping_rejects_unknown_fields() {
    let err = serde_json::from_value::<SeverityMapping>(json!({ "secrets": "low" })).unwrap_err();
    assert!(err.to_string().contains("secrets"), "{err}");
    let mapping: BTreeMap<String, Severity> = serde_json::from_value(json!({ "x": "critical" })).unwrap();
    assert_eq!(mapping.get("x"), Some(&Severity::Critical));
}
