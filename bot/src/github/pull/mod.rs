//! Pull mode: GitHub without webhooks. For the organisations and repositories in `[github.pull]`,
//! the task polls GitHub's security alert listings (and, per repository, its failed workflow runs)
//! every `interval` and stores each changed alert or failed run as the event its webhook would have
//! been ([`convert`], [`runs`]), keyed by content so that one seen by webhook and by poll is handled
//! once.
//!
//! Per listing ([`endpoints`]): the first page is asked for newest change first with
//! `If-None-Match: <ETag of the last poll>`; `304 Not Modified` means nothing changed (and costs no
//! rate limit). Otherwise pages are read (`Link: rel="next"`) until a page holds an item whose
//! `updated_at` is older than the newest one read last time (items with that very time are read
//! again and dropped as duplicates, so two changes within one second are not lost). Workflow runs
//! are listed newest *created* first, so a re-run of an older run that failed again is found when
//! it is on a page read, that is among the newest failed runs. The events and the listing's new
//! ETag and watermark ([`cursors`]) are written in one transaction: a crash in between reads the
//! same changes again, and they dedup. When GitHub's `x-ratelimit-remaining` falls below
//! `github.rate_limit_reserve`, polling stops until `x-ratelimit-reset`. Of several instances on one
//! database, one polls at a time: the holder of the singleton job `github_pull` ([`crate::cluster`]).

pub mod convert;
pub mod cursors;
pub mod endpoints;
pub mod runs;

use std::sync::Arc;

use crate::store::DbPool;
use chrono::{DateTime, Utc};
use serde_json::Value;

use self::convert::Skipped;
use self::cursors::Cursor;
use self::endpoints::Endpoint;
use super::client::{Answer, GitHubClient};
use super::rate_limit::{Pause, describe};
use super::request::Method;
use crate::cluster;
use crate::event::NewEvent;
use crate::pipeline::{Shared, Shutdown, Waker};
use crate::store::{cluster_jobs, inbox};

/// Runs pull mode until shutdown: one round over `endpoints` at once, then every
/// `github.pull.interval` on the bot's clock (later while the rate limit is paused).
pub async fn run(pool: DbPool, shared: Arc<Shared>, endpoints: Arc<Vec<Endpoint>>, wake: Waker, shutdown: Shutdown) {
    let mut shutdown = shutdown;
    let settings = &shared.config.github;
    let Some(client) = GitHubClient::for_task(settings, "github.pull", &mut shutdown).await else {
        return;
    };
    let mut poller = Poller {
        pool,
        shared: shared.clone(),
        client,
        wake,
        pause: Pause::default(),
    };
    let interval = settings.pull.interval.chrono();
    tracing::info!(listings = endpoints.len(), interval = %settings.pull.interval, "github pull mode polling");
    loop {
        let started = shared.clock.now();
        // One instance of a cluster polls (the singleton job `github_pull`): N pollers would spend N
        // times the rate limit for the same changes.
        let next = if cluster::lead(&poller.pool, &shared, cluster_jobs::GITHUB_PULL, interval).await {
            poller.round(&endpoints, &shutdown).await;
            (started + interval).max(poller.pause.until().unwrap_or(started))
        } else {
            cluster::look_again(&shared, interval)
        };
        let clock = shared.clock.clone();
        tokio::select! {
            _ = clock.sleep_until(next) => {}
            _ = shutdown.wait() => return,
        }
    }
}

struct Poller {
    pool: DbPool,
    shared: Arc<Shared>,
    client: GitHubClient,
    wake: Waker,
    /// No request before its end: the rate-limit window is (nearly) spent.
    pause: Pause,
}

/// What reading one listing came to.
enum Polled {
    /// `304 Not Modified`.
    Unchanged,
    /// Read; this many new events stored.
    Read(u64),
    /// Stopped for the rate limit; what was read is stored, the cursor not moved.
    Paused,
}

impl Poller {
    /// Polls every listing once, in order, stopping early for the rate limit or shutdown.
    async fn round(&mut self, endpoints: &[Endpoint], shutdown: &Shutdown) {
        let metrics = self.shared.metrics.clone();
        for endpoint in endpoints {
            if shutdown.is_down() || self.paused() {
                break;
            }
            match self.poll(endpoint).await {
                Ok(Polled::Unchanged) => {
                    metrics.github_pull_not_modified.inc();
                    tracing::debug!(listing = %endpoint.path, "github pull: not modified");
                }
                Ok(Polled::Read(found)) => {
                    metrics.github_pull_events.inc_by(found);
                    if found > 0 {
                        tracing::info!(listing = %endpoint.path, found, "github pull: alert changes stored");
                    }
                }
                Ok(Polled::Paused) => {}
                Err(reason) => {
                    tracing::warn!(listing = %endpoint.path, cause = %reason, "github pull: listing not read")
                }
            }
        }
        metrics.github_pull_polls.inc();
    }

    fn paused(&mut self) -> bool {
        self.pause.active(self.shared.clock.now())
    }

