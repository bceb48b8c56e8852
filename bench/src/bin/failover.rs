//! `failover`: the time from `kill -9` of the instance holding due timers to those timers firing
//! on another instance (issue 14). See `bench/docs/failover.md`.
//!
//! Real `sentinel` release binaries (`--instances`, each its own `cluster.instance`) run on one
//! fresh PostgreSQL database (`harness::TestDb`; PostgreSQL only). Each round the bench sets
//! `--timers` one-shot timers (through `store::timers::set`, the function a plugin's `cx` uses)
//! all due at one moment, `--lead-secs` ahead. When they come due the instances' timer engines
//! claim them `FOR UPDATE SKIP LOCKED`, 512 per transaction. The bench polls, from just before the
//! due moment, which session holds row locks on them: a timer row locked by an open transaction
//! has `xmax` = that transaction's id, which `pg_stat_activity.backend_xid` shows beside the
//! session's `application_name` (`sentinel/<instance>`). The first instance seen holding any is
//! killed with SIGKILL, and the bench records, polling the inbox, when the timers it held (its
//! open transaction's rows, rolled back by its death) appear there — fired by a survivor. The
//! victim is restarted (same name, as a service would be) before the next round.
//!
//! `cargo build --release --bin sentinel && SENTINEL_TEST_ENGINE=postgres WITH_POSTGRES_DURABLE=1 .ci/with-postgres cargo run --release -p sentinel-bench --bin failover -- --rounds 10`

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::Parser;
use sentinel_bench as bench;
use sentinel_bot::harness::test_db::{TestDb, test_engine};
use sentinel_bot::store::{DbPool, Engine, timers};
use serde_json::json;
use sqlx::Row;

/// The owner of the bench's timers: no plugin has this name, so each firing is an inbox event
/// that no plugin handles (the dispatcher marks it done), and nothing else is measured.
const OWNER: &str = "failover_bench";
/// The webhook secret of the generated configuration (PostgreSQL requires one).
const SECRET: &str = "failover-bench-webhook-secret-0123456789";
/// How often the bench polls while it looks for the holder and for the firings.
const POLL: Duration = Duration::from_millis(2);

/// Failover of due timers after `kill -9` of the instance holding them.
#[derive(Debug, Parser)]
struct Args {
    /// Instances sharing the database (at least 2).
    #[arg(long, default_value_t = 3)]
    instances: usize,
    /// Rounds (one kill each).
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Timers due at the same moment each round: enough that a firing transaction lasts long
    /// enough to be seen (each instance fires 512 per transaction).
    #[arg(long, default_value_t = 2000)]
    timers: usize,
    /// The timers come due this many seconds after they are set: longer than `--heartbeat-secs`,
    /// so every instance's timer engine has looked and knows when they are due.
    #[arg(long, default_value_t = 7)]
    lead_secs: u64,
    /// `cluster.heartbeat` of the instances (default: Sentinel's default).
    #[arg(long, default_value_t = 5)]
    heartbeat_secs: u64,
    /// `cluster.lease` of the instances (default: Sentinel's default).
    #[arg(long, default_value_t = 30)]
    lease_secs: u64,
    /// Give up a round when its timers have not all fired this many seconds after the kill.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// The `sentinel` binary.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/sentinel"))]
    sentinel: PathBuf,
}

/// One `sentinel run` child: killed (SIGKILL) when dropped, so no exit path leaves it running.
struct Instance {
    name: String,
    child: tokio::process::Child,
    log: PathBuf,
}

