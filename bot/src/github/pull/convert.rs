//! One polled item → the inbox event the webhook for the same change would have produced:
//! `{"action", "alert" | "repository_advisory": <the REST item>, "repository"}` under the webhook's
//! event name, keyed by content ([`NewEvent::github_alert_key`]) so a webhook for the same change
//! is the same event. Workflow runs have their own shape and key ([`super::runs`]).

use serde_json::{Value, json};

use super::endpoints::{Endpoint, Source};
use crate::event::NewEvent;

/// Why an item was not turned into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// Its repository is outside `github.allowed_repositories`.
    NotAllowed(String),
    /// A draft advisory: GitHub sends no webhook for those either.
    Draft,
    /// It lacks the number, state, `updated_at` or repository that key it.
    Unkeyed,
    /// A workflow run that has not completed yet: its `completed` webhook is still to come.
    Unfinished,
}

/// The event for `item`, read from `endpoint`.
pub fn event_for(
    endpoint: &Endpoint,
    item: &Value,
    allowed: &[crate::RepoPattern],
) -> Result<(String, NewEvent), Skipped> {
    let repository = repository(endpoint, item).ok_or(Skipped::Unkeyed)?;
    let full_name = repository
        .get("full_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !crate::repo_pattern::allowed(allowed, &full_name) {
        return Err(Skipped::NotAllowed(full_name));
    }
    if endpoint.source == Source::FailedRuns {
        return super::runs::event_for(repository, item).map(|event| (full_name, event));
    }
    let action = action(endpoint.source, item).ok_or(Skipped::Draft)?;
    let event = endpoint.source.event();
    let mut payload = serde_json::Map::new();
    payload.insert("action".into(), Value::from(action));
    payload.insert(endpoint.source.field().into(), item.clone());
    payload.insert("repository".into(), repository);
    let payload = Value::Object(payload);
    let key = NewEvent::github_alert_key(event, &payload).ok_or(Skipped::Unkeyed)?;
    Ok((full_name, NewEvent::github_alert(event, key, payload.to_string())))
}

/// The item's own `repository` (organisation listings have one), or one built from the listing's
/// repository, with its web page taken from the item's (`…/owner/name/security/…`).
fn repository(endpoint: &Endpoint, item: &Value) -> Option<Value> {
    if let Some(repository) = item.get("repository").filter(|r| r.get("full_name").is_some()) {
        return Some(repository.clone());
    }
    let full_name = endpoint.repository.as_deref()?;
    let page = item
        .get("html_url")
        .and_then(Value::as_str)
        .and_then(|url| url.split_once("/security/"))
        .map(|(repo_page, _)| repo_page.to_owned());
    Some(match page {
        Some(html_url) => json!({ "full_name": full_name, "html_url": html_url }),
        None => json!({ "full_name": full_name }),
    })
}

