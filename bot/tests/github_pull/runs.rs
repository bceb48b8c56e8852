//! Failed workflow runs: the runs listing is asked for failed runs only; a failed run becomes one
//! `workflow_run` event (action `completed`), a successful one none; an unchanged listing is a
//! free 304; a re-run that fails again is a new event; a run seen by webhook and by poll is one
//! event in either order.

use super::*;

/// A workflow run as the REST API lists it: the real `workflow_run.completed` webhook's run
/// (REST runs have the webhook run's shape), moved to `acme/app` and the test's time.
fn run(id: u64, attempt: u64, conclusion: &str, created: DateTime<Utc>, updated: DateTime<Utc>) -> Value {
    let path = format!(
        "{}/../tests/fixtures/github/workflow_run.completed.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut run = fixture["workflow_run"].clone();
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    run["id"] = json!(id);
    run["run_attempt"] = json!(attempt);
    run["name"] = json!("CodeQL");
    run["path"] = json!(".github/workflows/codeql.yml");
    run["conclusion"] = json!(conclusion);
    run["created_at"] = json!(time(created));
    run["run_started_at"] = json!(time(updated));
    run["updated_at"] = json!(time(updated));
    run["html_url"] = json!(format!("https://github.com/acme/app/actions/runs/{id}"));
    run["repository"]["full_name"] = json!("acme/app");
    run["repository"]["html_url"] = json!("https://github.com/acme/app");
    run
}

/// The `workflow_run` webhook GitHub sends when `run` of `acme/app` completes.
fn run_webhook(run: &Value) -> Value {
    json!({
        "action": "completed",
        "workflow_run": run,
        "workflow": {"name": "CodeQL", "path": ".github/workflows/codeql.yml"},
        "repository": {"full_name": "acme/app", "html_url": "https://github.com/acme/app"},
        "sender": {"login": "octocat"},
    })
}

fn failed(id: u64) -> Seen {
    Seen {
        event: "workflow_run".into(),
        action: "completed".into(),
        number: id,
        state: "failure".into(),
    }
}

#[tokio::test]
async fn a_failed_run_is_one_event_a_successful_one_none_and_a_failed_rerun_a_new_one() {
    let h = Harness::start_runs().await;
    let first = h.requests_to(RUNS);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].target, format!("{RUNS}?status=failure&per_page=100"));

    let t = test_start() + Duration::minutes(1);
    h.fake.upsert(RUNS, run(101, 1, "success", t, t));
    h.fake.upsert(RUNS, run(102, 1, "failure", t, t + Duration::minutes(2)));
    h.next_round().await;
    assert_eq!(h.seen(), [failed(102)], "the successful run is not an event");
    assert_eq!(h.inbox_rows().await, 1);

    h.next_round().await;
    let unchanged = h.requests_to(RUNS).pop().unwrap();
    assert_eq!((unchanged.if_none_match.is_some(), unchanged.status), (true, 304));
    assert_eq!(h.seen().len(), 1);

    // Run 102 re-run (attempt 2, same id and creation time) and failed again: news.
    h.fake.upsert(RUNS, run(102, 2, "failure", t, t + Duration::minutes(8)));
    h.next_round().await;
    assert_eq!(h.seen(), [failed(102), failed(102)]);
    let keys: Vec<String> = sqlx::query_scalar("SELECT dedup_key FROM inbox WHERE kind = 'github' ORDER BY id")
        .fetch_all(h.bot().pool())
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "github-workflow-run:acme/app:102:1",
            "github-workflow-run:acme/app:102:2"
        ]
    );
    h.stop().await;
}

#[tokio::test]
async fn a_run_seen_by_webhook_and_by_poll_is_one_event_in_either_order() {
    let h = Harness::start_runs().await;
    let t = test_start() + Duration::minutes(1);

    // Webhook first, then the poll lists the same run.
    let early = run(201, 1, "failure", t, t);
    assert_eq!(
        h.webhook("workflow_run", "delivery-run-1", &run_webhook(&early)).await,
        (202, "accepted".to_owned())
    );
    h.fake.upsert(RUNS, early.clone());
    h.next_round().await;
    assert_eq!(h.seen(), [failed(201)]);

    // Poll first, then the webhook for that run arrives, and a redelivery of the first.
    let late = run(202, 1, "failure", t, t + Duration::minutes(3));
    h.fake.upsert(RUNS, late.clone());
    h.next_round().await;
    assert_eq!(h.seen(), [failed(201), failed(202)]);
    assert_eq!(
        h.webhook("workflow_run", "delivery-run-2", &run_webhook(&late)).await,
        (200, "duplicate".to_owned())
    );
    assert_eq!(
        h.webhook("workflow_run", "delivery-run-1", &run_webhook(&early)).await,
        (200, "duplicate".to_owned())
    );
    assert_eq!(h.seen().len(), 2);
    assert_eq!(h.inbox_rows().await, 2);
    h.stop().await;
}
