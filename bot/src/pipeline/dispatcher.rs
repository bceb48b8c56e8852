//! The dispatcher: hands each inbox event to every plugin that wants it.
//!
//! A batch of events is handled in one synced transaction (group commit); each (event, plugin)
//! runs inside its own savepoint, so a failing plugin's effects roll back alone while the others'
//! commit. A failed handling is retried with exponential backoff (only that plugin runs again) and,
//! after `pipeline.max_attempts`, parked as dead: logged, counted and listed by `sentinel dead list`.
//!
//! Acknowledgements come first: while inputs are queueing for the inbox, the dispatcher takes small
//! batches and pauses between them (`pipeline.under_load_dispatch_*`), so a burst of webhooks is
//! stored and answered in time and handled right after; meanwhile events still flow, only slower.
//!
//! Several instances on one PostgreSQL database (issue 14 §2): each batch transaction first takes
//! the cluster-wide dispatch turn (`pg_try_advisory_xact_lock`, [`inbox::try_dispatch_turn`]) and
//! reads its batch `FOR UPDATE SKIP LOCKED`. Dispatch is thereby serialised across the cluster just
//! as SQLite's single writer serialises it, and it must be: plugins' handlers read, then write their
//! state (the audit log's `MAX(id) + 1`, an incident's `record_change` / `enter_stage`, the order of
//! one alert's events), which row locks on inbox rows alone would not protect. Handling is short
//! database work; the throughput lost is small next to the commit each batch costs. The turn is
//! *tried*, not waited for: an instance that finds it taken gives up its own write turn (its ingest
//! must not wait behind another instance's batch) and tries again shortly; the instance that holds
//! the turn handles every pending event anyway, whoever stored it. A killed instance's turn and row
//! locks go with its connection; a paused one loses them after `cluster.lease`
//! (`idle_in_transaction_session_timeout`), and its late commit fails.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use crate::store::DbPool;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use sqlx::Connection;
use tracing::Instrument;

use super::router::Router;
use super::{Shared, Shutdown, Wakers, backoff};
use crate::config::PipelineConfig;
use crate::cx::{Cx, Effects};
use crate::event::{Event, Origin};
use crate::ids::EventId;
use crate::message::Message;
use crate::metrics::HandledLabels;
use crate::plugin::PluginError;
use crate::store::inbox::{self, Handling, Outcome, PendingRow};
use crate::supervisor::panic_message;

/// How often the task looks for work nobody woke it for.
const POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// How soon the dispatcher tries again when another instance holds the dispatch turn.
const BUSY_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs the dispatcher until shutdown.
pub async fn run(pool: DbPool, shared: Arc<Shared>, router: Arc<Router>, wakers: Wakers, mut shutdown: Shutdown) {
    let mut woken = wakers.dispatcher.subscribe();
    loop {
        woken.borrow_and_update();
        loop {
            let waiting = shared.ingest_waiting.load(std::sync::atomic::Ordering::Relaxed);
            let pace = Pace::new(&shared.config.pipeline, waiting);
            match dispatch_batch(&pool, &shared, &router, &wakers, pace.batch).await {
                Ok(Some(0)) => break,
                // Another instance is dispatching: it handles what is pending; look again shortly.
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(BUSY_RETRY) => {}
                        _ = shutdown.wait() => return,
                    }
                }
                Ok(Some(_)) => {
                    if shutdown.is_down() {
                        return;
                    }
                    if let Some(pause) = pace.pause {
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = shutdown.wait() => return,
                        }
                    }
                }
                Err(err) => {
                    tracing::error!(cause = ?err, "dispatch failed; retrying in 1s");
                    tokio::select! {
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                        _ = shutdown.wait() => return,
                    }
                }
            }
        }
        let retry_at = match pool.acquire().await {
            Ok(mut conn) => inbox::next_retry_at(&mut conn).await,
            Err(err) => Err(err),
        };
        let retry_at = retry_at.unwrap_or_else(|err| {
            tracing::error!(cause = ?err, "dispatcher cannot tell when a retry is due; looking in 1s");
            Some(shared.clock.now() + chrono::Duration::seconds(1))
        });
        let clock = shared.clock.clone();
        tokio::select! {
            _ = woken.changed() => {}
            // A safety net for changes made by another process (`sentinel dead retry`).
            _ = tokio::time::sleep(POLL) => {}
            _ = async { match retry_at { Some(at) => clock.sleep_until(at).await, None => std::future::pending().await } } => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// How much the dispatcher takes on next, and whether it pauses after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pace {
    batch: usize,
    pause: Option<std::time::Duration>,
}

impl Pace {
    /// Full batches when nobody waits for the inbox; small batches and pauses while `waiting` senders do.
    fn new(settings: &PipelineConfig, waiting: usize) -> Self {
        let pause = settings.under_load_dispatch_pause.std();
        if waiting > 0 && !pause.is_zero() {
            Self {
                batch: settings.under_load_dispatch_batch.max(1),
                pause: Some(pause),
            }
        } else {
            Self {
                batch: settings.dispatch_batch.max(1),
                pause: None,
            }
        }
    }
}

