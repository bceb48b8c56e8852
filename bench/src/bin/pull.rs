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
//! With `--notify`, the plugin is the real alert notifier with the Slack adapter and its delivery
//! worker, posting to the harness's fake Slack (Slack's per-channel rate enforced), and each change
//! is a new Dependabot alert (the real webhook fixture's alert, renumbered) in a repository of its
//! own, routed to a channel of its own (so no message waits for another's pacing; `--changes` ×
//! rounds must not exceed `--repos`). The latency measured is from the fake API's answer that first
//! showed the change (the poll's `200` page) to the fake Slack recording the alert's
//! `chat.postMessage`; the wait for that poll (up to one interval) comes on top.
//!
//! ```sh
//! cargo run --release -p sentinel-bench --bin pull -- --repos 100
//! cargo run --release -p sentinel-bench --bin pull -- --repos 100 --changes 1 --hours 24
//! cargo run --release -p sentinel-bench --bin pull -- --repos 100 --changes 4 --hours 2 --notify
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Parser;
use sentinel_bench::fake_slack::{self, FakeSlack};
use sentinel_bot::chat::console::ConsoleSink;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::chat::{ChatAdapter, Directory};
use sentinel_bot::config::{Config, Secret};
use sentinel_bot::harness::fakes::github_alerts::FakeAlerts;
use sentinel_bot::{Bot, BotOptions, Cx, Event, ManualClock, Plugin, PluginError, Subscriptions};
use serde_json::{Value, json};

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
    /// Through the alert notifier to a fake Slack: each change is a new alert, measured from the
    /// fake API's answer showing it to its `chat.postMessage` (at least one change per round).
    #[arg(long)]
    notify: bool,
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

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/github/dependabot_alert.created.json"
);

/// An alert change the bench made: where, and when it was listed on the fake API.
struct Change {
    /// The listing's path.
    listing: String,
    /// The alert's `html_url`, which its Slack message links to.
    html_url: String,
    /// When the fake API started listing it.
    listed: Instant,
    /// When the round that finds it started (the manual clock moved).
    round: Instant,
}

