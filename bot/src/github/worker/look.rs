//! Looking before sending a creating POST again (exactly once when an answer was lost): when an
//! earlier attempt of a POST with a [`LookFirst`] may have reached GitHub — it timed out, GitHub
//! answered 5xx, or the instance performing it died and the row was taken over — the worker first
//! reads the listing the requester named and looks for the requester's marker in each entry's
//! `body`. Found: the request is answered with that entry, as if the POST's answer had arrived.
//! Not found: the POST is sent. The listing's own failures count as a failed attempt.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{BOUND, Outcome, Seen, Worker};
use crate::github::client::GitHubClient;
use crate::github::rate_limit::{describe, is_rate_limited, pause_end};
use crate::github::request::{LookFirst, Method};
use crate::github::store::StoredRequest;

/// What looking found.
enum Looked {
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
    /// Before sending `row`: when it is a POST with a [`LookFirst`] whose earlier attempt may have
    /// reached GitHub, looks. True when that settled the row (answered with what was found, or
    /// scheduled again because the listing failed): it is not to be sent now.
    pub(super) async fn looked_first(
        &mut self,
        client: &GitHubClient,
        row: &StoredRequest,
        seen: &mut Seen,
    ) -> Result<bool, sqlx::Error> {
        let request = &row.request;
        let (Method::Post, true, Some(look)) = (request.method, row.outcome_unknown, &request.look_first) else {
            return Ok(false);
        };
        match self.look(client, look, seen).await {
            Looked::NotFound => Ok(false),
            Looked::Found(found) => {
                tracing::info!(
                    id = row.id,
                    requester = %row.requester,
                    "an earlier attempt of this github request took effect (found by its marker); not sent again"
                );
                let outcome = Outcome {
                    ok: true,
                    status: Some(200),
                    error: None,
                    items: None,
                    body: Some(found),
                };
                self.answer(row, outcome, std::mem::take(seen)).await?;
                Ok(true)
            }
            Looked::Failed { status, reason, until } => {
                let seen = std::mem::take(seen);
                self.retry_or_give_up(row, &row.progress, status, reason, until, seen)
                    .await?;
                Ok(true)
            }
        }
    }

    /// Reads `look`'s listing and looks for its marker.
    async fn look(&mut self, client: &GitHubClient, look: &LookFirst, seen: &mut Seen) -> Looked {
        let answer = match client
            .send_within(self.bound(), BOUND, Method::Get, &look.listing, None)
            .await
        {
            Ok(answer) => answer,
            Err(reason) => return failed(None, reason, None),
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
