//! The inbox writer: every input passes through here and is on disk before its sender hears back.
//!
//! Group commit: the writer takes every request waiting in its queue (up to the batch size), writes
//! them in one transaction and syncs once, then answers them all. Under load a sync is shared by
//! hundreds of inputs; alone, an input waits for exactly one sync.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::store::DbPool;
use tokio::sync::{mpsc, oneshot};

use super::{Shared, Shutdown, Waker};
use crate::event::NewEvent;
use crate::ids::EventId;
use crate::metrics::KindLabel;
use crate::store::inbox;

/// What became of a submitted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored (durably) under this id.
    New(EventId),
    /// Its dedup key was already there: nothing was stored.
    Duplicate,
}

/// The input could not be stored; the sender must not acknowledge it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The database refused the write.
    #[error("could not store the event: {0}")]
    Store(String),
    /// Sentinel is shutting down.
    #[error("Sentinel is shutting down")]
    Closed,
}

type Request = (NewEvent, oneshot::Sender<Result<Accepted, IngestError>>);

/// A handle for submitting inputs; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<Request>,
    shared: Arc<Shared>,
}

impl Ingest {
    /// Stores `event` durably (or recognises it as a duplicate) and returns once that is on disk.
    pub async fn submit(&self, event: NewEvent) -> Result<Accepted, IngestError> {
        let _waiting = Waiting::count(&self.shared);
        let (reply, answer) = oneshot::channel();
        self.queue.send((event, reply)).await.map_err(|_| IngestError::Closed)?;
        answer.await.map_err(|_| IngestError::Closed)?
    }
}

/// Counts a sender as waiting (see [`Shared::ingest_waiting`]) until dropped, also when the sender
/// gives up half-way (its client went away).
struct Waiting<'a>(&'a Shared);

impl<'a> Waiting<'a> {
    fn count(shared: &'a Shared) -> Self {
        shared.ingest_waiting.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.ingest_waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Creates the inbox writer: the handle to submit through, and the writer itself, to be run (and
/// run again after a panic) by a supervisor with [`Writer::run`]. The writer ends once `closing`
/// is signalled and what was queued before is stored; submissions after that get
/// [`IngestError::Closed`], whoever still holds a handle (the console's stdin reader, a slow HTTP
/// client).
pub fn writer(pool: DbPool, shared: Arc<Shared>, wake: Waker, batch: usize, closing: Shutdown) -> (Ingest, Writer) {
    let batch = batch.max(1);
    let (queue, requests) = mpsc::channel::<Request>(batch * 4);
    let ingest = Ingest {
        queue,
        shared: shared.clone(),
    };
    let writer = Writer {
        pool,
        shared,
        wake,
        batch,
        closing,
        requests: Arc::new(tokio::sync::Mutex::new(requests)),
    };
    (ingest, writer)
}

/// The task that writes submitted inputs to the inbox, in batches.
#[derive(Clone)]
pub struct Writer {
    pool: DbPool,
    shared: Arc<Shared>,
    wake: Waker,
    batch: usize,
    closing: Shutdown,
    // Shared so that a run started after a panic takes over the same queue.
    requests: Arc<tokio::sync::Mutex<mpsc::Receiver<Request>>>,
}

impl Writer {
    /// Writes batches until closing is signalled and the queue is drained (or every handle is gone).
    pub async fn run(self) {
        let mut requests = self.requests.lock().await;
        let mut closing = self.closing.clone();
        let mut pending: Vec<Request> = Vec::with_capacity(self.batch);
        loop {
            if closing.is_down() {
                // Refuse new inputs; what is queued already is still stored.
                requests.close();
            }
            let received = tokio::select! {
                received = requests.recv_many(&mut pending, self.batch) => received,
                _ = closing.wait(), if !closing.is_down() => continue,
            };
            if received == 0 {
                return;
            }
            self.write_and_answer(&mut pending).await;
        }
    }

    async fn write_and_answer(&self, pending: &mut Vec<Request>) {
        let shared = &self.shared;
        let results = write(&self.pool, shared, pending).await;
        let stored_any = matches!(&results, Ok(r) if r.iter().any(|a| matches!(a, Accepted::New(_))));
        for (index, (event, reply)) in pending.drain(..).enumerate() {
            let result = match &results {
                Ok(accepted) => {
                    let accepted = accepted.get(index).copied().unwrap_or(Accepted::Duplicate);
                    let label = KindLabel {
                        kind: event.kind.to_owned(),
                    };
                    match accepted {
                        Accepted::New(_) => shared.metrics.inbox_events.get_or_create(&label).inc(),
                        Accepted::Duplicate => shared.metrics.inbox_duplicates.get_or_create(&label).inc(),
                    };
                    Ok(accepted)
                }
                Err(err) => Err(err.clone()),
            };
            // The sender may have given up (client went away); the event is stored all the same.
            let _ = reply.send(result);
        }
        if stored_any {
            self.wake.wake();
        }
    }
}

async fn write(pool: &DbPool, shared: &Shared, batch: &[Request]) -> Result<Vec<Accepted>, IngestError> {
    let now = shared.clock.now();
    let asked = std::time::Instant::now();
    let mut got = asked;
    let result: Result<Vec<Accepted>, sqlx::Error> = async {
        let _turn = shared.writes.turn().await;
        got = std::time::Instant::now();
        let mut tx = crate::store::begin_write(pool).await?;
        let events: Vec<&NewEvent> = batch.iter().map(|(event, _)| event).collect();
        let accepted = inbox::insert_many(&mut tx, &events, now)
            .await?
            .into_iter()
            .map(|id| id.map_or(Accepted::Duplicate, Accepted::New))
            .collect();
        tx.commit().await?;
        Ok(accepted)
    }
    .await;
    shared.metrics.write_turn("inbox", asked, got);
    result.map_err(|err| {
        tracing::error!(cause = ?err, events = batch.len(), "inbox write failed");
        IngestError::Store(err.to_string())
    })
}
