//! Slow and idle clients against the real binary on 127.0.0.1: idle connections are closed, slow
//! headers and slow bodies are cut, connections are capped, and SIGTERM ends within
//! `http.shutdown_grace` whatever the clients are doing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::Sentinel;

fn addr(sentinel: &Sentinel) -> String {
    sentinel.base.trim_start_matches("http://").to_owned()
}

fn connect(sentinel: &Sentinel) -> TcpStream {
    let stream = TcpStream::connect(addr(sentinel)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Waits until the server closes `stream` (EOF or reset); returns how long that took, or `None`
/// when it was still open after `limit`.
fn wait_closed(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut buf = [0u8; 1024];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

/// Reads one HTTP response (headers and a `Content-Length` body) from `stream`.
fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).expect("read response");
        assert!(
            n > 0,
            "closed before a full response: {}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: sentinel\r\n\r\n";

#[test]
fn silent_and_idle_connections_are_closed() {
    let sentinel = Sentinel::start("[http]\nheader_read_timeout = \"2s\"\nidle_timeout = \"1s\"\n");
    // Connected, never a byte: the header timeout runs from the connection.
    let mut silent: Vec<TcpStream> = (0..200).map(|_| connect(&sentinel)).collect();
    let opened = Instant::now();
    // Used once and then kept alive with nothing on it: the idle timeout.
    let mut used = connect(&sentinel);
    used.write_all(HEALTH).unwrap();
    assert!(read_response(&mut used).starts_with("HTTP/1.1 200"));
    let idle_after =
        wait_closed(&mut used, Duration::from_secs(10)).expect("an idle kept-alive connection stayed open");
    assert!(
        idle_after >= Duration::from_millis(800) && idle_after < Duration::from_secs(3),
        "idle connection closed after {idle_after:?} with a 1 s idle timeout"
    );
    for stream in &mut silent {
        assert!(
            wait_closed(stream, Duration::from_secs(10)).is_some(),
            "a silent connection was still open after 10 s"
        );
    }
    let took = opened.elapsed();
    assert!(
        took >= Duration::from_millis(1800),
        "closed before the header timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "200 silent connections took {took:?} to close"
    );
}

#[test]
fn a_request_trickling_its_headers_is_cut_but_a_quiet_kept_alive_connection_is_not() {
    let sentinel = Sentinel::start("[http]\nheader_read_timeout = \"1s\"\nidle_timeout = \"30s\"\n");
    // Kept alive and quiet for longer than the header timeout: still served.
    let mut quiet = connect(&sentinel);
    quiet.write_all(HEALTH).unwrap();
    assert!(read_response(&mut quiet).starts_with("HTTP/1.1 200"));
    let quiet_since = Instant::now();

    let mut slow = connect(&sentinel);
    let mut writer = slow.try_clone().unwrap();
    // One header byte every 100 ms, never the blank line that ends the headers.
    let trickle = std::thread::spawn(move || {
        let request = b"POST /webhooks/github HTTP/1.1\r\nHost: sentinel\r\nX-GitHub-Event: ping\r\n";
        for byte in request.iter().cycle().take(60) {
            if writer.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let cut_after = wait_closed(&mut slow, Duration::from_secs(8))
        .expect("a request sending one header byte every 100 ms was never cut");
    assert!(
        cut_after >= Duration::from_millis(800) && cut_after < Duration::from_secs(4),
        "cut after {cut_after:?} with a 1 s header timeout"
    );
    trickle.join().unwrap();

    // Quiet for longer than the header timeout, far shorter than the idle timeout.
    std::thread::sleep(Duration::from_millis(1600).saturating_sub(quiet_since.elapsed()));
    quiet.write_all(HEALTH).unwrap();
    assert!(
        read_response(&mut quiet).starts_with("HTTP/1.1 200"),
        "a kept-alive connection quiet for longer than the header timeout is still served"
    );
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let sentinel = Sentinel::start("[http]\nbody_read_timeout = \"1s\"\n");
    let mut stream = connect(&sentinel);
    stream
        .write_all(
            b"POST /webhooks/github HTTP/1.1\r\nHost: sentinel\r\nContent-Type: application/json\r\n\
              X-GitHub-Event: ping\r\nX-GitHub-Delivery: slow-1\r\nContent-Length: 1000\r\n\r\n{\"zen\":",
        )
        .unwrap();
    let start = Instant::now();
    let response = read_response(&mut stream);
    let took = start.elapsed();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("did not arrive within 1s"), "{response}");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn connections_beyond_max_connections_wait_for_a_free_one() {
    let sentinel = Sentinel::start("[http]\nmax_connections = 3\nidle_timeout = \"60s\"\n");
    let mut held: Vec<TcpStream> = (0..3).map(|_| connect(&sentinel)).collect();
    // Give the server a moment to accept all three.
    std::thread::sleep(Duration::from_millis(300));
    let url = sentinel.url("/healthz");
    let waiting = tokio::spawn(async move {
        let start = Instant::now();
        let status = reqwest::get(url).await.map(|r| r.status().as_u16());
        (status, start.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !waiting.is_finished(),
        "a fourth connection was served while three were open"
    );
    drop(held.pop());
    let (status, took) = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert_eq!(status.unwrap(), 200);
    assert!(took >= Duration::from_millis(1400), "{took:?}");
}

#[test]
fn sigterm_ends_within_the_grace_whatever_the_clients_are_doing() {
    let mut sentinel = Sentinel::start(
        "[http]\nshutdown_grace = \"4s\"\nidle_timeout = \"60s\"\nheader_read_timeout = \"60s\"\nbody_read_timeout = \"60s\"\n",
    );
    let _idle = connect(&sentinel);
    let mut kept_alive = connect(&sentinel);
    kept_alive.write_all(HEALTH).unwrap();
    assert!(read_response(&mut kept_alive).starts_with("HTTP/1.1 200"));
    let mut half_sent = connect(&sentinel);
    half_sent
        .write_all(b"POST /webhooks/github HTTP/1.1\r\nHost: sen")
        .unwrap();
    let mut slow_body = connect(&sentinel);
    slow_body
        .write_all(b"POST /webhooks/github HTTP/1.1\r\nHost: sentinel\r\nContent-Length: 5000\r\n\r\n{\"a\":")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let start = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &sentinel.child.id().to_string()])
        .status()
        .unwrap();
    let status = loop {
        if let Some(status) = sentinel.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "still running 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(4),
        "SIGTERM took {took:?} with a grace of 4 s"
    );
    // The client whose body was still arriving was told why.
    let answer = read_response(&mut slow_body);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
}
