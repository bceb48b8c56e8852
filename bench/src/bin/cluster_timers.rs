//! `cluster_timers`: many pending timers shared by several instances on one database — how late
//! each reaches its plugin, and that none fires twice (issue 14). See `bench/docs/cluster.md`.
//!
//! The instances are full `Bot`s (each its own pool, timer engine, dispatcher and `cluster.instance`
//! name) in one process, on a fresh database of the run's engine (`harness::TestDb`: PostgreSQL with
//! `SENTINEL_TEST_ENGINE=postgres` under `.ci/with-postgres`):
//!
//! `SENTINEL_TEST_ENGINE=postgres WITH_POSTGRES_DURABLE=1 .ci/with-postgres cargo run --release -p sentinel-bench --bin cluster_timers -- --instances 3 --timers 100000`

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::bail;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::store::timers;
use sentinel_bot::{Bot, Cx, Event, Plugin, PluginError};

/// The plugin owning the timers.
const OWNER: &str = "bench-timers";

/// Timer lateness and exactly-once firing with several instances on one database.
#[derive(Debug, Parser)]
struct Args {
    /// Instances sharing the database.
    #[arg(long, default_value_t = 3)]
    instances: usize,
    /// Timers that come due during the run.
    #[arg(long, default_value_t = 100_000)]
    timers: usize,
    /// Due times are spread uniformly over this many seconds.
    #[arg(long, default_value_t = 60)]
    spread_secs: u64,
    /// The spread starts this many seconds after scheduling begins, so no timer is due before it
    /// has been inserted.
    #[arg(long, default_value_t = 15)]
    lead_secs: u64,
    /// Timers inserted per transaction.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Seed for the due times.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// One firing as a plugin saw it.
#[derive(Debug, Clone)]
struct Seen {
    key: String,
    instance: usize,
    lateness_us: i64,
}

/// Records, for each firing, which instance handled it and how late.
struct Recorder {
    instance: usize,
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        OWNER
    }

    async fn handle(&self, _cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        if let Event::Timer(fired) = event {
            let lateness = Utc::now() - fired.due_at;
            let seen = Seen {
                key: fired.key.0.clone(),
                instance: self.instance,
                lateness_us: lateness.num_microseconds().unwrap_or(i64::MAX),
            };
            // A poisoned lock only means another handler panicked mid-push; the Vec is still usable.
            self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(seen);
        }
        Ok(())
    }
}

