//! `storm`: an alert storm end to end. 2,000 new Dependabot alerts reach one channel through the
//! real, signed `POST /webhooks/github` of a bot running the four plugins, with a fake Slack that
//! enforces Slack's per-channel posting rate. See `bench/README.md`.
//!
//! `cargo run --release -p sentinel-bench --bin storm -- --alerts 2000 --critical-share 0.01`
//!
//! Measures the acknowledgement latency, the time from each critical alert's acknowledgement to
//! its own message, the time until every alert is visible (on its own or in a digest), the 429s
//! Slack sent, messages per alert, and whether any alert was shown twice — all from the fake's
//! record of what it accepted and when.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bench::fake_slack::{self, FakeSlack};
use sentinel_bench::storm::{self, StormAlert};
use sentinel_bot::chat::Directory;
use sentinel_bot::chat::console::ConsoleSink;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::config::{Config, Secret};
use sentinel_bot::{Bot, BotOptions, SystemClock};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const SECRET: &str = "storm-bench-webhook-secret-0123456789abcdef";
const ALERTS_CHANNEL: &str = "C0ALERTS";
const INCIDENTS_CHANNEL: &str = "C0INCIDENTS";
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/github/dependabot_alert.created.json"
);

/// An alert storm into one channel, against a fake Slack that enforces Slack's rate limits.
#[derive(Debug, Parser)]
struct Args {
    /// New alerts in the storm, each a distinct alert (number and repository).
    #[arg(long, default_value_t = 2000)]
    alerts: usize,
    /// Share of them that is critical (posted on its own), spread evenly through the storm.
    #[arg(long, default_value_t = 0.01)]
    critical_share: f64,
    /// Share of them that is high: each asks the incident commander for an incident.
    #[arg(long, default_value_t = 0.0)]
    high_share: f64,
    /// Repositories the alerts are spread over.
    #[arg(long, default_value_t = 200)]
    repositories: usize,
    /// Webhooks sent per second (0: as fast as `--concurrency` allows).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Webhook requests in flight at most.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Posts a Slack channel may make at once before the one-a-second pace applies.
    #[arg(long, default_value_t = fake_slack::DEFAULT_BURST)]
    burst: f64,
    /// Post incidents into the alerts' Slack channel too (by default they have their own).
    #[arg(long)]
    one_channel: bool,
    /// Turn digests off (`[plugins.alert_notifier.digest] enabled = false`): one message per alert.
    #[arg(long)]
    no_digest: bool,
    /// A TOML file appended to the generated configuration (e.g. `[plugins.alert_notifier.digest]`).
    #[arg(long)]
    extra_config: Option<PathBuf>,
    /// Give up waiting for every alert to be visible after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Directory for the database file (kept afterwards); a temporary directory when absent.
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Every 429 is retried with a warning; here they are expected, and counted in the table.
    bench::init_logging_or("warn,sentinel_bot::pipeline::delivery=error");
    let args = Args::parse();
    let load_before = bench::load_average();
    let (fake, api_url) = fake_slack::start(args.burst).await?;
    let (db, _guard) = bench::database_path(args.dir.as_deref(), "storm.db")?;
    let config = configuration(&args, &db, &api_url)?;
    let bot = start(config).await?;
    let addr = bot.local_addr().context("the bot serves no HTTP")?;
    let url = format!("http://{addr}/webhooks/github");

    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).context("reading the fixture")?)?;
    let alerts = storm::alerts(args.alerts, args.repositories, args.critical_share, args.high_share);
    let origin = fake.started();
    let acks = send(&args, &url, &alerts, &fixture, origin).await?;
    let sent = Instant::now();
    println!(
        "sent {} webhooks in {:.1} s; waiting for every alert to be visible",
        alerts.len(),
        acks.iter().map(|a| a.at).max().unwrap_or_default().as_secs_f64()
    );

    let deadline = sent + Duration::from_secs(args.timeout_secs);
    let mut all_visible = None;
    while Instant::now() < deadline {
        let shown = storm::shown(&fake_slack::record(&fake).posts, ALERTS_CHANNEL);
        if alerts.iter().all(|a| shown.by_number.contains_key(&a.number)) {
            all_visible = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Whatever is still queued goes out before the record is judged, so a late duplicate shows.
    let drained = drain(&bot, deadline.max(Instant::now() + Duration::from_secs(10))).await?;
    let load_after = bench::load_average();
    bot.shutdown(Duration::from_secs(5)).await;
    report(
        &args,
        &alerts,
        &acks,
        &fake,
        all_visible.is_some(),
        drained,
        load_before,
        load_after,
    )
}

/// The generated configuration: the fake Slack, two channels, the alert notifier posting to the
/// alerts channel, everything else at its defaults.
fn configuration(args: &Args, db: &std::path::Path, api_url: &str) -> anyhow::Result<Config> {
    let incidents = if args.one_channel {
        ALERTS_CHANNEL
    } else {
        INCIDENTS_CHANNEL
    };
    let mut text = format!(
        "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
         [slack]\napi_url = \"{api_url}\"\n\
         [channels.security-alerts]\nslack = \"{ALERTS_CHANNEL}\"\n\
         [channels.security-incidents]\nslack = \"{incidents}\"\n\
         [plugins.alert_notifier]\nchannel = \"security-alerts\"\n",
        db.display()
    );
    if args.no_digest {
        text.push_str("[plugins.alert_notifier.digest]\nenabled = false\n");
    }
    if let Some(path) = &args.extra_config {
        text.push_str(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let table = sentinel_bot::config::load::parse_table(&text, "storm bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = sentinel_bot::config::load::from_table(table).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.github.webhook_secret = Some(Secret::new(SECRET));
    config.slack.bot_token = Some(Secret::new("xoxb-storm-bench"));
    config.slack.signing_secret = Some(Secret::new("storm-bench-signing-secret-0123456789"));
    Ok(config)
}

/// The bot as `sentinel run` assembles it: the four plugins, the Slack adapter, GitHub's route.
async fn start(config: Config) -> anyhow::Result<Bot> {
    let plugins = sentinel_plugins::build(&config).map_err(|e| anyhow::anyhow!("plugins: {e:?}"))?;
    let directory = Arc::new(Directory::from_config(&config));
    let slack = SlackAdapter::new(&config.slack, directory, config.outbox.request_timeout.std())?;
    slack
        .check_credentials()
        .await
        .map_err(|e| anyhow::anyhow!("fake Slack: {e}"))?;
    Bot::start(BotOptions {
        config,
        clock: Arc::new(SystemClock),
        plugins,
        adapters: vec![Arc::new(slack)],
        console: ConsoleSink::Stdout,
        serve_http: true,
        routes: sentinel_bot::ingress::github::routes(),
    })
    .await
    .context("starting the bot")
}

/// One webhook's answer.
#[derive(Debug, Clone, Copy)]
struct Ack {
    /// Index into the storm.
    alert: usize,
    /// When the 2xx came back, since the fake started.
    at: Duration,
    /// Request → answer.
    latency: Duration,
}

/// Sends one signed webhook per alert at `--rate`, at most `--concurrency` in flight.
async fn send(
    args: &Args,
    url: &str,
    alerts: &[StormAlert],
    fixture: &Value,
    origin: Instant,
) -> anyhow::Result<Vec<Ack>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let secret = Secret::new(SECRET);
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(alerts.len());
    for (index, alert) in alerts.iter().enumerate() {
        if args.rate > 0.0 {
            let due = start + Duration::from_secs_f64(index as f64 / args.rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = gate.clone().acquire_owned().await?;
        let body = serde_json::to_vec(&alert.payload(fixture))?;
        let signature = sentinel_bot::ingress::github::sign(&secret, &body);
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-github-event", "dependabot_alert")
            .header("x-github-delivery", format!("storm-{index}"))
            .header("x-hub-signature-256", signature)
            .header("user-agent", "GitHub-Hookshot/storm-bench")
            .body(body);
        tasks.push(tokio::spawn(async move {
            let asked = Instant::now();
            let answer = request.send().await;
            let latency = asked.elapsed();
            drop(permit);
            let status = answer.map(|r| r.status());
            (index, asked + latency, latency, status)
        }));
    }
    let mut acks = Vec::with_capacity(alerts.len());
    for task in tasks {
        let (alert, at, latency, status) = task.await?;
        match status {
            Ok(status) if status.is_success() => acks.push(Ack {
                alert,
                at: at.saturating_duration_since(origin),
                latency,
            }),
            Ok(status) => bail!("webhook {alert} answered {status}"),
            Err(err) => bail!("webhook {alert} failed: {err}"),
        }
    }
    Ok(acks)
}

/// Waits until no message is pending in the outbox (or `until`); returns whether it drained.
async fn drain(bot: &Bot, until: Instant) -> anyhow::Result<bool> {
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
            .fetch_one(bot.pool())
            .await?;
        if pending == 0 {
            return Ok(true);
        }
        if Instant::now() >= until {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &Args,
    alerts: &[StormAlert],
    acks: &[Ack],
    fake: &FakeSlack,
    all_visible: bool,
    drained: bool,
    load_before: [f64; 3],
    load_after: [f64; 3],
) -> anyhow::Result<()> {
    let record = fake_slack::record(fake);
    let shown = storm::shown(&record.posts, ALERTS_CHANNEL);
    let ack_of: Vec<Duration> = {
        let mut at = vec![Duration::ZERO; alerts.len()];
        for ack in acks {
            at[ack.alert] = ack.at;
        }
        at
    };
    let mut latency: Vec<Duration> = acks.iter().map(|a| a.latency).collect();
    latency.sort_unstable();

    let mut critical_delay: Vec<Duration> = Vec::new();
    let mut critical_missing = 0;
    let mut visible_delay: Vec<Duration> = Vec::new();
    let (mut lost, mut twice) = (0usize, 0usize);
    for (index, alert) in alerts.iter().enumerate() {
        let ack = ack_of[index];
        match shown.by_number.get(&alert.number) {
            None => lost += 1,
            Some(times) => {
                if times.len() > 1 {
                    twice += 1;
                }
                let first = times.iter().min().copied().unwrap_or_default();
                visible_delay.push(first.saturating_sub(ack));
            }
        }
        if alert.critical() {
            match shown.own.get(&alert.number) {
                Some(at) => critical_delay.push(at.saturating_sub(ack)),
                None => critical_missing += 1,
            }
        }
    }
    critical_delay.sort_unstable();
    visible_delay.sort_unstable();
    let first_ack = acks.iter().map(|a| a.at).min().unwrap_or_default();
    let last_visible = shown
        .by_number
        .values()
        .filter_map(|times| times.iter().min())
        .max()
        .copied()
        .unwrap_or_default();
    let alert_posts = shown.own_posts + shown.digests;
    let per_alert = alert_posts as f64 / alerts.len().max(1) as f64;
    let limited = |method: &str| record.rate_limited.get(method).copied().unwrap_or(0);
    let incidents_posts = record
        .posts
        .iter()
        .filter(|p| p.channel == INCIDENTS_CHANNEL && p.thread_ts.is_none())
        .count();
    let criticals = alerts.iter().filter(|a| a.critical()).count();

    let rows = vec![
        bench::row("alerts sent (critical)", format!("{} ({criticals})", alerts.len()), ""),
        bench::row(
            "ack p50 / p99",
            format!(
                "{:.1} / {:.1} ms",
                bench::ms(bench::quantile(&latency, 0.5)),
                bench::ms(bench::quantile(&latency, 0.99))
            ),
            "",
        ),
        bench::row(
            "critical: ack → own post p50",
            secs(bench::quantile(&critical_delay, 0.5)),
            "",
        ),
        bench::row(
            "critical: ack → own post max",
            secs(critical_delay.last().copied().unwrap_or_default()),
            "≤ 5 s",
        ),
        bench::row("critical without own post", critical_missing.to_string(), "0"),
        bench::row(
            "ack → visible p50 / max",
            format!(
                "{} / {}",
                secs(bench::quantile(&visible_delay, 0.5)),
                secs(visible_delay.last().copied().unwrap_or_default())
            ),
            "max ≤ 60 s",
        ),
        bench::row(
            "first ack → all visible",
            secs(last_visible.saturating_sub(first_ack)),
            "",
        ),
        bench::row("alerts never visible", lost.to_string(), "0"),
        bench::row("posted twice", twice.to_string(), "0"),
        bench::row(
            "alert posts (own + digests)",
            format!("{} ({} + {})", alert_posts, shown.own_posts, shown.digests),
            "",
        ),
        bench::row("posts per alert", format!("{per_alert:.3}"), ""),
        bench::row(
            "thread replies / updates",
            format!("{} / {}", shown.replies, record.updates.len()),
            "",
        ),
        bench::row("other posts in the alerts channel", shown.other.to_string(), ""),
        bench::row("incident channel posts", incidents_posts.to_string(), ""),
        bench::row(
            "429s: postMessage / update",
            format!("{} / {}", limited("chat.postMessage"), limited("chat.update")),
            "",
        ),
        bench::row("refused (over Slack's limits)", record.refused.len().to_string(), "0"),
        bench::row("outbox drained", drained.to_string(), ""),
        bench::row(
            "load before → after",
            format!("{:.2} → {:.2}", load_before[0], load_after[0]),
            "",
        ),
    ];
    bench::print_table(
        &format!(
            "storm: {} alerts at {}/s, burst {}, {}{}",
            alerts.len(),
            args.rate,
            args.burst,
            if args.one_channel {
                "incidents in the same channel"
            } else {
                "incidents in their own channel"
            },
            if args.no_digest { ", digests off" } else { "" }
        ),
        &rows,
    );
    let json = json!({
        "alerts": alerts.len(),
        "critical": criticals,
        "rate": args.rate,
        "burst": args.burst,
        "one_channel": args.one_channel,
        "digest": !args.no_digest,
        "ack_p50_ms": bench::ms(bench::quantile(&latency, 0.5)),
        "ack_p99_ms": bench::ms(bench::quantile(&latency, 0.99)),
        "critical_max_s": critical_delay.last().map(Duration::as_secs_f64),
        "critical_missing": critical_missing,
        "visible_max_s": visible_delay.last().map(Duration::as_secs_f64),
        "all_visible_s": last_visible.saturating_sub(first_ack).as_secs_f64(),
        "all_visible": all_visible,
        "never_visible": lost,
        "posted_twice": twice,
        "alert_posts": alert_posts,
        "digests": shown.digests,
        "posts_per_alert": per_alert,
        "replies": shown.replies,
        "updates": record.updates.len(),
        "incident_posts": incidents_posts,
        "other_alert_channel_posts": shown.other,
        "rate_limited": record.rate_limited,
        "refused": record.refused.len(),
        "load": [load_before[0], load_after[0]],
    });
    println!("{json}");
    Ok(())
}
