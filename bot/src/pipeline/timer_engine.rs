//! The timer engine: sleeps until the earliest timer is due (woken early when one is set here, and
//! looking again every `cluster.heartbeat` for timers other instances set), then
//! turns due timers into inbox events in the same transaction that removes or re-arms them — so a
//! timer fires exactly once, across restarts too. Overdue timers fire as soon as it starts.

use std::sync::Arc;

use crate::store::DbPool;

use super::{Shared, Shutdown, Wakers};
use crate::store::timers;

/// Timers fired per transaction.
const FIRE_BATCH: usize = 512;

/// How long to wait before looking again when timers are due but another instance holds them
/// (locked, so skipped): it is firing them, or died doing so and its session is about to end.
/// Looking again at once would spin for as long as it holds them (up to `cluster.lease` for an
/// instance paused mid-transaction).
const HELD_ELSEWHERE_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// Runs the engine until shutdown.
pub async fn run(pool: DbPool, shared: Arc<Shared>, wakers: Wakers, mut shutdown: Shutdown) {
    let mut woken = wakers.timers.subscribe();
    loop {
        woken.borrow_and_update();
        shared.metrics.timer_passes.inc();
        let next = match fire_due(&pool, &shared, &wakers).await {
            Ok(Pass {
                held_elsewhere: true, ..
            }) => {
                tokio::select! {
                    _ = tokio::time::sleep(HELD_ELSEWHERE_RETRY) => {}
                    _ = shutdown.wait() => return,
                }
                continue;
            }
            Ok(Pass { next, .. }) => next,
            Err(err) => {
                tracing::error!(cause = ?err, "timer engine failed; retrying in 1s");
                Some(shared.clock.now() + chrono::Duration::seconds(1))
            }
        };
        let clock = shared.clock.clone();
        tokio::select! {
            _ = woken.changed() => {}
            _ = async { match next { Some(at) => clock.sleep_until(at).await, None => std::future::pending().await } } => {}
            // Timers set by another instance (or process) wake nothing here: look again every
            // heartbeat, so a dead instance's timers fire on time on the others.
            _ = tokio::time::sleep(shared.config.cluster.heartbeat.std()) => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// What a pass of [`fire_due`] left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// When the next timer is due.
    pub next: Option<chrono::DateTime<chrono::Utc>>,
    /// Timers were due but not fired here: another instance's transaction holds them (PostgreSQL's
    /// `SKIP LOCKED` passed them over).
    pub held_elsewhere: bool,
}

/// Fires everything due now that no other instance holds.
pub async fn fire_due(pool: &DbPool, shared: &Shared, wakers: &Wakers) -> Result<Pass, sqlx::Error> {
    loop {
        let now = shared.clock.now();
        let turn = shared.writes.turn().await;
        let mut tx = crate::store::begin_write(pool).await?;
        let fired = timers::fire_due(&mut tx, now, FIRE_BATCH).await?;
        let next = timers::earliest(&mut tx).await?;
        tx.commit().await?;
        drop(turn);
        if fired > 0 {
            shared.metrics.timers_fired.inc_by(fired as u64);
            wakers.dispatcher.wake();
        }
        if fired < FIRE_BATCH {
            return Ok(Pass {
                next,
                held_elsewhere: next.is_some_and(|at| at <= now),
            });
        }
    }
}
