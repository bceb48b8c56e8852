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
