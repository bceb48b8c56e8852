//! `timers`: many pending timers — how long scheduling them takes, how late each reaches its
//! plugin, peak memory, and how long a restart takes to re-arm a large timer table. See
//! `bench/README.md`.
//!
//! `cargo run --release -p sentinel-bench --bin timers -- --timers 100000 --spread-secs 60`

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::bail;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bot::store::DbPool;
use sentinel_bot::store::timers;
use sentinel_bot::{Bot, Cx, Event, Plugin, PluginError};

/// The plugin owning the timers.
const OWNER: &str = "bench-timers";

/// Timer scheduling, lateness, memory and restart on a synced SQLite file.
#[derive(Debug, Parser)]
struct Args {
    /// Timers that come due during the run (and again as many far-future ones for the restart).
    #[arg(long, default_value_t = 100_000)]
    timers: usize,
    /// Due times are spread uniformly over this many seconds (0: all due at the same instant).
    #[arg(long, default_value_t = 60)]
    spread_secs: u64,
    /// The spread starts this many seconds after scheduling begins, so that no timer is due
    /// before it has been inserted (a warning says when scheduling took longer than this).
    #[arg(long, default_value_t = 10)]
    lead_secs: u64,
    /// Timers inserted per transaction.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Directory for the database file (kept afterwards); a temporary directory when absent.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed for the due times.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// One timer as its plugin saw it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    event: i64,
    due_ms: i64,
    lateness_us: i64,
}

/// Records, for each of its timers, how late it was when the plugin got it.
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    count: Arc<AtomicUsize>,
}

#[async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        OWNER
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        if let Event::Timer(fired) = event {
            let lateness = Utc::now() - fired.due_at;
            let seen = Seen {
                event: cx.event_id().0,
                due_ms: fired.due_at.timestamp_millis(),
                lateness_us: lateness.num_microseconds().unwrap_or(i64::MAX),
            };
            // A poisoned lock only means another handler panicked mid-push; the Vec is still usable.
            self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(seen);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Inserts `dues.len()` timers named `{prefix}{i}` in transactions of `batch`, waking the bot's
/// tasks after each commit. Returns the time it took.
async fn schedule(bot: &Bot, prefix: &str, dues: &[DateTime<Utc>], batch: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let payload = serde_json::json!({ "bench": true });
    for (chunk_index, chunk) in dues.chunks(batch.max(1)).enumerate() {
        let now = Utc::now();
        let mut tx = bot.pool().begin().await?;
        for (offset, due) in chunk.iter().enumerate() {
            let key = format!("{prefix}{}", chunk_index * batch.max(1) + offset);
            timers::set(&mut tx, OWNER, &key, *due, &payload, now).await?;
        }
        tx.commit().await?;
        bot.wake_all();
    }
    Ok(started.elapsed())
}

/// For every timer event: inbox `received_at` (the timer engine's clock when it fired the timer)
/// and `done_at` (the dispatcher's clock when it began the batch that handled it), both in ms.
async fn fired_at(pool: &DbPool) -> anyhow::Result<std::collections::HashMap<i64, (i64, i64)>> {
    let rows: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT id, received_at, COALESCE(done_at, 0) FROM inbox WHERE kind = 'timer'")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, received, done)| (id, (received, done)))
        .collect())
}

