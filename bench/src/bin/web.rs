//! `web`: how long the web status page takes to render with 1,000 open alerts and 100 open
//! incidents (issue 16: under 50 ms server-side, release build). See `bench/README.md`.
//!
//! `cargo run --release -p sentinel-bench --bin web -- --alerts 1000 --incidents 100`
//!
//! The incidents are declared through `/incident declare`, so the SLA escalator plans their clocks
//! and escalation timers and their checklists are seeded as in production; the alerts are written
//! straight into the alert notifier's table (the page reads that table; how they got there is not
//! what is measured). Each page is then fetched `--rounds` times over loopback with a session, one
//! request at a time: the time is from sending the request to having the whole body, so it is the
//! server's render time plus a loopback round trip. `/web/alerts` is paged: its first and its last
//! page are both measured.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bot::chat::console::{ConsoleSink, parse_console_line};
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::{Bot, BotOptions, NewEvent, SystemClock};

/// Web status page render time.
#[derive(Debug, Parser)]
struct Args {
    /// Open alerts.
    #[arg(long, default_value_t = 1_000)]
    alerts: usize,
    /// Open incidents.
    #[arg(long, default_value_t = 100)]
    incidents: usize,
    /// Requests per page.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Directory for a SQLite database file (kept afterwards). When absent, a throwaway database on
    /// the engine `SENTINEL_TEST_ENGINE` names (`sqlite`, the default, or `postgres`).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];
const SOURCES: [&str; 3] = ["dependabot", "code_scanning", "secret_scanning"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench::init_logging();
    let args = Args::parse();
    // `--dir`: a SQLite file kept there; otherwise the tests' throwaway database, on the engine
    // `SENTINEL_TEST_ENGINE` names (SQLite by default, or PostgreSQL under `.ci/with-postgres`).
    let test_db = if args.dir.is_some() {
        None
    } else {
        Some(TestDb::new().await)
    };
    let url = match (&test_db, args.dir.as_deref()) {
        (Some(db), _) => db.url().to_owned(),
        (None, dir) => format!("sqlite://{}", bench::database_path(dir, "web.db")?.0.display()),
    };
    let engine = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut config = bench::config(std::path::Path::new(""));
    config.database.url = url;
    config.http.listen = "127.0.0.1:0".to_owned();
    config.web = Some(sentinel_bot::config::WebConfig {
        public_url: "http://127.0.0.1".to_owned(),
        link_ttl: sentinel_bot::config::HumanDuration::minutes(10),
        session_ttl: sentinel_bot::config::HumanDuration::hours(12),
    });
    let routes = sentinel_web::routes(&config)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
        .context("[web] is set")?;
    let plugins = sentinel_plugins::build(&config).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let bot = Bot::start(BotOptions {
        config,
        clock: Arc::new(SystemClock),
        plugins,
        adapters: Vec::new(),
        console: ConsoleSink::Stdout,
        serve_http: true,
        routes,
    })
    .await
    .context("starting the bot")?;
    let base = format!("http://{}", bot.local_addr().context("serving HTTP")?);

    let seeding = Instant::now();
    let ingest = bot.ingest().context("bot running")?;
    for n in 0..args.incidents {
        let severity = SEVERITIES[n % SEVERITIES.len()];
        let line = format!("/incident declare {severity} Bench incident {n} in acme/app-{}", n % 20);
        let command = parse_console_line(&line, "bench").context("a command")?;
        ingest
            .submit(NewEvent::command(&format!("web-bench:{n}"), &command)?)
            .await?;
    }
    bot.settle(Duration::from_secs(300)).await.map_err(anyhow::Error::msg)?;
    seed_alerts(bot.pool(), args.alerts).await?;
    let token = "ab".repeat(32);
    let now = chrono::Utc::now().timestamp_millis();
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, person, role, created_at, expires_at) VALUES ($1, 'bench', 'admin', $2, $3)",
    )
    .bind(sentinel_bot::builtin::token_hash(&token))
    .bind(now)
    .bind(now + 3_600_000)
    .execute(bot.pool())
    .await?;
    let seeded = seeding.elapsed();

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = format!("sentinel_session={token}");
    let mut rows = vec![bench::row(
        "seeding (declare + insert)",
        format!("{:.1} s", seeded.as_secs_f64()),
        "",
    )];
    let mut json = serde_json::Map::new();
    // `/web/alerts` lists the open alerts a page at a time: its first page and its last (the
    // deepest OFFSET) are both measured.
    let last_alerts_page = u64::try_from(args.alerts)?
        .div_ceil(sentinel_web::pages::alerts::PAGE_SIZE)
        .max(1);
    let last_alerts = format!("/web/alerts?page={last_alerts_page}");
    for (name, path) in [
        ("now", "/web"),
        ("alerts", "/web/alerts"),
        ("alerts_last_page", last_alerts.as_str()),
        ("incident", "/web/incidents/1"),
        ("audits", "/web/audits"),
        ("report", "/web/reports"),
    ] {
        let mut times = Vec::with_capacity(args.rounds);
        let mut bytes = 0;
        // One untimed request first: connection set-up and the first query plans.
        fetch(&client, &base, path, &cookie).await?;
        for _ in 0..args.rounds {
            let start = Instant::now();
            bytes = fetch(&client, &base, path, &cookie).await?;
            times.push(start.elapsed());
        }
        times.sort();
        let (p50, p99) = (bench::quantile(&times, 0.5), bench::quantile(&times, 0.99));
        rows.push(bench::row(
            &format!("{path} p50 / p99 ({} KB)", bytes / 1024),
            format!("{:.1} / {:.1} ms", bench::ms(p50), bench::ms(p99)),
            "< 50 ms",
        ));
        json.insert(
            name.to_owned(),
            serde_json::json!({ "p50_ms": bench::ms(p50), "p99_ms": bench::ms(p99), "bytes": bytes }),
        );
    }
    bench::print_table(
        &format!(
            "web status page ({engine}): {} open alerts, {} open incidents, {} requests per page",
            args.alerts, args.incidents, args.rounds
        ),
        &rows,
    );
    println!("{}", serde_json::Value::Object(json));
    bot.shutdown(Duration::from_secs(5)).await;
    Ok(())
}

