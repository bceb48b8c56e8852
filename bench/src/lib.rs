//! Shared pieces of Sentinel's benchmarks (`src/bin/*.rs`): a bot configured for measuring,
//! percentiles, machine load and peak memory, and the result table; the `storm` benchmark's fake
//! Slack ([`fake_slack`]) and its alerts and record reading ([`storm`]); the `e2e` benchmark's
//! configuration, child process and reading of both fakes ([`e2e`]). See `bench/README.md`.

pub mod e2e;
pub mod fake_slack;
pub mod storm;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sentinel_bot::chat::console::ConsoleSink;
use sentinel_bot::config::{ChannelConfig, Config, ConsoleMode, Secret};
use sentinel_bot::{Bot, BotOptions, Plugin, SystemClock};

/// The logical channel the benchmark plugins send to.
pub const CHANNEL: &str = "bench";

/// A configuration for measuring the core alone, on the SQLite file `db`.
///
/// No adapter delivers anything: the console is off, and `bench` is mapped to a Slack channel with
/// a (fake) Slack token so that `Cx::send` writes exactly one outbox row per message — the Slack
/// adapter is never built, because the core only runs the adapters it is handed (`adapters` is
/// empty). The rows stay pending, which is what we want: delivery is not being measured.
pub fn config(db: &Path) -> Config {
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", db.display());
    config.chat.console = ConsoleMode::Off;
    config.slack.bot_token = Some(Secret::new("xoxb-bench-not-a-token"));
    config.channels.insert(
        CHANNEL.to_owned(),
        ChannelConfig {
            slack: Some("CBENCH".to_owned()),
            discord: None,
        },
    );
    config
}

/// Starts the real bot on `config` with the system clock, no HTTP server and `plugins`.
pub async fn start_bot(config: Config, plugins: Vec<Arc<dyn Plugin>>) -> anyhow::Result<Bot> {
    Bot::start(BotOptions {
        config,
        clock: Arc::new(SystemClock),
        plugins,
        adapters: Vec::new(),
        console: ConsoleSink::Stdout,
        serve_http: false,
        routes: axum::Router::new(),
    })
    .await
    .context("starting the bot")
}

/// Where the database file goes: `dir` when given (kept afterwards), else a temporary directory
/// (removed when the returned guard drops).
pub fn database_path(dir: Option<&Path>, name: &str) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join(name);
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                if file.exists() {
                    std::fs::remove_file(&file).with_context(|| format!("removing old {}", file.display()))?;
                }
            }
            Ok((path, None))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("sentinel-bench-")
                .tempdir()
                .context("creating a temporary directory")?;
            Ok((temp.path().join(name), Some(temp)))
        }
    }
}

/// Logs (warnings and errors by default; `SENTINEL_LOG` overrides) to stderr.
pub fn init_logging() {
    init_logging_or("warn");
}

/// Logs to stderr with the filter `default` unless `SENTINEL_LOG` gives one.
pub fn init_logging_or(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENTINEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The value at quantile `q` (0.0–1.0) of `sorted` (nearest rank), or 0 when empty.
pub fn quantile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Milliseconds, with microsecond precision, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Events per second.
pub fn rate(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// The 1-, 5- and 15-minute load averages, from `/proc/loadavg` (zeros where it cannot be read).
pub fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = [0.0; 3];
    for (slot, field) in out.iter_mut().zip(text.split_whitespace()) {
        *slot = field.parse().unwrap_or(0.0);
    }
    out
}

/// A field of `/proc/self/status` in kilobytes (`VmHWM`: peak resident set; `VmRSS`: current).
pub fn status_kb(field: &str) -> Option<u64> {
    status_kb_of("/proc/self/status", field)
}

/// A field in kilobytes of the `/proc/<pid>/status` file at `path`.
pub fn status_kb_of(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

/// Context switches (voluntary + involuntary) of this process's live threads so far, summed over
/// `/proc/self/task/*/status`. Threads that already ended are not counted; read it before shutdown.
pub fn context_switches() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|text| {
            text.lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (assumes the usual
/// 100 ticks per second).
pub fn cpu_time() -> Duration {
    cpu_time_of("/proc/self/stat")
}

/// CPU time (user + system) of the process whose `/proc/<pid>/stat` is at `path` (zero when it
/// cannot be read).
pub fn cpu_time_of(path: &str) -> Duration {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Logical CPUs.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// Prints rows of (what, value, target) as an aligned table.
pub fn print_table(title: &str, rows: &[(String, String, String)]) {
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(6);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(5);
    println!("\n{title}");
    println!("{:<w0$}  {:>w1$}  target", "metric", "value");
    println!("{}  {}  ------", "-".repeat(w0), "-".repeat(w1));
    for (what, value, target) in rows {
        println!("{what:<w0$}  {value:>w1$}  {target}");
    }
}

/// A table row.
pub fn row(what: &str, value: String, target: &str) -> (String, String, String) {
    (what.to_owned(), value, target.to_owned())
}

/// A small deterministic pseudo-random generator (SplitMix64), so runs are repeatable without a
/// dependency.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next_u64() % bound }
    }
}
