//! A chat-level test harness: push a command or webhook in, pop what the channel would show, move
//! a manual clock. It runs the real bot — a real database ([`test_db`]: a SQLite file, or a fresh
//! PostgreSQL database when `SENTINEL_TEST_ENGINE=postgres`), real dispatcher, timers and outbox —
//! with the console adapter writing to memory.

#[cfg(feature = "fakes")]
pub mod fakes;
pub mod test_db;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use crate::bot::{Bot, BotOptions};
use crate::chat::console::{ConsoleSink, Printed, parse_console_line};
use crate::clock::ManualClock;
use crate::config::Config;
use crate::event::NewEvent;
use crate::pipeline::ingest::Accepted;
use crate::plugin::Plugin;
use test_db::TestDb;

/// How long a harness call waits for the pipeline to settle before failing the test.
const SETTLE: Duration = Duration::from_secs(20);

/// A running bot under test.
pub struct TestBot {
    bot: Option<Bot>,
    /// The manual clock; [`TestBot::advance`] moves it.
    pub clock: ManualClock,
    printed: Arc<Mutex<Vec<Printed>>>,
    seen: usize,
    typed: u64,
    _db: Option<TestDb>,
    echo: bool,
    url: String,
    config: Config,
    plugins: Box<dyn Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync>,
}

/// A private directory under the system's temporary directory, removed with everything in it when
/// dropped. (std is enough for this; the `tempfile` crate stays a test-only dependency, so the
/// binary, whose `sentinel demo` runs on this harness, does not ship it.)
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> std::io::Result<Self> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|err| std::io::Error::other(err.to_string()))?;
        let path = std::env::temp_dir().join(format!("sentinel-{}-{}", std::process::id(), hex::encode(bytes)));
        // `create_dir` fails when the name exists: never shares or reuses another directory.
        std::fs::create_dir(&path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort, like `tempfile`: a leftover directory in the temp dir is harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Monday 2026-03-02 09:00 UTC: a fixed, ordinary start time for tests.
pub fn test_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap_or_default()
}

impl TestBot {
    /// Starts a bot on a fresh database of the test run's engine ([`TestDb::new`]) with `config`
    /// (TOML) and the plugins `make` builds (called again on [`TestBot::restart`]).
    pub async fn start(
        config: &str,
        make: impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        Self::start_with(TestDb::new().await, config, make).await
    }

    /// Like [`TestBot::start`], on `db` (which it keeps, and drops with itself): for a test about one
    /// engine, e.g. `TestDb::sqlite()` for a test that reads the database file.
    pub async fn start_with(
        db: TestDb,
        config: &str,
        make: impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let mut bot = Self::start_on_url(db.url(), config, make, test_start(), false).await?;
        bot._db = Some(db);
        Ok(bot)
    }

    /// Like [`TestBot::start`] on a temporary SQLite file, also printing every message to stdout
    /// (for `sentinel demo`, which never reads the test run's variables).
    pub async fn start_echoing(
        config: &str,
        make: impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let db = TestDb::try_sqlite().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let mut bot = Self::start_on_url(db.url(), config, make, test_start(), true).await?;
        bot._db = Some(db);
        Ok(bot)
    }

    /// Starts a bot on the SQLite file `db` (created when missing) with the clock at `start`.
    pub async fn start_on(
        db: &Path,
        config: &str,
        make: impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static,
        start: DateTime<Utc>,
        echo: bool,
    ) -> Result<Self, String> {
        Self::start_on_url(&format!("sqlite://{}", db.display()), config, make, start, echo).await
    }

    /// Starts a bot on the database at `url` (a [`TestDb::url`] to outlive restarts, or a SQLite
    /// file) with the clock at `start`.
    pub async fn start_on_url(
        url: &str,
        config: &str,
        make: impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static,
        start: DateTime<Utc>,
        echo: bool,
    ) -> Result<Self, String> {
        let table = crate::config::load::parse_table(config, "test config").map_err(|e| e.to_string())?;
        let mut config = crate::config::load::from_table(table).map_err(|e| e.to_string())?;
        config.database.url = url.to_owned();
        config.chat.console = crate::config::ConsoleMode::On;
        let clock = ManualClock::new(start);
        let (sink, printed) = ConsoleSink::memory(echo);
        let bot = Bot::start(BotOptions {
            config: config.clone(),
            clock: Arc::new(clock.clone()),
            plugins: make(),
            adapters: Vec::new(),
            console: sink,
            serve_http: false,
            routes: axum::Router::new(),
        })
        .await
        .map_err(|e| e.to_string())?;
        let test = Self {
            bot: Some(bot),
            clock,
            printed,
            seen: 0,
            typed: 0,
            _db: None,
            echo,
            url: url.to_owned(),
            config,
            plugins: Box::new(make),
        };
        test.settle().await?;
        Ok(test)
    }