/// The bot under measurement: a sink plugin, or (`--notify`) the alert notifier with the Slack
/// adapter and the fake Slack it posts to.
async fn start_bot(
    args: &Args,
    db: &std::path::Path,
    fake: &FakeAlerts,
    repos: &[String],
    clock: &ManualClock,
    handled: &Arc<std::sync::Mutex<Vec<Instant>>>,
) -> anyhow::Result<(Bot, Option<(FakeSlack, Instant)>)> {
    let github = |config: &mut Config| {
        config.github.token = Some(Secret::new("ghp_bench"));
        config.github.api_url = fake.url.clone();
        config.github.pull.repositories = repos.to_vec();
    };
    let options = |config, plugins, adapters| BotOptions {
        config,
        clock: Arc::new(clock.clone()),
        plugins,
        adapters,
        console: ConsoleSink::memory(false).0,
        serve_http: false,
        routes: axum::Router::new(),
    };
    if !args.notify {
        let mut config = sentinel_bench::config(db);
        github(&mut config);
        let bot = Bot::start(options(config, vec![Arc::new(Sink(handled.clone()))], Vec::new()))
            .await
            .context("start the bot")?;
        return Ok((bot, None));
    }
    // Each repository's alerts go to a channel of their own (a route per repository), and each
    // change is made in a repository of its own, so every alert is the only message of its
    // channel. Two messages in one channel would measure the manual clock, not Sentinel: the
    // delivery worker paces a channel's posts to `slack.post_interval` on the bot's clock, and
    // retries a 429 after `Retry-After` on it too, and that clock only moves when the bench
    // advances it to the next poll — while the fake Slack enforces Slack's per-channel rate on
    // the wall clock, where the rounds are milliseconds apart. The table shows the 429s (none).
    // The fake's record times count from its start, a few microseconds after `origin`.
    let origin = Instant::now();
    let (slack, api_url) = fake_slack::start(fake_slack::DEFAULT_BURST).await?;
    let mut text = format!(
        "[database]\nurl = \"sqlite://{}\"\n[chat]\nconsole = \"off\"\n[slack]\napi_url = \"{api_url}\"\n\
         [channels.security-alerts]\nslack = \"C0ALERTS\"\n",
        db.display()
    );
    for r in 0..repos.len() {
        text.push_str(&format!("[channels.alerts-{r}]\nslack = \"C{r:05}\"\n"));
    }
    text.push_str("[plugins.alert_notifier]\nchannel = \"security-alerts\"\n");
    for (r, repo) in repos.iter().enumerate() {
        text.push_str(&format!(
            "[[plugins.alert_notifier.routes]]\nrepository = \"{repo}\"\nchannels = [\"alerts-{r}\"]\n"
        ));
    }
    let table = sentinel_bot::config::load::parse_table(&text, "pull bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut config = sentinel_bot::config::load::from_table(table).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.slack.bot_token = Some(Secret::new("xoxb-pull-bench"));
    github(&mut config);
    let notifier = sentinel_plugins::registry::build_one::<sentinel_plugins::alert_notifier::AlertNotifier>(&config)
        .map_err(|e| anyhow::anyhow!("alert notifier: {e:?}"))?
        .context("the alert notifier is disabled")?;
    let directory = Arc::new(Directory::from_config(&config));
    let adapter = SlackAdapter::new(&config.slack, directory, config.outbox.request_timeout.std())?;
    adapter
        .check_credentials()
        .await
        .map_err(|e| anyhow::anyhow!("fake Slack: {e}"))?;
    let adapters: Vec<Arc<dyn ChatAdapter>> = vec![Arc::new(adapter)];
    let bot = Bot::start(options(config, vec![notifier], adapters))
        .await
        .context("start the bot")?;
    Ok((bot, Some((slack, origin))))
}

/// When the fake Slack accepted a `chat.postMessage` linking to each of `urls` (`None`: not yet).
fn posted(slack: &FakeSlack, origin: Instant, urls: &[&str]) -> Vec<Option<Instant>> {
    let posts = fake_slack::record(slack).posts;
    urls.iter()
        .map(|url| {
            posts
                .iter()
                .find(|post| post.body.to_string().contains(url))
                .map(|post| origin + post.at)
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.notify {
        args.changes = args.changes.max(1);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SENTINEL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let fake = FakeAlerts::start().await?;
    let start = Utc::now();
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).context(FIXTURE)?)?;
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let notify = args.notify;
    // With `--notify` the real fixture's alert (the notifier renders it), else a bare one.
    let alert = |repo: &str, n: usize, created: DateTime<Utc>, updated: DateTime<Utc>| {
        let html_url = format!("https://github.com/{repo}/security/dependabot/{n}");
        if !notify {
            return json!({"number": n, "state": "open", "created_at": at(created),
                          "updated_at": at(updated), "html_url": html_url});
        }
        let mut alert = fixture["alert"].clone();
        alert["number"] = json!(n);
        alert["state"] = json!("open");
        alert["created_at"] = json!(at(created));
        alert["updated_at"] = json!(at(updated));
        alert["html_url"] = json!(html_url);
        alert
    };
    // `--notify`: the existing alerts are older than `initial_lookback`, so the first round
    // announces none of them and the channel is quiet when the measured changes come.
    let existing = if notify {
        chrono::Duration::days(2)
    } else {
        chrono::Duration::zero()
    };
    let mut repos = Vec::new();
    for r in 0..args.repos {
        let repo = format!("acme/repo-{r}");
        for listing in LISTINGS {
            let items = (1..=args.alerts)
                .map(|n| {
                    let updated = start - existing - chrono::Duration::minutes(n as i64);
                    alert(&repo, n, start - existing - chrono::Duration::hours(2), updated)
                })
                .collect();
            fake.set(&format!("/repos/{repo}/{listing}"), items);
        }
        // The alert notifier also wants `workflow_run`: its failed runs listing is polled too.
        fake.set(&format!("/repos/{repo}/actions/runs"), Vec::new());
        repos.push(repo);
    }
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(start);
    let handled: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let handled_count = || handled.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
    let (bot, slack) = start_bot(&args, &dir.path().join("pull.db"), &fake, &repos, &clock, &handled).await?;
    let interval = bot.shared().config.github.pull.interval.chrono();
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
    let listings = {
        let mut paths: Vec<String> = fake.received().into_iter().map(|r| r.path).collect();
        paths.sort();
        paths.dedup();
        paths.len()
    };
    let events_before = metrics.github_pull_events.get();

    let rounds = u64::from(args.hours)
        * u64::try_from(chrono::Duration::hours(1).num_seconds() / interval.num_seconds().max(1))?;
    // `--notify`: every change gets a repository, so a channel, of its own (see `start_bot`).
    if notify && u64::try_from(args.changes)? * rounds > u64::try_from(args.repos)? {
        bail!(
            "--notify: {} changes × {rounds} rounds need as many repositories (one channel per alert)",
            args.changes
        );
    }
    let mut round_times = Vec::new();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut changed = 0usize;
    for round in 1..=rounds {
        // The changes are listed before the clock moves (moving it starts the round).
        let now = sentinel_bot::Clock::now(&clock) + interval;
        let mut made = Vec::new();
        for c in 0..args.changes {
            let repo = &repos[(changed + c) % repos.len()];
            let listing = format!("/repos/{repo}/dependabot/alerts");
            // `--notify`: a new alert (its own message); else alert 1 changes.
            let (number, created) = if notify {
                (args.alerts + changed + c + 1, now)
            } else {
                (1, start - chrono::Duration::hours(2))
            };
            let item = alert(repo, number, created, now);
            let html_url = item["html_url"].as_str().unwrap_or_default().to_owned();
            fake.upsert(&listing, item);
            made.push((listing, html_url, Instant::now()));
        }
        changed += args.changes;
        let seen = handled_count();
        let began = Instant::now();
        clock.advance(interval);
        wait_round(round + 1).await?;
        round_times.push(began.elapsed());
        let deadline = Instant::now() + Duration::from_secs(60);
        match &slack {
            None => {
                while handled_count() < seen + args.changes {
                    if Instant::now() > deadline {
                        bail!("round {round}: the changed alerts were not handled in 60 s");
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let times = handled.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                latencies.extend(times[seen..].iter().map(|at| at.duration_since(began)));
            }
            Some((slack, origin)) => {
                let urls: Vec<&str> = made.iter().map(|(_, url, _)| url.as_str()).collect();
                while posted(slack, *origin, &urls).iter().any(Option::is_none) {
                    if Instant::now() > deadline {
                        bail!("round {round}: the new alerts did not reach Slack in 60 s");
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                changes.extend(made.into_iter().map(|(listing, html_url, listed)| Change {
                    listing,
                    html_url,
                    listed,
                    round: began,
                }));
            }
        }
    }
    // `--notify`: from the fake API's first `200` answer of the listing after the change was
    // listed (the poll saw it then) to the message at the fake Slack.
    let mut from_round: Vec<Duration> = Vec::new();
    if let Some((slack, origin)) = &slack {
        let answers = fake.received();
        let urls: Vec<&str> = changes.iter().map(|c| c.html_url.as_str()).collect();
        let posts = posted(slack, *origin, &urls);
        for (change, post) in changes.iter().zip(posts) {
            let post = post.context("a post vanished")?;
            let answer = answers
                .iter()
                .find(|r| r.path == change.listing && r.status == 200 && r.at >= change.listed)
                .context("no 200 answer showed a change")?;
            latencies.push(post.saturating_duration_since(answer.at));
            from_round.push(post.saturating_duration_since(change.round));
        }
    }
    latencies.sort();
    from_round.sort();
    let percentile = |values: &[Duration], p: f64| {
        let i = ((values.len() as f64 * p).ceil() as usize).clamp(1, values.len().max(1)) - 1;
        values.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
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
        "GitHub pull mode, {} repositories, {listings} listings, every {}{}:",
        args.repos,
        humanize(interval),
        if notify {
            ", through the alert notifier to a fake Slack"
        } else {
            ""
        }
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
    let end = if notify {
        "the message at the fake Slack"
    } else {
        "the plugin"
    };
    if !latencies.is_empty() {
        let from = if notify {
            "the API answer showing the change"
        } else {
            "the poll's start"
        };
        println!(
            "  {from} → {end}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} changes)",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
            latencies.len()
        );
    }
    if !from_round.is_empty() {
        println!(
            "  the poll's start → {end}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&from_round, 0.5),
            percentile(&from_round, 0.99),
            percentile(&from_round, 1.0),
        );
    }
    if let Some((slack, _)) = &slack {
        let record = fake_slack::record(slack);
        let throttled: u64 = record.rate_limited.values().sum();
        println!(
            "  fake Slack: {} posts, each in a channel of its own, {throttled} answered 429",
            record.posts.len()
        );
        println!(
            "  + the wait for the next poll (a real clock): 0 to {}, {:.0} s on average",
            humanize(interval),
            interval.num_seconds() as f64 / 2.0
        );
    }
    if !latencies.is_empty() {
        let whole = if from_round.is_empty() { &latencies } else { &from_round };
        println!(
            "  so a change reaches {end} within one interval ({}) + {:.0} ms (p99)",
            humanize(interval),
            percentile(whole, 0.99)
        );
    }
    println!(
        "{}",
        json!({"repos": args.repos, "listings": listings, "interval_s": interval.num_seconds(),
               "notify": notify, "first_round_calls": baseline, "calls_per_hour": per_hour(after.len()),
               "not_modified_per_hour": per_hour(not_modified), "counted_per_hour": per_hour(counted),
               "events": events, "changed": changed, "round_ms_mean": mean_round * 1000.0,
               "processing_ms_p50": percentile(&latencies, 0.5), "processing_ms_p99": percentile(&latencies, 0.99),
               "processing_ms_max": percentile(&latencies, 1.0), "latency_samples": latencies.len(),
               "from_round_ms_p50": percentile(&from_round, 0.5), "from_round_ms_p99": percentile(&from_round, 0.99)})
    );
    bot.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

fn humanize(interval: chrono::Duration) -> String {
    format!("{}s", interval.num_seconds())
}