impl Instance {
    /// Writes its configuration into `dir` and starts it; waits until it says where it listens.
    async fn start(args: &Args, dir: &Path, name: &str, database_url: &str) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"{database_url}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
                 [github]\nwebhook_secret = \"{SECRET}\"\n\
                 [cluster]\ninstance = \"{name}\"\nheartbeat = \"{}s\"\nlease = \"{}s\"\n",
                args.heartbeat_secs, args.lease_secs
            ),
        )
        .context("writing a configuration")?;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))?;
        let log = dir.join(format!("{name}.stderr"));
        // Appended to: a restarted instance's log follows its killed run's.
        let stderr = std::fs::OpenOptions::new().create(true).append(true).open(&log)?;
        let already = std::fs::metadata(&log)?.len();
        let mut command = tokio::process::Command::new(&args.sentinel);
        for (var, _) in std::env::vars().filter(|(var, _)| var.starts_with("SENTINEL_") || var == "PGAPPNAME") {
            command.env_remove(var);
        }
        let child = command
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env(
                "SENTINEL_LOG",
                std::env::var("FAILOVER_SENTINEL_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (build it: cargo build --release --bin sentinel)",
                    args.sentinel.display()
                )
            })?;
        let mut instance = Self {
            name: name.to_owned(),
            child,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read(&instance.log).unwrap_or_default();
            let text = String::from_utf8_lossy(text.get(usize::try_from(already)?..).unwrap_or_default());
            if text.contains("listening on ") {
                return Ok(instance);
            }
            if let Some(status) = instance.child.try_wait()? {
                bail!("{name} exited ({status}) before listening:\n{text}");
            }
            if Instant::now() > deadline {
                bail!("{name} did not say where it listens within 60 s:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (what `kill -9` sends): no shutdown of any kind. Returns once it is reaped.
    async fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.start_kill().context("sending SIGKILL")?;
        self.child.wait().await?;
        Ok(())
    }
}

/// What one round measured.
#[derive(Debug, Clone)]
struct Round {
    victim: String,
    /// The victim's open transaction's timer rows when it was killed.
    held: usize,
    /// Due moment → the holder was seen.
    seen_after_due: Duration,
    /// Kill → the server no longer lists the victim's session.
    session_gone: Duration,
    /// Kill → the first / the last of the held timers visible in the inbox.
    first: Duration,
    last: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    bench::init_logging();
    let args = Args::parse();
    if test_engine() != Engine::Postgres {
        eprintln!(
            "failover: several instances need PostgreSQL (one SQLite file is one process); run it as\n  \
             SENTINEL_TEST_ENGINE=postgres WITH_POSTGRES_DURABLE=1 .ci/with-postgres cargo run --release -p sentinel-bench --bin failover"
        );
        return Ok(ExitCode::from(2));
    }
    if args.instances < 2 || args.rounds == 0 || args.timers == 0 {
        bail!("--instances must be at least 2, --rounds and --timers positive");
    }
    if args.lead_secs <= args.heartbeat_secs {
        bail!("--lead-secs must exceed --heartbeat-secs, so that every instance knows when the timers are due");
    }
    // Interrupted (Ctrl-C, SIGTERM): the bench returns, and dropping the instances kills them.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = run(&args) => result,
        _ = tokio::signal::ctrl_c() => { eprintln!("failover: interrupted; instances killed"); Ok(ExitCode::from(130)) }
        _ = term.recv() => { eprintln!("failover: terminated; instances killed"); Ok(ExitCode::from(143)) }
    }
}

async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let load_before = bench::load_average();
    let db = TestDb::new().await;
    let pool = db.open().await.context("opening the database")?;
    let dir = tempfile::Builder::new().prefix("sentinel-failover-").tempdir()?;
    let mut instances = Vec::with_capacity(args.instances);
    for i in 0..args.instances {
        instances.push(Instance::start(args, dir.path(), &format!("fo-{}", i + 1), db.url()).await?);
    }
    eprintln!(
        "failover: {} instances on PostgreSQL, {} rounds of {} timers (logs in {})",
        args.instances,
        args.rounds,
        args.timers,
        dir.path().display()
    );
    let mut rounds = Vec::with_capacity(args.rounds);
    let mut missed = 0;
    for round in 0..args.rounds {
        match one_round(args, &pool, &mut instances, round, dir.path(), db.url()).await? {
            Some(measured) => {
                eprintln!(
                    "  round {round}: killed {} holding {} timers; first fired after {:.1} ms, last after {:.1} ms",
                    measured.victim,
                    measured.held,
                    bench::ms(measured.first),
                    bench::ms(measured.last)
                );
                rounds.push(measured);
            }
            None => missed += 1,
        }
    }
    let fired_twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT name FROM inbox WHERE owner = $1 GROUP BY name HAVING COUNT(*) > 1) AS twice",
    )
    .bind(OWNER)
    .fetch_one(&pool)
    .await?;
    let fired: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT name) FROM inbox WHERE owner = $1")
        .bind(OWNER)
        .fetch_one(&pool)
        .await?;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE owner = $1")
        .bind(OWNER)
        .fetch_one(&pool)
        .await?;
    let never = i64::try_from(args.rounds * args.timers)? - fired;
    drop(instances);
    report(
        args,
        &rounds,
        missed,
        fired_twice,
        never,
        left,
        [load_before, bench::load_average()],
    );
    pool.close().await;
    if fired_twice > 0 || never > 0 || left > 0 || rounds.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The sessions of instances whose open transaction holds timer rows of `round`: per
