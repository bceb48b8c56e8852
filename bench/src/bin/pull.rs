//! GitHub pull mode at rest: API calls per hour for `--repos` repositories whose alerts do not
//! change, polled at the default interval (5m) against the fake alert listings on 127.0.0.1, on a
//! manual clock (an hour of polling takes a second). Each repository has four listings (Dependabot,
//! code scanning, secret scanning, advisories) holding `--alerts` alerts each. The first round reads
//! everything (a fresh install); the table counts the rounds after it, where every listing should
//! be a conditional request answered `304 Not Modified`, which GitHub does not count against the
//! rate limit. `--changes` alerts change per round (0: nothing changes).
//!
//! With `--changes`, it also measures the processing part of an alert change's latency: from the
//! round's start (the manual clock reaching the interval) to the plugin handling the change's
//! event, on the wall clock (p50 / p99 over every change). On a real clock a change waits for the
//! next poll, one interval at most, and then takes this long.
//!
//! ```sh
//! cargo run --release -p sentinel-bench --bin pull -- --repos 100
//! cargo run --release -p sentinel-bench --bin pull -- --repos 100 --changes 1 --hours 24
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use clap::Parser;
use sentinel_bot::chat::console::ConsoleSink;
use sentinel_bot::harness::fakes::github_alerts::FakeAlerts;
use sentinel_bot::{Bot, BotOptions, Cx, Event, ManualClock, Plugin, PluginError, Subscriptions};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Repositories polled.
    #[arg(long, default_value_t = 100)]
    repos: usize,
    /// Alerts in each listing.
    #[arg(long, default_value_t = 3)]
    alerts: usize,
    /// Hours of polling measured (after the first round).
    #[arg(long, default_value_t = 1)]
    hours: u32,
    /// Alerts that change in each round.
    #[arg(long, default_value_t = 0)]
    changes: usize,
}

/// Wants the alert events, so that pull mode polls their listings; notes when each was handled.
struct Sink(Arc<std::sync::Mutex<Vec<Instant>>>);

#[async_trait]
impl Plugin for Sink {
    fn name(&self) -> &'static str {
        "sink"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: [
                "dependabot_alert",
                "code_scanning_alert",
                "secret_scanning_alert",
                "repository_advisory",
            ]
            .map(String::from)
            .to_vec(),
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, _cx: &mut Cx<'_>, _event: &Event) -> Result<(), PluginError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Instant::now());
        Ok(())
    }
}