fn us_to_ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_logging();
    let args = Args::parse();
    if args.timers == 0 {
        bail!("--timers must be positive");
    }
    let n = args.timers;
    let load_before = bench::load_average();
    let (db, _temp) = bench::database_path(args.dir.as_deref(), "timers.db")?;
    let config = bench::config(&db);
    eprintln!(
        "timers: {n} timers over {} s (starting {} s in), batches of {}, db {}",
        args.spread_secs,
        args.lead_secs,
        args.batch,
        db.display()
    );

    let seen = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let count = Arc::new(AtomicUsize::new(0));
    let recorder = || -> Vec<Arc<dyn Plugin>> {
        vec![Arc::new(Recorder {
            seen: seen.clone(),
            count: count.clone(),
        })]
    };
    let bot = bench::start_bot(config.clone(), recorder()).await?;

    // 1. Schedule timers due uniformly over [base, base + spread).
    let mut rng = bench::SplitMix64::new(args.seed);
    let spread_ms = args.spread_secs.saturating_mul(1000);
    let base = Utc::now() + chrono::Duration::seconds(i64::try_from(args.lead_secs)?);
    let dues: Vec<DateTime<Utc>> = (0..n)
        .map(|_| base + chrono::Duration::milliseconds(i64::try_from(rng.below(spread_ms)).unwrap_or(0)))
        .collect();
    let schedule_elapsed = schedule(&bot, "due:", &dues, args.batch).await?;
    let scheduled_by = Utc::now();
    let due_before_scheduled = dues.iter().filter(|due| **due < scheduled_by).count();
    if due_before_scheduled > 0 {
        eprintln!(
            "warning: scheduling ended {} ms after the first due time; the lateness of {due_before_scheduled} \
             timers includes that (raise --lead-secs)",
            (scheduled_by - base).num_milliseconds()
        );
    }
    eprintln!(
        "  scheduled {n} in {:.2} s; waiting for them to fire",
        schedule_elapsed.as_secs_f64()
    );

    // 2. Wait until the plugin has seen every one.
    let last_due = dues.iter().max().copied().unwrap_or(base);
    let deadline = last_due + chrono::Duration::seconds(120);
    let mut last_print = Instant::now();
    while count.load(Ordering::Relaxed) < n {
        if Utc::now() > deadline {
            bail!(
                "only {} of {n} timers handled 120 s after the last due time",
                count.load(Ordering::Relaxed)
            );
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            eprintln!("  … {} handled", count.load(Ordering::Relaxed));
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_handled = Utc::now();
    let rss_after_firing_kb = bench::status_kb("VmHWM").unwrap_or(0);

    let seen: Vec<Seen> = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    if seen.len() != n {
        bail!("{} timers handled, expected {n}", seen.len());
    }
    let mut lateness: Vec<i64> = seen.iter().map(|s| s.lateness_us).collect();
    lateness.sort_unstable();
    // Breakdown from the inbox: due → fired by the timer engine (ms columns), fired → handled.
    let fired = fired_at(bot.pool()).await?;
    let mut fire_lag: Vec<i64> = Vec::with_capacity(n);
    let mut dispatch_lag: Vec<i64> = Vec::with_capacity(n);
    let mut batch_wait: Vec<i64> = Vec::with_capacity(n);
    for s in &seen {
        if let Some((received, done)) = fired.get(&s.event) {
            let lag_ms = received - s.due_ms;
            fire_lag.push(lag_ms * 1000);
            dispatch_lag.push(s.lateness_us - lag_ms * 1000);
            batch_wait.push((done - received) * 1000);
        }
    }
    batch_wait.sort_unstable();
    fire_lag.sort_unstable();
    dispatch_lag.sort_unstable();
    let first_due = dues.iter().min().copied().unwrap_or(base);
    let handling_span = (all_handled - first_due).to_std().unwrap_or_default();
    let handled_rate = bench::rate(n, handling_span);

    // 3. A second set far in the future, then restart on the same file.
    let mut far_rng = bench::SplitMix64::new(args.seed ^ 0xFA2);
    let month_ms = 30 * 24 * 3600 * 1000;
    let far_base = Utc::now() + chrono::Duration::days(30);
    let far: Vec<DateTime<Utc>> = (0..n)
        .map(|_| far_base + chrono::Duration::milliseconds(i64::try_from(far_rng.below(month_ms)).unwrap_or(0)))
        .collect();
    let far_elapsed = schedule(&bot, "far:", &far, args.batch).await?;
    bot.shutdown(Duration::from_secs(10)).await;

    let restart_started = Instant::now();
    let bot = bench::start_bot(config, recorder()).await?;
    let start_elapsed = restart_started.elapsed();
    let next_due: Option<i64> = sqlx::query_scalar("SELECT MIN(due_at) FROM timers")
        .fetch_one(bot.pool())
        .await?;
    let rearm_elapsed = restart_started.elapsed();
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE owner = $1")
        .bind(OWNER)
        .fetch_one(bot.pool())
        .await?;
    if next_due.is_none() || pending != i64::try_from(n)? {
        bail!("after the restart {pending} timers are pending (expected {n}), next due {next_due:?}");
    }
    bot.shutdown(Duration::from_secs(10)).await;

    let peak_rss_kb = bench::status_kb("VmHWM").unwrap_or(0);
    let load_after = bench::load_average();
    let p = |q: f64| us_to_ms(bench::quantile(&lateness, q));
    let late_max = us_to_ms(lateness.last().copied().unwrap_or(0));
    let schedule_rate = bench::rate(n, schedule_elapsed);
    let far_rate = bench::rate(n, far_elapsed);

    bench::print_table(
        &format!(
            "timers: {n} over {} s, {} CPUs, load before {:.2} after {:.2}",
            args.spread_secs,
            bench::cpus(),
            load_before[0],
            load_after[0]
        ),
        &[
            bench::row(
                "schedule (timers::set, batches)",
                format!("{:.2} s ({schedule_rate:.0}/s)", schedule_elapsed.as_secs_f64()),
                "",
            ),
            bench::row(
                "timers due before scheduling ended",
                format!("{due_before_scheduled}"),
                "0",
            ),
            bench::row("lateness p50 (due → plugin)", format!("{:.1} ms", p(0.50)), ""),
            bench::row("lateness p99", format!("{:.1} ms", p(0.99)), "< 50 ms"),
            bench::row("lateness max", format!("{late_max:.1} ms"), ""),
            bench::row(
                "  of which due → fired p50 / p99",
                format!(
                    "{:.0} / {:.0} ms",
                    us_to_ms(bench::quantile(&fire_lag, 0.5)),
                    us_to_ms(bench::quantile(&fire_lag, 0.99))
                ),
                "",
            ),
            bench::row(
                "  of which fired → plugin p50 / p99",
                format!(
                    "{:.1} / {:.1} ms",
                    us_to_ms(bench::quantile(&dispatch_lag, 0.5)),
                    us_to_ms(bench::quantile(&dispatch_lag, 0.99))
                ),
                "",
            ),
            bench::row(
                "    fired → dispatcher batch began p50 / p99",
                format!(
                    "{:.0} / {:.0} ms",
                    us_to_ms(bench::quantile(&batch_wait, 0.5)),
                    us_to_ms(bench::quantile(&batch_wait, 0.99))
                ),
                "",
            ),
            bench::row(
                "handled rate (first due → last handled)",
                format!("{handled_rate:.0}/s"),
                "",
            ),
            bench::row(
                "schedule far-future set",
                format!("{:.2} s ({far_rate:.0}/s)", far_elapsed.as_secs_f64()),
                "",
            ),
            bench::row("restart: Bot::start", format!("{:.1} ms", bench::ms(start_elapsed)), ""),
            bench::row(
                "restart: + first MIN(due_at)",
                format!("{:.1} ms", bench::ms(rearm_elapsed)),
                "",
            ),
            bench::row(
                "peak RSS after firing",
                format!("{:.1} MB", rss_after_firing_kb as f64 / 1024.0),
                "",
            ),
            bench::row(
                "peak RSS (VmHWM, end)",
                format!("{:.1} MB", peak_rss_kb as f64 / 1024.0),
                "< 100 MB",
            ),
        ],
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "timers",
            "timers": n,
            "spread_secs": args.spread_secs,
            "batch": args.batch,
            "cpus": bench::cpus(),
            "load_before": load_before,
            "load_after": load_after,
            "schedule_secs": schedule_elapsed.as_secs_f64(),
            "schedule_rate": schedule_rate,
            "due_before_scheduled": due_before_scheduled,
            "lateness_p50_ms": p(0.50),
            "lateness_p99_ms": p(0.99),
            "lateness_max_ms": late_max,
            "fire_lag_p50_ms": us_to_ms(bench::quantile(&fire_lag, 0.5)),
            "fire_lag_p99_ms": us_to_ms(bench::quantile(&fire_lag, 0.99)),
            "dispatch_lag_p50_ms": us_to_ms(bench::quantile(&dispatch_lag, 0.5)),
            "dispatch_lag_p99_ms": us_to_ms(bench::quantile(&dispatch_lag, 0.99)),
            "batch_wait_p50_ms": us_to_ms(bench::quantile(&batch_wait, 0.5)),
            "batch_wait_p99_ms": us_to_ms(bench::quantile(&batch_wait, 0.99)),
            "handled_rate": handled_rate,
            "far_schedule_secs": far_elapsed.as_secs_f64(),
            "restart_start_ms": bench::ms(start_elapsed),
            "restart_rearm_ms": bench::ms(rearm_elapsed),
            "peak_rss_after_firing_kb": rss_after_firing_kb,
            "peak_rss_kb": peak_rss_kb,
        })
    );
    Ok(())
}
