//! Singleton periodic jobs (table `cluster_jobs`, migration `0017_cluster.sql`): work that must run
//! on one instance at a time cluster-wide — GitHub pull mode, webhook reconciliation, housekeeping.
//!
//! Before each round an instance takes or renews the job's lease ([`hold`]): it gets it when it
//! already holds it, the holder's lease has run out, or the registry ([`super::instances`]) shows
//! the holder stopped or silent (so a crashed leader's job moves on after three missed heartbeats,
//! not after its lease, which spans the job's whole interval). Whoever does not hold it skips the round.
//! Every change of holder bumps the job's fencing token. Correctness never depended on this (what
//! the jobs store is deduplicated by key); it keeps N instances from spending N times GitHub's
//! rate limit and the database's write turns. On SQLite (one instance) the instance always holds.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, to_ms};

/// GitHub pull mode's polling rounds.
pub const GITHUB_PULL: &str = "github_pull";
/// Webhook reconciliation rounds.
pub const GITHUB_RECONCILE: &str = "github_reconcile";
/// Hourly pruning of old rows.
pub const HOUSEKEEPING: &str = "housekeeping";
/// Every singleton job, for the `sentinel_cluster_jobs_held` gauge.
pub const ALL: [&str; 3] = [GITHUB_PULL, GITHUB_RECONCILE, HOUSEKEEPING];

/// When and for how long an instance asks for a job.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// The time of asking.
    pub now: DateTime<Utc>,
    /// The end of the lease asked for.
    pub until: DateTime<Utc>,
    /// A registered holder whose last heartbeat is older than this (or who stopped) is gone.
    pub silent_since: DateTime<Utc>,
}

/// Takes or renews `job` for `me` (see [`Ask`]). `Some(fence)` when `me` holds it (the fencing
/// token, bumped whenever the holder changed); `None` when another, live instance's lease still runs.
pub async fn hold(conn: &mut Conn, job: &str, me: &str, ask: Ask) -> Result<Option<i64>, sqlx::Error> {
    let Ask {
        now,
        until,
        silent_since,
    } = ask;
    let inserted = sqlx::query(
        "INSERT INTO cluster_jobs (name, owner, lease_until, fence) VALUES ($1, $2, $3, 1)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(job)
    .bind(me)
    .bind(to_ms(until))
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Some(1));
    }
    // Every right-hand side reads the row as it was: the fence moves only when the owner does.
    let fence: Option<i64> = sqlx::query(
        "UPDATE cluster_jobs
            SET fence = CASE WHEN owner = $2 THEN fence ELSE fence + 1 END, owner = $2, lease_until = $3
          WHERE name = $1
            AND (owner = $2 OR lease_until <= $4
                 OR EXISTS (SELECT 1 FROM instances
                             WHERE instances.name = cluster_jobs.owner
                               AND (instances.stopped_at IS NOT NULL OR instances.heartbeat_at <= $5)))
      RETURNING fence",
    )
    .bind(job)
    .bind(me)
    .bind(to_ms(until))
    .bind(to_ms(now))
    .bind(to_ms(silent_since))
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| row.try_get("fence"))
    .transpose()?;
    Ok(fence)
}

