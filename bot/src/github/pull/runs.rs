//! A polled failed workflow run → the `workflow_run` event (action `completed`) its webhook would
//! have produced: `{"action": "completed", "workflow_run": <the REST run>, "repository", "sender"}`,
//! keyed by content ([`workflow_run_key`]: repository, run id and attempt) so that the webhook for
//! the same run, which the webhook ingress keys the same way, is the same event.

use serde_json::Value;

use super::convert::Skipped;
use crate::event::NewEvent;
use crate::ids::DedupKey;

/// The webhook event name.
pub const EVENT: &str = "workflow_run";

/// The content key of a completed workflow run: `github-workflow-run:{repo}:{run id}:{run attempt}`
/// (the repository lower-cased). A re-run is a new attempt of the same run and so a new key.
/// `None` for other actions (`requested`, `in_progress`) and for payloads missing a part: those
/// are keyed by their delivery id.
pub fn workflow_run_key(payload: &Value) -> Option<DedupKey> {
    if payload.get("action").and_then(Value::as_str) != Some("completed") {
        return None;
    }
    let run = payload.get("workflow_run")?;
    let repo = payload
        .get("repository")
        .and_then(|r| r.get("full_name"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|name| !name.is_empty())?
        .to_ascii_lowercase();
    let id = run.get("id").and_then(Value::as_u64)?;
    let attempt = run.get("run_attempt").and_then(Value::as_u64)?;
    Some(DedupKey(format!("github-workflow-run:{repo}:{id}:{attempt}")))
}

/// The event for the run `item` of `repository` (the run's own `repository` object, or one built
/// from the listing's).
pub fn event_for(repository: Value, item: &Value) -> Result<NewEvent, Skipped> {
    if item.get("status").and_then(Value::as_str) != Some("completed") {
        return Err(Skipped::Unfinished);
    }
    let mut payload = serde_json::Map::new();
    payload.insert("action".into(), Value::from("completed"));
    payload.insert("workflow_run".into(), item.clone());
    payload.insert("repository".into(), repository);
    // The webhook's `sender` is whoever caused the run; the REST run names them as its actor.
    if let Some(actor) = item.get("triggering_actor").or_else(|| item.get("actor")) {
        payload.insert("sender".into(), actor.clone());
    }
    let payload = Value::Object(payload);
    let key = workflow_run_key(&payload).ok_or(Skipped::Unkeyed)?;
    Ok(NewEvent::github_alert(EVENT, key, payload.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../tests/fixtures/github/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
    }

    #[test]
    fn a_polled_run_is_keyed_like_the_webhook_for_the_same_run_and_attempt() {
        let webhook = fixture("workflow_run.completed");
        let run = &webhook["workflow_run"];
        let polled = event_for(run["repository"].clone(), run).expect("event");
        let key = workflow_run_key(&webhook).expect("webhook key");
        assert_eq!(polled.dedup_key, key);
        assert_eq!(key.as_str(), "github-workflow-run:octo-org/octo-repo:289782451:1");
        assert_eq!(polled.name, "workflow_run");
        let payload: Value = serde_json::from_str(&polled.payload).expect("json");
        assert_eq!(payload["action"], "completed");
        assert_eq!(payload["workflow_run"], *run);
        assert_eq!(payload["repository"]["html_url"], webhook["repository"]["html_url"]);
        assert_eq!(payload["sender"]["login"], run["triggering_actor"]["login"]);

        let mut rerun = run.clone();
        rerun["run_attempt"] = json!(2);
        assert_ne!(
            event_for(run["repository"].clone(), &rerun).expect("event").dedup_key,
            key
        );
    }

    #[test]
    fn unfinished_runs_and_other_actions_are_not_content_keyed() {
        let requested = fixture("workflow_run.requested");
        assert_eq!(workflow_run_key(&requested), None);
        assert_eq!(
            event_for(json!({"full_name": "octo-org/octo-repo"}), &requested["workflow_run"]).map(|_| ()),
            Err(Skipped::Unfinished)
        );
        let mut no_attempt = fixture("workflow_run.completed");
        no_attempt["workflow_run"]
            .as_object_mut()
            .expect("run")
            .remove("run_attempt");
        assert_eq!(workflow_run_key(&no_attempt), None);
    }
}
