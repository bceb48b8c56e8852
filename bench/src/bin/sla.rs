//! `sla`: the SLA escalator under load with the real clock — many open incidents, each with its
//! escalation timers: how late each ping reaches the plugin, how long opening and re-planning all
//! of them takes, what a restart costs, and peak memory. See `bench/README.md`.
//!
//! `cargo run --release -p sentinel-bench --bin sla -- --incidents 10000`
//!
//! Incidents open at times spread over `--spread-secs` (their `opened_at`; the events are all
//! submitted at the start). Every incident gets the same bench policy: a first ping `--lead-secs`
//! after it opened and one reminder `--repeat-secs` later (two pings each, all measured), a
//! response deadline of 30 min and a resolution deadline of 30 days (their warnings and breaches
//! stay pending: 4 more timers per incident, which the restart and the re-plan carry).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bot::pipeline::ingest::Ingest;
use sentinel_bot::{CommandSpec, Cx, DedupKey, DomainEvent, Event, NewEvent, Plugin, PluginError, Subscriptions};
use sentinel_plugins::sla_escalator::{
    Level, PolicyConfig, SeverityPolicyConfig, SlaConfig, SlaDuration, SlaEscalator, Step,
};

/// SLA escalator lateness, re-plan, restart and memory on a synced SQLite file.
#[derive(Debug, Parser)]
struct Args {
    /// Open incidents.
    #[arg(long, default_value_t = 10_000)]
    incidents: usize,
    /// Seconds from an incident's opening to its first ping (long enough for every incident to be
    /// opened before the first ping is due, so opening does not compete with firing).
    #[arg(long, default_value_t = 30)]
    lead_secs: u64,
    /// Seconds from the first ping to the reminder.
    #[arg(long, default_value_t = 20)]
    repeat_secs: u64,
    /// Opening times are spread uniformly over this many seconds, as incidents open over time
    /// (0: all open at the same instant, so every ping of a wave is due at once).
    #[arg(long, default_value_t = 60)]
    spread_secs: u64,
    /// Seed for the opening times.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Concurrent submitting tasks when opening and re-planning.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Directory for the database file (kept afterwards); a temporary directory when absent.
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

/// The SLA escalator, timing how late each of its timers reaches it.
struct Timed {
    inner: SlaEscalator,
    lateness_us: Arc<Mutex<Vec<i64>>>,
    timers: Arc<AtomicUsize>,
    domain: Arc<AtomicUsize>,
}

#[async_trait]
impl Plugin for Timed {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn commands(&self) -> Vec<CommandSpec> {
        self.inner.commands()
    }

    fn subscriptions(&self) -> Subscriptions {
        self.inner.subscriptions()
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        if let Event::Timer(fired) = event {
            let late = (Utc::now() - fired.due_at).num_microseconds().unwrap_or(i64::MAX);
            // A poisoned lock only means another handler panicked mid-push; the Vec is still usable.
            self.lateness_us
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(late);
        }
        let result = self.inner.handle(cx, event).await;
        match event {
            Event::Timer(_) => self.timers.fetch_add(1, Ordering::Relaxed),
            Event::Domain(_) => self.domain.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        result
    }
}

fn secs(n: u64) -> SlaDuration {
    SlaDuration::Wall(chrono::Duration::seconds(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn bench_policy(args: &Args) -> SeverityPolicyConfig {
    SeverityPolicyConfig {
        respond: Some(SlaDuration::minutes(30)),
        resolve: Some(SlaDuration::days(30)),
        warn_at: None,
        steps: Some(vec![Step {
            after: secs(args.lead_secs),
            notify: Level::TeamLead,
            repeat_every: Some(secs(args.repeat_secs)),
            repeat: 1,
        }]),
    }
}

/// Submits `events` with `concurrency` tasks, each waiting for its durable ack.
async fn submit_all(ingest: &Ingest, events: Vec<NewEvent>, concurrency: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(events));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let ingest = ingest.clone();
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop();
                let Some(event) = next else {
                    return Ok::<(), anyhow::Error>(());
                };
                ingest.submit(event).await.context("submitting")?;
            }
        }));
    }
    for task in tasks {
        task.await.context("submitting task")??;
    }
    Ok(started.elapsed())
}

fn domain_event(kind: &str, key: String, payload: serde_json::Value) -> anyhow::Result<NewEvent> {
    let event = DomainEvent {
        kind: kind.to_owned(),
        payload,
    };
    Ok(NewEvent {
        dedup_key: DedupKey(key),
        kind: "domain",
        name: kind.to_owned(),
        owner: None,
        payload: serde_json::to_string(&event)?,
    })
}

