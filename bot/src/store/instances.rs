//! The instance registry (table `instances`, migration `0017_cluster.sql`): which Sentinel instances
//! share this database, and which of them are alive.
//!
//! Each instance registers its row at start ([`register`]), records a heartbeat every
//! `cluster.heartbeat` ([`heartbeat`]) and marks the row stopped on a clean shutdown ([`stop`]). An
//! instance is alive while it is not stopped and its last heartbeat is younger than three heartbeat
//! periods ([`alive_within`]); a killed one is seen gone after that. Housekeeping deletes rows that
//! have been stopped or silent for [`FORGET_AFTER`] ([`prune`]).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Conn, DbRow, from_ms, to_ms};

/// How long a stopped or silent instance stays listed before housekeeping forgets it: a day, long
/// enough to see in `/healthz` which instance died overnight.
pub const FORGET_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// How many heartbeat periods an instance may miss before it counts as gone.
pub const MISSED_HEARTBEATS: i32 = 3;

/// The silence after which an instance whose heartbeat period is `heartbeat` counts as gone.
pub fn alive_within(heartbeat: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(heartbeat).unwrap_or(chrono::Duration::seconds(5)) * MISSED_HEARTBEATS
}

/// What an instance says about itself when it registers and beats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    /// `cluster.instance`.
    pub name: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id.
    pub pid: i64,
    /// Sentinel's version.
    pub version: String,
}

/// One instance as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Its name.
    pub name: String,
    /// The host it runs (ran) on.
    pub host: String,
    /// Its process id.
    pub pid: i64,
    /// Its version.
    pub version: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub heartbeat_at: DateTime<Utc>,
    /// When it shut down cleanly, if it did.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Not stopped, and its last heartbeat within [`alive_within`].
    pub alive: bool,
}

/// What [`register`] found under the name before it took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// No row, or a stopped or silent one: the name is this instance's.
    Fresh,
    /// The name is alive elsewhere (another host or process beat within [`alive_within`]): two
    /// instances with one name would share each other's claims. A configuration error, unless this
    /// very instance was killed and restarted within that time.
    Duplicate {
        /// The other's host.
        host: String,
        /// The other's process id.
        pid: i64,
    },
}

/// Registers `me` at `now` (a row of its own, replacing the name's earlier one). `within`: see
/// [`alive_within`].
pub async fn register(
    conn: &mut Conn,
    me: &Me,
    now: DateTime<Utc>,
    within: chrono::Duration,
) -> Result<Registered, sqlx::Error> {
    let before: Option<(String, i64)> =
        sqlx::query("SELECT host, pid FROM instances WHERE name = $1 AND stopped_at IS NULL AND heartbeat_at > $2")
            .bind(&me.name)
            .bind(to_ms(now - within))
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| Ok::<_, sqlx::Error>((row.try_get("host")?, row.try_get("pid")?)))
            .transpose()?;
    sqlx::query(
        "INSERT INTO instances (name, host, pid, version, started_at, heartbeat_at, stopped_at)
         VALUES ($1, $2, $3, $4, $5, $5, NULL)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
    )
    .bind(&me.name)
    .bind(&me.host)
    .bind(me.pid)
    .bind(&me.version)
    .bind(to_ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(match before {
        Some((host, pid)) if host != me.host || pid != me.pid => Registered::Duplicate { host, pid },
        _ => Registered::Fresh,
    })
}

/// Records that `me` is alive at `now`. The row comes back should it have gone (pruned while this
/// instance was paused for a day), keeping its start time otherwise.
pub async fn heartbeat(conn: &mut Conn, me: &Me, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instances (name, host, pid, version, started_at, heartbeat_at, stopped_at)
         VALUES ($1, $2, $3, $4, $5, $5, NULL)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
             heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
    )
    .bind(&me.name)
    .bind(&me.host)
    .bind(me.pid)
    .bind(&me.version)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks `me` stopped at `now` (a clean shutdown). A row another process has taken the name over
/// with is left alone.
pub async fn stop(conn: &mut Conn, me: &Me, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instances SET stopped_at = $1 WHERE name = $2 AND host = $3 AND pid = $4")
        .bind(to_ms(now))
        .bind(&me.name)
        .bind(&me.host)
        .bind(me.pid)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every registered instance, alive ones first, each group by name.
pub async fn list(conn: &mut Conn, now: DateTime<Utc>, within: chrono::Duration) -> Result<Vec<Instance>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT name, host, pid, version, started_at, heartbeat_at, stopped_at FROM instances ORDER BY name",
    )
    .fetch_all(conn)
    .await?;
    let oldest = now - within;
    let mut instances = rows
        .iter()
        .map(|row| instance(row, oldest))
        .collect::<Result<Vec<_>, _>>()?;
    instances.sort_by_key(|instance| !instance.alive);
    Ok(instances)
}

