//! Supervision of the bot's background tasks (dispatcher, timer engine, delivery workers, GitHub
//! worker, housekeeping, inbox writer).
//!
//! A supervised task that ends before shutdown, or panics, is logged at ERROR with its cause,
//! counted in `sentinel_task_restarts_total{task}`, shown as down in `/healthz` (which then says
//! `degraded`) and started again after a backoff (1 s, doubling to 30 s; back to 1 s once a run
//! lasted a minute). A task that stops because shutdown was signalled is not restarted.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::metrics::{Metrics, TaskLabel};
use crate::pipeline::Shutdown;

/// The first restart delay; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest restart delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run that lasted this long resets the backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// What `/healthz` shows of one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskStatus {
    /// Running now.
    pub running: bool,
    /// How often it was restarted since start-up.
    pub restarts: u64,
    /// Why it last stopped, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

/// The state of every supervised task, by name.
#[derive(Debug, Clone, Default)]
pub struct Tasks(Arc<Mutex<BTreeMap<String, TaskStatus>>>);

impl Tasks {
    /// A copy of every task's status, by name.
    pub fn snapshot(&self) -> BTreeMap<String, TaskStatus> {
        self.0.lock().map(|tasks| tasks.clone()).unwrap_or_default()
    }

    /// True when every supervised task is running.
    pub fn all_running(&self) -> bool {
        self.snapshot().values().all(|task| task.running)
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut TaskStatus)) {
        if let Ok(mut tasks) = self.0.lock() {
            let status = tasks.entry(name.to_owned()).or_insert(TaskStatus {
                running: false,
                restarts: 0,
                last_failure: None,
            });
            change(status);
        }
    }
}

/// Runs the task `make` builds under supervision until `shutdown`: each run is spawned on its own,
/// so a panic is caught by its join handle, and a run that ends while the bot is not shutting down
/// is a failure. Returns the supervisor's own handle, which ends once the task has stopped for
/// shutdown.
pub fn spawn<F, Fut>(
    name: impl Into<String>,
    tasks: Tasks,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
    make: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = name.into();
    tokio::spawn(async move {
        let mut shutdown = shutdown;
        let mut delay = FIRST_BACKOFF;
        loop {
            tasks.update(&name, |status| status.running = true);
            let started = tokio::time::Instant::now();
            let outcome = tokio::spawn(make()).await;
            if shutdown.is_down() {
                tasks.update(&name, |status| status.running = false);
                return;
            }
            let cause = match outcome {
                Ok(()) => "ended unexpectedly".to_owned(),
                Err(err) if err.is_panic() => format!("panicked: {}", panic_message(err.into_panic())),
                Err(err) => format!("was cancelled: {err}"),
            };
            if started.elapsed() >= HEALTHY_RUN {
                delay = FIRST_BACKOFF;
            }
            tracing::error!(task = %name, cause = %cause, restart_in = ?delay, "background task stopped; restarting it");
            metrics
                .task_restarts
                .get_or_create(&TaskLabel { task: name.clone() })
                .inc();
            tasks.update(&name, |status| {
                status.running = false;
                status.restarts += 1;
                status.last_failure = Some(cause);
            });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.wait() => return,
            }
            delay = (delay * 2).min(MAX_BACKOFF);
        }
    })
}

/// The text a panic carried (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_owned(),
            Err(_) => "a panic without a message".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_and_shown_down_meanwhile() {
        let tasks = Tasks::default();
        let metrics = Arc::new(Metrics::new());
        let (stop, shutdown) = Shutdown::new();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let handle = spawn("worker", tasks.clone(), metrics.clone(), shutdown.clone(), move || {
            let runs = counted.clone();
            let mut shutdown = shutdown.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("boom");
                }
                shutdown.wait().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let status = tasks.snapshot()["worker"].clone();
        assert!(!status.running);
        assert_eq!(status.restarts, 1);
        assert_eq!(status.last_failure.as_deref(), Some("panicked: boom"));
        assert!(!tasks.all_running());

        tokio::time::sleep(FIRST_BACKOFF + Duration::from_millis(10)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert!(tasks.all_running());
        assert!(
            metrics
                .encode()
                .contains("sentinel_task_restarts_total{task=\"worker\"} 1")
        );

        let _ = stop.send(true);
        handle.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2, "not restarted after shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_early_is_restarted_with_growing_backoff() {
        let tasks = Tasks::default();
        let metrics = Arc::new(Metrics::new());
        let (stop, shutdown) = Shutdown::new();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let handle = spawn("quitter", tasks.clone(), metrics, shutdown, move || {
            let runs = counted.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
            }
        });
        // Runs at 0 s, 1 s, 3 s, 7 s: the delays double.
        tokio::time::sleep(Duration::from_millis(7_500)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        assert_eq!(
            tasks.snapshot()["quitter"].last_failure.as_deref(),
            Some("ended unexpectedly")
        );
        let _ = stop.send(true);
        handle.await.unwrap();
    }
}
