//! Delivery workers: one per platform, draining that platform's outbox rows in order.
//!
//! A keyed message becomes an edit once its first version has a platform id; a threaded one becomes
//! a reply under its parent. Failures are retried with exponential backoff, or after the platform's
//! `Retry-After` when it gives one. Order is kept where it matters (an edit after its post, a reply
//! after its parent: see [`outbox::enqueue`]); a failing message holds up nothing else. Among the
//! rows that may go, the most severe go first, and each channel's posts are paced to the
//! platform's rate ([`ChatAdapter::post_interval`]). The worker sleeps until a row can actually be
//! sent: rows held up behind another, or by their channel's pace, do not wake it. Nor are they
//! read: the worker names the channels its pacer holds back when it asks for due rows, so a batch
//! is never filled with rows that cannot go while another channel's row waits behind them (with
//! 100 busy channels it once asked again and again, ~10 ms a question: most of an alert's CPU).
//!
//! A space's opening row (`op = 'space'`) asks the adapter to open it and records the platform's
//! id in `spaces`; messages to `space:<key>` share that row's order key, so they wait for it, and
//! are posted to the recorded id. A message to a space that is not open on its platform is given
//! up on at once, with the reason in the row.
//!
//! Several instances drain one outbox (issue 14 §2). The rows this worker will send now (due, may
//! go, allowed by its pacer) are claimed in one short write transaction ([`claims::claim`]): a
//! lease of `cluster.lease` and a fencing token. Each outcome is recorded only with that token; a
//! claim lost meanwhile (this instance paused past its lease and another took the row over) is
//! dropped, warned about and counted (`sentinel_claims_lost_total{work="outbox"}`), and the new
//! owner looks on the platform before posting. A row taken over from a dead claimer is delivered
//! looking first too. Two bounds keep a live claim from running out under a send: a claim older
//! than an eighth of the lease is renewed just before its row is sent (a batch of slow sends), and
//! one send (the adapter's look-first, post, or a space's create-join-invite calls; adapters never
//! retry or wait inside a call: a 429 comes back as [`DeliveryError::Retry`]) is cut off after
//! three quarters of the lease and counted as an attempt whose outcome is unknown.

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::DbPool;
use chrono::{DateTime, Utc};
use sqlx::Connection;

use super::{Shared, Shutdown, Waker, backoff};
use crate::chat::{ChatAdapter, Delivery, DeliveryError, SpaceRequest, Target};
use crate::ids::{ChannelRef, Platform};
use crate::metrics::{PlatformLabel, WorkLabel};
use crate::store::claims::{self, Claim, Work};
use crate::store::outbox::{self, ChannelDue, Op, Outbound};
use crate::store::spaces::{self, SpaceState};

/// Rows read per query.
const BATCH: usize = 64;

/// Paced-out channels named in one question for due rows at most (a bound on its parameters; the
/// rows of any further ones are still held back, after they are read).
const PACED_OUT_ASKED: usize = 500;

