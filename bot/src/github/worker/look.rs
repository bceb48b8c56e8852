//! Looking before sending a creating POST again (exactly once when an answer was lost): when an
//! earlier attempt of a POST with a [`LookFirst`] may have reached GitHub — it timed out, GitHub
//! answered 5xx, or the instance performing it died and the row was taken over — the worker first
//! reads the listing the requester named and looks for the requester's marker in each entry's
//! `body`. Found: the request is answered with that entry, as if the POST's answer had arrived.
//! Not found: the POST is sent. The listing's own failures count as a failed attempt.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Seen, Worker};
use crate::github::client::GitHubClient;
use crate::github::rate_limit::{describe, is_rate_limited, pause_end};
use crate::github::request::{LookFirst, Method};

/// What looking found.
pub(super) enum Looked {
    /// The entry an earlier attempt created.
    Found(Value),
    /// Nothing: the POST is to be sent.
    NotFound,
    /// The listing could not be read: retry later (at `until` at the earliest, when rate limited).
    Failed {
        status: Option<u16>,
        reason: String,
        until: Option<DateTime<Utc>>,
    },
}

impl Worker {
    /// Reads `look`'s listing and looks for its marker.
    pub(super) async fn look(&mut self, client: &GitHubClient, look: &LookFirst, seen: &mut Seen) -> Looked {
        let bound = self.shared.config.cluster.lease.std().mul_f64(0.75);
        let answer = match tokio::time::timeout(bound, client.send(Method::Get, &look.listing, None)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(reason)) => return failed(None, reason, None),
            Err(_) => return failed(None, format!("no answer within {bound:?} (3/4 of cluster.lease)"), None),
        };
        let now = self.shared.clock.now();
        seen.update(&answer);
        self.note_rate_limit(&answer, now);
        if is_rate_limited(&answer) {
            let until = pause_end(&answer, now);
            self.paused_until = self.paused_until.max(Some(until));
            return failed(
                Some(answer.status),
                format!("rate limited: {}", describe(&answer)),
                Some(until),
            );
        }
        if !(200..=299).contains(&answer.status) {
            let reason = format!("looking for an earlier attempt's result: {}", describe(&answer));
            return failed(Some(answer.status), reason, None);
        }
        match answer.body.as_ref().and_then(|page| look.find_in(page)) {
            Some(found) => Looked::Found(found),
            None => Looked::NotFound,
        }
    }
}

fn failed(status: Option<u16>, reason: String, until: Option<DateTime<Utc>>) -> Looked {
    Looked::Failed { status, reason, until }
}
