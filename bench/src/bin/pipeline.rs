//! `pipeline`: events per second from the inbox, through the dispatcher, to one outbox row each, on
//! a file database with synced commits. See `bench/README.md`.
//!
//! `cargo run --release -p sentinel-bench --bin pipeline -- --events 100000 --concurrency 64`

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bot::pipeline::ingest::{Accepted, Ingest};
use sentinel_bot::store::DbPool;
use sentinel_bot::{Cx, Event, Message, NewEvent, Plugin, PluginError, Subscriptions};

/// The GitHub event the benchmark plugin subscribes to.
const GITHUB_EVENT: &str = "dependabot_alert";

/// Inbox → dispatcher → outbox throughput on a synced SQLite file.
#[derive(Debug, Parser)]
struct Args {
    /// Events to submit.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Concurrent submitting tasks (each waits for its durable ack before submitting the next).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Directory for the database file (kept afterwards); a temporary directory when absent.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Overrides `pipeline.ingest_batch` (most inbox rows per synced transaction).
    #[arg(long)]
    ingest_batch: Option<usize>,
    /// Overrides `pipeline.dispatch_batch` (most events per dispatcher transaction).
    #[arg(long)]
    dispatch_batch: Option<usize>,
    /// Give up when the pipeline has not finished after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

/// Sends one message per delivery: one outbox row per event, inside the dispatcher's transaction.
struct Echo;

#[async_trait]
impl Plugin for Echo {
    fn name(&self) -> &'static str {
        "bench"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec![GITHUB_EVENT.to_owned()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        if let Event::GitHub(delivery) = event {
            cx.send(Message::new(bench::CHANNEL, format!("saw {}", delivery.delivery)))
                .await?;
        }
        Ok(())
    }
}

/// A Dependabot-alert-shaped body of about 400 bytes (the dispatcher parses it for every event).
fn payload(i: usize) -> String {
    serde_json::json!({
        "action": "created",
        "alert": {
            "number": i,
            "state": "open",
            "html_url": format!("https://github.com/acme/app/security/dependabot/{i}"),
            "dependency": { "package": { "ecosystem": "npm", "name": "left-pad" }, "manifest_path": "package-lock.json" },
            "security_advisory": {
                "ghsa_id": "GHSA-xxxx-yyyy-zzzz",
                "severity": "high",
                "summary": "Prototype pollution in left-pad",
            },
        },
        "repository": { "full_name": "acme/app" },
    })
    .to_string()
}

/// Submits events `next..n` (shared counter) one at a time; returns each submit → ack latency.
async fn submitter(ingest: Ingest, next: Arc<AtomicUsize>, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(n / 32 + 1);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            return Ok(latencies);
        }
        let event = NewEvent::github(GITHUB_EVENT, &format!("bench-{i}"), payload(i));
        let started = Instant::now();
        match ingest.submit(event).await {
            Ok(Accepted::New(_)) => latencies.push(started.elapsed()),
            Ok(Accepted::Duplicate) => bail!("event {i} was taken for a duplicate"),
            Err(err) => bail!("event {i}: {err}"),
        }
    }
}

/// One poll of the pipeline's progress.
#[derive(Debug, Clone, Copy)]
struct Progress {
    at: Instant,
    inbox_max_id: i64,
    outbox_max_id: i64,
}

