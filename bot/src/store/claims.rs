//! Claims on work in flight: leases with expiry and a fencing token, for several instances on one
//! database (issue 14 §2).
//!
//! An outbox row or a GitHub request is carried out over HTTP *outside* any transaction, so no
//! row lock can protect it. Instead an instance claims the row in a short write transaction:
//! `lease_owner` = its name, `lease_until` = now + `cluster.lease`, `fence` + 1. Readers of due
//! work skip rows whose lease has not expired (they are in flight somewhere), so each row is
//! carried out by one instance at a time. When the claimer dies (or pauses) its lease runs out and
//! any instance takes the row over; an outbox row taken over from a claim that never recorded an
//! outcome gets `outcome_unknown = 1`, so the adapter looks on the platform before posting again
//! (exactly once, also when the sender died mid-POST). A GitHub request taken over so counts the
//! dead claimer's try as an attempt (`attempts + 1`), and a claim on a request with attempts
//! behind it is `outcome_unknown`: a creating POST then looks for what it creates before it is sent
//! again ([`crate::github::LookFirst`]).
//!
//! Fencing: every outcome is recorded `WHERE id = $ AND fence = $`. An instance that lost its
//! claim (it paused past the lease and another took the row over, bumping the fence) updates
//! nothing; it rolls back, counts `sentinel_claims_lost_total{work}` and leaves the row to the new
//! owner. Every outcome clears `lease_owner` and `lease_until`.
//!
//! The claim is one SQL text for both engines; PostgreSQL adds `FOR UPDATE SKIP LOCKED` to its
//! inner select ([`Engine::skip_locked`]), so two instances claiming at once do not wait for each
//! other's row locks (the `lease_until` test in the outer `WHERE` is re-checked after a wait anyway,
//! so a row is never claimed twice). Lease times are compared with each instance's own clock: the
//! hosts' clocks must agree to well within the lease (NTP does).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, Engine, placeholders, to_ms};

/// A kind of leased work: its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// `outbox` rows (messages to chat platforms).
    Outbox,
    /// `github_requests` rows (GitHub API calls).
    GitHub,
}

impl Work {
    /// The table.
    pub fn table(self) -> &'static str {
        match self {
            Work::Outbox => "outbox",
            Work::GitHub => "github_requests",
        }
    }

    /// The `work` label of `sentinel_claims_lost_total`.
    pub fn label(self) -> &'static str {
        match self {
            Work::Outbox => "outbox",
            Work::GitHub => "github",
        }
    }
}

/// One claimed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// Row id.
    pub id: i64,
    /// The fencing token this claim holds; outcomes must present it.
    pub fence: i64,
    /// The row may already have been carried out: by an earlier attempt whose answer was lost, or
    /// by a claimer that died before recording an outcome. Look first. (A GitHub request: it has
    /// attempts behind it, those taken over included.)
    pub outcome_unknown: bool,
}

/// Claims those of `ids` that are still pending and not claimed by anyone whose lease is running,
/// for `owner` until `until`. Returns the rows claimed (a subset of `ids`, in no order). Call in a
/// write transaction.
pub async fn claim(
    conn: &mut Conn,
    work: Work,
    ids: &[i64],
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Claim>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let table = work.table();
    // A claim left without an outcome was in flight at an instance that died or paused.
    let (unknown_set, unknown_ret) = match work {
        Work::Outbox => (
            ", outcome_unknown = CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE outcome_unknown END",
            "outcome_unknown",
        ),
        Work::GitHub => (
            ", attempts = attempts + CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END",
            "CASE WHEN attempts > 0 THEN 1 ELSE 0 END AS outcome_unknown",
        ),
    };
    let skip = Engine::of_conn(conn).skip_locked();
    let list = placeholders(4, ids.len());
    // Only the table name (a constant), placeholders and the engine's locking clause are
    // generated; every value is bound.
    let sql = format!(
        "UPDATE {table} SET lease_owner = $1, lease_until = $2, fence = fence + 1{unknown_set}
         WHERE id IN (SELECT id FROM {table} WHERE id IN ({list})
                        AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3){skip})
           AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3)
         RETURNING id, fence, {unknown_ret}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(to_ms(until))
        .bind(to_ms(now));
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|row| {
            Ok(Claim {
                id: row.try_get("id")?,
                fence: row.try_get("fence")?,
                outcome_unknown: row.try_get::<i64, _>("outcome_unknown")? != 0,
            })
        })
        .collect()
}

