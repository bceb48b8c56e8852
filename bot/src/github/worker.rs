//! The GitHub worker: performs due `github_requests` rows one at a time and answers each with a
//! `github.response` domain event.
//!
//! Every wait is a row's `next_attempt_at`, so waits survive a restart and follow the [`crate::Clock`]:
//! - server errors (5xx), timeouts and network failures are retried with exponential backoff
//!   (`github.retry_base` doubling up to `github.retry_max`), up to `github.max_attempts`;
//! - refusals (401, 403, 404, 422, other 4xx) are answered at once with GitHub's status and `message`;
//! - when `x-ratelimit-remaining` falls below `github.rate_limit_reserve`, every pending row is held
//!   until `x-ratelimit-reset` (at most an hour ahead); a rate-limited answer (429, or 403 with no
//!   calls left or a `Retry-After`) counts as a failed attempt and holds everything likewise;
//! - a paginated listing that has to wait keeps its pages and resumes at the next one.
//!
//! A POST or PATCH is retried like a GET after a server error or timeout: GitHub may have acted on the
//! first attempt. A creating POST that names where to find what it creates ([`super::LookFirst`]) is
//! looked for before it is sent again (`look`); other requesters must make their writes safe to
//! repeat.
//!
//! Several instances share the table (issue 14 §2): each row is claimed just before it is performed
//! ([`claims::claim`]: a lease of `cluster.lease` and a fencing token) and skipped by the others
//! while the lease runs. A listing renews the claim before each page (each request is also cut off
//! after three quarters of the lease, as a timeout), so a live claim never runs out under it. The
//! answer (the `github.response` event and the row's update, one transaction), a retry and saved
//! progress are recorded only with the current fence: an instance that lost its claim (paused past
//! the lease) rolls back, warns and counts `sentinel_claims_lost_total{work="github"}`. A row whose
//! claimer died is performed again after the lease, as after a restart (see above on POSTs).

use std::sync::Arc;

use crate::store::DbPool;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::client::{self, Answer, GitHubClient};
use super::rate_limit::{MAX_PAUSE, describe, is_rate_limited, pause_end, reserve_pause};
use super::request::{GITHUB_RESPONSE, GitHubResponse, NO_TOKEN, RateLimit};
use super::store::{self, Progress, StoredRequest};
use crate::event::{DomainEvent, NewEvent};
use crate::ids::DedupKey;
use crate::metrics::WorkLabel;
use crate::pipeline::{Shared, Shutdown, Wakers, backoff};
use crate::store::claims::{self, Claim, Work};
use crate::store::inbox;

mod look;

/// What [`Worker::bound`] is, for the timeout's message.
const BOUND: &str = "3/4 of cluster.lease";

/// Rows read per query.
const BATCH: usize = 32;

