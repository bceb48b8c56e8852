//! The generic webhook adapter: POSTs each message as JSON to one URL, for chat systems and bridges
//! Sentinel has no adapter of its own for.
//!
//! Request: `POST <url>` with `Idempotency-Key: <key>` and a JSON body
//! `{"idempotency_key", "channel", "target": {"type": "new" | "update" | "reply" | "ephemeral", ...},
//! "text", "message"}` where `text` is the plain-text rendering and `message` the structured one.
//! Response: any 2xx; a JSON body with an `"id"` string names the message for later edits (else the
//! idempotency key does). 429 and 5xx are retried (honouring `Retry-After`); other 4xx are not.
//!
//! Spaces ([`crate::Cx::open_space`]): opening one is a request of the same shape with
//! `"target": {"type": "open_space", "key", "name", "members"}`, `channel` the parent channel and
//! `text` a line saying what was opened (so a bridge that knows nothing of spaces shows that line).
//! A JSON answer's `"id"` names the space's channel; without one the space's name does. Messages to
//! the space then arrive with that `channel`, like to any channel.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::json;

use super::{ChatAdapter, Delivered, Delivery, DeliveryError, Directory, OpenedSpace, SpaceRequest, Target};
use crate::config::Secret;
use crate::ids::Platform;

/// Delivers messages to one HTTP endpoint.
pub struct WebhookAdapter {
    client: reqwest::Client,
    /// A secret: such URLs carry their credential in the path.
    url: Secret,
    token: Option<Secret>,
    directory: Arc<Directory>,
}

impl WebhookAdapter {
    /// An adapter posting to `url`, with requests timing out after `timeout`.
    pub fn new(
        url: Secret,
        token: Option<Secret>,
        timeout: Duration,
        directory: Arc<Directory>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("sentinel/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            url,
            token,
            directory,
        })
    }
}

#[async_trait]
impl ChatAdapter for WebhookAdapter {
    fn platform(&self) -> Platform {
        Platform::Webhook
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let target = match delivery.target {
            Target::New => json!({"type": "new"}),
            Target::Update { message_id } => json!({"type": "update", "message_id": message_id}),
            Target::Reply { parent_id } => json!({"type": "reply", "parent_id": parent_id}),
            Target::Ephemeral { user, .. } => json!({"type": "ephemeral", "user": user}),
        };
        let body = json!({
            "idempotency_key": delivery.idempotency_key,
            "channel": delivery.channel,
            "target": target,
            "text": delivery.message.to_plain_text(|m| self.directory.render_mention(Platform::Webhook, m)),
            "message": delivery.message,
        });
        let id = self.post(delivery.idempotency_key, &body).await?;
        Ok(Delivered {
            message_id: id.unwrap_or_else(|| delivery.idempotency_key.to_owned()),
        })
    }

    async fn open_space(&self, request: SpaceRequest<'_>) -> Result<OpenedSpace, DeliveryError> {
        let space = request.space;
        let name = space.name.trim();
        let body = json!({
            "idempotency_key": request.idempotency_key,
            "channel": request.parent,
            "target": {"type": "open_space", "key": space.key, "name": name, "members": space.members},
            "text": format!("Opened #{name} (space {})", space.key),
        });
        let id = self.post(request.idempotency_key, &body).await?;
        Ok(OpenedSpace {
            channel_id: id.unwrap_or_else(|| name.to_owned()),
        })
    }
}

impl WebhookAdapter {
    /// POSTs `body`; returns the `"id"` of a JSON answer, when it has one.
    async fn post(&self, key: &str, body: &serde_json::Value) -> Result<Option<String>, DeliveryError> {
        let mut request = self
            .client
            .post(self.url.expose())
            .header("Idempotency-Key", key)
            .json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|err| DeliveryError::Retry {
            after: None,
            // The reason is logged and stored (`outbox.last_error`, `sentinel dead list`).
            reason: format!("request failed: {}", describe(err)),
        })?;
        let status = response.status();
        if status.is_success() {
            let id = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned));
            return Ok(id);
        }
        let after = retry_after(response.headers());
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT
        {
            Err(DeliveryError::Retry {
                after,
                reason: format!("endpoint answered {status}"),
            })
        } else {
            Err(DeliveryError::Permanent(format!("endpoint answered {status}")))
        }
    }
}

/// A request error without the URL (reqwest's text names it, and the URL is a secret): the error
/// and its causes, any URL left in them cut to its scheme and host.
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    strip_url_paths(&text)
}

/// `text` with every `http://` or `https://` URL in it cut to its scheme and host.
pub fn strip_url_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("http://").into_iter().chain(rest.find("https://")).min() {
        let (before, url) = rest.split_at(start);
        out.push_str(before);
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>'))
            .unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        let host_end = url[scheme_end..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| scheme_end + i);
        // Credentials before the host (`user:pass@host`) go too.
        let host = &url[scheme_end..host_end];
        let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
        out.push_str(&url[..scheme_end]);
        out.push_str(host);
        if host_end < url.len() {
            out.push_str("/…");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Reads `Retry-After` as seconds (the form Slack, Discord and most APIs send).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    value
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_error_text_keep_only_scheme_and_host() {
        assert_eq!(
            strip_url_paths("error sending request for url (https://chat.example.com/hooks/T0/B0/s3cret?x=1)"),
            "error sending request for url (https://chat.example.com/…)"
        );
        assert_eq!(
            strip_url_paths("http://user:pw@10.0.0.1:8080/a and http://h"),
            "http://10.0.0.1:8080/… and http://h"
        );
        assert_eq!(strip_url_paths("no url here"), "no url here");
    }

    #[tokio::test]
    async fn a_failed_request_is_described_without_its_url() {
        // Nothing listens on a port that was bound and released a moment ago.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let url = format!("http://127.0.0.1:{port}/hooks/s3cret-path");
        let err = reqwest::Client::new().post(&url).send().await.expect_err("refused");
        assert!(err.to_string().contains("s3cret-path"), "reqwest names the URL: {err}");
        let described = describe(err);
        assert!(!described.contains("s3cret-path"), "{described}");
        assert!(described.contains("error sending request"), "{described}");
    }
}
