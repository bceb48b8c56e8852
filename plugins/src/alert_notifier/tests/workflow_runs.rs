//! Workflow runs: only failures of security workflows are alerts, as the workflow filter decides.

use super::*;

#[test]
fn workflow_run_fixtures_are_not_alerts() {
    // completed/success, in_progress and requested: nothing to report.
    for file in [
        "workflow_run.completed.json",
        "workflow_run.in_progress.json",
        "workflow_run.requested.json",
    ] {
        let p = load(file);
        assert_eq!(normalize_default("workflow_run", &p), Ok(None), "{file}");
    }
    assert_eq!(
        load("workflow_run.completed.json")["workflow_run"]["conclusion"],
        json!("success")
    );
}

#[test]
fn workflow_run_failure_of_security_workflow() {
    let c = change_of("workflow_run", &failed_run("failure", "CodeQL"));
    let a = &c.alert;
    assert_eq!(a.key, "workflow:octo-org/octo-repo:289782451");
    assert_eq!(a.source, AlertSource::Workflow);
    assert_eq!(a.repository.as_deref(), Some("octo-org/octo-repo"));
    assert_eq!(a.number, Some(163));
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.state, AlertState::Failed);
    assert!(!a.state.is_closed());
    assert_eq!(a.title, "Workflow “CodeQL” failed on master");
    assert_eq!(a.summary.as_deref(), Some("Conclusion: failure (commit 3484a3f)"));
    assert_eq!(a.branch.as_deref(), Some("master"));
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/octo-org/octo-repo/actions/runs/289782451")
    );
    assert_eq!(a.created_at, Some(ts("2020-10-05T16:33:24Z")));
    assert_eq!(c.action, "completed");
    assert_eq!(c.actor.as_deref(), Some("Codertocat"));
    assert_eq!(c.note, "Run #163 concluded: failure");
}

#[test]
fn workflow_filter_decides_which_failures_alert() {
    for conclusion in [
        "failure",
        "timed_out",
        "cancelled",
        "startup_failure",
        "action_required",
    ] {
        let p = failed_run(conclusion, "Trivy container scan");
        let c = change_of("workflow_run", &p);
        assert_eq!(
            c.alert.summary.as_deref(),
            Some(format!("Conclusion: {conclusion} (commit 3484a3f)").as_str())
        );
    }
    for conclusion in ["success", "skipped", "neutral", "stale"] {
        let p = failed_run(conclusion, "CodeQL");
        assert_eq!(normalize_default("workflow_run", &p), Ok(None), "{conclusion}");
    }

    // The fixture's workflow is called "test" (run name ""): not a security workflow…
    let p = failed_run("failure", "");
    assert_eq!(normalize_default("workflow_run", &p), Ok(None));
    // …unless configured, and then the definition's name titles the alert.
    let filter: WorkflowFilter = serde_json::from_value(json!({ "names": ["TEST"] })).unwrap();
    let c = normalize("workflow_run", &p, &SeverityMapping::default(), &filter)
        .unwrap()
        .unwrap();
    assert_eq!(c.alert.title, "Workflow “test” failed on master");

    // Matching on the path works too.
    let mut p = failed_run("failure", "");
    p["workflow_run"]["path"] = json!(".github/workflows/gitleaks.yml");
    assert!(normalize_default("workflow_run", &p).unwrap().is_some());

    // An empty list switches workflow alerts off.
    let off = WorkflowFilter { names: vec![] };
    let p = failed_run("failure", "CodeQL");
    assert_eq!(
        normalize("workflow_run", &p, &SeverityMapping::default(), &off),
        Ok(None)
    );
}

#[test]
fn workflow_filter_defaults_and_config() {
    let f = WorkflowFilter::default();
    assert!(f.matches("CodeQL Analysis"));
    assert!(f.matches("Dependency-Review"));
    assert!(f.matches(".github/workflows/semgrep.yml"));
    assert!(!f.matches("test"));
    assert!(!f.matches("Build & deploy"));
    assert!(
        WorkflowFilter {
            names: vec![String::new()]
        }
        .matches("anything")
    );

    let parsed: WorkflowFilter = serde_json::from_value(json!({})).unwrap();
    assert_eq!(parsed, WorkflowFilter::default());
    assert!(serde_json::from_value::<WorkflowFilter>(json!({ "name": ["x"] })).is_err());
}