/// How often the task looks for work nobody woke it for.
const POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the worker until shutdown. Without a token it still runs, answering every request at once
/// with [`NO_TOKEN`], so a requester is never left waiting.
pub async fn run(pool: DbPool, shared: Arc<Shared>, wakers: Wakers, mut shutdown: Shutdown) {
    let mut woken = wakers.github.subscribe();
    let mut worker = Worker::new(pool, shared, wakers);
    loop {
        woken.borrow_and_update();
        // A request in flight may take `github.request_timeout`; shutdown does not wait for it (an
        // unanswered row stays pending and is performed again after the restart).
        let mut stop = shutdown.clone();
        let drained = tokio::select! {
            drained = worker.drain(&shutdown) => drained,
            _ = stop.wait() => return,
        };
        if let Err(err) = drained {
            tracing::error!(cause = ?err, "github worker failed; retrying in 1s");
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = shutdown.wait() => return,
            }
        }
        if shutdown.is_down() {
            return;
        }
        let next = match worker.pool.acquire().await {
            Ok(mut conn) => store::next_due_at(&mut conn).await,
            Err(err) => Err(err),
        };
        let next = next.unwrap_or_else(|err| {
            tracing::error!(cause = ?err, "github worker cannot tell when to look next; looking in 1s");
            Some(worker.shared.clock.now() + Duration::seconds(1))
        });
        let clock = worker.shared.clock.clone();
        tokio::select! {
            _ = woken.changed() => {}
            // A safety net for rows written by another process.
            _ = tokio::time::sleep(POLL) => {}
            _ = async { match next { Some(at) => clock.sleep_until(at).await, None => std::future::pending().await } } => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// The headers worth passing on, from the latest answer that had them.
#[derive(Debug, Default)]
struct Seen {
    rate_limit: RateLimit,
    token_expiration: Option<DateTime<Utc>>,
    oauth_scopes: Option<String>,
}

impl Seen {
    fn update(&mut self, answer: &Answer) {
        if answer.remaining.is_some() || answer.reset.is_some() {
            self.rate_limit = RateLimit {
                remaining: answer.remaining,
                reset: answer.reset,
            };
        }
        if answer.token_expiration.is_some() {
            self.token_expiration = answer.token_expiration;
        }
        if answer.oauth_scopes.is_some() {
            self.oauth_scopes.clone_from(&answer.oauth_scopes);
        }
    }
}

/// How one request ended.
struct Outcome {
    ok: bool,
    status: Option<u16>,
    error: Option<String>,
    items: Option<Vec<Value>>,
    body: Option<Value>,
}

impl Outcome {
    fn failed(status: Option<u16>, error: String) -> Self {
        Self {
            ok: false,
            status,
            error: Some(error),
            items: None,
            body: None,
        }
    }
}

struct Worker {
    pool: DbPool,
    shared: Arc<Shared>,
    wakers: Wakers,
    /// The client, or why there is none (the answer every request gets).
    client: Result<Arc<GitHubClient>, String>,
    /// No request before this instant: the rate-limit window is (nearly) spent.
    paused_until: Option<DateTime<Utc>>,
}

impl Worker {
    fn new(pool: DbPool, shared: Arc<Shared>, wakers: Wakers) -> Self {
        let settings = &shared.config.github;
        let client = match settings.token.as_ref().filter(|t| !t.is_empty()) {
            None => {
                tracing::info!("no GitHub token configured; GitHub API requests will be answered with an error");
                Err(NO_TOKEN.to_owned())
            }
            Some(token) => GitHubClient::new(&settings.api_url, token, settings.request_timeout.std())
                .map(Arc::new)
                .inspect_err(|err| {
                    tracing::error!(cause = %err, "github client unavailable; requests get an error");
                }),
        };
        Self {
            pool,
            shared,
            wakers,
            client,
            paused_until: None,
        }
    }

    /// Handles every due row.
    async fn drain(&mut self, shutdown: &Shutdown) -> Result<(), sqlx::Error> {
        loop {
            let rows = {
                let mut conn = self.pool.acquire().await?;
                store::due(&mut conn, self.shared.clock.now(), BATCH).await?
            };
            if rows.is_empty() {
                return Ok(());
            }
            for row in rows {
                if shutdown.is_down() {
                    return Ok(());
                }
                self.handle(&row).await?;
            }
        }
    }

    /// How long this instance's claims last (`cluster.lease`).
    fn lease(&self) -> Duration {
        Duration::from_std(self.shared.config.cluster.lease.std()).unwrap_or(Duration::seconds(30))
    }

    /// Claims `row` for this instance; `None` when another instance has it (or it is done).
    async fn claim(&self, row: &StoredRequest) -> Result<Option<(StoredRequest, DateTime<Utc>)>, sqlx::Error> {
        let now = self.shared.clock.now();
        let got = {
            let _turn = self.shared.writes.turn().await;
            let mut tx = crate::store::begin_write(&self.pool).await?;
            let got = claims::claim(
                &mut tx,
                Work::GitHub,
                &[row.id],
                &self.shared.instance,
                now,
                now + self.lease(),
            )
            .await?;
            tx.commit().await?;
            got
        };
        Ok(got.first().map(|claim| {
            let mut row = row.clone();
            row.fence = claim.fence;
            row.outcome_unknown = claim.outcome_unknown;
            (row, now)
        }))
    }

    /// How long one request may take: well inside the lease (renewed before each request), so
    /// that a live claim never runs out under a request.
    fn bound(&self) -> std::time::Duration {
        self.shared.config.cluster.lease.std().mul_f64(0.75)
    }

    /// Renews the claim on `row` when it is older than an eighth of the lease; false when it was lost.
    async fn still_held(&self, row: &StoredRequest, claimed_at: &mut DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let now = self.shared.clock.now();
        if now < *claimed_at + self.lease() / 8 {
            return Ok(true);
        }
        let claim = Claim {
            id: row.id,
            fence: row.fence,
            outcome_unknown: false,
        };
        let held = {
            let _turn = self.shared.writes.turn().await;
            let mut conn = self.pool.acquire().await?;
            claims::renew(&mut conn, Work::GitHub, &claim, now + self.lease()).await?
        };
        if held {
            *claimed_at = now;
        } else {
            self.claim_lost(row);
        }
        Ok(held)
    }

    /// Counts and reports a claim another instance took over: nothing is recorded here.
    fn claim_lost(&self, row: &StoredRequest) {
        tracing::warn!(
            id = row.id,
            requester = %row.requester,
            "lost the claim on a github request (another instance took it over after the lease ran out); \
             this instance's outcome is dropped"
        );
        self.shared
            .metrics
            .claims_lost
            .get_or_create(&WorkLabel {
                work: Work::GitHub.label().to_owned(),
            })
            .inc();
    }

    /// Takes one row as far as it can go now: answered, scheduled for a retry, or held by a pause.
    async fn handle(&mut self, row: &StoredRequest) -> Result<(), sqlx::Error> {
        if self.hold_if_paused().await? {
            return Ok(());
        }
        let Some((row, mut claimed_at)) = self.claim(row).await? else {
            return Ok(());
        };
        let row = &row;
        let client = match &self.client {
            Ok(client) => client.clone(),
            Err(reason) => {
                let outcome = Outcome::failed(None, reason.clone());
                return self.answer(row, outcome, Seen::default()).await;
            }
        };
        if let Some(method) = &row.unknown_method {
            let outcome = Outcome::failed(None, format!("unknown method `{method}`"));
            return self.answer(row, outcome, Seen::default()).await;
        }
        if let Err(reason) = client::check_path(&row.request.path) {
            return self.answer(row, Outcome::failed(None, reason), Seen::default()).await;
        }
        let request = &row.request;
        let shared = self.shared.clone();
        let settings = &shared.config.github;
        let mut progress = row.progress.clone();
        let mut target = progress.cursor.clone().unwrap_or_else(|| request.path.clone());
        let mut seen = Seen::default();
        // A creating POST that may already have taken effect is looked for before it is repeated.
        if self.looked_first(&client, row, &mut seen).await? {
            return Ok(());
        }
        loop {
            tracing::debug!(
                id = row.id,
                requester = %row.requester,
                method = %request.method,
                target = %target,
                "github request"
            );
            if !self.still_held(row, &mut claimed_at).await? {
                return Ok(());
            }
            let body = request.body.as_ref();
            let result = client
                .send_within(self.bound(), BOUND, request.method, &target, body)
                .await;
            let now = self.shared.clock.now();
            let answer = match result {
                Ok(answer) => answer,
                Err(reason) => return self.retry_or_give_up(row, &progress, None, reason, None, seen).await,
            };
            seen.update(&answer);
            self.note_rate_limit(&answer, now);
            let status = answer.status;
            if is_rate_limited(&answer) {
                let until = pause_end(&answer, now);
                self.paused_until = self.paused_until.max(Some(until));
                let reason = format!("rate limited: {}", describe(&answer));
                return self
                    .retry_or_give_up(row, &progress, Some(status), reason, Some(until), seen)
                    .await;
            }
            if (500..=599).contains(&status) {
                let reason = describe(&answer);
                return self
                    .retry_or_give_up(row, &progress, Some(status), reason, None, seen)
                    .await;
            }
            if !(200..=299).contains(&status) {
                let outcome = Outcome {
                    body: answer.body.clone(),
                    ..Outcome::failed(Some(status), describe(&answer))
                };
                return self.answer(row, outcome, seen).await;
            }
            if !request.paginate {
                let outcome = Outcome {
                    ok: true,
                    status: Some(status),
                    error: None,
                    items: None,
                    body: answer.body,
                };
                return self.answer(row, outcome, seen).await;
            }
            progress.pages += 1;
            match page_entries(answer.body) {
                Some(entries) => progress.items.extend(entries),
                None => {
                    let error = format!("page {} of the listing is not a JSON list", progress.pages);
                    return self.answer(row, Outcome::failed(Some(status), error), seen).await;
                }
            }
            let next = match answer.next.as_deref().map(|link| client.next_target(link)) {
                None => None,
                Some(Ok(next)) if progress.pages < settings.max_pages => Some(next),
                Some(Ok(_)) => {
                    let error = format!(
                        "truncated: stopped after {} pages (github.max_pages); more results exist",
                        progress.pages
                    );
                    return self.answer_listing(row, progress, status, Some(error), seen).await;
                }
                Some(Err(reason)) => {
                    let error = format!("truncated after {} pages: {reason}", progress.pages);
                    return self.answer_listing(row, progress, status, Some(error), seen).await;
                }
            };
            let Some(next) = next else {
                return self.answer_listing(row, progress, status, None, seen).await;
            };
            progress.cursor = Some(next.clone());
            target = next;
            if self.paused_until.is_some_and(|until| until > self.shared.clock.now()) {
                let mut conn = self.pool.acquire().await?;
                if !store::save_progress(&mut conn, row.id, row.fence, &progress).await? {
                    self.claim_lost(row);
                    return Ok(());
                }
                drop(conn);
                self.hold_if_paused().await?;
                return Ok(());
            }
        }
    }

    /// Holds every pending row while the rate limit is paused. Returns whether it is.
    async fn hold_if_paused(&mut self) -> Result<bool, sqlx::Error> {
        let now = self.shared.clock.now();
        match self.paused_until {
            Some(until) if until > now => {
                let mut conn = self.pool.acquire().await?;
                let held = store::hold_all_until(&mut conn, until).await?;
                if held > 0 {
                    tracing::info!(held, until = %until, "github requests held until the rate limit resets");
                }
                Ok(true)
            }
            _ => {
                self.paused_until = None;
                Ok(false)
            }
        }
    }

    /// Pauses before the next request when the window is running low.
    fn note_rate_limit(&mut self, answer: &Answer, now: DateTime<Utc>) {
        let reserve = self.shared.config.github.rate_limit_reserve;
        if let Some(until) = reserve_pause(answer, reserve, now)
            && self.paused_until.is_none_or(|p| p < until)
        {
            tracing::warn!(remaining = answer.remaining, reserve, until = %until, "github rate limit low; pausing until it resets");
            self.paused_until = Some(until);
        }
    }

    /// Schedules another attempt after a retryable failure, or answers with the failure when the
    /// attempts are spent.
    async fn retry_or_give_up(
        &mut self,
        row: &StoredRequest,
        progress: &Progress,
        status: Option<u16>,
        reason: String,
        not_before: Option<DateTime<Utc>>,
        seen: Seen,
    ) -> Result<(), sqlx::Error> {
        let settings = &self.shared.config.github;
        let attempts = row.attempts.saturating_add(1);
        if attempts >= settings.max_attempts {
            tracing::warn!(
                id = row.id,
                requester = %row.requester,
                attempts,
                cause = %reason,
                "github request given up"
            );
            let error = format!("gave up after {attempts} attempts: {reason}");
            return self.answer(row, Outcome::failed(status, error), seen).await;
        }
        let now = self.shared.clock.now();
        let delay = backoff(settings.retry_base.std(), settings.retry_max.std(), attempts);
        let at = (now + Duration::from_std(delay).unwrap_or(MAX_PAUSE)).max(not_before.unwrap_or(now));
        tracing::warn!(
            id = row.id,
            requester = %row.requester,
            attempts,
            retry_at = %at,
            cause = %reason,
            "github request failed; will retry"
        );
        let _turn = self.shared.writes.turn().await;
        let mut tx = crate::store::begin_write(&self.pool).await?;
        if !(store::save_progress(&mut tx, row.id, row.fence, progress).await?
            && store::mark_retry(&mut tx, row.id, row.fence, at, &reason).await?)
        {
            tx.rollback().await?;
            self.claim_lost(row);
            return Ok(());
        }
        tx.commit().await?;
        Ok(())
    }

    async fn answer_listing(
        &mut self,
        row: &StoredRequest,
        progress: Progress,
        status: u16,
        error: Option<String>,
        seen: Seen,
    ) -> Result<(), sqlx::Error> {
        let outcome = Outcome {
            ok: true,
            status: Some(status),
            error,
            items: Some(progress.items),
            body: None,
        };
        self.answer(row, outcome, seen).await
    }

    /// Stores the `github.response` event and marks the row done, in one transaction.
    async fn answer(&mut self, row: &StoredRequest, outcome: Outcome, seen: Seen) -> Result<(), sqlx::Error> {
        let response = GitHubResponse {
            requester: row.requester.clone(),
            correlation: row.request.correlation.clone(),
            ok: outcome.ok,
            status: outcome.status,
            error: outcome.error,
            items: outcome.items,
            body: outcome.body,
            rate_limit: seen.rate_limit,
            token_expiration: seen.token_expiration,
            oauth_scopes: seen.oauth_scopes,
        };
        let encode = |err: serde_json::Error| sqlx::Error::Encode(Box::new(err));
        let event = DomainEvent {
            kind: GITHUB_RESPONSE.to_owned(),
            payload: serde_json::to_value(&response).map_err(encode)?,
        };
        let new = NewEvent {
            dedup_key: DedupKey(format!("github-response:{}", row.id)),
            kind: "domain",
            name: GITHUB_RESPONSE.to_owned(),
            owner: None,
            payload: serde_json::to_string(&event).map_err(encode)?,
        };
        let now = self.shared.clock.now();
        let turn = self.shared.writes.turn().await;
        let mut tx = crate::store::begin_write(&self.pool).await?;
        if !store::mark_done(&mut tx, row.id, row.fence, response.error.as_deref(), now).await? {
            tx.rollback().await?;
            drop(turn);
            self.claim_lost(row);
            return Ok(());
        }
        inbox::insert(&mut tx, &new, now).await?;
        tx.commit().await?;
        drop(turn);
        self.wakers.dispatcher.wake();
        tracing::info!(
            id = row.id,
            requester = %row.requester,
            ok = response.ok,
            status = response.status,
            error = response.error.as_deref(),
            "github request answered"
        );
        Ok(())
    }
}

/// The entries of one page: a JSON array, or the one array inside an object such as
/// `{"total_count": 2, "workflow_runs": [...]}`. An empty answer is an empty page.
fn page_entries(body: Option<Value>) -> Option<Vec<Value>> {
    match body {
        None => Some(Vec::new()),
        Some(Value::Array(entries)) => Some(entries),
        Some(Value::Object(fields)) => {
            let mut arrays = fields.into_iter().filter_map(|(_, value)| match value {
                Value::Array(entries) => Some(entries),
                _ => None,
            });
            let first = arrays.next()?;
            arrays.next().is_none().then_some(first)
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pages_are_arrays_or_objects_wrapping_one_array() {
        assert_eq!(page_entries(Some(json!([1, 2]))), Some(vec![json!(1), json!(2)]));
        assert_eq!(
            page_entries(Some(json!({"total_count": 1, "workflow_runs": [{"id": 7}]}))),
            Some(vec![json!({"id": 7})])
        );
        assert_eq!(page_entries(None), Some(Vec::new()));
        assert_eq!(page_entries(Some(json!({"a": [], "b": []}))), None);
        assert_eq!(page_entries(Some(json!({"message": "x"}))), None);
        assert_eq!(page_entries(Some(json!("text"))), None);
    }
}