fn us_to_ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_logging();
    let args = Args::parse();
    if args.timers == 0 || args.instances == 0 {
        bail!("--timers and --instances must be positive");
    }
    let n = args.timers;
    let load_before = bench::load_average();
    let db = TestDb::new().await;
    eprintln!(
        "cluster_timers: {} instances on {}, {n} timers over {} s (starting {} s in)",
        args.instances,
        db.engine().name(),
        args.spread_secs,
        args.lead_secs
    );

    let seen = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let mut bots: Vec<Bot> = Vec::with_capacity(args.instances);
    for i in 0..args.instances {
        let mut config = bench::config(std::path::Path::new("unused.db"));
        config.database.url = db.url().to_owned();
        config.cluster.instance = Some(format!("bench-{i}"));
        let recorder: Arc<dyn Plugin> = Arc::new(Recorder {
            instance: i,
            seen: seen.clone(),
        });
        bots.push(bench::start_bot(config, vec![recorder]).await?);
    }

    // Schedule through the first instance, waking every instance after each batch (as an instance
    // would learn of another's timers by its own wake-ups and polls).
    let mut rng = bench::SplitMix64::new(args.seed);
    let spread_ms = args.spread_secs.saturating_mul(1000);
    let base = Utc::now() + chrono::Duration::seconds(i64::try_from(args.lead_secs)?);
    let dues: Vec<DateTime<Utc>> = (0..n)
        .map(|_| base + chrono::Duration::milliseconds(i64::try_from(rng.below(spread_ms)).unwrap_or(0)))
        .collect();
    let started = Instant::now();
    let payload = serde_json::json!({ "bench": true });
    for (chunk_index, chunk) in dues.chunks(args.batch.max(1)).enumerate() {
        let now = Utc::now();
        let mut tx = bots[0].pool().begin().await?;
        for (offset, due) in chunk.iter().enumerate() {
            let key = format!("due:{}", chunk_index * args.batch.max(1) + offset);
            timers::set(&mut tx, OWNER, &key, *due, &payload, now).await?;
        }
        tx.commit().await?;
        for bot in &bots {
            bot.wake_all();
        }
    }
    let schedule_elapsed = started.elapsed();
    let due_before_scheduled = dues.iter().filter(|due| **due < Utc::now()).count();
    eprintln!(
        "  scheduled {n} in {:.2} s ({due_before_scheduled} were due before it ended); waiting",
        schedule_elapsed.as_secs_f64()
    );

    let last_due = dues.iter().max().copied().unwrap_or(base);
    let count = || seen.lock().unwrap_or_else(PoisonError::into_inner).len();
    while count() < n {
        if Utc::now() > last_due + chrono::Duration::seconds(120) {
            bail!("only {} of {n} timers handled 120 s after the last due time", count());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give a second firing every chance to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for bot in bots {
        bot.shutdown(Duration::from_secs(10)).await;
    }

    let seen: Vec<Seen> = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    let mut per_key: HashMap<&str, usize> = HashMap::with_capacity(n);
    for s in &seen {
        *per_key.entry(s.key.as_str()).or_default() += 1;
    }
    let fired_twice = per_key.values().filter(|&&c| c > 1).count();
    let never = n - per_key.len();
    let mut per_instance = vec![0usize; args.instances];
    for s in &seen {
        per_instance[s.instance] += 1;
    }
    let mut lateness: Vec<i64> = seen.iter().map(|s| s.lateness_us).collect();
    lateness.sort_unstable();
    let p = |q: f64| us_to_ms(bench::quantile(&lateness, q));
    let late_max = us_to_ms(lateness.last().copied().unwrap_or(0));
    let load_after = bench::load_average();

    bench::print_table(
        &format!(
            "cluster_timers: {n} timers, {} instances on {}, {} CPUs, load before {:.2} after {:.2}",
            per_instance.len(),
            db.engine().name(),
            bench::cpus(),
            load_before[0],
            load_after[0]
        ),
        &[
            bench::row(
                "schedule (timers::set, batches)",
                format!("{:.2} s", schedule_elapsed.as_secs_f64()),
                "",
            ),
            bench::row(
                "timers due before scheduling ended",
                format!("{due_before_scheduled}"),
                "0",
            ),
            bench::row("fired twice", format!("{fired_twice}"), "0"),
            bench::row("never fired", format!("{never}"), "0"),
            bench::row("handled per instance", format!("{per_instance:?}"), ""),
            bench::row("lateness p50 (due → plugin)", format!("{:.1} ms", p(0.50)), ""),
            bench::row("lateness p99", format!("{:.1} ms", p(0.99)), "< 50 ms"),
            bench::row("lateness max", format!("{late_max:.1} ms"), ""),
        ],
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "cluster_timers",
            "engine": db.engine().name(),
            "instances": per_instance.len(),
            "timers": n,
            "spread_secs": args.spread_secs,
            "cpus": bench::cpus(),
            "load_before": load_before,
            "load_after": load_after,
            "schedule_secs": schedule_elapsed.as_secs_f64(),
            "due_before_scheduled": due_before_scheduled,
            "fired_twice": fired_twice,
            "never_fired": never,
            "per_instance": per_instance,
            "lateness_p50_ms": p(0.50),
            "lateness_p99_ms": p(0.99),
            "lateness_max_ms": late_max,
        })
    );
    if fired_twice > 0 || never > 0 {
        bail!("{fired_twice} timers fired twice and {never} never fired");
    }
    Ok(())
}
