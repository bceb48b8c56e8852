//! This instance's part in a cluster of instances sharing one database: its row in the registry
//! ([`store::instances`]) kept fresh by a heartbeat, its turn at the singleton periodic jobs
//! ([`store::cluster_jobs`]), and what `/healthz`, `/metrics` and `/sentinel status` show of both.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::pipeline::{Shared, Shutdown};
use crate::store::instances::{self, Me, Registered};
use crate::store::{DbPool, claims, cluster_jobs};

/// This process as the registry knows it.
pub fn me(shared: &Shared) -> Me {
    Me {
        name: shared.instance.clone(),
        host: crate::config::cluster::host_name(),
        pid: i64::from(std::process::id()),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The silence after which an instance counts as gone, from `cluster.heartbeat`.
pub fn alive_within(shared: &Shared) -> chrono::Duration {
    instances::alive_within(shared.config.cluster.heartbeat.std())
}

/// Registers this instance at start, warning when its name is alive in another process.
pub async fn register(pool: &DbPool, shared: &Shared) -> Result<(), sqlx::Error> {
    let me = me(shared);
    let _turn = shared.writes.turn().await;
    let mut conn = pool.acquire().await?;
    let registered = instances::register(&mut conn, &me, shared.clock.now(), alive_within(shared)).await?;
    if let Registered::Duplicate { host, pid } = registered {
        tracing::warn!(
            instance = %me.name,
            other_host = %host,
            other_pid = pid,
            "another process with this instance name is alive on this database: two instances with one name \
             share each other's claims; give each its own `cluster.instance` (ignore this if this instance was \
             just killed and restarted)"
        );
    }
    tracing::info!(instance = %me.name, "registered in the instance registry");
    Ok(())
}

/// Records this instance's heartbeat every `cluster.heartbeat` on the bot's clock, until shutdown.
pub async fn heartbeat(pool: DbPool, shared: Arc<Shared>, mut shutdown: Shutdown) {
    let me = me(&shared);
    let every =
        chrono::Duration::from_std(shared.config.cluster.heartbeat.std()).unwrap_or(chrono::Duration::seconds(5));
    loop {
        let now = shared.clock.now();
        let beat = async {
            let _turn = shared.writes.turn().await;
            let mut conn = pool.acquire().await?;
            instances::heartbeat(&mut conn, &me, now).await
        };
        if let Err(err) = beat.await {
            tracing::warn!(cause = ?err, "heartbeat not recorded");
        }
        let clock = shared.clock.clone();
        tokio::select! {
            _ = clock.sleep_until(now + every) => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// Marks this instance stopped and gives up its jobs (a clean shutdown).
pub async fn deregister(pool: &DbPool, shared: &Shared) -> Result<(), sqlx::Error> {
    let me = me(shared);
    let _turn = shared.writes.turn().await;
    let mut conn = pool.acquire().await?;
    cluster_jobs::release_all(&mut conn, &me.name).await?;
    instances::stop(&mut conn, &me, shared.clock.now()).await
}

/// Whether this instance runs the next round of the singleton `job`, whose rounds come every
/// `interval`: it takes or renews the job's lease for `interval` + `cluster.lease`, so the holder
/// renews before it runs out. A killed holder's job is taken over once it missed three heartbeats
/// (or, were the registry row gone, once the lease ran out). A database
/// error counts as "not mine" (the round is skipped and logged).
pub async fn lead(pool: &DbPool, shared: &Shared, job: &str, interval: chrono::Duration) -> bool {
    let now = shared.clock.now();
    let lease = chrono::Duration::from_std(shared.config.cluster.lease.std()).unwrap_or(chrono::Duration::seconds(30));
    let held = async {
        let _turn = shared.writes.turn().await;
        let mut conn = pool.acquire().await?;
        let ask = cluster_jobs::Ask {
            now,
            until: now + interval + lease,
            silent_since: now - alive_within(shared),
        };
        cluster_jobs::hold(&mut conn, job, &shared.instance, ask).await
    };
    match held.await {
        Ok(Some(_fence)) => true,
        Ok(None) => {
            tracing::debug!(job, "another instance runs this job; round skipped");
            false
        }
        Err(err) => {
            tracing::warn!(job, cause = ?err, "cannot take the job's lease; round skipped");
            false
        }
    }
}

/// When an instance that did not run `job`'s round looks again: after `cluster.lease`, or the
/// interval when that is shorter, so a released or expired job is taken over soon.
pub fn look_again(shared: &Shared, interval: chrono::Duration) -> DateTime<Utc> {
    let lease = chrono::Duration::from_std(shared.config.cluster.lease.std()).unwrap_or(chrono::Duration::seconds(30));
    shared.clock.now() + lease.min(interval)
}

/// The cluster as `/healthz` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterView {
    /// How many instances are alive (this one included).
    pub alive: usize,
    /// Every registered instance, alive ones first.
    pub instances: Vec<InstanceView>,
    /// The singleton jobs this instance leads now.
    pub jobs_held: Vec<String>,
    /// The work this instance has in flight now (claims whose lease is running): what another
    /// instance would take over, after `cluster.lease`, if this one died.
    pub claims_held: claims::Held,
}

/// One instance in `/healthz`.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceView {
    /// Its name.
    pub name: String,
    /// Its host.
    pub host: String,
    /// Its version.
    pub version: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_seconds: i64,
    /// Alive: not stopped and beating.
    pub alive: bool,
    /// When it shut down cleanly, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<DateTime<Utc>>,
    /// True for the instance answering.
    pub this: bool,
}

/// Reads the registry and this instance's jobs.
pub async fn view(conn: &mut crate::store::Conn, shared: &Shared) -> Result<ClusterView, sqlx::Error> {
    let within = alive_within(shared);
    view_at(conn, &shared.instance, shared.clock.now(), within).await
}

/// The cluster as instance `this` sees it at `now`, counting instances silent for `within` as gone.
pub async fn view_at(
    conn: &mut crate::store::Conn,
    this: &str,
    now: DateTime<Utc>,
    within: chrono::Duration,
) -> Result<ClusterView, sqlx::Error> {
    let listed = instances::list(&mut *conn, now, within).await?;
    let jobs_held = cluster_jobs::held_by(&mut *conn, this, now).await?;
    let claims_held = claims::held_by(&mut *conn, this, now).await?;
    let instances: Vec<InstanceView> = listed
        .into_iter()
        .map(|instance| InstanceView {
            this: instance.name == this,
            heartbeat_age_seconds: (now - instance.heartbeat_at).num_seconds().max(0),
            name: instance.name,
            host: instance.host,
            version: instance.version,
            started: instance.started_at,
            alive: instance.alive,
            stopped: instance.stopped_at,
        })
        .collect();
    Ok(ClusterView {
        alive: instances.iter().filter(|instance| instance.alive).count(),
        instances,
        jobs_held,
        claims_held,
    })
}
