//! Starting the real `sentinel` binary on a temporary database and a free port on 127.0.0.1.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sentinel_bot::config::Secret;
use sentinel_bot::harness::test_db::{TestDb, test_engine};
use sentinel_bot::ingress::github::sign;
use sentinel_bot::store::Engine;

/// The webhook secret the tests configure.
pub const SECRET: &str = "test-secret-that-is-long-enough-0123456789";

/// A running `sentinel run`, killed when dropped so a failing test never leaves it behind.
pub struct Sentinel {
    pub child: Child,
    pub base: String,
    pub dir: tempfile::TempDir,
    stdin: Option<std::process::ChildStdin>,
    pub stderr: mpsc::Receiver<String>,
    early: std::sync::Mutex<Vec<String>>,
    pub stdout: std::sync::Arc<std::sync::Mutex<String>>,
    database_url: String,
    /// The PostgreSQL database of a run on that engine (dropped with the process's remains).
    db: Option<TestDb>,
}

/// What a killed `sentinel` leaves for the next one: its directory and its database.
pub struct Remains {
    pub dir: tempfile::TempDir,
    db: Option<TestDb>,
}

impl From<tempfile::TempDir> for Remains {
    fn from(dir: tempfile::TempDir) -> Self {
        Self { dir, db: None }
    }
}

