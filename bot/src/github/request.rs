//! What a plugin asks GitHub for ([`GitHubRequest`]) and what comes back ([`GitHubResponse`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::Event;

/// The domain event kind every answer to a [`GitHubRequest`] arrives as.
pub const GITHUB_RESPONSE: &str = "github.response";

/// The error every request gets when no API token is configured.
pub const NO_TOKEN: &str = "no GitHub token configured (set SENTINEL_GITHUB_TOKEN)";

/// The HTTP methods a plugin may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Read.
    Get,
    /// Create.
    Post,
    /// Update.
    Patch,
}

impl Method {
    /// The method as HTTP spells it, as stored in `github_requests.method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }

    /// The method from its stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PATCH" => Some(Method::Patch),
            _ => None,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One GitHub API call a plugin wants made; see [`crate::Cx::github`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitHubRequest {
    /// The plugin's own id for matching the response, e.g. `audit:42:dependabot:acme/app`.
    pub correlation: String,
    /// The HTTP method.
    pub method: Method,
    /// The path below `github.api_url`, with its query: `/repos/acme/app/dependabot/alerts?state=open`.
    /// It must start with `/`; anything else is answered with an error and never sent.
    pub path: String,
    /// The JSON body of a POST or PATCH.
    pub body: Option<Value>,
    /// Follow `Link: rel="next"` and concatenate every page's JSON array into the response's `items`.
    pub paginate: bool,
    /// For a POST that creates something: where to look for it before sending the POST again
    /// when an earlier attempt may have reached GitHub (its answer was lost: a timeout, a server
    /// error, an instance that died in flight). See [`LookFirst`].
    #[serde(default)]
    pub look_first: Option<LookFirst>,
}

/// How to find out whether a creating POST already took effect: a GET listing of the recent
/// things of its kind, and a marker that the POST's body writes into the created thing's `body`.
/// When an entry of the listing's first page has a `body` containing the marker, the request is
/// answered with that entry (status 200) instead of being sent again; otherwise it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookFirst {
    /// A GET path listing the newest entries first, e.g.
    /// `/repos/acme/app/issues?state=all&sort=created&direction=desc&per_page=100`.
    pub listing: String,
    /// Text only the created entry's `body` contains, e.g. `<!-- sentinel:incident:42 -->`.
    pub marker: String,
    /// Only entries created at or after this time count (their `created_at`): set it a little
    /// before the request was made, so that an older entry with the same marker (another
    /// deployment's, or one from before a reinstall) is never taken for this request's.
    #[serde(default)]
    pub created_since: Option<DateTime<Utc>>,
}

impl LookFirst {
    /// The entry of `page` (a JSON list) whose `body` contains the marker, if any.
    pub fn find_in(&self, page: &Value) -> Option<Value> {
        page.as_array()?
            .iter()
            .find(|entry| {
                let marked = entry
                    .get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|body| body.contains(&self.marker));
                let recent = self.created_since.is_none_or(|since| {
                    entry
                        .get("created_at")
                        .and_then(Value::as_str)
                        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                        .is_some_and(|at| at >= since)
                });
                marked && recent
            })
            .cloned()
    }
}

impl GitHubRequest {
    /// A single GET; the response's `body` holds the JSON answer.
    pub fn get(correlation: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            correlation: correlation.into(),
            method: Method::Get,
            path: path.into(),
            body: None,
            paginate: false,
            look_first: None,
        }
    }

    /// A paginated GET; the response's `items` holds every page's entries (add `per_page=100` to
    /// the path to spend fewer requests).
    pub fn list(correlation: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            paginate: true,
            ..Self::get(correlation, path)
        }
    }

    /// A POST with a JSON body.
    pub fn post(correlation: impl Into<String>, path: impl Into<String>, body: Value) -> Self {
        Self {
            correlation: correlation.into(),
            method: Method::Post,
            path: path.into(),
            body: Some(body),
            paginate: false,
            look_first: None,
        }
    }

    /// This POST creates something that `look` can find: see [`LookFirst`].
    pub fn look_first(self, look: LookFirst) -> Self {
        Self {
            look_first: Some(look),
            ..self
        }
    }

    /// A PATCH with a JSON body.
    pub fn patch(correlation: impl Into<String>, path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::Patch,
            ..Self::post(correlation, path, body)
        }
    }
}

/// The rate-limit window as GitHub last reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimit {
    /// Calls left in the window (`x-ratelimit-remaining`).
    pub remaining: Option<u64>,
    /// When the window resets (`x-ratelimit-reset`).
    pub reset: Option<DateTime<Utc>>,
}

