//! The `storm` benchmark's view of the harness's fake Slack
//! (`sentinel_bot::harness::fakes::slack`, the one every test uses): started with Slack's rate
//! limits on the wall clock (a bucket per channel for `chat.postMessage` holding `burst`, Tier 3
//! for `chat.update` and `conversations.history`), and what it recorded read back as the posts,
//! edits, 429s and refusals the bench reports. The limits, formats and answers are the fake's; see
//! its module doc.

use std::collections::HashMap;
use std::time::Duration;

use sentinel_bot::harness::fakes::Call;
pub use sentinel_bot::harness::fakes::slack::FakeSlack;
use serde_json::Value;

/// Messages a channel may post at once before the one-a-second pace applies.
pub const DEFAULT_BURST: f64 = 3.0;

/// A message Slack accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// When it was accepted, since the fake started.
    pub at: Duration,
    /// The channel id.
    pub channel: String,
    /// Its `ts`.
    pub ts: String,
    /// The parent's `ts` for a thread reply.
    pub thread_ts: Option<String>,
    /// The request body as sent (text, blocks or attachments, metadata).
    pub body: Value,
}

/// Everything the fake saw that the bench reports.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// Accepted posts, in order.
    pub posts: Vec<Posted>,
    /// Accepted edits, in order (each as its post would be recorded, `ts` the edited message's).
    pub updates: Vec<Posted>,
    /// 429 answers per method.
    pub rate_limited: HashMap<String, u64>,
    /// Refusals for a message over Slack's limits: (method, why).
    pub refused: Vec<(String, String)>,
}

/// Starts the fake with a per-channel burst of `burst` posts; returns it and its API base URL.
pub async fn start(burst: f64) -> anyhow::Result<(FakeSlack, String)> {
    let fake = FakeSlack::start().await?;
    fake.rate_limit(burst);
    let api = fake.api_url();
    Ok((fake, api))
}

/// What `fake` recorded so far.
pub fn record(fake: &FakeSlack) -> Record {
    let mut record = Record::default();
    for call in fake.calls() {
        let method = call.path.trim_start_matches("/api/").to_owned();
        if call.status == 429 {
            *record.rate_limited.entry(method).or_default() += 1;
        } else if let Some(why) = &call.refused {
            record.refused.push((method, why.clone()));
        } else if call.answer["ok"] == true {
            match method.as_str() {
                "chat.postMessage" => record.posts.push(accepted(&call)),
                "chat.update" => record.updates.push(accepted(&call)),
                _ => {}
            }
        }
    }
    record
}

fn accepted(call: &Call) -> Posted {
    let text = |value: &Value| value.as_str().map(str::to_owned);
    Posted {
        at: call.at,
        channel: text(&call.answer["channel"]).unwrap_or_default(),
        ts: text(&call.answer["ts"]).unwrap_or_default(),
        thread_ts: text(&call.body["thread_ts"]),
        body: call.body.clone(),
    }
}
