//! The real binary as a supervisor runs it: SIGTERM ends it within `http.shutdown_grace` even with
//! stdin an open pipe, and its logs are plain (or JSON) when they go to a pipe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Sentinel;

#[test]
fn sigterm_with_stdin_an_open_pipe_exits_within_shutdown_grace() {
    let dir = tempfile::tempdir().unwrap();
    let mut sentinel = Sentinel::start_typing(dir, "[http]\nshutdown_grace = \"2s\"\n");
    // The console reader is blocked on stdin, which stays open.
    sentinel.type_line("/sentinel help");
    sentinel.wait_console("/sentinel status");
    let asked = Instant::now();
    let status = sentinel.terminate();
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(3), "took {took:?} with a 2 s grace");
    let stderr = sentinel.drain_stderr().join("\n");
    assert!(!stderr.contains("did not drain"), "{stderr}");
    assert!(!stderr.contains("did not stop"), "{stderr}");
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let mut sentinel = Sentinel::start("");
    let status = sentinel.terminate();
    assert!(status.success());
    let stderr = sentinel.drain_stderr();
    assert!(stderr.iter().any(|line| line.contains("listening")), "{stderr:?}");
    assert!(
        stderr.iter().all(|line| !line.contains('\u{1b}')),
        "ANSI codes in {stderr:?}"
    );
}

/// Runs `sentinel run` with `SENTINEL_LOG_FORMAT` set, until the `listening` log line, and returns
/// the stderr lines up to it.
fn first_log_lines(format: &str) -> (Vec<String>, Option<std::process::ExitStatus>) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .arg("run")
        .current_dir(dir.path())
        .env_remove("SENTINEL_CONFIG")
        .env("SENTINEL_LOG", "info")
        .env("SENTINEL_LOG_FORMAT", format)
        .env("SENTINEL_LISTEN", "127.0.0.1:0")
        .env("SENTINEL_CHAT__CONSOLE", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let done = line.contains("listening");
        lines.push(line);
        if done {
            break;
        }
    }
    let status = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    (lines, status)
}

#[test]
fn json_logs_are_one_object_per_line_with_the_message_and_fields() {
    let (lines, _) = first_log_lines("json");
    let logs: Vec<serde_json::Value> = lines
        .iter()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let listening = logs
        .iter()
        .find(|log| log["fields"]["message"] == "listening")
        .unwrap_or_else(|| panic!("no JSON `listening` line in {lines:?}"));
    assert_eq!(listening["level"], "INFO");
    assert!(listening["fields"]["addr"].as_str().unwrap().starts_with("127.0.0.1:"));
}

#[test]
fn an_unknown_log_format_is_refused_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .arg("check-config")
        .env_remove("SENTINEL_CONFIG")
        .env("SENTINEL_LOG_FORMAT", "xml")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SENTINEL_LOG_FORMAT must be `text` or `json`, not `xml`"),
        "{stderr}"
    );
}
