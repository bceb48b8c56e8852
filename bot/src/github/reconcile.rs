//! Webhook reconciliation: GitHub does not redeliver a failed webhook delivery by itself. For each
//! hook in `[github.reconcile]`, every `interval` on the bot's clock, the task reads the hook's
//! deliveries of the last `lookback` (`GET …/hooks/{id}/deliveries?per_page=100`, newest first,
//! `Link: rel="next"` with GitHub's `cursor`), groups them by `guid` (the event's
//! `X-GitHub-Delivery`, shared by all its redeliveries) and, for an event none of whose deliveries
//! succeeded (`status_code` outside 2xx; `0` when GitHub could not connect), that the inbox does
//! not hold (`github:{guid}`) and that was not asked for before (`github_redeliveries`, so a restart
//! does not ask again), asks GitHub once to redeliver its latest failed delivery
//! (`POST …/deliveries/{id}/attempts`). The redelivery arrives at the webhook endpoint like any
//! delivery: signed, verified, deduplicated. When a later reading shows a successful delivery of an
//! asked-for event, it counts as recovered. Both are written to the security log and counted on
//! `/metrics`. Below `github.rate_limit_reserve` calls left, the task waits for the window to reset.
//! Of several instances on one database, one reconciles at a time: the holder of the singleton job
//! `github_reconcile` ([`crate::cluster`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::store::DbPool;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::client::{Answer, GitHubClient};
use super::rate_limit::{Pause, describe};
use super::request::Method;
use crate::cluster;
use crate::config::model::HookRef;
use crate::pipeline::{Shared, Shutdown};
use crate::store::{cluster_jobs, security_log, to_ms};

/// One delivery as GitHub lists it (the fields used; GitHub's names).
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    /// The delivery's id (each redelivery has its own).
    pub id: u64,
    /// The event's id, shared by the event's deliveries and redeliveries.
    pub guid: String,
    /// When it was delivered.
    pub delivered_at: DateTime<Utc>,
    /// Whether it is a redelivery.
    #[serde(default)]
    pub redelivery: bool,
    /// GitHub's description of the answer (`OK`, `failed to connect`, …).
    #[serde(default)]
    pub status: String,
    /// The HTTP status the receiver answered; `0` when there was no answer.
    #[serde(default)]
    pub status_code: u16,
    /// The webhook event.
    #[serde(default)]
    pub event: String,
}

impl Delivery {
    /// True when the receiver took it.
    pub fn succeeded(&self) -> bool {
        (200..=299).contains(&self.status_code)
    }
}

/// What to do about one event (`guid`) of a hook's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A delivery of it succeeded.
    Delivered,
    /// Every delivery failed: the latest failed one, to redeliver.
    Failed(u64),
}

/// The events of `deliveries`, by guid, with what became of each.
pub fn verdicts(deliveries: &[Delivery]) -> BTreeMap<String, Verdict> {
    let mut verdicts: BTreeMap<String, Verdict> = BTreeMap::new();
    for delivery in deliveries {
        let verdict = verdicts.entry(delivery.guid.clone()).or_insert(Verdict::Failed(0));
        *verdict = match verdict {
            Verdict::Delivered => Verdict::Delivered,
            _ if delivery.succeeded() => Verdict::Delivered,
            Verdict::Failed(latest) => Verdict::Failed((*latest).max(delivery.id)),
        };
    }
    verdicts
}