/// One page with the session; its size. A redirect or error status fails the bench.
async fn fetch(client: &reqwest::Client, base: &str, path: &str, cookie: &str) -> anyhow::Result<usize> {
    let response = client
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await?;
    let status = response.status();
    // `/web/reports` redirects to the month's report; follow that one hop.
    let response = if status.is_redirection() && path == "/web/reports" {
        let to = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .context("a redirect has a location")?
            .to_owned();
        client
            .get(format!("{base}{to}"))
            .header("cookie", cookie)
            .send()
            .await?
    } else {
        response
    };
    anyhow::ensure!(response.status().is_success(), "{path}: {}", response.status());
    Ok(response.bytes().await?.len())
}

/// `count` open alerts in the alert notifier's table, spread over severities, sources and 20
/// repositories, each posted to Slack (a `message_refs` row) in a channel whose address is learned
/// (`chat_links`), so the alerts page builds every chat link.
async fn seed_alerts(pool: &sentinel_bot::store::DbPool, count: usize) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = pool.begin().await?;
    for n in 0..count {
        let severity = SEVERITIES[n % SEVERITIES.len()];
        let source = SOURCES[n % SOURCES.len()];
        let repository = format!("acme/app-{}", n % 20);
        let key = format!("{source}:{repository}:{n}");
        let data = serde_json::json!({
            "key": key, "source": source, "repository": repository, "number": n, "severity": severity,
            "state": "open", "title": format!("Vulnerable dependency {n}"), "package": format!("pkg-{n}"),
            "url": format!("https://github.com/{repository}/security/dependabot/{n}"),
        });
        sqlx::query(
            "INSERT INTO alerts (key, source, repository, number, severity, state, title, data, first_seen_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $8)",
        )
        .bind(&key)
        .bind(source)
        .bind(&repository)
        .bind(i64::try_from(n)?)
        .bind(severity)
        .bind(format!("Vulnerable dependency {n}"))
        .bind(data.to_string())
        .bind(now - i64::try_from(n)? * 60_000)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO message_refs (platform, channel, message_key, platform_message_id, updated_at)
             VALUES ('slack', 'C0BENCH', $1, $2, $3)",
        )
        .bind(&key)
        .bind(format!("1700000000.{n:06}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO chat_links (platform, channel, base_url, learned_at)
         VALUES ('slack', 'C0BENCH', 'https://acme.slack.com/archives/C0BENCH/p', $1)",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