/// Whether a batch that has handled `handled` events ends now because `waiting` inputs wait for the
/// write turn. The first event is always handled, so the dispatcher still makes progress under load.
fn hand_over(handled: usize, waiting: usize) -> bool {
    handled > 0 && waiting > 0
}

/// Handles one batch of at most `limit` due events, fewer when inputs are waiting for the inbox.
/// Returns how many events it handled, or `None` when another instance holds the dispatch turn.
pub async fn dispatch_batch(
    pool: &DbPool,
    shared: &Shared,
    router: &Router,
    wakers: &Wakers,
    limit: usize,
) -> Result<Option<usize>, sqlx::Error> {
    let asked = std::time::Instant::now();
    let turn = shared.writes.turn().await;
    let got = std::time::Instant::now();
    let mut tx = crate::store::begin_write(pool).await?;
    if !inbox::try_dispatch_turn(&mut tx).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let now = shared.clock.now();
    let rows = inbox::next_batch(&mut tx, now, limit.max(1)).await?;
    if rows.is_empty() {
        tx.rollback().await?;
        return Ok(Some(0));
    }
    let mut effects = Effects::default();
    let mut finished: Vec<EventId> = Vec::with_capacity(rows.len());
    let mut handled = 0;
    for row in &rows {
        // Inputs waiting for the inbox wait for this turn: hand it over after every event then, so
        // an acknowledgement waits for one event's handling, not a batch's. The rest stay pending.
        if hand_over(
            handled,
            shared.ingest_waiting.load(std::sync::atomic::Ordering::Relaxed),
        ) {
            break;
        }
        handled += 1;
        // Instrumented, never entered: an entered span held across an await leaks into other tasks.
        let span =
            tracing::info_span!("event", id = row.id.0, key = %row.dedup_key, kind = %row.kind, name = %row.name);
        match handle_event(&mut tx, shared, router, row, now, &mut effects)
            .instrument(span)
            .await?
        {
            None => finished.push(row.id),
            Some(retry_at) => inbox::postpone(&mut tx, row.id, retry_at).await?,
        }
    }
    inbox::finish(&mut tx, &finished, now).await?;
    tx.commit().await?;
    drop(turn);
    shared.metrics.write_turn("dispatcher", asked, got);
    if effects.timers {
        wakers.timers.wake();
    }
    if effects.messages {
        wakers.delivery.wake();
    }
    if effects.github {
        wakers.github.wake();
    }
    Ok(Some(handled))
}

/// Runs every plugin that still has to handle `row`. Returns when the event must be looked at again
/// (a plugin is waiting to retry), or `None` when it is finished.
async fn handle_event(
    tx: &mut crate::store::Conn,
    shared: &Shared,
    router: &Router,
    row: &PendingRow,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let stored = match row.decode() {
        Ok(stored) => stored,
        Err(err) => {
            // Nothing can ever handle it; park it visibly rather than loop on it.
            tracing::error!(cause = %err, "undecodable inbox row parked as dead");
            let error = err.to_string();
            let outcome = Outcome::Dead {
                attempts: 1,
                error: &error,
            };
            inbox::record_handling(tx, row.id, super::router::BUILTIN, outcome, now).await?;
            return Ok(None);
        }
    };
    let prior: Vec<Handling> = if row.passes > 0 {
        inbox::handling_of(tx, row.id).await?
    } else {
        Vec::new()
    };
    let settings = &shared.config.pipeline;
    let mut wait_until: Option<DateTime<Utc>> = None;
    let mut succeeded: Vec<&'static str> = Vec::new();
    for plugin in router.plugins_for(&stored) {
        let name = plugin.name();
        let before = prior.iter().find(|h| h.plugin == name);
        let attempts = match before {
            Some(h) if h.state == "done" || h.state == "dead" => continue,
            Some(h) if h.next_attempt_at.is_some_and(|at| at > now) => {
                wait_until = earliest(wait_until, h.next_attempt_at);
                continue;
            }
            Some(h) => h.attempts,
            None => 0,
        };
        let mut savepoint = tx.begin().await?;
        let mut plugin_effects = Effects::default();
        let result = {
            let mut cx = Cx::new(&mut savepoint, shared, name, row.id, &mut plugin_effects);
            // A panicking handler is that plugin's failure on this event, like an error: its
            // savepoint rolls back and the event is retried, then parked; the dispatcher goes on.
            AssertUnwindSafe(plugin.handle(&mut cx, &stored.event))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err(PluginError::Panicked(panic_message(panic))))
        };
        match result {
            Ok(()) => {
                savepoint.commit().await?;
                effects.timers |= plugin_effects.timers;
                effects.messages |= plugin_effects.messages;
                effects.events |= plugin_effects.events;
                effects.github |= plugin_effects.github;
                succeeded.push(name);
                count(shared, name, "ok");
            }
            Err(PluginError::User(text)) => {
                savepoint.rollback().await?;
                tracing::info!(plugin = name, answer = %text, "user error answered privately");
                answer_caller(tx, shared, name, row.id, &stored.event, &text, effects).await?;
                succeeded.push(name);
                count(shared, name, "user_error");
            }
            Err(err) => {
                savepoint.rollback().await?;
                let attempts = attempts + 1;
                let error = err.to_string();
                if attempts >= settings.max_attempts {
                    tracing::error!(plugin = name, attempts, cause = %error, "plugin gave up on event; parked as dead");
                    let outcome = Outcome::Dead {
                        attempts,
                        error: &error,
                    };
                    inbox::record_handling(tx, row.id, name, outcome, now).await?;
                    count(shared, name, "dead");
                    answer_caller(tx, shared, name, row.id, &stored.event, SOMETHING_WENT_WRONG, effects).await?;
                } else {
                    let delay = backoff(settings.retry_base.std(), settings.retry_max.std(), attempts);
                    let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    tracing::warn!(plugin = name, attempts, retry_in = ?delay, cause = %error, "plugin failed; will retry");
                    let outcome = Outcome::Retry {
                        attempts,
                        error: &error,
                        at,
                    };
                    inbox::record_handling(tx, row.id, name, outcome, now).await?;
                    wait_until = earliest(wait_until, Some(at));
                    count(shared, name, "retry");
                }
            }
        }
    }
    if wait_until.is_some() {
        // The event comes back; remember who is done so only the failed plugin runs again.
        for name in succeeded {
            inbox::record_handling(tx, row.id, name, Outcome::Done, now).await?;
        }
    }
    Ok(wait_until)
}