    /// The running bot.
    pub fn bot(&self) -> &Bot {
        // Only `restart` and `stop` take the bot out, and both put one back or consume the harness.
        self.bot
            .as_ref()
            .unwrap_or_else(|| unreachable!("the harness always holds a bot"))
    }

    /// Waits until nothing is due.
    pub async fn settle(&self) -> Result<(), String> {
        self.bot().settle(SETTLE).await
    }

    /// Types `line` (`/incident ack 3`) at the console as `user`, waits, and returns what appeared.
    pub async fn command_as(&mut self, user: &str, line: &str) -> Vec<Printed> {
        self.typed += 1;
        let Some(command) = parse_console_line(line, user) else {
            panic!("not a slash command: {line}");
        };
        let event = NewEvent::command(&format!("test:{}", self.typed), &command).unwrap_or_else(|e| panic!("{e}"));
        self.push(event).await;
        self.pop()
    }

    /// Types `line` as the user `tester`.
    pub async fn command(&mut self, line: &str) -> Vec<Printed> {
        self.command_as("tester", line).await
    }

    /// Submits any event and waits for the pipeline to settle. Returns what the inbox said.
    pub async fn push(&mut self, event: NewEvent) -> Accepted {
        let ingest = self.bot().ingest().unwrap_or_else(|| panic!("bot is shutting down"));
        let accepted = ingest.submit(event).await.unwrap_or_else(|e| panic!("ingest: {e}"));
        self.settle().await.unwrap_or_else(|e| panic!("{e}"));
        accepted
    }

    /// Moves the clock forward, lets everything due run, and returns what appeared.
    pub async fn advance(&mut self, by: chrono::Duration) -> Vec<Printed> {
        self.clock.advance(by);
        self.settle().await.unwrap_or_else(|e| panic!("{e}"));
        self.pop()
    }

    /// Everything printed since the last pop.
    pub fn pop(&mut self) -> Vec<Printed> {
        let printed = self.printed.lock().map(|p| p.clone()).unwrap_or_default();
        let new = printed.get(self.seen..).map(<[Printed]>::to_vec).unwrap_or_default();
        self.seen = printed.len();
        new
    }

    /// Everything printed since the start.
    pub fn all_printed(&self) -> Vec<Printed> {
        self.printed.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Stops the bot and starts a new one (same database, same clock time, new plugin instances),
    /// as a process restart would.
    pub async fn restart(&mut self) -> Result<(), String> {
        if let Some(bot) = self.bot.take() {
            bot.shutdown(Duration::from_secs(5)).await;
        }
        let clock = self.clock.clone();
        let (sink, printed) = ConsoleSink::memory(self.echo);
        let bot = Bot::start(BotOptions {
            config: self.config.clone(),
            clock: Arc::new(clock),
            plugins: (self.plugins)(),
            adapters: Vec::new(),
            console: sink,
            serve_http: false,
            routes: axum::Router::new(),
        })
        .await
        .map_err(|e| e.to_string())?;
        self.bot = Some(bot);
        self.printed = printed;
        self.seen = 0;
        self.settle().await
    }

    /// The database's URL.
    pub fn database_url(&self) -> &str {
        &self.url
    }

    /// The SQLite database file; `None` on PostgreSQL.
    pub fn database_file(&self) -> Option<PathBuf> {
        crate::store::database_file(&self.url)
    }

    /// Stops the bot.
    pub async fn stop(mut self) {
        if let Some(bot) = self.bot.take() {
            bot.shutdown(Duration::from_secs(5)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ScratchDir;

    #[test]
    fn a_scratch_dir_is_private_fresh_and_removed_when_dropped() {
        let first = ScratchDir::new().unwrap();
        let second = ScratchDir::new().unwrap();
        assert_ne!(first.0, second.0);
        std::fs::write(first.0.join("sentinel.db"), b"x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first.0).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let path = first.0.clone();
        drop(first);
        assert!(!path.exists());
        assert!(second.0.exists());
    }
}