/// Polls every 10 ms until all `n` events are `done` and `n` outbox rows exist. Cheap queries
/// first (the partial index of pending events; the outbox's largest id), then exact `COUNT(*)`s
/// once those say it is finished. Returns the moment of the poll that saw it finished, and the
/// progress seen at every poll.
async fn watch(pool: DbPool, n: usize, timeout: Duration) -> anyhow::Result<(Instant, Vec<Progress>)> {
    let n = i64::try_from(n)?;
    let deadline = Instant::now() + timeout;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = Vec::new();
    let mut last_print = Instant::now();
    loop {
        tick.tick().await;
        let at = Instant::now();
        let (pending, inbox_max_id, outbox_max_id): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM inbox WHERE state = 'pending'),
                    (SELECT COALESCE(MAX(id), 0) FROM inbox),
                    (SELECT COALESCE(MAX(id), 0) FROM outbox)",
        )
        .fetch_one(&pool)
        .await?;
        seen.push(Progress {
            at,
            inbox_max_id,
            outbox_max_id,
        });
        if last_print.elapsed() >= Duration::from_secs(2) {
            eprintln!("  … inbox {inbox_max_id}, pending {pending}, outbox {outbox_max_id}");
            last_print = Instant::now();
        }
        if pending == 0 && inbox_max_id >= n && outbox_max_id >= n {
            let (done, outbox): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM inbox WHERE state = 'done' AND kind = 'github'),
                        (SELECT COUNT(*) FROM outbox)",
            )
            .fetch_one(&pool)
            .await?;
            if done == n && outbox == n {
                return Ok((at, seen));
            }
            if done > n || outbox > n {
                bail!("expected {n} done events and outbox rows, found {done} and {outbox}");
            }
        }
        if Instant::now() > deadline {
            bail!("not finished after {timeout:?}: {pending} pending, outbox at id {outbox_max_id}");
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_logging();
    let args = Args::parse();
    if args.events == 0 || args.concurrency == 0 {
        bail!("--events and --concurrency must be positive");
    }
    let load_before = bench::load_average();
    let (db, _temp) = bench::database_path(args.dir.as_deref(), "pipeline.db")?;
    let mut config = bench::config(&db);
    if let Some(batch) = args.ingest_batch {
        config.pipeline.ingest_batch = batch;
    }
    if let Some(batch) = args.dispatch_batch {
        config.pipeline.dispatch_batch = batch;
    }
    let (ingest_batch, dispatch_batch) = (config.pipeline.ingest_batch, config.pipeline.dispatch_batch);
    eprintln!(
        "pipeline: {} events, {} submitters, ingest_batch {ingest_batch}, dispatch_batch {dispatch_batch}, db {}",
        args.events,
        args.concurrency,
        db.display()
    );

    let bot = bench::start_bot(config, vec![Arc::new(Echo)]).await?;
    let ingest = bot.ingest().context("the bot has no inbox writer")?;

    let (switches_before, cpu_before) = (bench::context_switches(), bench::cpu_time());
    let started = Instant::now();
    let watcher = tokio::spawn(watch(
        bot.pool().clone(),
        args.events,
        Duration::from_secs(args.timeout_secs),
    ));
    let next = Arc::new(AtomicUsize::new(0));
    let mut submitters = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        submitters.spawn(submitter(ingest.clone(), next.clone(), args.events));
    }
    drop(ingest);
    let mut latencies = Vec::with_capacity(args.events);
    while let Some(joined) = submitters.join_next().await {
        latencies.extend(joined.context("a submitter panicked")??);
    }
    let ingest_elapsed = started.elapsed();
    let (finished_at, progress) = watcher.await.context("the watcher panicked")??;
    let e2e_elapsed = finished_at.duration_since(started);
    let switches = bench::context_switches().saturating_sub(switches_before);
    let cpu = bench::cpu_time().saturating_sub(cpu_before);
    let switches_per_event = switches as f64 / args.events as f64;
    let cpu_us_per_event = cpu.as_secs_f64() * 1e6 / args.events as f64;

    // Where the dispatcher stood when the last ack came back, for the breakdown.
    let ingest_end = started + ingest_elapsed;
    let at_ingest_end = progress
        .iter()
        .rev()
        .find(|p| p.at <= ingest_end)
        .map_or(0, |p| p.outbox_max_id);
    let max_backlog = progress
        .iter()
        .map(|p| p.inbox_max_id - p.outbox_max_id)
        .max()
        .unwrap_or(0);
    let drained = usize::try_from(i64::try_from(args.events)? - at_ingest_end).unwrap_or(0);
    let drain_elapsed = finished_at.saturating_duration_since(ingest_end);
    let dispatch_during_ingest = usize::try_from(at_ingest_end).unwrap_or(0);

    // Per-event time from the inbox write to the dispatcher batch that handled it (ms columns).
    let mut waits: Vec<i64> =
        sqlx::query_scalar("SELECT done_at - received_at FROM inbox WHERE kind = 'github' AND done_at IS NOT NULL")
            .fetch_all(bot.pool())
            .await?;
    waits.sort_unstable();
    let db_bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum::<u64>();
    bot.shutdown(Duration::from_secs(10)).await;

    latencies.sort_unstable();
    let p50 = bench::ms(bench::quantile(&latencies, 0.50));
    let p99 = bench::ms(bench::quantile(&latencies, 0.99));
    let max = bench::ms(latencies.last().copied().unwrap_or_default());
    let ingest_rate = bench::rate(args.events, ingest_elapsed);
    let e2e_rate = bench::rate(args.events, e2e_elapsed);
    let dispatch_rate_during = bench::rate(dispatch_during_ingest, ingest_elapsed);
    let drain_rate = bench::rate(drained, drain_elapsed);
    let load_after = bench::load_average();
    let peak_rss_kb = bench::status_kb("VmHWM").unwrap_or(0);

    bench::print_table(
        &format!(
            "pipeline: {} events, {} submitters, {} CPUs, load before {:.2} after {:.2}",
            args.events,
            args.concurrency,
            bench::cpus(),
            load_before[0],
            load_after[0]
        ),
        &[
            bench::row("ingest rate (submit → durable ack)", format!("{ingest_rate:.0}/s"), ""),
            bench::row("ingest latency p50", format!("{p50:.2} ms"), ""),
            bench::row("ingest latency p99", format!("{p99:.2} ms"), ""),
            bench::row("ingest latency max", format!("{max:.2} ms"), ""),
            bench::row(
                "end-to-end rate (first submit → all done + outbox)",
                format!("{e2e_rate:.0}/s"),
                "≥ 5000/s",
            ),
            bench::row("ingest time", format!("{:.2} s", ingest_elapsed.as_secs_f64()), ""),
            bench::row("end-to-end time", format!("{:.2} s", e2e_elapsed.as_secs_f64()), ""),
            bench::row(
                "dispatch rate while ingesting",
                format!("{dispatch_rate_during:.0}/s"),
                "",
            ),
            bench::row("dispatch rate draining the rest", format!("{drain_rate:.0}/s"), ""),
            bench::row("largest backlog seen", format!("{max_backlog}"), ""),
            bench::row(
                "inbox write → handled p50 / p99",
                format!(
                    "{} / {} ms",
                    bench::quantile(&waits, 0.50),
                    bench::quantile(&waits, 0.99)
                ),
                "",
            ),
            bench::row(
                "CPU time per event (all threads)",
                format!("{cpu_us_per_event:.0} µs"),
                "",
            ),
            bench::row("context switches per event", format!("{switches_per_event:.1}"), ""),
            bench::row("peak RSS", format!("{:.1} MB", peak_rss_kb as f64 / 1024.0), ""),
            bench::row("database + WAL size", format!("{:.1} MB", db_bytes as f64 / 1e6), ""),
        ],
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "pipeline",
            "events": args.events,
            "concurrency": args.concurrency,
            "ingest_batch": ingest_batch,
            "dispatch_batch": dispatch_batch,
            "cpus": bench::cpus(),
            "load_before": load_before,
            "load_after": load_after,
            "ingest_secs": ingest_elapsed.as_secs_f64(),
            "ingest_rate": ingest_rate,
            "ingest_p50_ms": p50,
            "ingest_p99_ms": p99,
            "ingest_max_ms": max,
            "e2e_secs": e2e_elapsed.as_secs_f64(),
            "e2e_rate": e2e_rate,
            "dispatch_rate_during_ingest": dispatch_rate_during,
            "dispatch_rate_drain": drain_rate,
            "max_backlog": max_backlog,
            "handled_wait_p50_ms": bench::quantile(&waits, 0.50),
            "handled_wait_p99_ms": bench::quantile(&waits, 0.99),
            "cpu_us_per_event": cpu_us_per_event,
            "context_switches_per_event": switches_per_event,
            "peak_rss_kb": peak_rss_kb,
            "db_bytes": db_bytes,
        })
    );
    Ok(())
}