/// What the caller of a command or button hears when handling it failed for good; the cause is
/// in the log and in `sentinel dead list`, never in chat.
pub const SOMETHING_WENT_WRONG: &str = "Something went wrong while handling that; it was logged.";

/// The person behind a command or click, if the event has one.
fn caller_of(event: &Event) -> Option<&Origin> {
    match event {
        Event::Command(command) => Some(&command.origin),
        Event::Action(action) => Some(&action.origin),
        Event::GitHub(_) | Event::Timer(_) | Event::Schedule(_) | Event::Domain(_) => None,
    }
}

/// Answers the person behind `event`, privately, in its own savepoint. An event with nobody behind
/// it has nobody to answer: the text is only logged. Failing to queue the answer is logged too;
/// it must not undo the handling record.
async fn answer_caller(
    tx: &mut crate::store::Conn,
    shared: &Shared,
    plugin: &'static str,
    event_id: EventId,
    event: &Event,
    text: &str,
    effects: &mut Effects,
) -> Result<(), sqlx::Error> {
    let Some(origin) = caller_of(event) else {
        tracing::warn!(plugin, answer = %text, "a user error on an event nobody typed or clicked");
        return Ok(());
    };
    let mut savepoint = tx.begin().await?;
    let mut answer_effects = Effects::default();
    let sent = {
        let mut cx = Cx::new(&mut savepoint, shared, plugin, event_id, &mut answer_effects);
        cx.reply_private(origin, Message::reply(text)).await
    };
    match sent {
        Ok(()) => {
            savepoint.commit().await?;
            effects.messages |= answer_effects.messages;
        }
        Err(err) => {
            savepoint.rollback().await?;
            tracing::error!(plugin, cause = %err, "could not queue the answer to the caller");
        }
    }
    Ok(())
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn count(shared: &Shared, plugin: &str, result: &str) {
    shared
        .metrics
        .handled
        .get_or_create(&HandledLabels {
            plugin: plugin.to_owned(),
            result: result.to_owned(),
        })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HumanDuration;

    #[test]
    fn acknowledgements_come_first_only_while_senders_wait() {
        let settings = PipelineConfig::default();
        let idle = Pace::new(&settings, 0);
        assert_eq!(idle.batch, settings.dispatch_batch);
        assert_eq!(idle.pause, None);

        let busy = Pace::new(&settings, 3);
        assert_eq!(busy.batch, settings.under_load_dispatch_batch);
        assert_eq!(busy.pause, Some(settings.under_load_dispatch_pause.std()));

        let off = PipelineConfig {
            under_load_dispatch_pause: HumanDuration::secs(0),
            ..PipelineConfig::default()
        };
        assert_eq!(Pace::new(&off, 3), idle);
    }

    #[test]
    fn a_batch_hands_the_write_turn_over_after_one_event_while_inputs_wait() {
        assert!(!hand_over(0, 5), "the first event is handled even under load");
        assert!(hand_over(1, 1));
        assert!(hand_over(7, 32));
        assert!(!hand_over(7, 0), "nobody waiting: the batch goes on");
    }
}