/// `application_name`, its backend pid, transaction id and the keys of the rows it holds.
async fn holders(pool: &DbPool, round: usize) -> anyhow::Result<HashMap<String, (i32, String, Vec<String>)>> {
    // A row locked (FOR UPDATE) or deleted by an open transaction carries that transaction's id in
    // `xmax`; `backend_xid` is the id of a session's open transaction.
    let rows = sqlx::query(
        "SELECT a.application_name, a.pid, CAST(a.backend_xid AS TEXT) AS xid, t.key
         FROM pg_stat_activity a JOIN timers t ON t.xmax = a.backend_xid
         WHERE a.datname = current_database() AND a.application_name LIKE 'sentinel/%'
           AND t.owner = $1 AND substr(t.key, 1, CAST($3 AS INTEGER)) = $2",
    )
    .bind(OWNER)
    .bind(round_prefix(round))
    .bind(i64::try_from(round_prefix(round).len())?)
    .fetch_all(pool)
    .await?;
    let mut out: HashMap<String, (i32, String, Vec<String>)> = HashMap::new();
    for row in rows {
        let name: String = row.try_get("application_name")?;
        let entry = out.entry(name).or_insert_with(|| {
            (
                row.try_get("pid").unwrap_or_default(),
                row.try_get("xid").unwrap_or_default(),
                Vec::new(),
            )
        });
        entry.2.push(row.try_get("key")?);
    }
    Ok(out)
}

fn round_prefix(round: usize) -> String {
    format!("r{round:03}-")
}

/// Sets the round's timers, kills the first instance seen holding some when they come due,
/// measures until a survivor has fired them, and restarts the victim. `None`: the round did not
/// count (no holder was seen, or the victim had committed before it died), with the reason printed.
async fn one_round(
    args: &Args,
    pool: &DbPool,
    instances: &mut [Instance],
    round: usize,
    dir: &Path,
    database_url: &str,
) -> anyhow::Result<Option<Round>> {
    let prefix = round_prefix(round);
    let now = Utc::now();
    let due = now + chrono::Duration::seconds(i64::try_from(args.lead_secs)?);
    let mut tx = pool.begin().await?;
    for i in 0..args.timers {
        timers::set(
            &mut tx,
            OWNER,
            &format!("{prefix}{i:05}"),
            due,
            &json!({ "round": round }),
            now,
        )
        .await?;
    }
    tx.commit().await?;

    // Look for the holder from 20 ms before the due moment.
    let until_due = (due - Utc::now() - chrono::Duration::milliseconds(20))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(until_due).await;
    let give_up = Instant::now() + Duration::from_secs(10);
    let (victim_name, (pid, xid, held)) = loop {
        let mut found = holders(pool, round).await?;
        // The one holding the most, should two be seen at once.
        if let Some(name) = found
            .iter()
            .max_by_key(|(_, h)| h.2.len())
            .map(|(name, _)| name.clone())
        {
            let holder = found.remove(&name).unwrap_or_default();
            break (name, holder);
        }
        if Instant::now() > give_up {
            eprintln!("  round {round}: no instance was seen holding the timers; not counted");
            wait_all_fired(pool, &prefix, args.timers, Duration::from_secs(args.timeout_secs)).await?;
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    };
    let seen_after_due = (Utc::now() - due).to_std().unwrap_or_default();
    let name = victim_name.trim_start_matches("sentinel/").to_owned();
    let index = instances
        .iter()
        .position(|i| i.name == name)
        .with_context(|| format!("no instance named {name}"))?;
    let killed_at = Instant::now();
    instances[index].kill9().await?;

    // Poll: when the server drops the victim's session, and when each held timer shows in the inbox.
    let held_keys: BTreeSet<String> = held.into_iter().collect();
    let mut seen_at: HashMap<String, Duration> = HashMap::new();
    let mut session_gone = None;
    // Inbox ids are handed out at insert, not at commit, so no id cursor: the held keys' range of
    // dedup keys (`timer:<owner>:<key>:…`, the inbox's unique index) is read whole each time.
    let (Some(low), Some(high)) = (held_keys.first(), held_keys.last()) else {
        bail!("round {round}: {name} held no timer");
    };
    let (low, high) = (format!("timer:{OWNER}:{low}:"), format!("timer:{OWNER}:{high};"));
    let deadline = killed_at + Duration::from_secs(args.timeout_secs);
    while seen_at.len() < held_keys.len() {
        if session_gone.is_none() {
            let alive: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1")
                .bind(pid)
                .fetch_one(pool)
                .await?;
            if alive == 0 {
                session_gone = Some(killed_at.elapsed());
            }
        }
        let rows = sqlx::query("SELECT name FROM inbox WHERE dedup_key >= $1 AND dedup_key < $2")
            .bind(&low)
            .bind(&high)
            .fetch_all(pool)
            .await?;
        let at = killed_at.elapsed();
        for row in rows {
            let key: String = row.try_get("name")?;
            if held_keys.contains(&key) {
                seen_at.entry(key).or_insert(at);
            }
        }
        if Instant::now() > deadline {
            bail!(
                "round {round}: {} of the {} timers {name} held had not fired {} s after the kill",
                held_keys.len() - seen_at.len(),
                held_keys.len(),
                args.timeout_secs
            );
        }
        tokio::time::sleep(POLL).await;
    }
    wait_all_fired(pool, &prefix, args.timers, Duration::from_secs(args.timeout_secs)).await?;
    instances[index] = Instance::start(args, dir, &name, database_url).await?;

    // Rows the victim's own transaction inserted (it committed before the kill landed) carry its
    // transaction id as `xmin`: then the round measured nothing.
    let by_victim: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbox WHERE owner = $1 AND substr(name, 1, CAST($3 AS INTEGER)) = $2 AND CAST(xmin AS TEXT) = $4",
    )
    .bind(OWNER)
    .bind(&prefix)
    .bind(i64::try_from(prefix.len())?)
    .bind(&xid)
    .fetch_one(pool)
    .await?;
    if by_victim > 0 {
        eprintln!("  round {round}: {name} committed {by_victim} of its timers before SIGKILL landed; not counted");
        return Ok(None);
    }
    let first = seen_at.values().min().copied().unwrap_or_default();
    let last = seen_at.values().max().copied().unwrap_or_default();
    // Let the restarted instance's timer engine look once before the next round is set.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(Some(Round {
        victim: name,
        held: held_keys.len(),
        seen_after_due,
        session_gone: session_gone.unwrap_or_default(),
        first,
        last,
    }))
}