fn instance(row: &DbRow, oldest: DateTime<Utc>) -> Result<Instance, sqlx::Error> {
    let heartbeat_at = from_ms(row.try_get("heartbeat_at")?);
    let stopped_at = row.try_get::<Option<i64>, _>("stopped_at")?.map(from_ms);
    Ok(Instance {
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        pid: row.try_get("pid")?,
        version: row.try_get("version")?,
        started_at: from_ms(row.try_get("started_at")?),
        alive: stopped_at.is_none() && heartbeat_at > oldest,
        heartbeat_at,
        stopped_at,
    })
}

/// Forgets the instances stopped or silent since before `before`; returns how many.
pub async fn prune(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM instances WHERE heartbeat_at < $1 OR stopped_at < $1")
        .bind(to_ms(before))
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::harness::test_db::TestDb;
    use crate::harness::test_start;

    fn me(name: &str, pid: i64) -> Me {
        Me {
            name: name.into(),
            host: "host-1".into(),
            pid,
            version: "1.2.3".into(),
        }
    }

    #[tokio::test]
    async fn registered_instances_stay_alive_while_they_beat_and_stop_when_told() {
        let db = TestDb::new().await;
        let pool = db.open().await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let within = alive_within(std::time::Duration::from_secs(5));
        let t0 = test_start();
        let (a, b) = (me("a", 10), me("b", 11));
        assert_eq!(register(&mut conn, &a, t0, within).await.unwrap(), Registered::Fresh);
        assert_eq!(register(&mut conn, &b, t0, within).await.unwrap(), Registered::Fresh);

        // `a` beats, `b` falls silent: after 3 heartbeats `b` is gone.
        let t1 = t0 + chrono::Duration::seconds(16);
        heartbeat(&mut conn, &a, t1).await.unwrap();
        let listed = list(&mut conn, t1, within).await.unwrap();
        let alive: Vec<(&str, bool)> = listed.iter().map(|i| (i.name.as_str(), i.alive)).collect();
        assert_eq!(alive, [("a", true), ("b", false)]);
        assert_eq!(listed[0].started_at, t0);
        assert_eq!(listed[0].heartbeat_at, t1);
        assert_eq!(listed[0].version, "1.2.3");

        // A beat brings `b` back; a stop marks it gone at once.
        heartbeat(&mut conn, &b, t1).await.unwrap();
        assert!(list(&mut conn, t1, within).await.unwrap().iter().all(|i| i.alive));
        stop(&mut conn, &b, t1).await.unwrap();
        let listed = list(&mut conn, t1, within).await.unwrap();
        let stopped = listed.iter().find(|i| i.name == "b").unwrap();
        assert!(!stopped.alive);
        assert_eq!(stopped.stopped_at, Some(t1));
    }

    #[tokio::test]
    async fn a_name_alive_in_another_process_is_reported_and_a_dead_ones_is_taken_over() {
        let db = TestDb::new().await;
        let pool = db.open().await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let within = alive_within(std::time::Duration::from_secs(5));
        let t0 = test_start();
        register(&mut conn, &me("a", 10), t0, within).await.unwrap();
        // Same name, another process, while the first beats: a configuration error.
        let twin = register(&mut conn, &me("a", 20), t0 + chrono::Duration::seconds(1), within)
            .await
            .unwrap();
        assert_eq!(
            twin,
            Registered::Duplicate {
                host: "host-1".into(),
                pid: 10
            }
        );
        // The same process registering again (a restart in-process) is not a duplicate.
        let again = register(&mut conn, &me("a", 20), t0 + chrono::Duration::seconds(2), within)
            .await
            .unwrap();
        assert_eq!(again, Registered::Fresh);
        // A name whose holder stopped beating long ago is free.
        let later = t0 + chrono::Duration::minutes(5);
        let replaced = register(&mut conn, &me("a", 30), later, within).await.unwrap();
        assert_eq!(replaced, Registered::Fresh);
        // The old process's shutdown does not mark the new one stopped.
        stop(&mut conn, &me("a", 20), later).await.unwrap();
        let listed = list(&mut conn, later, within).await.unwrap();
        assert_eq!((listed[0].pid, listed[0].alive), (30, true));
    }

    #[tokio::test]
    async fn housekeeping_forgets_instances_gone_for_a_day() {
        let db = TestDb::new().await;
        let pool = db.open().await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let within = alive_within(std::time::Duration::from_secs(5));
        let t0 = test_start();
        for (name, pid) in [("stopped", 1), ("silent", 2), ("alive", 3)] {
            register(&mut conn, &me(name, pid), t0, within).await.unwrap();
        }
        stop(&mut conn, &me("stopped", 1), t0).await.unwrap();
        let next_day = t0 + FORGET_AFTER + chrono::Duration::minutes(1);
        heartbeat(&mut conn, &me("alive", 3), next_day).await.unwrap();
        assert_eq!(prune(&mut conn, next_day - FORGET_AFTER).await.unwrap(), 2);
        let names: Vec<String> = list(&mut conn, next_day, within)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, ["alive"]);
    }
}