/// Waits until `counter` reaches `target`, failing after `limit`.
async fn wait_for(counter: &AtomicUsize, target: usize, limit: Duration, what: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut last_print = Instant::now();
    while counter.load(Ordering::Relaxed) < target {
        if started.elapsed() > limit {
            bail!(
                "only {} of {target} {what} after {limit:?}",
                counter.load(Ordering::Relaxed)
            );
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            eprintln!("  … {} of {target} {what}", counter.load(Ordering::Relaxed));
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(started.elapsed())
}

async fn count(pool: &sentinel_bot::store::DbPool, sql: &'static str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_logging();
    let args = Args::parse();
    let n = args.incidents;
    if n == 0 {
        bail!("--incidents must be positive");
    }
    let load_before = bench::load_average();
    let (db, _temp) = bench::database_path(args.dir.as_deref(), "sla.db")?;
    let config = bench::config(&db);
    let section = SlaConfig {
        channel: bench::CHANNEL.to_owned(),
        policy: PolicyConfig {
            high: bench_policy(&args),
            medium: bench_policy(&args),
            ..PolicyConfig::default()
        },
        ..SlaConfig::default()
    };
    let settings = section
        .settings(&config)
        .map_err(|errors| anyhow::anyhow!("bench policy rejected: {errors:?}"))?;
    eprintln!(
        "sla: {n} incidents opening over {} s, first ping {} s after opening, reminder {} s later, db {}",
        args.spread_secs,
        args.lead_secs,
        args.repeat_secs,
        db.display()
    );

    let lateness = Arc::new(Mutex::new(Vec::with_capacity(n * 2)));
    let timers_seen = Arc::new(AtomicUsize::new(0));
    let domain_seen = Arc::new(AtomicUsize::new(0));
    let plugins = || -> Vec<Arc<dyn Plugin>> {
        vec![Arc::new(Timed {
            inner: SlaEscalator::new(settings.clone()),
            lateness_us: lateness.clone(),
            timers: timers_seen.clone(),
            domain: domain_seen.clone(),
        })]
    };
    let bot = bench::start_bot(config.clone(), plugins()).await?;
    let ingest = bot.ingest().context("the bot is shutting down")?;

    // 1. Open every incident (6 timers each: 2 pings, 2 warnings, 2 deadlines), with opening times
    //    spread over --spread-secs from now.
    let base = Utc::now();
    let mut rng = bench::SplitMix64::new(args.seed);
    let spread_ms = args.spread_secs.saturating_mul(1000);
    let opened: Vec<String> = (0..n)
        .map(|_| {
            let offset = chrono::Duration::milliseconds(i64::try_from(rng.below(spread_ms)).unwrap_or(0));
            (base + offset).to_rfc3339_opts(SecondsFormat::Millis, true)
        })
        .collect();
    let opens = (0..n)
        .map(|i| {
            let payload = serde_json::json!({
                "id": i + 1, "title": format!("bench incident {}", i + 1), "severity": "high",
                "opened_at": opened[i], "opened_by": "bench", "repository": "bench/app", "alert_keys": [],
            });
            domain_event("incident.opened", format!("bench:open:{i}"), payload)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let submit_elapsed = submit_all(&ingest, opens, args.concurrency).await?;
    let planned_elapsed =
        submit_elapsed + wait_for(&domain_seen, n, Duration::from_secs(600), "incidents planned").await?;
    let pending_after_open = count(bot.pool(), "SELECT COUNT(*) FROM timers WHERE owner = 'sla_escalator'").await?;
    let lead = Duration::from_secs(args.lead_secs);
    if planned_elapsed >= lead {
        eprintln!(
            "warning: planning took {:.1} s, longer than --lead-secs; early pings were due before they were set",
            planned_elapsed.as_secs_f64()
        );
    }
    eprintln!(
        "  opened and planned {n} in {:.2} s ({pending_after_open} timers); waiting for the pings",
        planned_elapsed.as_secs_f64()
    );

    // 2. Every ping fires: two per incident.
    let window = Duration::from_secs(args.spread_secs + args.lead_secs + args.repeat_secs + 120);
    wait_for(&timers_seen, 2 * n, window, "pings").await?;
    let rss_after_firing_kb = bench::status_kb("VmHWM").unwrap_or(0);
    let mut late: Vec<i64> = std::mem::take(&mut *lateness.lock().unwrap_or_else(PoisonError::into_inner));
    late.sort_unstable();
    let pings_sent = count(bot.pool(), "SELECT COUNT(*) FROM outbox").await?;

    // 3. Restart with the remaining timers (warnings and deadlines) pending.
    bot.shutdown(Duration::from_secs(10)).await;
    let restart_started = Instant::now();
    let bot = bench::start_bot(config, plugins()).await?;
    let start_elapsed = restart_started.elapsed();
    let next_due: Option<i64> = sqlx::query_scalar("SELECT MIN(due_at) FROM timers")
        .fetch_one(bot.pool())
        .await?;
    let rearm_elapsed = restart_started.elapsed();
    let pending = count(bot.pool(), "SELECT COUNT(*) FROM timers WHERE owner = 'sla_escalator'").await?;
    if next_due.is_none() || pending != i64::try_from(4 * n)? {
        bail!(
            "after the restart {pending} timers are pending (expected {}), next due {next_due:?}",
            4 * n
        );
    }

    // 4. Re-plan every incident: a severity change (high → medium: no catch-up pings) cancels its
    //    timers and sets them again from the new policy.
    let ingest = bot.ingest().context("the bot is shutting down")?;
    let domain_before = domain_seen.load(Ordering::Relaxed);
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let changes = (0..n)
        .map(|i| {
            let payload = serde_json::json!({
                "id": i + 1, "from": "high", "to": "medium", "at": at, "by": "bench", "opened_at": opened[i],
            });
            domain_event("incident.severity_changed", format!("bench:replan:{i}"), payload)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let replan_started = Instant::now();
    submit_all(&ingest, changes, args.concurrency).await?;
    wait_for(
        &domain_seen,
        domain_before + n,
        Duration::from_secs(600),
        "incidents re-planned",
    )
    .await?;
    let replan_elapsed = replan_started.elapsed();
    let pending_after_replan = count(bot.pool(), "SELECT COUNT(*) FROM timers WHERE owner = 'sla_escalator'").await?;
    bot.shutdown(Duration::from_secs(10)).await;

    let peak_rss_kb = bench::status_kb("VmHWM").unwrap_or(0);
    let load_after = bench::load_average();
    let p = |q: f64| bench::quantile(&late, q) as f64 / 1000.0;
    let late_max = late.last().copied().unwrap_or(0) as f64 / 1000.0;
    let open_rate = bench::rate(n, planned_elapsed);
    let replan_rate = bench::rate(n, replan_elapsed);
    bench::print_table(
        &format!(
            "sla: {n} incidents, {} CPUs, load before {:.2} after {:.2}",
            bench::cpus(),
            load_before[0],
            load_after[0]
        ),
        &[
            bench::row(
                "open + plan all incidents",
                format!("{:.2} s ({open_rate:.0}/s)", planned_elapsed.as_secs_f64()),
                "",
            ),
            bench::row("timers pending after planning", format!("{pending_after_open}"), ""),
            bench::row(
                "pings handled (messages queued)",
                format!("{} ({pings_sent})", late.len()),
                "",
            ),
            bench::row("ping lateness p50 (due → plugin)", format!("{:.1} ms", p(0.50)), ""),
            bench::row("ping lateness p99", format!("{:.1} ms", p(0.99)), "< 50 ms"),
            bench::row("ping lateness max", format!("{late_max:.1} ms"), ""),
            bench::row("restart: Bot::start", format!("{:.1} ms", bench::ms(start_elapsed)), ""),
            bench::row(
                "restart: + timers armed (first MIN(due_at))",
                format!("{:.1} ms", bench::ms(rearm_elapsed)),
                "",
            ),
            bench::row(
                "re-plan all incidents (severity change)",
                format!("{:.2} s ({replan_rate:.0}/s)", replan_elapsed.as_secs_f64()),
                "",
            ),
            bench::row("timers pending after re-plan", format!("{pending_after_replan}"), ""),
            bench::row(
                "peak RSS after firing",
                format!("{:.1} MB", rss_after_firing_kb as f64 / 1024.0),
                "",
            ),
            bench::row(
                "peak RSS (VmHWM, end)",
                format!("{:.1} MB", peak_rss_kb as f64 / 1024.0),
                "",
            ),
        ],
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "sla",
            "incidents": n,
            "cpus": bench::cpus(),
            "load_before": load_before,
            "load_after": load_after,
            "open_plan_secs": planned_elapsed.as_secs_f64(),
            "timers_after_open": pending_after_open,
            "pings": late.len(),
            "lateness_p50_ms": p(0.50),
            "lateness_p99_ms": p(0.99),
            "lateness_max_ms": late_max,
            "restart_start_ms": bench::ms(start_elapsed),
            "restart_rearm_ms": bench::ms(rearm_elapsed),
            "replan_secs": replan_elapsed.as_secs_f64(),
            "timers_after_replan": pending_after_replan,
            "peak_rss_after_firing_kb": rss_after_firing_kb,
            "peak_rss_kb": peak_rss_kb,
        })
    );
    Ok(())
}