const LISTINGS: [&str; 4] = [
    "dependabot/alerts",
    "code-scanning/alerts",
    "secret-scanning/alerts",
    "security-advisories",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SENTINEL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let fake = FakeAlerts::start().await?;
    let start = Utc::now();
    let at = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let alert = |n: usize, updated: chrono::DateTime<Utc>| {
        json!({"number": n, "state": "open", "created_at": at(start - chrono::Duration::hours(2)),
               "updated_at": at(updated), "html_url": format!("https://github.com/acme/r/security/x/{n}")})
    };
    let mut repos = Vec::new();
    for r in 0..args.repos {
        let repo = format!("acme/repo-{r}");
        for listing in LISTINGS {
            let items = (1..=args.alerts)
                .map(|n| alert(n, start - chrono::Duration::minutes(n as i64)))
                .collect();
            fake.set(&format!("/repos/{repo}/{listing}"), items);
        }
        repos.push(repo);
    }
    let dir = tempfile::tempdir()?;
    let mut config = sentinel_bench::config(&dir.path().join("pull.db"));
    config.github.token = Some(sentinel_bot::config::Secret::new("ghp_bench"));
    config.github.api_url = fake.url.clone();
    config.github.pull.repositories = repos.clone();
    let interval = config.github.pull.interval.chrono();
    let clock = ManualClock::new(start);
    let handled: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let handled_count = || handled.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
    let bot = Bot::start(BotOptions {
        config,
        clock: Arc::new(clock.clone()),
        plugins: vec![Arc::new(Sink(handled.clone()))],
        adapters: Vec::new(),
        console: ConsoleSink::memory(false).0,
        serve_http: false,
        routes: axum::Router::new(),
    })
    .await
    .context("start the bot")?;
    let metrics = bot.shared().metrics.clone();
    let wait_round = |n: u64| {
        let metrics = metrics.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            while metrics.github_pull_polls.get() < n {
                if Instant::now() > deadline {
                    bail!("polling round {n} did not finish in 120 s");
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(())
        }
    };
    let first = Instant::now();
    wait_round(1).await?;
    let first_round = first.elapsed();
    // The first round's events (a fresh install's recent alerts) are handled before measuring.
    bot.settle(Duration::from_secs(60)).await.map_err(anyhow::Error::msg)?;
    let baseline = fake.received().len();
    let events_before = metrics.github_pull_events.get();

    let rounds = u64::from(args.hours)
        * u64::try_from(chrono::Duration::hours(1).num_seconds() / interval.num_seconds().max(1))?;
    let mut round_times = Vec::new();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut changed = 0usize;
    for round in 1..=rounds {
        // The changes are listed before the clock moves (moving it starts the round).
        let now = sentinel_bot::Clock::now(&clock) + interval;
        for c in 0..args.changes {
            let repo = &repos[(changed + c) % repos.len()];
            fake.upsert(&format!("/repos/{repo}/dependabot/alerts"), alert(1, now));
        }
        changed += args.changes;
        let seen = handled_count();
        let began = Instant::now();
        clock.advance(interval);
        wait_round(round + 1).await?;
        round_times.push(began.elapsed());
        let deadline = Instant::now() + Duration::from_secs(60);
        while handled_count() < seen + args.changes {
            if Instant::now() > deadline {
                bail!("round {round}: the changed alerts were not handled in 60 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let times = handled.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        latencies.extend(times[seen..].iter().map(|at| at.duration_since(began)));
    }
    latencies.sort();
    let percentile = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    bot.settle(Duration::from_secs(60)).await.map_err(anyhow::Error::msg)?;
    let after: Vec<_> = fake.received().into_iter().skip(baseline).collect();
    let not_modified = after.iter().filter(|r| r.status == 304).count();
    let counted = after.len() - not_modified;
    let hours = f64::from(args.hours);
    let per_hour = |n: usize| n as f64 / hours;
    let mean_round = round_times.iter().sum::<Duration>().as_secs_f64() / round_times.len().max(1) as f64;
    let events = metrics.github_pull_events.get() - events_before;
    println!(
        "GitHub pull mode, {} repositories × 4 listings, every {}:",
        args.repos,
        humanize(interval)
    );
    println!(
        "  first round (fresh install): {baseline} calls, {:.0} ms",
        first_round.as_secs_f64() * 1000.0
    );
    println!("  API calls per hour:           {:.0}", per_hour(after.len()));
    println!("    answered 304 (not counted): {:.0}", per_hour(not_modified));
    println!(
        "    counted against the limit:  {:.0}  (reserve leaves {} of 5000)",
        per_hour(counted),
        5000 - 100
    );
    println!("  alert changes stored:         {events} ({} changed)", changed);
    println!("  one round, wall time (mean):  {:.1} ms", mean_round * 1000.0);
    if !latencies.is_empty() {
        println!(
            "  change → plugin, after the poll starts: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} changes)",
            percentile(0.5),
            percentile(0.99),
            percentile(1.0),
            latencies.len()
        );
        println!(
            "  so a change reaches its plugin within one interval ({}) + {:.0} ms (p99)",
            humanize(interval),
            percentile(0.99)
        );
    }
    println!(
        "{}",
        json!({"repos": args.repos, "listings": args.repos * 4, "interval_s": interval.num_seconds(),
               "first_round_calls": baseline, "calls_per_hour": per_hour(after.len()),
               "not_modified_per_hour": per_hour(not_modified), "counted_per_hour": per_hour(counted),
               "events": events, "changed": changed, "round_ms_mean": mean_round * 1000.0,
               "processing_ms_p50": percentile(0.5), "processing_ms_p99": percentile(0.99),
               "processing_ms_max": percentile(1.0), "latency_samples": latencies.len()})
    );
    bot.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

fn humanize(interval: chrono::Duration) -> String {
    format!("{}s", interval.num_seconds())
}