/// Gives up every job `me` holds (a clean shutdown): another instance takes them at its next look
/// instead of after the lease.
pub async fn release_all(conn: &mut Conn, me: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE cluster_jobs SET lease_until = 0 WHERE owner = $1")
        .bind(me)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The jobs whose lease `me` holds at `now`, by name.
pub async fn held_by(conn: &mut Conn, me: &str, now: DateTime<Utc>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM cluster_jobs WHERE owner = $1 AND lease_until > $2 ORDER BY name")
        .bind(me)
        .bind(to_ms(now))
        .fetch_all(conn)
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Duration;

    use super::*;
    use crate::harness::test_db::TestDb;
    use crate::harness::test_start;
    use crate::store::instances;

    /// `who` asks for `job` at `now` for `lease`, counting holders silent for 15 s as gone.
    async fn ask(conn: &mut Conn, job: &str, who: &str, now: DateTime<Utc>, lease: Duration) -> Option<i64> {
        let ask = Ask {
            now,
            until: now + lease,
            silent_since: now - Duration::seconds(15),
        };
        hold(conn, job, who, ask).await.unwrap()
    }

    #[tokio::test]
    async fn a_lease_is_renewed_by_its_owner_and_taken_over_only_after_it_expired() {
        let db = TestDb::new().await;
        let pool = db.open().await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let t0 = test_start();
        let lease = Duration::seconds(30);

        assert_eq!(ask(&mut conn, GITHUB_PULL, "a", t0, lease).await, Some(1));
        // `b` is refused while `a`'s lease runs, up to its last millisecond.
        let almost = t0 + lease - Duration::milliseconds(1);
        assert_eq!(ask(&mut conn, GITHUB_PULL, "b", almost, lease).await, None);
        // `a` renews without a new fence.
        let t1 = t0 + Duration::seconds(20);
        assert_eq!(ask(&mut conn, GITHUB_PULL, "a", t1, lease).await, Some(1));
        let renewed_until = t1 + lease;
        let before_end = renewed_until - Duration::seconds(1);
        assert_eq!(ask(&mut conn, GITHUB_PULL, "b", before_end, lease).await, None);
        assert_eq!(held_by(&mut conn, "a", t1).await.unwrap(), [GITHUB_PULL]);

        // Expired: `b` takes it, the fence moves, `a` is refused now.
        assert_eq!(ask(&mut conn, GITHUB_PULL, "b", renewed_until, lease).await, Some(2));
        assert_eq!(ask(&mut conn, GITHUB_PULL, "a", renewed_until, lease).await, None);
        assert!(held_by(&mut conn, "a", renewed_until).await.unwrap().is_empty());
        assert_eq!(held_by(&mut conn, "b", renewed_until).await.unwrap(), [GITHUB_PULL]);

        // Other jobs are separate leases.
        assert_eq!(ask(&mut conn, HOUSEKEEPING, "a", renewed_until, lease).await, Some(1));
    }

    #[tokio::test]
    async fn a_released_job_is_free_at_once_and_the_fence_moves_on_takeover() {
        let db = TestDb::new().await;
        let pool = db.open().await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let t0 = test_start();
        let hour = Duration::hours(1);
        assert_eq!(ask(&mut conn, GITHUB_RECONCILE, "a", t0, hour).await, Some(1));
        assert_eq!(ask(&mut conn, HOUSEKEEPING, "a", t0, hour).await, Some(1));
        assert_eq!(release_all(&mut conn, "a").await.unwrap(), 2);
        assert!(held_by(&mut conn, "a", t0).await.unwrap().is_empty());
        let t1 = t0 + Duration::seconds(1);
        assert_eq!(ask(&mut conn, GITHUB_RECONCILE, "b", t1, hour).await, Some(2));
        // Back to `a` later: another change of owner, another fence.
        let t2 = t1 + hour;
        assert_eq!(ask(&mut conn, GITHUB_RECONCILE, "a", t2, hour).await, Some(3));
    }

    #[tokio::test]
    async fn a_silent_holders_job_is_taken_over_before_its_lease_ends() {
        let db = TestDb::new().await;
        let pool = db.open().await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let t0 = test_start();
        let within = Duration::seconds(15);
        let me = |name: &str| instances::Me {
            name: name.into(),
            host: "h".into(),
            pid: 1,
            version: "v".into(),
        };
        instances::register(&mut conn, &me("a"), t0, within).await.unwrap();
        let hour = Duration::hours(1);
        assert_eq!(ask(&mut conn, GITHUB_PULL, "a", t0, hour).await, Some(1));
        // `a` still beats: its lease holds.
        let t1 = t0 + Duration::seconds(10);
        instances::heartbeat(&mut conn, &me("a"), t1).await.unwrap();
        assert_eq!(
            ask(&mut conn, GITHUB_PULL, "b", t1 + Duration::seconds(14), hour).await,
            None
        );
        // Silent for more than 15 s: gone, though its lease runs for most of an hour.
        let t2 = t1 + Duration::seconds(16);
        assert_eq!(ask(&mut conn, GITHUB_PULL, "b", t2, hour).await, Some(2));
    }
}