/// Extends a claim still held (`fence` current) to `until`. Returns false when it was lost.
pub async fn renew(conn: &mut Conn, work: Work, claim: &Claim, until: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = match work {
        Work::Outbox => "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND fence = $3 AND state = 'pending'",
        Work::GitHub => {
            "UPDATE github_requests SET lease_until = $1 WHERE id = $2 AND fence = $3 AND state = 'pending'"
        }
    };
    let changed = sqlx::query(sql)
        .bind(to_ms(until))
        .bind(claim.id)
        .bind(claim.fence)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(changed == 1)
}

/// How much work `owner` has in flight now: claims it holds whose lease is running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    /// Outbox rows (messages being sent).
    pub outbox: i64,
    /// GitHub requests (API calls being made).
    pub github: i64,
}

/// The claims `owner` holds at `now` (`/healthz`, `sentinel_claims_held{work}`).
pub async fn held_by(conn: &mut Conn, owner: &str, now: DateTime<Utc>) -> Result<Held, sqlx::Error> {
    let mut held = Held::default();
    for (work, count) in [(Work::Outbox, &mut held.outbox), (Work::GitHub, &mut held.github)] {
        let sql = match work {
            Work::Outbox => {
                "SELECT COUNT(*) FROM outbox WHERE lease_owner = $1 AND lease_until > $2 AND state = 'pending'"
            }
            Work::GitHub => {
                "SELECT COUNT(*) FROM github_requests WHERE lease_owner = $1 AND lease_until > $2 AND state = 'pending'"
            }
        };
        *count = sqlx::query_scalar(sql)
            .bind(owner)
            .bind(to_ms(now))
            .fetch_one(&mut *conn)
            .await?;
    }
    Ok(held)
}

/// Expires every claim at once, keeping its owner (so the next claim marks an outbox row
/// `outcome_unknown` and looks first). For SQLite at start: one process per file, so every claim
/// in it belongs to the previous run, which is dead. Returns how many claims were expired.
pub async fn expire_all(conn: &mut Conn) -> Result<u64, sqlx::Error> {
    let mut expired = 0;
    for sql in [
        "UPDATE outbox SET lease_until = 0 WHERE lease_owner IS NOT NULL AND state = 'pending'",
        "UPDATE github_requests SET lease_until = 0 WHERE lease_owner IS NOT NULL AND state = 'pending'",
    ] {
        expired += sqlx::query(sql).execute(&mut *conn).await?.rows_affected();
    }
    Ok(expired)
}