    /// Reads one listing down to its watermark and stores what changed.
    async fn poll(&mut self, endpoint: &Endpoint) -> Result<Polled, String> {
        let cursor = {
            let mut conn = self.pool.acquire().await.map_err(|e| e.to_string())?;
            cursors::get(&mut conn, &endpoint.path)
                .await
                .map_err(|e| e.to_string())?
        };
        let now = self.shared.clock.now();
        // Never polled: what changed within `initial_lookback` is news, anything older is known.
        let floor = match cursor.as_ref().and_then(|c| c.watermark.as_deref()) {
            Some(watermark) => parse_time(watermark),
            None if cursor.is_some() => None,
            None => Some(now - self.shared.config.github.pull.initial_lookback.chrono()),
        };
        // The first poll's floor is remembered even when nothing is newer, or the first change in
        // the listing would announce every alert the lookback had taken as known.
        let lookback = if cursor.is_none() { floor } else { None };
        let shared = self.shared.clone();
        let settings = &shared.config.github;
        let mut target = endpoint.first_page();
        let mut etag = cursor.as_ref().and_then(|c| c.etag.clone());
        let mut first_etag = None;
        let mut newest: Option<(DateTime<Utc>, String)> = None;
        let mut events: Vec<NewEvent> = Vec::new();
        let mut pages = 0;
        loop {
            let answer = self
                .client
                .send_if_changed(Method::Get, &target, None, etag.take().as_deref())
                .await;
            self.shared.metrics.github_pull_api_calls.inc();
            let answer = answer?;
            self.note_rate_limit(&answer);
            pages += 1;
            if answer.status == 304 && pages == 1 {
                return Ok(Polled::Unchanged);
            }
            if !(200..=299).contains(&answer.status) {
                return Err(describe(&answer));
            }
            if pages == 1 {
                first_etag = answer.etag.clone();
            }
            let Some(items) = items(answer.body) else {
                return Err(format!("page {pages} of the listing is not a JSON list"));
            };
            let mut reached = false;
            for item in &items {
                let updated = item.get("updated_at").and_then(Value::as_str);
                let at = updated.and_then(parse_time);
                // Older than the watermark: known. The rest of the page is still looked at, as
                // workflow runs are listed by creation, so a re-run of an older run can follow.
                if let (Some(at), Some(floor)) = (at, floor)
                    && at < floor
                {
                    reached = true;
                    continue;
                }
                if let (Some(at), Some(text)) = (at, updated)
                    && newest.as_ref().is_none_or(|(n, _)| at > *n)
                {
                    newest = Some((at, text.to_owned()));
                }
                match convert::event_for(endpoint, item, &settings.allowed_repositories) {
                    Ok((_, event)) => events.push(event),
                    Err(Skipped::NotAllowed(repo)) => {
                        tracing::debug!(listing = %endpoint.path, repository = %repo, "github pull: repository not allowed; skipped");
                    }
                    Err(Skipped::Draft | Skipped::Unfinished) => {}
                    Err(Skipped::Unkeyed) => {
                        tracing::warn!(listing = %endpoint.path, "github pull: an item without number, state, updated_at or repository; skipped");
                    }
                }
            }
            let next = match answer.next.as_deref() {
                Some(link) if !reached => Some(self.client.next_target(link)?),
                _ => None,
            };
            if next.is_some() && self.paused() {
                // More to read, but not now: keep what was read; the cursor stays, so the next
                // poll reads these pages again (and their events dedup).
                let found = self.store(endpoint, &events, None).await?;
                self.shared.metrics.github_pull_events.inc_by(found);
                return Ok(Polled::Paused);
            }
            match next {
                Some(next) if pages < settings.max_pages => target = next,
                Some(_) => {
                    tracing::warn!(listing = %endpoint.path, pages, "github pull: stopped at github.max_pages; older changes in this listing are skipped");
                    break;
                }
                None => break,
            }
        }
        let old = cursor.and_then(|c| c.watermark);
        let watermark = match (newest, old) {
            (Some((at, text)), Some(old)) if parse_time(&old).is_none_or(|o| at > o) => Some(text),
            (Some((_, text)), None) => Some(text),
            (None, None) => lookback.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            (_, old) => old,
        };
        let moved = Cursor {
            etag: first_etag,
            watermark,
        };
        self.store(endpoint, &events, Some(&moved)).await.map(Polled::Read)
    }

    /// Stores `events` and (when given) the listing's new cursor in one transaction; returns how
    /// many events were new.
    async fn store(&self, endpoint: &Endpoint, events: &[NewEvent], cursor: Option<&Cursor>) -> Result<u64, String> {
        let now = self.shared.clock.now();
        let asked = std::time::Instant::now();
        let mut got = asked;
        let result = async {
            let _turn = self.shared.writes.turn().await;
            got = std::time::Instant::now();
            let mut tx = crate::store::begin_write(&self.pool).await?;
            let mut new = 0u64;
            for event in events {
                if inbox::insert(&mut tx, event, now).await?.is_some() {
                    new += 1;
                }
            }
            if let Some(cursor) = cursor {
                cursors::save(&mut tx, &endpoint.path, cursor, now).await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(new)
        }
        .await;
        self.shared.metrics.write_turn("github_pull", asked, got);
        let new = result.map_err(|err| format!("could not store the changes: {err}"))?;
        if new > 0 {
            self.wake.wake();
        }
        Ok(new)
    }

    /// Pauses polling when GitHub says so or fewer calls than `github.rate_limit_reserve` are left.
    fn note_rate_limit(&mut self, answer: &Answer) {
        let reserve = self.shared.config.github.rate_limit_reserve;
        if let Some(until) = self.pause.note(answer, reserve, self.shared.clock.now()) {
            tracing::warn!(
                remaining = answer.remaining,
                reserve,
                until = %until,
                "github pull: rate limit low; polling paused until it resets"
            );
        }
    }
}

/// The items of a page: a JSON list, or the `workflow_runs` list of a runs listing
/// (`{"total_count": …, "workflow_runs": […]}`).
fn items(body: Option<Value>) -> Option<Vec<Value>> {
    match body? {
        Value::Array(items) => Some(items),
        Value::Object(mut fields) => match fields.remove("workflow_runs") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}
