//! The event pipeline: inbox writer (group commit), dispatcher, timer engine and delivery workers.
//! Each is one task that sleeps until woken, and stops when shutdown is signalled.

pub mod delivery;
pub mod dispatcher;
pub mod ingest;
pub mod router;
pub mod timer_engine;

use std::sync::Arc;

use tokio::sync::watch;

use crate::chat::{Directory, Routing};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::metrics::Metrics;

/// What every task and every [`crate::Cx`] shares.
pub struct Shared {
    /// The clock.
    pub clock: SharedClock,
    /// Logical channels to platform channels.
    pub routing: Routing,
    /// People and groups.
    pub directory: Arc<Directory>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Whose turn it is to write (see [`crate::store::WriteLock`]).
    pub writes: crate::store::WriteLock,
    /// Inputs submitted to the inbox writer and not yet answered: above zero, senders are waiting.
    pub ingest_waiting: std::sync::atomic::AtomicUsize,
    /// The supervised background tasks and whether each is running.
    pub tasks: crate::supervisor::Tasks,
    /// This instance's name (`[cluster] instance`): the owner of its claims.
    pub instance: String,
}

/// A wake-up signal that is never lost: a wake sent while the task is busy is seen when it next waits.
#[derive(Clone)]
pub struct Waker(Arc<watch::Sender<u64>>);

impl Default for Waker {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl Waker {
    /// Wakes the task.
    pub fn wake(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver for the task to wait on.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The wakers of the pipeline's tasks.
#[derive(Clone, Default)]
pub struct Wakers {
    /// The dispatcher: new inbox rows.
    pub dispatcher: Waker,
    /// The timer engine: a timer was set.
    pub timers: Waker,
    /// The delivery workers: new outbox rows.
    pub delivery: Waker,
    /// The GitHub worker: new GitHub API requests.
    pub github: Waker,
}

/// A shutdown signal every loop selects on.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A trigger and its signal.
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// Resolves once shutdown has been signalled (or the trigger is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|down| *down).await;
    }

    /// True once shutdown has been signalled.
    pub fn is_down(&self) -> bool {
        *self.0.borrow()
    }
}

/// Exponential backoff: `base * 2^(attempt-1)`, capped at `max`.
pub fn backoff(base: std::time::Duration, max: std::time::Duration, attempt: u32) -> std::time::Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    base.saturating_mul(factor).min(max)
}