/// Expires `owner`'s own claims on `platform`'s outbox rows, keeping the owner (so they are looked
/// for first): for a delivery worker (re)starting after a panic, whose previous run left them.
pub async fn expire_own_outbox(conn: &mut Conn, owner: &str, platform: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE outbox SET lease_until = 0 WHERE lease_owner = $1 AND platform = $2 AND state = 'pending'")
            .bind(owner)
            .bind(platform)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::harness::test_db::TestDb;
    use crate::harness::test_start;
    use crate::ids::Platform;
    use crate::message::Message;
    use crate::store::outbox::{self, NewOutbound, Op, Outbound};

    async fn pending_row(conn: &mut Conn, text: &str) -> Outbound {
        let message = Message::new("ops", text);
        let row = NewOutbound {
            idempotency_key: text.to_owned(),
            platform: Platform::Slack,
            // A channel per row: `due` takes a few rows per channel only.
            channel: text,
            op: Op::Post,
            recipient: None,
            response_url: None,
            message: &message,
            space: None,
        };
        outbox::enqueue(conn, &row, test_start()).await.expect("enqueue");
        outbox::due(conn, Platform::Slack, test_start(), 100, &[])
            .await
            .expect("due")
            .into_iter()
            .find(|row| row.idempotency_key == text)
            .expect("due row")
    }

    async fn lease_of(conn: &mut Conn, id: i64) -> (Option<String>, Option<i64>, String, Option<String>) {
        let row = sqlx::query("SELECT lease_owner, lease_until, state, platform_message_id FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await
            .expect("row");
        (
            row.try_get("lease_owner").expect("owner"),
            row.try_get("lease_until").expect("until"),
            row.try_get("state").expect("state"),
            row.try_get("platform_message_id").expect("id"),
        )
    }

    /// `/healthz` counts a claimer's running leases: its own only, and none once they run out or
    /// the row is done.
    #[tokio::test]
    async fn held_counts_only_the_owners_running_leases() {
        let db = TestDb::new().await;
        let pool = db.open().await.expect("open");
        let mut conn = pool.acquire().await.expect("conn");
        let t0 = test_start();
        let lease = Duration::seconds(30);
        let first = pending_row(&mut conn, "first").await;
        let second = pending_row(&mut conn, "second").await;
        claim(&mut conn, Work::Outbox, &[first.id, second.id], "a", t0, t0 + lease)
            .await
            .expect("claim");
        let held = |outbox| Held { outbox, github: 0 };
        assert_eq!(held_by(&mut conn, "a", t0).await.expect("a"), held(2));
        assert_eq!(held_by(&mut conn, "b", t0).await.expect("b"), held(0));
        sqlx::query("UPDATE outbox SET state = 'delivered', lease_owner = NULL, lease_until = NULL WHERE id = $1")
            .bind(first.id)
            .execute(&mut *conn)
            .await
            .expect("sent");
        assert_eq!(held_by(&mut conn, "a", t0).await.expect("a"), held(1));
        assert_eq!(
            held_by(&mut conn, "a", t0 + lease).await.expect("a"),
            held(0),
            "ran out"
        );
    }

    /// A claims, its lease runs out, B takes the row over (fence + 1, outcome unknown); A's late
    /// outcome is refused and changes nothing, B's stands. On the run's engine.
    #[tokio::test]
    async fn a_lost_claims_outcome_is_refused_and_the_new_owners_stands() {
        let db = TestDb::new().await;
        let pool = db.open().await.expect("open");
        let mut conn = pool.acquire().await.expect("conn");
        let t0 = test_start();
        let lease = Duration::seconds(30);
        let mut row = pending_row(&mut conn, "hello").await;

        let a = claim(&mut conn, Work::Outbox, &[row.id], "a", t0, t0 + lease)
            .await
            .expect("claim");
        assert_eq!(a.len(), 1);
        assert!(!a[0].outcome_unknown, "a first claim knows nothing was sent");
        assert_eq!(lease_of(&mut conn, row.id).await.0.as_deref(), Some("a"));
        // In flight: not due for anyone, and not claimable while the lease runs.
        assert!(
            outbox::due(&mut conn, Platform::Slack, t0 + Duration::seconds(29), 10, &[])
                .await
                .expect("due")
                .is_empty()
        );
        let early = claim(
            &mut conn,
            Work::Outbox,
            &[row.id],
            "b",
            t0 + Duration::seconds(29),
            t0 + lease * 2,
        )
        .await
        .expect("claim");
        assert!(early.is_empty());

        let t1 = t0 + Duration::seconds(31);
        assert_eq!(
            outbox::due(&mut conn, Platform::Slack, t1, 10, &[])
                .await
                .expect("due")
                .len(),
            1
        );
        let b = claim(&mut conn, Work::Outbox, &[row.id], "b", t1, t1 + lease)
            .await
            .expect("claim");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].fence, a[0].fence + 1);
        assert!(
            b[0].outcome_unknown,
            "taken over from a claim with no outcome: look first"
        );

        row.fence = b[0].fence;
        assert!(
            outbox::mark_delivered(&mut conn, Platform::Slack, &row, "ts-b", t1)
                .await
                .expect("b")
        );
        row.fence = a[0].fence;
        assert!(
            !outbox::mark_delivered(&mut conn, Platform::Slack, &row, "ts-a", t1)
                .await
                .expect("a")
        );
        assert!(
            !outbox::mark_retry(&mut conn, row.id, a[0].fence, t1, "late", true)
                .await
                .expect("a")
        );
        assert!(
            !outbox::mark_failed(&mut conn, row.id, a[0].fence, "late")
                .await
                .expect("a")
        );
        assert_eq!(
            lease_of(&mut conn, row.id).await,
            (None, None, "delivered".to_owned(), Some("ts-b".to_owned())),
            "B's delivery stands and the claim is cleared"
        );
        // A renewal with the lost fence fails too.
        let lost = Claim {
            id: row.id,
            fence: a[0].fence,
            outcome_unknown: false,
        };
        assert!(!renew(&mut conn, Work::Outbox, &lost, t1 + lease).await.expect("renew"));
    }

    /// An outcome clears the claim, so the next claim (a retry) does not think the outcome unknown;
    /// `expire_all` (SQLite at start) makes a claim takeable at once, keeping its owner.
    #[tokio::test]
    async fn outcomes_clear_the_claim_and_expiry_at_start_keeps_the_owner() {
        let db = TestDb::new().await;
        let pool = db.open().await.expect("open");
        let mut conn = pool.acquire().await.expect("conn");
        let t0 = test_start();
        let lease = Duration::seconds(30);
        let row = pending_row(&mut conn, "retry me").await;
        let first = claim(&mut conn, Work::Outbox, &[row.id], "a", t0, t0 + lease)
            .await
            .expect("claim");
        assert!(
            outbox::mark_retry(&mut conn, row.id, first[0].fence, t0, "503", false)
                .await
                .expect("retry")
        );
        assert_eq!(lease_of(&mut conn, row.id).await.0, None);
        let second = claim(&mut conn, Work::Outbox, &[row.id], "a", t0, t0 + lease)
            .await
            .expect("claim");
        assert!(!second[0].outcome_unknown);

        assert_eq!(expire_all(&mut conn).await.expect("expire"), 1);
        let (owner, until, _, _) = lease_of(&mut conn, row.id).await;
        assert_eq!((owner.as_deref(), until), (Some("a"), Some(0)));
        let third = claim(&mut conn, Work::Outbox, &[row.id], "a", t0, t0 + lease)
            .await
            .expect("claim");
        assert_eq!(third.len(), 1, "claimable at once");
        assert!(
            third[0].outcome_unknown,
            "the previous run may have sent it: look first"
        );
    }

    /// Two claimers racing for the same rows get disjoint sets (PostgreSQL: `SKIP LOCKED` plus the
    /// re-checked lease; SQLite: one writer).
    #[tokio::test]
    async fn concurrent_claims_never_share_a_row() {
        let db = TestDb::new().await;
        let pool = db.open().await.expect("open");
        let mut ids = Vec::new();
        {
            let mut conn = pool.acquire().await.expect("conn");
            for i in 0..40 {
                ids.push(pending_row(&mut conn, &format!("m{i}")).await.id);
            }
        }
        let t0 = test_start();
        let claimer = |owner: &'static str| {
            let (pool, ids) = (pool.clone(), ids.clone());
            async move {
                let mut got = Vec::new();
                for chunk in ids.chunks(5) {
                    let mut tx = crate::store::begin_write(&pool).await.expect("begin");
                    let claims = claim(&mut tx, Work::Outbox, chunk, owner, t0, t0 + Duration::seconds(30))
                        .await
                        .expect("claim");
                    tx.commit().await.expect("commit");
                    got.extend(claims.into_iter().map(|c| c.id));
                }
                got
            }
        };
        let (a, b) = tokio::join!(tokio::spawn(claimer("a")), tokio::spawn(claimer("b")));
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert!(a.iter().all(|id| !b.contains(id)), "a {a:?} b {b:?}");
        assert_eq!(a.len() + b.len(), 40);
    }

    async fn attempts_of(conn: &mut Conn, id: i64) -> i64 {
        sqlx::query_scalar("SELECT attempts FROM github_requests WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await
            .expect("attempts")
    }

    /// A GitHub request taken over from a claimer that left no outcome counts that try as an
    /// attempt and is claimed as outcome unknown (a creating POST then looks first); a retry
    /// recorded normally is not counted twice.
    #[tokio::test]
    async fn a_github_request_taken_over_counts_the_dead_claimers_try_and_is_outcome_unknown() {
        use crate::github::{GitHubRequest, store as requests};
        let db = TestDb::new().await;
        let pool = db.open().await.expect("open");
        let mut conn = pool.acquire().await.expect("conn");
        let t0 = test_start();
        let lease = Duration::seconds(30);
        let post = GitHubRequest::post("c", "/repos/acme/app/issues", serde_json::json!({"title": "t"}));
        let id = requests::insert(&mut conn, "asker", &post, t0).await.expect("insert");
        let a = claim(&mut conn, Work::GitHub, &[id], "a", t0, t0 + lease)
            .await
            .expect("a");
        assert!(!a[0].outcome_unknown, "nothing was tried yet");
        // A dies in flight; B takes the row over after the lease.
        let t1 = t0 + Duration::seconds(31);
        let b = claim(&mut conn, Work::GitHub, &[id], "b", t1, t1 + lease)
            .await
            .expect("b");
        assert!(b[0].outcome_unknown, "A may have sent it");
        assert_eq!(attempts_of(&mut conn, id).await, 1);
        // B's own attempt fails and is recorded; the next claim is still unknown, counted once.
        assert!(
            requests::mark_retry(&mut conn, id, b[0].fence, t1, "502")
                .await
                .expect("retry")
        );
        assert_eq!(attempts_of(&mut conn, id).await, 2);
        let c = claim(&mut conn, Work::GitHub, &[id], "c", t1, t1 + lease)
            .await
            .expect("c");
        assert!(c[0].outcome_unknown);
        assert_eq!(attempts_of(&mut conn, id).await, 2);
    }
}