/// Runs reconciliation until shutdown: one round at once, then every `github.reconcile.interval`.
pub async fn run(pool: DbPool, shared: Arc<Shared>, shutdown: Shutdown) {
    let mut shutdown = shutdown;
    let settings = &shared.config.github;
    let Some(client) = GitHubClient::for_task(settings, "github.reconcile", &mut shutdown).await else {
        return;
    };
    let mut reconciler = Reconciler {
        pool,
        shared: shared.clone(),
        client,
        pause: Pause::default(),
    };
    let interval = settings.reconcile.interval.chrono();
    tracing::info!(hooks = settings.reconcile.hooks.len(), interval = %settings.reconcile.interval, "github webhook reconciliation on");
    loop {
        let started = shared.clock.now();
        // One instance of a cluster reconciles (the singleton job `github_reconcile`).
        if !cluster::lead(&reconciler.pool, &shared, cluster_jobs::GITHUB_RECONCILE, interval).await {
            let clock = shared.clock.clone();
            tokio::select! {
                _ = clock.sleep_until(cluster::look_again(&shared, interval)) => continue,
                _ = shutdown.wait() => return,
            }
        }
        for hook in &settings.reconcile.hooks {
            if shutdown.is_down() || reconciler.paused() {
                break;
            }
            let Some(path) = hook.path() else { continue };
            if let Err(reason) = reconciler.reconcile(hook, &path).await {
                tracing::warn!(hook = %path, cause = %reason, "github reconcile: deliveries not checked");
            }
        }
        shared.metrics.github_reconcile_rounds.inc();
        let next = (started + interval).max(reconciler.pause.until().unwrap_or(started));
        let clock = shared.clock.clone();
        tokio::select! {
            _ = clock.sleep_until(next) => {}
            _ = shutdown.wait() => return,
        }
    }
}

struct Reconciler {
    pool: DbPool,
    shared: Arc<Shared>,
    client: GitHubClient,
    /// No request before its end: the rate-limit window is (nearly) spent.
    pause: Pause,
}