/// How often the task looks for work nobody woke it for.
const POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs one platform's worker until shutdown.
pub async fn run(
    pool: DbPool,
    shared: Arc<Shared>,
    adapter: Arc<dyn ChatAdapter>,
    wake: Waker,
    mut shutdown: Shutdown,
) {
    let mut woken = wake.subscribe();
    let platform = adapter.platform();
    let label = PlatformLabel {
        platform: platform.as_str().to_owned(),
    };
    let mut pacer = Pacer::new(adapter.post_interval());
    // This worker is this instance's only sender for its platform: claims of ours on it were left
    // by a previous run of this worker (restarted after a panic). Take them over now, looking first.
    let expired = match pool.acquire().await {
        Ok(mut conn) => claims::expire_own_outbox(&mut conn, &shared.instance, platform.as_str()).await,
        Err(err) => Err(err),
    };
    if let Err(err) = expired {
        // Not fatal: those claims run out after `cluster.lease` and are taken over then.
        tracing::warn!(%platform, cause = ?err, "could not take over this instance's earlier claims at once");
    }
    loop {
        woken.borrow_and_update();
        shared.metrics.delivery_passes.get_or_create(&label).inc();
        if let Err(err) = drain(&pool, &shared, adapter.as_ref(), &mut pacer, &mut shutdown).await {
            tracing::error!(%platform, cause = ?err, "delivery worker failed; retrying in 1s");
        }
        if shutdown.is_down() {
            return;
        }
        let waiting = match pool.acquire().await {
            Ok(mut conn) => outbox::next_due(&mut conn, platform).await,
            Err(err) => Err(err),
        };
        let next = match waiting {
            Ok(waiting) => pacer.next_wake(&waiting),
            Err(err) => {
                tracing::error!(%platform, cause = ?err, "delivery worker cannot tell when to look next; looking in 1s");
                Some(shared.clock.now() + chrono::Duration::seconds(1))
            }
        };
        let clock = shared.clock.clone();
        tokio::select! {
            _ = woken.changed() => {}
            // A safety net for changes made by another process (`sentinel dead retry`).
            _ = tokio::time::sleep(POLL) => {}
            _ = async { match next { Some(at) => clock.sleep_until(at).await, None => std::future::pending().await } } => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// Delivers every row of the adapter's platform that is due, may go, and whose channel's pace
/// allows it now.
pub async fn drain(
    pool: &DbPool,
    shared: &Shared,
    adapter: &dyn ChatAdapter,
    pacer: &mut Pacer,
    shutdown: &mut Shutdown,
) -> Result<(), sqlx::Error> {
    let platform = adapter.platform();
    loop {
        let now = shared.clock.now();
        let rows = {
            let paced_out = pacer.paced_out(now);
            let mut conn = pool.acquire().await?;
            outbox::due(&mut conn, platform, now, BATCH, &paced_out).await?
        };
        let mut sending = Vec::with_capacity(rows.len());
        for row in rows {
            let paced = row.op != Op::Ephemeral;
            if paced && !pacer.may_post(&row.channel, now) {
                continue;
            }
            if paced {
                pacer.posted(&row.channel, now);
            }
            sending.push(row);
        }
        let claimed_at = shared.clock.now();
        let sending = claim(pool, shared, sending, claimed_at).await?;
        let mut progressed = false;
        for row in sending {
            if shutdown.is_down() {
                return Ok(());
            }
            if !still_held(pool, shared, &row, claimed_at).await? {
                continue;
            }
            // A failed row is retried later; rows that depend on it are not due until then.
            if deliver(pool, shared, adapter, &row).await? {
                progressed = true;
            }
        }
        if !progressed {
            return Ok(());
        }
    }
}

/// How long this instance's claims last (`cluster.lease`).
fn lease(shared: &Shared) -> chrono::Duration {
    chrono::Duration::from_std(shared.config.cluster.lease.std()).unwrap_or(chrono::Duration::seconds(30))
}

/// Claims `rows` for this instance in one write transaction; returns those it got, each with its
/// fence (and marked `outcome_unknown` when taken over from a claimer that left no outcome).
async fn claim(
    pool: &DbPool,
    shared: &Shared,
    rows: Vec<Outbound>,
    now: DateTime<Utc>,
) -> Result<Vec<Outbound>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(rows);
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let got = {
        let _turn = shared.writes.turn().await;
        let mut tx = crate::store::begin_write(pool).await?;
        let got = claims::claim(&mut tx, Work::Outbox, &ids, &shared.instance, now, now + lease(shared)).await?;
        tx.commit().await?;
        got
    };
    let got: HashMap<i64, Claim> = got.into_iter().map(|claim| (claim.id, claim)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|mut row| {
            let claim = got.get(&row.id)?;
            row.fence = claim.fence;
            row.outcome_unknown = claim.outcome_unknown;
            Some(row)
        })
        .collect())
}

/// Renews the claim on `row` when it is older than an eighth of the lease (a batch of slow sends
/// before it), so that the send starts with at least 7/8 of the lease left. False: the claim was
/// lost, do not send.
async fn still_held(
    pool: &DbPool,
    shared: &Shared,
    row: &Outbound,
    claimed_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let now = shared.clock.now();
    if now < claimed_at + lease(shared) / 8 {
        return Ok(true);
    }
    let claim = Claim {
        id: row.id,
        fence: row.fence,
        outcome_unknown: row.outcome_unknown,
    };
    let held = {
        let _turn = shared.writes.turn().await;
        let mut conn = pool.acquire().await?;
        claims::renew(&mut conn, Work::Outbox, &claim, now + lease(shared)).await?
    };
    if !held {
        claim_lost(shared, row);
    }
    Ok(held)
}

/// Counts and reports a claim another instance took over: its outcome here is dropped, the new
/// owner looks first. (No message text in the log.)
fn claim_lost(shared: &Shared, row: &Outbound) {
    tracing::warn!(
        row = row.id,
        channel = %row.channel,
        "lost the claim on an outbox row (another instance took it over after the lease ran out); \
         this instance's outcome is dropped"
    );
    shared
        .metrics
        .claims_lost
        .get_or_create(&WorkLabel {
            work: Work::Outbox.label().to_owned(),
        })
        .inc();
}

/// Runs one send, cut off after three quarters of the lease (see the module doc): a cut-off send
/// may have been carried out, so it ends as [`DeliveryError::Unknown`] and the next attempt looks first.
async fn bounded<T>(
    shared: &Shared,
    send: impl std::future::Future<Output = Result<T, DeliveryError>>,
) -> Result<T, DeliveryError> {
    let bound = shared.config.cluster.lease.std().mul_f64(0.75);
    match tokio::time::timeout(bound, send).await {
        Ok(result) => result,
        Err(_) => Err(DeliveryError::Unknown(format!(
            "no answer within {bound:?} (3/4 of cluster.lease); it may have been carried out"
        ))),
    }
}

/// Spaces a channel's posts to the platform's documented rate (Slack: about one message per second
/// per channel), so a storm is sent at the rate the platform takes instead of being discovered
/// through 429s. In memory: after a restart the first post of a channel goes at once.
#[derive(Debug, Default)]
pub struct Pacer {
    interval: Option<chrono::Duration>,
    last: HashMap<String, DateTime<Utc>>,
}

impl Pacer {
    /// A pacer allowing one post per `interval` per channel (none: no pacing).
    pub fn new(interval: Option<std::time::Duration>) -> Self {
        Self {
            interval: interval
                .filter(|i| !i.is_zero())
                .and_then(|i| chrono::Duration::from_std(i).ok()),
            last: HashMap::new(),
        }
    }

    /// When `channel` may take its next post.
    fn ready_at(&self, channel: &str) -> Option<DateTime<Utc>> {
        Some(*self.last.get(channel)? + self.interval?)
    }

    /// The channels that may not take a post at `now` (at most [`PACED_OUT_ASKED`], those that
    /// posted last), so that the worker asks only for rows that can go. Forgets channels whose
    /// pace allows a post again.
    fn paced_out(&mut self, now: DateTime<Utc>) -> Vec<&str> {
        let Some(interval) = self.interval else {
            return Vec::new();
        };
        self.last.retain(|_, last| *last + interval > now);
        let mut waiting: Vec<(&DateTime<Utc>, &str)> = self
            .last
            .iter()
            .map(|(channel, last)| (last, channel.as_str()))
            .collect();
        if waiting.len() > PACED_OUT_ASKED {
            waiting.sort_unstable_by(|a, b| b.0.cmp(a.0));
            waiting.truncate(PACED_OUT_ASKED);
        }
        waiting.into_iter().map(|(_, channel)| channel).collect()
    }

    fn may_post(&self, channel: &str, now: DateTime<Utc>) -> bool {
        self.ready_at(channel).is_none_or(|at| at <= now)
    }

    fn posted(&mut self, channel: &str, now: DateTime<Utc>) {
        if self.interval.is_some() {
            self.last.insert(channel.to_owned(), now);
        }
    }

    /// When the worker should wake next: the earliest time a row that may go is both due and
    /// allowed by its channel's pace. `None`: nothing is waiting.
    fn next_wake(&self, waiting: &[ChannelDue]) -> Option<DateTime<Utc>> {
        waiting
            .iter()
            .map(|due| match (due.ephemeral, self.ready_at(&due.channel)) {
                (false, Some(ready)) => due.at.max(ready),
                _ => due.at,
            })
            .min()
    }
}

/// Delivers one row; returns whether it is done with (delivered or given up on).
async fn deliver(
    pool: &DbPool,
    shared: &Shared,
    adapter: &dyn ChatAdapter,
    row: &Outbound,
) -> Result<bool, sqlx::Error> {
    let platform = adapter.platform();
    if row.op == Op::Space {
        return open_space(pool, shared, adapter, row).await;
    }
    let mut conn = pool.acquire().await?;
    // A message to a space goes to the channel the space got on this platform.
    let space = ChannelRef::from(row.channel.as_str()).space_key();
    let channel = match &space {
        None => row.channel.clone(),
        Some(key) => match spaces::state(&mut conn, platform, key).await? {
            SpaceState::Open(id) => id,
            SpaceState::Unknown => {
                drop(conn);
                let reason = format!("space `{key}` was never opened on {platform}: call Cx::open_space first");
                return finish(pool, shared, platform, row, Err(DeliveryError::Permanent(reason))).await;
            }
            SpaceState::Requested => {
                drop(conn);
                let reason = format!(
                    "space `{key}` is not open on {platform}: opening it failed (see `sentinel dead list`) \
                     or was asked for after this message"
                );
                return finish(pool, shared, platform, row, Err(DeliveryError::Permanent(reason))).await;
            }
        },
    };
    let existing = match (&row.message.key, row.op) {
        (Some(key), Op::Post) => outbox::find_ref(&mut conn, platform, &row.channel, key.as_str()).await?,
        _ => None,
    };
    let parent = match &row.message.thread {
        Some(thread) if existing.is_none() => {
            outbox::find_ref(&mut conn, platform, &row.channel, thread.as_str()).await?
        }
        _ => None,
    };
    drop(conn);
    let target = match (row.op, &existing, &parent) {
        (Op::Ephemeral, _, _) => Target::Ephemeral {
            user: row.recipient.as_deref().unwrap_or_default(),
            response_url: row.response_url.as_deref(),
        },
        (Op::Post | Op::Space, Some(id), _) => Target::Update { message_id: id },
        (Op::Post | Op::Space, None, Some(parent)) => Target::Reply { parent_id: parent },
        (Op::Post | Op::Space, None, None) => Target::New,
    };
    let result = bounded(
        shared,
        adapter.deliver(Delivery {
            idempotency_key: &row.idempotency_key,
            channel: &channel,
            target,
            message: &row.message,
            in_space: space.is_some(),
            look_first: row.outcome_unknown,
        }),
    )
    .await;
    finish(
        pool,
        shared,
        platform,
        row,
        result.map(|delivered| delivered.message_id),
    )
    .await
}

/// Opens the space of an `op = 'space'` row and records where it is.
async fn open_space(
    pool: &DbPool,
    shared: &Shared,
    adapter: &dyn ChatAdapter,
    row: &Outbound,
) -> Result<bool, sqlx::Error> {
    let platform = adapter.platform();
    let Some(space) = &row.space else {
        let reason = DeliveryError::Permanent("space row without its space".into());
        return finish(pool, shared, platform, row, Err(reason)).await;
    };
    let result = bounded(
        shared,
        adapter.open_space(SpaceRequest {
            idempotency_key: &row.idempotency_key,
            parent: &row.channel,
            space,
        }),
    )
    .await;
    if let Ok(opened) = &result {
        tracing::info!(%platform, space = %space.key, channel = %opened.channel_id, "space opened");
    }
    finish(pool, shared, platform, row, result.map(|opened| opened.channel_id)).await
}

/// Records the outcome of one attempt: delivered (with the platform's id of the message, or of the
/// space an opening row opened), retried later, or given up on. Returns whether the row is done with
/// (false also when the claim was lost: nothing is recorded then, see the module doc).
async fn finish(
    pool: &DbPool,
    shared: &Shared,
    platform: Platform,
    row: &Outbound,
    result: Result<String, DeliveryError>,
) -> Result<bool, sqlx::Error> {
    let label = PlatformLabel {
        platform: platform.as_str().to_owned(),
    };
    let now = shared.clock.now();
    let _turn = shared.writes.turn().await;
    let mut conn = pool.acquire().await?;
    let settings = &shared.config.outbox;
    match result {
        Ok(platform_id) => {
            let mut tx = conn.begin().await?;
            if !outbox::mark_delivered(&mut tx, platform, row, &platform_id, now).await? {
                tx.rollback().await?;
                claim_lost(shared, row);
                return Ok(false);
            }
            if let (Op::Space, Some(space)) = (row.op, &row.space) {
                spaces::opened(&mut tx, platform, &space.key, &platform_id, now).await?;
            }
            tx.commit().await?;
            shared.metrics.delivered.get_or_create(&label).inc();
            Ok(true)
        }
        Err(err @ (DeliveryError::Retry { .. } | DeliveryError::Unknown(_)))
            if row.attempts + 1 < settings.max_attempts =>
        {
            let attempt = row.attempts + 1;
            let (after, unknown) = match &err {
                DeliveryError::Retry { after, .. } => (*after, false),
                _ => (None, true),
            };
            let reason = err.to_string();
            let delay =
                backoff(settings.retry_base.std(), settings.retry_max.std(), attempt).max(after.unwrap_or_default());
            tracing::warn!(%platform, channel = %row.channel, attempt, retry_in = ?delay, cause = %reason, "delivery failed; will retry");
            let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            if !outbox::mark_retry(&mut conn, row.id, row.fence, at, &reason, unknown).await? {
                claim_lost(shared, row);
                return Ok(false);
            }
            shared.metrics.delivery_retries.get_or_create(&label).inc();
            Ok(false)
        }
        Err(err) => {
            if !outbox::mark_failed(&mut conn, row.id, row.fence, &err.to_string()).await? {
                claim_lost(shared, row);
                return Ok(false);
            }
            tracing::error!(%platform, channel = %row.channel, attempts = row.attempts + 1, cause = %err, "delivery given up; listed by `sentinel dead list`");
            shared.metrics.delivery_failures.get_or_create(&label).inc();
            Ok(true)
        }
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