impl Sentinel {
    /// Starts the binary with `extra` appended to a config that listens on a free port.
    pub fn start(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, extra)
    }

    /// Starts the binary on what an earlier one left (its directory and database), or in `dir`.
    pub fn start_in(remains: impl Into<Remains>, extra: &str) -> Self {
        let Remains { dir, db } = remains.into();
        match db {
            Some(db) => {
                let url = db.url().to_owned();
                let mut sentinel = Self::launch(dir, extra, false, Some(url));
                sentinel.db = Some(db);
                sentinel
            }
            None => Self::launch(dir, extra, false, None),
        }
    }

    /// Like [`Sentinel::start`], on a SQLite file in its directory whatever the run's engine: for
    /// the tests about the file itself ([`Sentinel::database`]).
    pub fn start_sqlite(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("sentinel.db").display());
        Self::launch(dir, extra, false, Some(url))
    }

    /// Like [`Sentinel::start`], with stdin open so the test can type console commands.
    pub fn start_typing(dir: tempfile::TempDir, extra: &str) -> Self {
        Self::launch(dir, extra, true, None)
    }

    /// Like [`Sentinel::start`], on the database at `url` (e.g. a `TestDb` of the run's engine).
    pub fn start_on_database(url: &str, extra: &str) -> Self {
        Self::launch(
            tempfile::tempdir().expect("tempdir"),
            extra,
            false,
            Some(url.to_owned()),
        )
    }

    fn launch(dir: tempfile::TempDir, extra: &str, typing: bool, database_url: Option<String>) -> Self {
        let config = dir.path().join("sentinel.toml");
        // No database given: one on the run's engine (SQLite: a file beside the config).
        let (database_url, db) = match database_url {
            Some(url) => (url, None),
            None => match test_engine() {
                Engine::Sqlite => (format!("sqlite://{}", dir.path().join("sentinel.db").display()), None),
                Engine::Postgres => {
                    let db = postgres_db();
                    (db.url().to_owned(), Some(db))
                }
            },
        };
        std::fs::write(&config, format!("{extra}\n")).expect("write config");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_sentinel"));
        // PostgreSQL refuses to generate a webhook secret (each host would make its own): a test
        // that configures none gets the tests' one there, as an operator would set it.
        if Engine::of_url(&database_url) == Engine::Postgres && !extra.contains("webhook_secret") {
            command.env("SENTINEL_GITHUB_WEBHOOK_SECRET", SECRET);
        }
        let mut child = command
            .args(["--config", config.to_str().expect("utf-8 path"), "run"])
            // Files it makes beside a relative path land in its directory, not in the source tree.
            .current_dir(dir.path())
            .env_remove("SENTINEL_CONFIG")
            .env("SENTINEL_LOG", "info")
            // The database and address come from the environment, as the README documents.
            .env("SENTINEL_DATABASE_URL", &database_url)
            .env("SENTINEL_LISTEN", "127.0.0.1:0")
            .env("SENTINEL_CONSOLE_USER", "tester")
            .stdin(if typing { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sentinel");
        let stdin = child.stdin.take();
        let (tx, stderr) = mpsc::channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut out = child.stdout.take().expect("stdout");
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut seen = Vec::new();
        let base = loop {
            let line = stderr
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("sentinel did not start; stderr so far:\n{}", seen.join("\n")));
            if let Some(rest) = line
                .split("listening on ")
                .nth(1)
                .filter(|_| line.starts_with("sentinel"))
            {
                break rest.split_whitespace().next().expect("address").to_owned();
            }
            seen.push(line);
        };
        Sentinel {
            child,
            base,
            dir,
            stdin,
            stderr,
            early: std::sync::Mutex::new(seen),
            stdout,
            database_url,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /healthz`, as JSON.
    pub async fn health(&self) -> serde_json::Value {
        reqwest::get(self.url("/healthz")).await.unwrap().json().await.unwrap()
    }

    /// The SQLite file of [`Sentinel::start_sqlite`] (and of a run on SQLite).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("sentinel.db")
    }

    /// The URL of its database, on the run's engine (for `sentinel_bot::store::open`).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sentinel did not stop within 10 s of SIGTERM");
    }

    /// Types a console command (needs [`Sentinel::start_typing`]).
    pub fn type_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("started with start_typing");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Kills the process with SIGKILL — no shutdown of any kind — and hands back its directory and
    /// database, for [`Sentinel::start_in`].
    pub fn kill9(mut self) -> Remains {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let _ = self.child.wait();
        Remains {
            dir: std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir")),
            db: self.db.take(),
        }
    }

    /// Everything written to stderr so far.
    pub fn drain_stderr(&self) -> Vec<String> {
        let mut lines = std::mem::take(&mut *self.early.lock().unwrap());
        lines.extend(self.stderr.try_iter());
        lines
    }

    /// Everything printed to stdout (the console chat) so far.
    pub fn console(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Polls until the console shows `needle` or 10 s pass.
    pub fn wait_console(&self, needle: &str) -> String {
        for _ in 0..400 {
            let text = self.console();
            if text.contains(needle) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("console never showed {needle:?}; it showed:\n{}", self.console());
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new PostgreSQL database for a run on that engine, made on a thread of its own (the caller
/// may be inside a runtime, which must not be blocked on).
fn postgres_db() -> TestDb {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(TestDb::new())
    })
    .join()
    .expect("create the test database")
}

/// Runs `sentinel --config <dir>/sentinel.toml <args>` (written from `config`, mode 0600, the
/// database beside it, `SENTINEL_LISTEN` on a free port) to its end, with `unset` taken out of the
/// environment; killed after 30 s so a test cannot hang.
pub fn run_with_config(dir: &std::path::Path, config: &str, args: &[&str], unset: &[&str]) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("sentinel.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_sentinel"));
    command
        .arg("--config")
        .arg(&path)
        .args(args)
        .env_remove("SENTINEL_CONFIG");
    for name in unset {
        command.env_remove(name);
    }
    let child = command
        .env(
            "SENTINEL_DATABASE_URL",
            format!("sqlite://{}", dir.join("sentinel.db").display()),
        )
        .env("SENTINEL_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let output = child.wait_with_output().unwrap();
    drop(watchdog);
    output
}

/// A fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Posts a webhook signed with `secret` (None: unsigned).
pub async fn post_webhook(
    client: &reqwest::Client,
    url: &str,
    event: Option<&str>,
    delivery: Option<&str>,
    body: Vec<u8>,
    secret: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = client.post(url).header("content-type", "application/json");
    if let Some(event) = event {
        request = request.header("x-github-event", event);
    }
    if let Some(delivery) = delivery {
        request = request.header("x-github-delivery", delivery);
    }
    if let Some(secret) = secret {
        request = request.header("x-hub-signature-256", sign(&Secret::new(secret), &body));
    }
    let response = request.body(body).send().await.expect("request");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}
