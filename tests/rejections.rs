//! Rejected requests against the real binary on 127.0.0.1: what is recorded per rejection is
//! bounded, a client's repeated rejections become one row plus a summary, unauthenticated failures
//! get 429 after a burst while signed requests still pass, and behind a trusted proxy each client
//! is counted on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{SECRET, Sentinel, fixture, post_webhook};

fn secret_config(http: &str) -> String {
    format!("[github]\nwebhook_secret = \"{SECRET}\"\n[http]\n{http}\n")
}

/// The security log after the bot stopped: (kind, detail, count) per row.
async fn security_log(sentinel: &Sentinel) -> Vec<(String, String, i64)> {
    let pool = sentinel_bot::store::open(sentinel.database_url(), Duration::from_secs(5))
        .await
        .unwrap();
    let rows = sqlx::query_as("SELECT kind, detail, count FROM security_log ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn a_300_kb_delivery_header_makes_a_bounded_row_and_log_line() {
    let mut sentinel = Sentinel::start(&secret_config(""));
    let client = reqwest::Client::new();
    let huge = "d".repeat(300 * 1024);
    let (status, answer) = post_webhook(
        &client,
        &sentinel.url("/webhooks/github"),
        Some("issues"),
        Some(&huge),
        fixture("issues.opened.json"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert!(answer.to_string().len() < 300, "{answer}");
    assert!(sentinel.terminate().success());
    let rows = security_log(&sentinel).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (kind, detail, _) = &rows[0];
    assert_eq!(kind, "signature_missing");
    assert!(detail.chars().count() <= 300, "{} characters stored", detail.len());
    assert!(detail.contains(&format!("delivery {}…", "d".repeat(63))), "{detail}");
    let logs = sentinel.drain_stderr();
    let longest = logs.iter().map(String::len).max().unwrap_or(0);
    assert!(longest < 1000, "a log line of {longest} bytes");
    assert!(logs.iter().any(|l| l.contains("request rejected")), "{logs:?}");
}

#[tokio::test]
async fn repeated_rejections_from_one_client_make_one_row_and_a_summary() {
    let mut sentinel = Sentinel::start(&secret_config("failed_auth_burst = 1000"));
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    for i in 0..50 {
        let delivery = format!("junk-{i}");
        let body = fixture("issues.opened.json");
        let (status, _) = post_webhook(&client, &url, Some("issues"), Some(&delivery), body, None).await;
        assert_eq!(status, 401);
    }
    assert!(sentinel.terminate().success());
    let rows = security_log(&sentinel).await;
    let summary: Vec<(&str, i64)> = rows.iter().map(|(k, _, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        summary,
        [("signature_missing", 1), ("signature_missing", 49)],
        "the first is logged, the other 49 summed into one row at shutdown"
    );
    assert!(rows[1].1.starts_with("49 more from 127.0.0.1 since"), "{}", rows[1].1);
    let warnings = sentinel
        .drain_stderr()
        .into_iter()
        .filter(|l| l.contains("WARN") && l.contains("rejected"))
        .count();
    assert_eq!(warnings, 1, "one warning line, not fifty");
}

#[tokio::test]
async fn a_flood_of_unsigned_requests_gets_429_after_the_burst_but_signed_requests_pass() {
    let mut sentinel = Sentinel::start(&secret_config("failed_auth_burst = 5\nfailed_auth_per_minute = 6"));
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    let mut statuses = Vec::new();
    for i in 0..8 {
        let response = client
            .post(&url)
            .header("x-github-event", "issues")
            .header("x-github-delivery", format!("flood-{i}"))
            .header("x-hub-signature-256", "sha256=00")
            .body(fixture("issues.opened.json"))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=10).contains(&retry), "Retry-After: {retry}");
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);

    // The same client, correctly signed: never throttled.
    let (status, _) = post_webhook(
        &client,
        &url,
        Some("ping"),
        Some("ok-1"),
        fixture("ping.json"),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 200);
    let (status, answer) = post_webhook(
        &client,
        &url,
        Some("dependabot_alert"),
        Some("ok-2"),
        fixture("dependabot_alert.created.json"),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    // A signed but malformed request is refused for what it is, not throttled.
    let (status, _) = post_webhook(
        &client,
        &url,
        Some("issues"),
        Some("ok-3"),
        b"{oops".to_vec(),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 400);

    let metrics = client
        .get(sentinel.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("security_violations_total{type=\"rate_limited\"} 3"),
        "{metrics}"
    );
    assert!(sentinel.terminate().success());
    let rows = security_log(&sentinel).await;
    let total: i64 = rows.iter().map(|(_, _, n)| n).sum();
    assert_eq!(total, 9, "every refusal counted: {rows:?}");
    assert!(rows.len() <= 3, "{rows:?}");
    assert!(
        rows.iter().any(|(_, d, _)| d.contains("3 of them answered 429")),
        "{rows:?}"
    );
}

async fn unsigned_from(client: &reqwest::Client, url: &str, forwarded_for: &str) -> u16 {
    client
        .post(url)
        .header("x-forwarded-for", forwarded_for)
        .header("x-github-event", "issues")
        .header("x-github-delivery", "d")
        .body("{}")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_counted_on_its_own() {
    let mut sentinel = Sentinel::start(&secret_config(
        "failed_auth_burst = 2\ntrusted_proxies = [\"127.0.0.1\"]\nrejection_log_window = \"0s\"",
    ));
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    let first: Vec<u16> = [
        unsigned_from(&client, &url, "198.51.100.1").await,
        unsigned_from(&client, &url, "198.51.100.1").await,
        unsigned_from(&client, &url, "198.51.100.1").await,
    ]
    .into();
    assert_eq!(first, [401, 401, 429]);
    // Another client behind the same proxy has its own budget; a client cannot pose as another by
    // writing the header itself (the proxy appends the address it saw, which is what counts).
    assert_eq!(unsigned_from(&client, &url, "198.51.100.2").await, 401);
    assert_eq!(unsigned_from(&client, &url, "198.51.100.9, 198.51.100.1").await, 429);
    assert!(sentinel.terminate().success());
    let rows = security_log(&sentinel).await;
    assert!(rows[0].1.ends_with("(delivery d, from 198.51.100.1)"), "{rows:?}");
    assert!(
        rows.iter().any(|(_, d, _)| d.ends_with("from 198.51.100.2)")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn without_trusted_proxies_the_forwarding_header_is_ignored() {
    let mut sentinel = Sentinel::start(&secret_config("failed_auth_burst = 2\nrejection_log_window = \"0s\""));
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    let statuses = [
        unsigned_from(&client, &url, "198.51.100.1").await,
        unsigned_from(&client, &url, "198.51.100.2").await,
        unsigned_from(&client, &url, "198.51.100.3").await,
    ];
    assert_eq!(
        statuses,
        [401, 401, 429],
        "every request is the peer's, whatever the header says"
    );
    assert!(sentinel.terminate().success());
    let rows = security_log(&sentinel).await;
    assert!(rows.iter().all(|(_, d, _)| d.ends_with("from 127.0.0.1)")), "{rows:?}");
}