/// The payload of a `github.response` event: the answer to one [`GitHubRequest`].
///
/// `ok` is true when GitHub answered 2xx. A paginated listing cut at `github.max_pages` is still
/// `ok`, with `error` saying it was truncated. Otherwise `error` says why it failed: GitHub's status
/// and `message` for a refusal (401, 403, 404, 422, …, not retried), or the last reason after the
/// retries of server and network errors ran out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GitHubResponse {
    /// The plugin that asked.
    pub requester: String,
    /// The requester's correlation id, as given.
    pub correlation: String,
    /// Whether GitHub answered 2xx.
    pub ok: bool,
    /// The last HTTP status GitHub answered with (none when no answer came).
    pub status: Option<u16>,
    /// Why it failed, or that a listing was truncated.
    pub error: Option<String>,
    /// A paginated request's entries, every page concatenated.
    pub items: Option<Vec<Value>>,
    /// A single request's JSON answer (or GitHub's error body); a text answer as a JSON string.
    pub body: Option<Value>,
    /// The rate-limit window after the request.
    pub rate_limit: RateLimit,
    /// When the token expires (`github-authentication-token-expiration`), for fine-grained tokens.
    pub token_expiration: Option<DateTime<Utc>>,
    /// The token's scopes (`x-oauth-scopes`, e.g. `repo, read:org`), for classic tokens.
    pub oauth_scopes: Option<String>,
}

impl GitHubResponse {
    /// The response carried by `event` when it is a `github.response` for `plugin`; `None` for any
    /// other event, another plugin's response, or a payload that does not read as a response.
    pub fn for_plugin(event: &Event, plugin: &str) -> Option<Self> {
        let Event::Domain(domain) = event else { return None };
        if domain.kind != GITHUB_RESPONSE {
            return None;
        }
        let response: Self = serde_json::from_value(domain.payload.clone()).ok()?;
        (response.requester == plugin).then_some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DomainEvent;

    #[test]
    fn look_first_finds_the_entry_whose_body_has_the_marker() {
        let mut look = LookFirst {
            listing: "/repos/acme/app/issues?state=all".into(),
            marker: "<!-- sentinel:incident:42 -->".into(),
            created_since: None,
        };
        let page = serde_json::json!([
            { "number": 9, "body": null, "created_at": "2026-03-01T10:00:00Z" },
            { "number": 8, "body": "about <!-- sentinel:incident:4 --> only", "created_at": "2026-03-01T10:00:00Z" },
            { "number": 7, "body": "Incident\n<!-- sentinel:incident:42 -->\n", "created_at": "2026-03-01T09:00:00Z" },
            { "number": 6, "body": "<!-- sentinel:incident:42 --> an older copy", "created_at": "2025-01-01T00:00:00Z" },
        ]);
        let number = |look: &LookFirst| look.find_in(&page).and_then(|e| e.get("number").cloned());
        assert_eq!(number(&look), Some(7.into()));
        assert_eq!(
            look.find_in(&serde_json::json!([{ "number": 1, "body": "none" }])),
            None
        );
        assert_eq!(look.find_in(&serde_json::json!({ "message": "not a list" })), None);
        // Created before the request: another deployment's or a reinstall's issue, not this one.
        look.created_since = "2026-03-01T09:00:00Z".parse().ok();
        assert_eq!(number(&look), Some(7.into()));
        look.created_since = "2026-03-01T09:00:01Z".parse().ok();
        assert_eq!(number(&look), None);
    }

    #[test]
    fn a_response_serialises_every_contract_field_with_nulls() {
        let response = GitHubResponse {
            requester: "audit".into(),
            correlation: "c1".into(),
            ok: true,
            status: Some(200),
            ..GitHubResponse::default()
        };
        let value = serde_json::to_value(&response).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({
                "requester": "audit", "correlation": "c1", "ok": true, "status": 200, "error": null,
                "items": null, "body": null, "rate_limit": { "remaining": null, "reset": null },
                "token_expiration": null, "oauth_scopes": null
            })
        );
    }

    #[test]
    fn for_plugin_keeps_only_the_requesters_responses() {
        let event = |requester: &str| {
            Event::Domain(DomainEvent {
                kind: GITHUB_RESPONSE.into(),
                payload: serde_json::json!({ "requester": requester, "correlation": "x", "ok": false }),
            })
        };
        assert_eq!(
            GitHubResponse::for_plugin(&event("audit"), "audit").map(|r| r.correlation),
            Some("x".to_owned())
        );
        assert_eq!(GitHubResponse::for_plugin(&event("other"), "audit"), None);
        let odd = Event::Domain(DomainEvent {
            kind: GITHUB_RESPONSE.into(),
            payload: serde_json::json!(["not", "an", "object"]),
        });
        assert_eq!(GitHubResponse::for_plugin(&odd, "audit"), None);
    }
}
