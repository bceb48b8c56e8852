//! GitHub API requests: plugins ask, the core calls.
//!
//! A plugin never talks to GitHub itself. Inside its handler it calls [`crate::Cx::github`] with a
//! [`GitHubRequest`]; the request is a row in `github_requests`, committed with the rest of the
//! handler's effects. The [`worker`] performs due rows one at a time with reqwest (following
//! `Link: rel="next"` for paginated listings, retrying server and network errors with backoff, and
//! pausing before the rate limit runs low), then answers each with one `github.response` domain event
//! ([`GITHUB_RESPONSE`], payload [`GitHubResponse`]) written in the same transaction that marks the
//! row done. A plugin subscribes to that kind and keeps the responses whose `requester` is its name
//! ([`GitHubResponse::for_plugin`]).
//!
//! - [`request`]: what a plugin asks for and what it gets back.
//! - [`store`]: the `github_requests` table.
//! - [`client`]: the reqwest client and one HTTP exchange, read into plain values.
//! - [`link`]: the `Link` header parser.
//! - [`rate_limit`]: when to hold calls back for GitHub's rate limit (worker, pull, reconcile).
//! - [`worker`]: the task that drains the table.
//! - [`pull`]: pull mode, polling the security alert APIs instead of receiving webhooks.
//! - [`reconcile`]: asking GitHub to redeliver webhook deliveries that failed.

pub mod client;
pub mod link;
pub mod pull;
pub mod rate_limit;
pub mod reconcile;
pub mod request;
pub mod store;
pub mod worker;

pub use request::{GITHUB_RESPONSE, GitHubRequest, GitHubResponse, LookFirst, Method, NO_TOKEN, RateLimit};