impl Reconciler {
    /// Reads one hook's recent deliveries and asks for the redeliveries it needs.
    async fn reconcile(&mut self, hook: &HookRef, path: &str) -> Result<(), String> {
        let deliveries = self.list(path).await?;
        let verdicts = verdicts(&deliveries);
        let asked = self.asked(verdicts.keys()).await?;
        let by_id: HashMap<u64, &Delivery> = deliveries.iter().map(|d| (d.id, d)).collect();
        for (guid, verdict) in &verdicts {
            match (verdict, asked.get(guid)) {
                (Verdict::Delivered, Some(false)) => self.recovered(path, guid).await?,
                (Verdict::Failed(id), None) => {
                    if self.in_inbox(guid).await? {
                        continue;
                    }
                    if self.paused() {
                        return Ok(());
                    }
                    let Some(delivery) = by_id.get(id) else { continue };
                    self.redeliver(hook, path, delivery).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The hook's deliveries of the last `lookback`, newest first.
    async fn list(&mut self, path: &str) -> Result<Vec<Delivery>, String> {
        let since = self.shared.clock.now() - self.shared.config.github.reconcile.lookback.chrono();
        let mut target = format!("{path}/deliveries?per_page=100");
        let mut deliveries = Vec::new();
        for _ in 0..self.shared.config.github.max_pages {
            let answer = self.call(Method::Get, &target).await?;
            let Some(Value::Array(items)) = answer.body else {
                return Err("the deliveries are not a JSON list".to_owned());
            };
            let mut reached = false;
            for item in items {
                match serde_json::from_value::<Delivery>(item) {
                    Ok(delivery) if delivery.delivered_at < since => {
                        reached = true;
                        break;
                    }
                    Ok(delivery) => deliveries.push(delivery),
                    Err(err) => {
                        tracing::warn!(hook = %path, cause = %err, "github reconcile: a delivery not understood; skipped")
                    }
                }
            }
            match answer.next.as_deref() {
                Some(link) if !reached && !self.paused() => target = self.client.next_target(link)?,
                _ => return Ok(deliveries),
            }
        }
        tracing::warn!(hook = %path, "github reconcile: stopped at github.max_pages; older deliveries not checked");
        Ok(deliveries)
    }

    /// One request; a non-2xx answer is an error (after noting the rate limit).
    async fn call(&mut self, method: Method, target: &str) -> Result<Answer, String> {
        let answer = self.client.send(method, target, None).await?;
        let reserve = self.shared.config.github.rate_limit_reserve;
        if let Some(until) = self.pause.note(&answer, reserve, self.shared.clock.now()) {
            tracing::warn!(remaining = answer.remaining, until = %until, "github reconcile: rate limit low; paused until it resets");
        }
        if !(200..=299).contains(&answer.status) {
            return Err(describe(&answer));
        }
        Ok(answer)
    }

    /// Asks GitHub to redeliver `delivery`, and remembers it was asked.
    async fn redeliver(&mut self, hook: &HookRef, path: &str, delivery: &Delivery) -> Result<(), String> {
        let target = format!("{path}/deliveries/{}/attempts", delivery.id);
        self.call(Method::Post, &target).await?;
        let now = self.shared.clock.now();
        let detail = format!(
            "hook {path}: {} delivery {} (event {}) failed ({} {}); redelivery asked",
            delivery.event, delivery.id, delivery.guid, delivery.status_code, delivery.status
        );
        let asked = std::time::Instant::now();
        let mut got = asked;
        let result = async {
            let _turn = self.shared.writes.turn().await;
            got = std::time::Instant::now();
            let mut tx = crate::store::begin_write(&self.pool).await?;
            sqlx::query(
                "INSERT INTO github_redeliveries (guid, hook, delivery_id, event, asked_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (guid) DO NOTHING",
            )
            .bind(&delivery.guid)
            .bind(path)
            .bind(i64::try_from(delivery.id).unwrap_or(i64::MAX))
            .bind(&delivery.event)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
            security_log::record(&mut tx, now, "github_redelivery_requested", "github", &detail).await?;
            tx.commit().await
        }
        .await;
        self.shared.metrics.write_turn("github_reconcile", asked, got);
        result.map_err(|err| format!("could not store the asked redelivery: {err}"))?;
        self.shared.metrics.github_redeliveries_requested.inc();
        tracing::warn!(hook = %path, hook_id = hook.id, delivery = delivery.id, guid = %delivery.guid, event = %delivery.event,
            status_code = delivery.status_code, "github reconcile: failed webhook delivery; redelivery asked");
        Ok(())
    }

    /// Marks an asked-for event as delivered.
    async fn recovered(&mut self, path: &str, guid: &str) -> Result<(), String> {
        let now = self.shared.clock.now();
        let detail = format!("hook {path}: event {guid} delivered after a redelivery was asked");
        let asked = std::time::Instant::now();
        let mut got = asked;
        let result = async {
            let _turn = self.shared.writes.turn().await;
            got = std::time::Instant::now();
            let mut tx = crate::store::begin_write(&self.pool).await?;
            sqlx::query("UPDATE github_redeliveries SET recovered_at = $1 WHERE guid = $2")
                .bind(to_ms(now))
                .bind(guid)
                .execute(&mut *tx)
                .await?;
            security_log::record(&mut tx, now, "github_delivery_recovered", "github", &detail).await?;
            tx.commit().await
        }
        .await;
        self.shared.metrics.write_turn("github_reconcile", asked, got);
        result.map_err(|err| format!("could not store the recovery: {err}"))?;
        self.shared.metrics.github_redeliveries_recovered.inc();
        tracing::info!(hook = %path, guid, "github reconcile: failed webhook delivery recovered");
        Ok(())
    }

    /// The guids among `guids` asked for before, each with whether it was recovered since.
    async fn asked(&self, guids: impl Iterator<Item = &String>) -> Result<HashMap<String, bool>, String> {
        let mut asked = HashMap::new();
        let mut conn = self.pool.acquire().await.map_err(|e| e.to_string())?;
        for guid in guids {
            let row: Option<Option<i64>> =
                sqlx::query_scalar("SELECT recovered_at FROM github_redeliveries WHERE guid = $1")
                    .bind(guid)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())?;
            if let Some(recovered) = row {
                asked.insert(guid.clone(), recovered.is_some());
            }
        }
        Ok(asked)
    }

    /// True when the inbox holds the delivery (stored under its delivery id).
    async fn in_inbox(&self, guid: &str) -> Result<bool, String> {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM inbox WHERE dedup_key = $1")
            .bind(format!("github:{guid}"))
            .fetch_one(&self.pool)
            .await
            .map(|n| n > 0)
            .map_err(|e| e.to_string())
    }

    fn paused(&mut self) -> bool {
        self.pause.active(self.shared.clock.now())
    }
}
