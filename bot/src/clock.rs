//! Where time comes from. Core and plugins read the time only through [`Clock`], so tests can move a
//! [`ManualClock`] by hours or weeks in microseconds and production runs on [`SystemClock`].

use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// A source of the current time that can also wait until a given instant.
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Returns once `now() >= at` (at once when that already holds).
    async fn sleep_until(&self, at: DateTime<Utc>);
}

/// A shareable clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock, for production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        // Re-check after waking: the wall clock may have been stepped while we slept.
        loop {
            let left = at - Utc::now();
            match left.to_std() {
                Ok(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                _ => return,
            }
        }
    }
}

/// A clock that only moves when told to. Sleepers wake as soon as it is advanced past their instant.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    ticks: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        let (ticks, _) = watch::channel(start);
        Self {
            now: Arc::new(Mutex::new(start)),
            ticks,
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let now = self.now() + by;
        self.set(now);
    }

    /// Sets the clock to `at` (it may move backwards, as a stepped system clock can).
    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.now.lock() {
            *now = at;
        }
        self.ticks.send_replace(at);
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock").field("now", &self.now()).finish()
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        // A poisoned lock still holds a valid time: a panic elsewhere cannot corrupt a Copy value.
        match self.now.lock() {
            Ok(now) => *now,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        let mut ticks = self.ticks.subscribe();
        while self.now() < at {
            if ticks.changed().await.is_err() {
                // The clock is gone; nobody can move time any more, so never wake.
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_advanced() {
        let start = Utc::now();
        let clock = ManualClock::new(start);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(start + Duration::hours(2)).await })
        };
        clock.advance(Duration::hours(1));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::hours(1));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .expect("sleeper wakes")
            .expect("sleeper task");
    }
}
