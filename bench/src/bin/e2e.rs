//! `e2e`: distinct alerts end to end through the REAL `sentinel` binary (issue 17). The harness's
//! fake Slack and fake Discord run in this process on 127.0.0.1; `sentinel run` runs as a child on
//! a fresh SQLite file with the alert notifier posting every alert to both, the repositories
//! spread over `--channels` channels; N distinct Dependabot alerts (from the real fixture, each
//! body signed, each delivery id fresh) go through `POST /webhooks/github` with `--concurrency`
//! connections. See `bench/docs/e2e.md`.
//!
//! `cargo build --release -p sentinel && cargo run --release -p sentinel-bench --bin e2e -- --alerts 4000`
//!
//! Exits non-zero when an alert was shown twice, or never, on either platform.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bench::e2e::{self, Channels, Sentinel, Shown};
use sentinel_bench::storm::{self, StormAlert};
use sentinel_bot::config::Secret;
use sentinel_bot::harness::fakes::discord::FakeDiscord;
use sentinel_bot::harness::fakes::slack::FakeSlack;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/github/dependabot_alert.created.json"
);

/// Distinct alerts through the real binary to fake Slack and Discord.
#[derive(Debug, Parser)]
struct Args {
    /// Distinct alerts sent (numbers 1000…, one webhook each).
    #[arg(long, default_value_t = 4000)]
    alerts: usize,
    /// Repositories the alerts are spread over (`storm-org/repo-NNN`).
    #[arg(long, default_value_t = 200)]
    repositories: usize,
    /// Channels the repositories are routed to (repository NNN → `alerts-(NNN mod channels)`), each
    /// with a Slack and a Discord channel.
    #[arg(long, default_value_t = 100)]
    channels: usize,
    /// Share of the alerts that is critical (posted on its own and opening an incident).
    #[arg(long, default_value_t = 0.01)]
    critical_share: f64,
    /// Webhook requests in flight at most (one connection each).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Posts a Slack channel may make at once before the one-a-second pace applies.
    #[arg(long, default_value_t = bench::fake_slack::DEFAULT_BURST)]
    burst: f64,
    /// Turn the alert notifier's digests off (one message per alert).
    #[arg(long)]
    no_digest: bool,
    /// The `sentinel` binary.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/sentinel"))]
    sentinel: PathBuf,
    /// Give up waiting for every alert to be visible after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Directory for the configuration, database and log (kept); a temporary one when absent.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// One webhook's answer, times since the bench's origin.
#[derive(Debug, Clone, Copy)]
struct Ack {
    alert: usize,
    sent: Duration,
    at: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    bench::init_logging();
    let args = Args::parse();
    let load_before = bench::load_average();
    let origin = Instant::now();
    let slack = FakeSlack::start().await?;
    slack.rate_limit(args.burst);
    let discord = FakeDiscord::start().await?;
    let channels = Channels::new(args.channels);
    let (db, guard) = bench::database_path(args.dir.as_deref(), "sentinel.db")?;
    let dir = db.parent().context("database directory")?.to_path_buf();
    let config = e2e::configuration(
        &db,
        &slack.api_url(),
        &discord.url,
        &channels,
        args.repositories,
        !args.no_digest,
    );
    // Starting and stopping wait on the child with blocking sleeps; the fakes it calls meanwhile
    // (auth.test, /users/@me) keep running on the runtime's other workers.
    let mut sentinel = tokio::task::block_in_place(|| Sentinel::start(&args.sentinel, &dir, &config))?;
    let url = format!("{}/webhooks/github", sentinel.base);

    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).context("reading the fixture")?)?;
    let alerts = storm::alerts(args.alerts, args.repositories, args.critical_share, 0.0);
    let requests = signed(&alerts, &fixture)?;
    let cpu_before = sentinel.cpu_time();
    let acks = send(&args, &url, requests, origin).await?;
    let last_ack = acks.iter().map(|a| a.at).max().unwrap_or_default();
    println!(
        "sent {} webhooks; waiting for every alert on Slack and Discord",
        alerts.len()
    );

    let (slack_ids, discord_ids) = (channels.slack_ids(), channels.discord_ids());
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let all_shown = loop {
        let on_slack = e2e::slack_shown(&slack, &slack_ids, origin);
        let on_discord = e2e::discord_shown(&discord, &discord_ids, origin);
        let all = |s: &Shown| alerts.iter().all(|a| s.by_number.contains_key(&a.number));
        if all(&on_slack) && all(&on_discord) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Whatever is still queued goes out before the record is judged, so a late duplicate shows.
    let drained = drain(&db, deadline.max(Instant::now() + Duration::from_secs(30))).await?;
    let cpu = sentinel.cpu_time().saturating_sub(cpu_before);
    let peak_kb = sentinel.status_kb("VmHWM");
    let load_after = bench::load_average();
    let stopped = tokio::task::block_in_place(|| sentinel.stop(Duration::from_secs(20)));
    let on_slack = e2e::slack_shown(&slack, &slack_ids, origin);
    let on_discord = e2e::discord_shown(&discord, &discord_ids, origin);
    let failures = report(
        &args,
        &alerts,
        &acks,
        last_ack,
        [&on_slack, &on_discord],
        cpu,
        peak_kb,
        [load_before, load_after],
    );
    let stopped = stopped?;
    println!(
        "sentinel stopped: {stopped}; all shown: {all_shown}; outbox drained: {drained}; log: {}",
        sentinel.log.display()
    );
    drop(guard);
    if failures > 0 || !all_shown || !drained || !stopped.success() {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every alert's body (the fixture made into that alert) and its signature, prepared before the
/// clock starts.
fn signed(alerts: &[StormAlert], fixture: &Value) -> anyhow::Result<Vec<(Vec<u8>, String)>> {
    let secret = Secret::new(e2e::SECRET);
    alerts
        .iter()
        .map(|alert| -> anyhow::Result<(Vec<u8>, String)> {
            let body = serde_json::to_vec(&alert.payload(fixture))?;
            let signature = sentinel_bot::ingress::github::sign(&secret, &body);
            Ok((body, signature))
        })
        .collect()
}

/// Posts every request as fast as `--concurrency` allows, each with a fresh delivery id.
async fn send(args: &Args, url: &str, requests: Vec<(Vec<u8>, String)>, origin: Instant) -> anyhow::Result<Vec<Ack>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(requests.len());
    for (index, (body, signature)) in requests.into_iter().enumerate() {
        let permit = gate.clone().acquire_owned().await?;
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-github-event", "dependabot_alert")
            .header("x-github-delivery", format!("e2e-{run}-{index}"))
            .header("x-hub-signature-256", signature)
            .header("user-agent", "GitHub-Hookshot/e2e-bench")
            .body(body);
        tasks.push(tokio::spawn(async move {
            let sent = origin.elapsed();
            let answer = request.send().await.map(|r| r.status());
            let at = origin.elapsed();
            drop(permit);
            (index, sent, at, answer)
        }));
    }
    let mut acks = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await? {
            (alert, sent, at, Ok(status)) if status.is_success() => acks.push(Ack { alert, sent, at }),
            (alert, _, _, Ok(status)) => bail!("webhook {alert} answered {status}"),
            (alert, _, _, Err(err)) => bail!("webhook {alert} failed: {err}"),
        }
    }
    Ok(acks)
}