/// The webhook action for the item's current state. An open alert updated after it was created
/// was (most likely) reopened; GitHub's list APIs do not say which change it was.
fn action(source: Source, item: &Value) -> Option<&'static str> {
    let text = |field: &str| item.get(field).and_then(Value::as_str).map(str::trim);
    let state = text("state").unwrap_or_default();
    let reopened = text("updated_at").is_some_and(|updated| Some(updated) != text("created_at"));
    let open = if reopened { "reopened" } else { "created" };
    Some(match (source, state) {
        (Source::Dependabot, "fixed") => "fixed",
        (Source::Dependabot, "dismissed") => "dismissed",
        (Source::Dependabot, "auto_dismissed") => "auto_dismissed",
        (Source::CodeScanning, "fixed") => "fixed",
        (Source::CodeScanning, "dismissed" | "closed") => "closed_by_user",
        (Source::SecretScanning, "resolved") => "resolved",
        (Source::RepositoryAdvisory, "draft") => return None,
        (Source::RepositoryAdvisory, "triage") => "reported",
        (Source::RepositoryAdvisory, _) => "published",
        (_, _) => open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../tests/fixtures/github/{name}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
    }

    fn repo_endpoint(source: Source, repo: &str) -> Endpoint {
        Endpoint {
            path: format!("/repos/{repo}/x"),
            source,
            repository: Some(repo.to_owned()),
        }
    }

    #[test]
    fn a_polled_alert_is_keyed_like_the_webhook_for_the_same_change() {
        for (name, source) in [
            ("dependabot_alert.created", Source::Dependabot),
            ("dependabot_alert.fixed", Source::Dependabot),
        ] {
            let webhook = fixture(name);
            let repo = webhook["repository"]["full_name"].as_str().expect("repo");
            let endpoint = repo_endpoint(source, &repo.to_uppercase());
            let (_, polled) = event_for(&endpoint, &webhook["alert"], &[]).expect("event");
            let payload: Value = serde_json::from_str(&polled.payload).expect("json");
            assert_eq!(payload["action"], webhook["action"], "{name}");
            assert_eq!(
                polled.dedup_key,
                NewEvent::github_alert_key(source.event(), &webhook).expect("webhook key"),
                "{name}"
            );
            assert_eq!(payload["repository"]["html_url"], webhook["repository"]["html_url"]);
        }
    }

    #[test]
    fn actions_follow_the_state() {
        let item = |state: &str, created: &str, updated: &str| json!({"number": 1, "state": state, "created_at": created, "updated_at": updated});
        let t1 = "2026-03-02T09:00:00Z";
        let t2 = "2026-03-02T10:00:00Z";
        assert_eq!(action(Source::Dependabot, &item("open", t1, t1)), Some("created"));
        assert_eq!(action(Source::Dependabot, &item("open", t1, t2)), Some("reopened"));
        assert_eq!(
            action(Source::Dependabot, &item("auto_dismissed", t1, t2)),
            Some("auto_dismissed")
        );
        assert_eq!(
            action(Source::CodeScanning, &item("dismissed", t1, t2)),
            Some("closed_by_user")
        );
        assert_eq!(action(Source::CodeScanning, &item("fixed", t1, t2)), Some("fixed"));
        assert_eq!(
            action(Source::SecretScanning, &item("resolved", t1, t2)),
            Some("resolved")
        );
        assert_eq!(action(Source::SecretScanning, &item("open", t1, t1)), Some("created"));
        assert_eq!(action(Source::RepositoryAdvisory, &item("draft", t1, t1)), None);
        assert_eq!(
            action(Source::RepositoryAdvisory, &item("published", t1, t2)),
            Some("published")
        );
    }

    #[test]
    fn organisation_items_name_their_repository_and_the_allow_list_applies() {
        let endpoint = Endpoint {
            path: "/orgs/acme/secret-scanning/alerts".into(),
            source: Source::SecretScanning,
            repository: None,
        };
        let item = json!({"number": 3, "state": "open", "created_at": "2026-03-02T09:00:00Z",
                          "updated_at": "2026-03-02T09:00:00Z",
                          "repository": {"full_name": "acme/app", "html_url": "https://github.com/acme/app"}});
        let allowed: Vec<crate::RepoPattern> = vec!["acme/api".parse().expect("pattern")];
        assert_eq!(
            event_for(&endpoint, &item, &allowed).map(|_| ()),
            Err(Skipped::NotAllowed("acme/app".into()))
        );
        let (repo, event) = event_for(&endpoint, &item, &[]).expect("event");
        assert_eq!(repo, "acme/app");
        assert_eq!(
            event.dedup_key.as_str(),
            "github-alert:secret_scanning_alert:acme/app:3:open:2026-03-02T09:00:00Z"
        );
        assert_eq!(event.name, "secret_scanning_alert");
        let unkeyed = json!({"number": 3, "state": "open"});
        assert_eq!(event_for(&endpoint, &unkeyed, &[]).map(|_| ()), Err(Skipped::Unkeyed));
    }
}