/// Waits until every timer of the round is in the inbox.
async fn wait_all_fired(pool: &DbPool, prefix: &str, timers: usize, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let fired: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbox WHERE owner = $1 AND substr(name, 1, CAST($3 AS INTEGER)) = $2",
        )
        .bind(OWNER)
        .bind(prefix)
        .bind(i64::try_from(prefix.len())?)
        .fetch_one(pool)
        .await?;
        if fired >= i64::try_from(timers)? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {fired} of {timers} timers of {prefix} fired within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn p50_max(values: &mut [Duration]) -> String {
    values.sort_unstable();
    format!(
        "{:.1} / {:.1} ms",
        bench::ms(bench::quantile(values, 0.5)),
        bench::ms(values.last().copied().unwrap_or_default())
    )
}

fn report(args: &Args, rounds: &[Round], missed: usize, twice: i64, never: i64, left: i64, load: [[f64; 3]; 2]) {
    let pick = |f: fn(&Round) -> Duration| rounds.iter().map(f).collect::<Vec<_>>();
    let (mut first, mut last) = (pick(|r| r.first), pick(|r| r.last));
    let (mut gone, mut seen) = (pick(|r| r.session_gone), pick(|r| r.seen_after_due));
    let held: Vec<usize> = rounds.iter().map(|r| r.held).collect();
    let victims: Vec<&str> = rounds.iter().map(|r| r.victim.as_str()).collect();
    bench::print_table(
        &format!(
            "failover: {} instances, {} timers a round, heartbeat {} s, lease {} s, {} CPUs",
            args.instances,
            args.timers,
            args.heartbeat_secs,
            args.lease_secs,
            bench::cpus()
        ),
        &[
            bench::row(
                "rounds counted / not counted",
                format!("{} / {missed}", rounds.len()),
                "",
            ),
            bench::row("victims", victims.join(" "), ""),
            bench::row(
                "timers held by the victim (min–max)",
                format!(
                    "{}–{}",
                    held.iter().min().unwrap_or(&0),
                    held.iter().max().unwrap_or(&0)
                ),
                "",
            ),
            bench::row("due → holder seen p50 / max", p50_max(&mut seen), ""),
            bench::row("kill → victim's session gone p50 / max", p50_max(&mut gone), ""),
            bench::row("kill → first held timer fired p50 / max", p50_max(&mut first), ""),
            bench::row("kill → last held timer fired p50 / max", p50_max(&mut last), ""),
            bench::row(
                "timers fired twice / never / left",
                format!("{twice} / {never} / {left}"),
                "0 / 0 / 0",
            ),
            bench::row(
                "load 1-min before → after",
                format!("{:.2} → {:.2}", load[0][0], load[1][0]),
                "",
            ),
        ],
    );
    let ms = |v: &[Duration]| v.iter().map(|d| bench::ms(*d)).collect::<Vec<_>>();
    println!(
        "{}",
        json!({
            "bench": "failover", "instances": args.instances, "timers": args.timers,
            "heartbeat_secs": args.heartbeat_secs, "lease_secs": args.lease_secs,
            "rounds": rounds.len(), "not_counted": missed, "victims": victims, "held": held,
            "kill_to_first_ms": ms(&first), "kill_to_last_ms": ms(&last),
            "kill_to_session_gone_ms": ms(&gone), "due_to_holder_seen_ms": ms(&seen),
            "fired_twice": twice, "never_fired": never, "left": left,
            "load_before": load[0], "load_after": load[1], "cpus": bench::cpus(),
        })
    );
}
