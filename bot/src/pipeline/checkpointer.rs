//! SQLite's WAL checkpoints, taken out of the commits that acknowledge inputs (issue 17).
//!
//! In WAL mode every commit appends to the `-wal` file, and a *checkpoint* copies those pages back
//! into the database file and syncs it. Left to SQLite, the checkpoint runs inside whichever
//! commit makes the WAL cross `wal_autocheckpoint` pages (1,000 by default): usually the inbox
//! writer's, so the webhooks of that group wait for ~4 MB to be copied and synced before their 2xx.
//! That was the ingest's tail.
//!
//! This task checkpoints instead, every [`INTERVAL`], in two steps:
//! 1. `PRAGMA wal_checkpoint(PASSIVE)` **without** the write turn: it copies what is committed
//!    while writers go on appending (PASSIVE never waits for them); this is the bulk of the work;
//! 2. once the WAL holds [`RESTART_FRAMES`], `PRAGMA wal_checkpoint(RESTART)` **inside** the write
//!    turn ([`crate::store::WriteLock`]): only the pages of the last moments are left to copy, and
//!    the next commit starts the WAL over from its beginning instead of growing it (which step 1
//!    alone, under steady writes, does: measured in the test below). The turn is held ~1 ms.
//!
//! A connection's own automatic checkpoint stays as a backstop at [`BACKSTOP_PAGES`] (set in
//! `store::open`), far above what this task lets the WAL reach, for the moments it is not running
//! (restarting after a failure: it is supervised like every task). Synced commits are unchanged:
//! `synchronous = FULL`, every acknowledged input is on disk first. PostgreSQL does not run it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Row;

use super::{Shared, Shutdown};
use crate::metrics::Metrics;
use crate::store::{DbPool, WriteLock};

/// How often the WAL is copied back. At ingest's peak (a few thousand ~10 KB webhooks a second)
/// the WAL grows by a few MB between two rounds; step 1 copies that outside the write turn.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// WAL frames (pages) after which a round starts the WAL over: SQLite's own default size (~4 MB).
pub const RESTART_FRAMES: i64 = 1_000;

/// `wal_autocheckpoint` while this task runs: a backstop only (40 MB of WAL at 4 KB pages).
pub const BACKSTOP_PAGES: u32 = 10_000;

/// What one `PRAGMA wal_checkpoint` reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Frames in the WAL.
    pub frames: i64,
    /// Frames of them copied into the database file.
    pub copied: i64,
}

impl Checkpoint {
    /// Every frame is in the database file: the next commit starts the WAL over.
    pub fn complete(self) -> bool {
        self.copied >= self.frames
    }
}

/// Runs until shutdown, checkpointing every `interval`.
pub async fn run(pool: DbPool, shared: Arc<Shared>, interval: Duration, mut shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.wait() => return,
        }
        if let Err(err) = round(&pool, &shared.writes, &shared.metrics, RESTART_FRAMES).await {
            tracing::warn!(cause = ?err, "WAL checkpoint failed; trying again next round");
        }
    }
}

/// One round: copy what is there; once the WAL has `restart_at` frames, copy the rest inside the
/// write turn and start it over.
pub async fn round(
    pool: &DbPool,
    writes: &WriteLock,
    metrics: &Metrics,
    restart_at: i64,
) -> Result<Checkpoint, sqlx::Error> {
    let first = checkpoint(pool, Mode::Passive).await?;
    if first.frames < restart_at {
        return Ok(first);
    }
    let asked = Instant::now();
    let turn = writes.turn().await;
    let got = Instant::now();
    let last = checkpoint(pool, Mode::Restart).await;
    drop(turn);
    metrics.write_turn("checkpoint", asked, got);
    last
}

/// `PRAGMA wal_checkpoint` modes used here.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Copies what no reader still needs; waits for nobody.
    Passive,
    /// Copies everything, waiting (busy timeout) for readers of older pages, and makes the next
    /// commit start the WAL over. (A complete PASSIVE checkpoint does not: measured, the WAL kept
    /// growing behind fully copied frames.)
    Restart,
}

async fn checkpoint(pool: &DbPool, mode: Mode) -> Result<Checkpoint, sqlx::Error> {
    let sql = match mode {
        Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        Mode::Restart => "PRAGMA wal_checkpoint(RESTART)",
    };
    // `fetch_all`: the statement is stepped to its end and keeps no read snapshot open.
    let rows = sqlx::query(sql).fetch_all(pool).await?;
    let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    Ok(Checkpoint {
        frames: row.try_get(1)?,
        copied: row.try_get(2)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::test_db::TestDb;

    /// Writes `commits` synced transactions of 16 KB each, one write turn each, as the inbox writer
    /// does; returns the WAL file's size afterwards.
    async fn write(pool: &DbPool, writes: &WriteLock, wal: &std::path::Path, commits: usize) -> u64 {
        for _ in 0..commits {
            let _turn = writes.turn().await;
            let mut tx = crate::store::begin_write(pool).await.expect("begin");
            sqlx::query("INSERT INTO bulk (b) VALUES (randomblob(16384))")
                .execute(&mut *tx)
                .await
                .expect("insert");
            tx.commit().await.expect("commit");
        }
        std::fs::metadata(wal).expect("wal").len()
    }

    /// Under steady commits the WAL is copied back and started over, instead of growing until the
    /// (backstop) automatic checkpoint; a last round inside the write turn leaves nothing behind.
    #[tokio::test]
    async fn rounds_keep_the_wal_small_under_steady_commits() {
        let db = TestDb::sqlite();
        let pool = crate::store::open(db.url(), Duration::from_secs(5))
            .await
            .expect("open");
        let wal = std::path::PathBuf::from(format!("{}-wal", db.file().expect("a file").display()));
        sqlx::query("CREATE TABLE bulk (b BLOB)")
            .execute(&pool)
            .await
            .expect("table");
        let writes = Arc::new(WriteLock::default());
        let metrics = Arc::new(Metrics::new());

        // Without rounds: ~5 pages a commit pile up (the backstop is far).
        let alone = write(&pool, &writes, &wal, 200).await;
        assert!(alone > 3 * 1024 * 1024, "the WAL grew to {alone} bytes");
        let done = round(&pool, &writes, &metrics, 100).await.expect("round");
        assert!(done.complete(), "{done:?}");

        // With rounds every 10 ms meanwhile, on a fresh file.
        let db = TestDb::sqlite();
        let pool = crate::store::open(db.url(), Duration::from_secs(5))
            .await
            .expect("open");
        let wal = std::path::PathBuf::from(format!("{}-wal", db.file().expect("a file").display()));
        sqlx::query("CREATE TABLE bulk (b BLOB)")
            .execute(&pool)
            .await
            .expect("table");
        let rounds = {
            let (pool, writes, metrics) = (pool.clone(), writes.clone(), metrics.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    round(&pool, &writes, &metrics, 100).await.expect("round");
                }
            })
        };
        let with = write(&pool, &writes, &wal, 200).await;
        rounds.abort();
        assert!(
            with < alone / 3,
            "with rounds the WAL reached {with} bytes, alone {alone}"
        );
        let last = round(&pool, &writes, &metrics, 100).await.expect("round");
        assert!(last.complete(), "{last:?}");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bulk")
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(rows, 200);
        assert!(
            metrics.encode().contains("writer=\"checkpoint\""),
            "the turns it took are measured"
        );
    }
}