/// Waits until the binary's outbox has nothing pending (or `until`), reading its database.
async fn drain(db: &std::path::Path, until: Instant) -> anyhow::Result<bool> {
    let pool = sqlx::sqlite::SqlitePool::connect(&format!("sqlite://{}", db.display())).await?;
    let drained = loop {
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
            .fetch_one(&pool)
            .await?;
        if pending == 0 {
            break true;
        }
        if Instant::now() >= until {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    pool.close().await;
    Ok(drained)
}

/// p50 / p99 of `sorted` in milliseconds.
fn p50_p99(sorted: &[Duration]) -> String {
    format!(
        "{:.1} / {:.1} ms",
        bench::ms(bench::quantile(sorted, 0.5)),
        bench::ms(bench::quantile(sorted, 0.99))
    )
}

/// Prints the table and the JSON line; returns the number of failures (alerts shown twice or
/// never, on either platform).
#[allow(clippy::too_many_arguments)]
fn report(
    args: &Args,
    alerts: &[StormAlert],
    acks: &[Ack],
    last_ack: Duration,
    platforms: [&Shown; 2],
    cpu: Duration,
    peak_kb: Option<u64>,
    load: [[f64; 3]; 2],
) -> usize {
    let first_sent = acks.iter().map(|a| a.sent).min().unwrap_or_default();
    let mut latency: Vec<Duration> = acks.iter().map(|a| a.at.saturating_sub(a.sent)).collect();
    latency.sort_unstable();
    let ack_span = last_ack.saturating_sub(first_sent);
    let mut ack_of = vec![Duration::ZERO; alerts.len()];
    for ack in acks {
        ack_of[ack.alert] = ack.at;
    }
    let mut rows = vec![
        bench::row(
            "alerts / channels / repositories",
            format!("{} / {} / {}", alerts.len(), args.channels, args.repositories),
            "",
        ),
        bench::row("digest", (!args.no_digest).to_string(), ""),
        bench::row("ack req/s", format!("{:.0}", bench::rate(acks.len(), ack_span)), ""),
        bench::row("ack p50 / p99", p50_p99(&latency), ""),
    ];
    let mut json_platforms = Vec::new();
    let mut failures = 0;
    let mut all_visible = Duration::ZERO;
    for (name, shown) in ["slack", "discord"].iter().zip(platforms) {
        let (mut delays, mut twice, mut never) = (Vec::new(), 0, 0);
        for (index, alert) in alerts.iter().enumerate() {
            match shown.first(alert) {
                Some(first) => {
                    delays.push(first.saturating_sub(ack_of[index]));
                    all_visible = all_visible.max(first);
                }
                None => never += 1,
            }
            if shown.by_number.get(&alert.number).is_some_and(|t| t.len() > 1) {
                twice += 1;
            }
        }
        delays.sort_unstable();
        failures += twice + never;
        let (busiest, busiest_span) = shown.busiest();
        rows.push(bench::row(
            &format!("{name}: ack → message p50 / p99"),
            p50_p99(&delays),
            "",
        ));
        rows.push(bench::row(
            &format!("{name}: top-level messages (busiest channel)"),
            format!("{} ({busiest} in {:.1} s)", shown.posts, busiest_span.as_secs_f64()),
            "",
        ));
        rows.push(bench::row(
            &format!("{name}: 429s / refused"),
            format!("{} / {}", shown.rate_limited, shown.refused),
            "",
        ));
        rows.push(bench::row(
            &format!("{name}: shown twice / never"),
            format!("{twice} / {never}"),
            "0 / 0",
        ));
        json_platforms.push(json!({
            "platform": name, "ack_to_message_p50_ms": bench::ms(bench::quantile(&delays, 0.5)),
            "ack_to_message_p99_ms": bench::ms(bench::quantile(&delays, 0.99)),
            "messages": shown.posts, "busiest_channel_messages": busiest,
            "busiest_channel_span_s": busiest_span.as_secs_f64(),
            "rate_limited": shown.rate_limited, "refused": shown.refused, "twice": twice, "never": never,
        }));
    }
    let handled_span = all_visible.saturating_sub(first_sent);
    let cpu_per_alert = cpu.as_secs_f64() * 1e6 / alerts.len().max(1) as f64;
    rows.push(bench::row(
        "alerts handled/s (first send → all visible on both)",
        format!(
            "{:.0} ({:.1} s)",
            bench::rate(alerts.len(), handled_span),
            handled_span.as_secs_f64()
        ),
        "",
    ));
    rows.push(bench::row(
        "sentinel CPU per alert",
        format!("{cpu_per_alert:.0} µs ({:.2} s)", cpu.as_secs_f64()),
        "",
    ));
    let peak_mb = peak_kb.map_or(0.0, |kb| kb as f64 / 1024.0);
    rows.push(bench::row("sentinel peak RSS (VmHWM)", format!("{peak_mb:.1} MB"), ""));
    rows.push(bench::row(
        "load 1-min before → after",
        format!("{:.2} → {:.2} ({} CPUs)", load[0][0], load[1][0], bench::cpus()),
        "",
    ));
    bench::print_table("e2e: distinct alerts through the real binary", &rows);
    let line = json!({
        "bench": "e2e", "alerts": alerts.len(), "channels": args.channels,
        "repositories": args.repositories, "digest": !args.no_digest, "concurrency": args.concurrency,
        "ack_per_s": bench::rate(acks.len(), ack_span),
        "ack_p50_ms": bench::ms(bench::quantile(&latency, 0.5)),
        "ack_p99_ms": bench::ms(bench::quantile(&latency, 0.99)),
        "handled_per_s": bench::rate(alerts.len(), handled_span), "cpu_per_alert_us": cpu_per_alert,
        "peak_rss_mb": peak_mb, "platforms": json_platforms, "failures": failures,
        "load_before": load[0], "load_after": load[1],
    });
    println!("{line}");
    failures
}
