//! `[web]`: the web status page's section (the page itself is the `sentinel-web` crate).

use serde::Deserialize;

use super::duration::HumanDuration;

/// `[web]`: the read-only status page under `/web`, served by the same HTTP server. Sign-in is by a
/// single-use link `/sentinel web` sends privately in chat; the link gives a session cookie.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// The address people open Sentinel at, as their browser sees it (e.g. `https://sentinel.example.com`;
    /// required). Sign-in links start with it, and the session cookie is marked `Secure` when it is `https`.
    pub public_url: String,
    /// How long a sign-in link stays valid (it works once).
    #[serde(default = "WebConfig::default_link_ttl")]
    pub link_ttl: HumanDuration,
    /// How long a session lasts after sign-in; then the person asks `/sentinel web` again.
    #[serde(default = "WebConfig::default_session_ttl")]
    pub session_ttl: HumanDuration,
}

impl WebConfig {
    fn default_link_ttl() -> HumanDuration {
        HumanDuration::minutes(10)
    }

    fn default_session_ttl() -> HumanDuration {
        HumanDuration::hours(12)
    }

    /// `public_url` without a trailing slash, for joining paths to it.
    pub fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// True when people reach Sentinel over TLS, so cookies must be `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url.trim().to_ascii_lowercase().starts_with("https://")
    }
}
