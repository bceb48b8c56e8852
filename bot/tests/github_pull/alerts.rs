//! Security alert listings: a new alert becomes one event, an unchanged listing is a free 304 that
//! stores nothing, a changed alert is one new event, pagination stops at the watermark, an alert
//! seen by webhook and by poll is one event in either order, repositories outside the allow list
//! are skipped, the cursor survives a restart, and the rate-limit reserve stops polling until the
//! window resets.

use super::*;

#[tokio::test]
async fn a_new_alert_is_one_event_and_an_unchanged_listing_is_a_free_304_that_stores_nothing() {
    let h = Harness::start("").await;
    assert!(h.seen().is_empty(), "nothing listed, nothing found");
    let first = h.requests_to(DEPENDABOT);
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].target,
        format!("{DEPENDABOT}?sort=updated&direction=desc&per_page=100")
    );
    assert_eq!(first[0].if_none_match, None, "never polled: no ETag to send");
    assert_eq!(
        first[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(h.fake.received().len(), 4, "the four acme/app listings");

    let now = test_start() + Duration::minutes(1);
    h.fake.upsert(DEPENDABOT, dependabot(7, "open", now, now));
    h.next_round().await;
    assert_eq!(h.seen(), [seen("created", 7, "open")]);
    assert_eq!(h.inbox_rows().await, 1);

    h.next_round().await;
    let third = h.requests_to(DEPENDABOT).pop().unwrap();
    assert!(third.if_none_match.is_some(), "the stored ETag is sent back");
    assert_eq!(third.status, 304);
    assert_eq!(h.seen().len(), 1, "nothing new");
    assert_eq!(h.inbox_rows().await, 1, "a 304 stores nothing");
    let metrics = h.bot().shared().metrics.encode();
    for line in [
        "sentinel_github_pull_polls_total 3",
        "sentinel_github_pull_events_total 1",
        "sentinel_github_pull_api_calls_total 12",
        // Round 2: the three untouched listings; round 3: all four.
        "sentinel_github_pull_not_modified_total 7",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    assert!(
        h.bot().shared().tasks.snapshot()["github_pull"].running,
        "supervised and shown in /healthz"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_fixed_alert_is_one_new_event_and_the_cursor_survives_a_restart() {
    let mut h = Harness::start("").await;
    let created = test_start() + Duration::minutes(1);
    h.fake.upsert(DEPENDABOT, dependabot(3, "open", created, created));
    h.next_round().await;
    h.fake.upsert(
        DEPENDABOT,
        dependabot(3, "fixed", created, created + Duration::minutes(5)),
    );
    h.next_round().await;
    assert_eq!(h.seen(), [seen("created", 3, "open"), seen("fixed", 3, "fixed")]);

    h.restart().await;
    let after = h.requests_to(DEPENDABOT).pop().unwrap();
    assert_eq!(
        (after.if_none_match.is_some(), after.status),
        (true, 304),
        "the ETag was stored"
    );
    assert_eq!(h.seen().len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn pagination_walks_down_to_the_watermark_and_no_further() {
    let h = Harness::start("").await;
    h.fake.page_size(2);
    for n in 1..=5 {
        let t = test_start() + Duration::seconds(n as i64 * 10);
        h.fake.upsert(DEPENDABOT, dependabot(n, "open", t, t));
    }
    h.next_round().await;
    let pages: Vec<String> = h
        .requests_to(DEPENDABOT)
        .into_iter()
        .skip(1)
        .map(|r| r.target)
        .collect();
    assert_eq!(pages.len(), 3, "five alerts, two per page: {pages:?}");
    assert!(
        pages[1].ends_with("page=2") && pages[2].ends_with("page=3"),
        "{pages:?}"
    );
    let mut numbers: Vec<u64> = h.seen().iter().map(|s| s.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);

    // Alert 2 reopened: page 1 holds it and alert 5 (the watermark, read again and deduplicated);
    // page 2 starts below the watermark, and the walk stops there.
    let t2 = test_start() + Duration::seconds(20);
    h.fake.upsert(
        DEPENDABOT,
        dependabot(2, "open", t2, test_start() + Duration::minutes(6)),
    );
    h.next_round().await;
    assert_eq!(h.requests_to(DEPENDABOT).len(), 1 + 3 + 2);
    assert_eq!(h.seen().len(), 6);
    assert_eq!(h.seen()[5], seen("reopened", 2, "open"));
    h.stop().await;
}

#[tokio::test]
async fn an_alert_seen_by_webhook_and_by_poll_is_one_event_in_either_order() {
    let h = Harness::start("").await;
    let t = test_start() + Duration::minutes(1);

    // Webhook first, then the poll lists the same change.
    let alert = dependabot(11, "open", t, t);
    assert_eq!(
        h.webhook("dependabot_alert", "delivery-1", &dependabot_webhook("created", &alert))
            .await,
        (202, "accepted".to_owned())
    );
    h.fake.upsert(DEPENDABOT, alert);
    h.next_round().await;
    assert_eq!(h.seen(), [seen("created", 11, "open")]);

    // Poll first (the alert is fixed), then the webhook for that change arrives.
    let fixed = dependabot(11, "fixed", t, t + Duration::minutes(4));
    h.fake.upsert(DEPENDABOT, fixed.clone());
    h.next_round().await;
    assert_eq!(h.seen().len(), 2);
    assert_eq!(
        h.webhook("dependabot_alert", "delivery-2", &dependabot_webhook("fixed", &fixed))
            .await,
        (200, "duplicate".to_owned())
    );
    // A redelivery of the first webhook is still the same event.
    assert_eq!(
        h.webhook(
            "dependabot_alert",
            "delivery-1",
            &dependabot_webhook("created", &dependabot(11, "open", t, t))
        )
        .await,
        (200, "duplicate".to_owned())
    );
    assert_eq!(h.seen(), [seen("created", 11, "open"), seen("fixed", 11, "fixed")]);
    assert_eq!(h.inbox_rows().await, 2);
    h.stop().await;
}

#[tokio::test]
async fn the_rate_limit_reserve_stops_polling_until_the_window_resets() {
    let h = Harness::start("rate_limit_reserve = 100").await;
    let reset = test_start() + Duration::minutes(30);
    h.fake.rate_limit(60, reset.timestamp());
    let t = test_start() + Duration::minutes(1);
    h.fake.upsert(DEPENDABOT, dependabot(1, "open", t, t));
    h.next_round().await;
    // The first answer says 59 calls are left, below the reserve of 100: the round stops there.
    assert_eq!(h.fake.received().len(), 4 + 1);
    assert_eq!(h.seen().len(), 1, "what was read is stored");

    for _ in 0..4 {
        h.clock.advance(Duration::minutes(5));
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(h.fake.received().len(), 5, "no call while the window is spent");
    h.fake.rate_limit(5000, (reset + Duration::hours(1)).timestamp());
    let before = h.bot().shared().metrics.github_pull_polls.get();
    h.clock.set(reset);
    h.wait_rounds(before + 1).await;
    assert_eq!(h.fake.received().len(), 5 + 4, "polling resumes at the reset");
    h.stop().await;
}

#[tokio::test]
async fn repositories_outside_the_allow_list_are_not_polled_or_announced() {
    let h = Harness::start("allowed_repositories = [\"acme/api\"]").await;
    assert!(h.fake.received().is_empty(), "acme/app is not allowed: never polled");
    h.stop().await;

    // An organisation's listing names each alert's repository; only allowed ones become events.
    let fake = FakeAlerts::start().await.unwrap();
    let t = test_start() - Duration::minutes(1);
    let mut allowed = dependabot(1, "open", t, t);
    allowed["repository"] = json!({"full_name": "acme/api", "html_url": "https://github.com/acme/api"});
    let mut other = dependabot(2, "open", t, t);
    other["repository"] = json!({"full_name": "acme/app", "html_url": "https://github.com/acme/app"});
    fake.set("/orgs/acme/dependabot/alerts", vec![allowed, other]);
    fake.set("/orgs/acme/code-scanning/alerts", Vec::new());
    fake.set("/orgs/acme/secret-scanning/alerts", Vec::new());
    let db = TestDb::new().await;
    let config = format!(
        "[database]\nurl = \"{}\"\n[github]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n\
         allowed_repositories = [\"acme/api\"]\n[github.pull]\norganizations = [\"acme\"]\n",
        db.url(),
        fake.url
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let bot = Bot::start(BotOptions {
        config: sentinel_bot::config::load::from_table(
            sentinel_bot::config::load::parse_table(&config, "test").unwrap(),
        )
        .unwrap(),
        clock: Arc::new(ManualClock::new(test_start())),
        plugins: vec![Arc::new(Recorder {
            seen: seen.clone(),
            runs: false,
        })],
        adapters: Vec::new(),
        console: ConsoleSink::memory(false).0,
        serve_http: false,
        routes: axum::Router::new(),
    })
    .await
    .unwrap();
    for _ in 0..2000 {
        if bot.shared().metrics.github_pull_polls.get() >= 1 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    bot.settle(StdDuration::from_secs(10)).await.unwrap();
    let numbers: Vec<u64> = seen.lock().unwrap().iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1], "acme/app's alert skipped");
    assert_eq!(
        fake.received()[0].target,
        "/orgs/acme/dependabot/alerts?sort=updated&direction=desc&per_page=100"
    );
    bot.shutdown(StdDuration::from_secs(5)).await;
}

#[tokio::test]
async fn the_first_poll_announces_only_what_changed_within_the_initial_lookback() {
    let old = test_start() - Duration::days(2);
    let recent = test_start() - Duration::hours(3);
    let h = Harness::start_with(
        "",
        vec![dependabot(1, "open", old, old), dependabot(2, "open", recent, recent)],
    )
    .await;
    assert_eq!(
        h.seen(),
        [seen("created", 2, "open")],
        "the two-day-old alert is taken as known"
    );
    // The old alert changes later: that is news.
    h.fake.upsert(
        DEPENDABOT,
        dependabot(1, "dismissed", old, test_start() + Duration::minutes(2)),
    );
    h.next_round().await;
    assert_eq!(h.seen().len(), 2);
    assert_eq!(h.seen()[1], seen("dismissed", 1, "dismissed"));
    h.stop().await;
}

#[tokio::test]
async fn alerts_older_than_the_lookback_stay_known_when_the_listing_later_changes() {
    let old = test_start() - Duration::days(2);
    let h = Harness::start_with(
        "",
        vec![dependabot(1, "open", old, old), dependabot(2, "open", old, old)],
    )
    .await;
    assert!(h.seen().is_empty(), "both alerts are older than the lookback");
    // A new alert makes the listing change (a 200): only it is news, not the two known ones.
    let now = test_start() + Duration::minutes(1);
    h.fake.upsert(DEPENDABOT, dependabot(3, "open", now, now));
    h.next_round().await;
    assert_eq!(h.seen(), [seen("created", 3, "open")]);
    h.stop().await;
}
