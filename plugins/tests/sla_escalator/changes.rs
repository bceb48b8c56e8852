//! What the incident's changes do to the plan: an acknowledgement, a severity rise or fall, resolve
//! and reopen.

use super::*;

#[tokio::test]
async fn an_acknowledgement_cancels_the_response_timers_and_a_ping_already_queued_behind_it() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "high", "SQL injection", Some("acme/api")).await;
    walk(&mut bot, t0, 1, &[(m(30), &["reminder 1/1 → repository-owners"])]).await;
    assert!(change(&mut bot, "incident.acknowledged", 1, "carol").await.is_empty());
    assert_eq!(
        timer_keys(&bot).await,
        ["incident:1:resolve:breach", "incident:1:resolve:warn:75"]
    );
    assert_eq!(
        column(&bot, "SELECT acknowledged_at FROM sla_incidents WHERE incident_id = 1").await,
        Some((t0 + m(30)).timestamp_millis())
    );

    // A ping timer that fired before the acknowledgement committed but is handled after it: silent.
    let stale = |incident: i64| {
        let key = format!("incident:{incident}:respond:ping:2:0");
        let fired = TimerFired {
            key: TimerKey(key.clone()),
            due_at: t0 + m(30),
            payload: json!({"incident": incident, "generation": 1, "what": "ping", "step": 2, "repeat": 0,
                            "repeats": 2, "level": "emergency_contact"}),
        };
        NewEvent {
            dedup_key: DedupKey(format!("stale:{incident}")),
            kind: "timer",
            name: key,
            owner: Some("sla_escalator".into()),
            payload: serde_json::to_string(&fired).unwrap(),
        }
    };
    bot.push(stale(1)).await;
    assert!(bot.pop().is_empty());
    // The same event for an unacknowledged incident does ping: it is the acknowledgement that stops it.
    open(&mut bot, 2, "high", "Auth bypass", Some("acme/api")).await;
    bot.push(stale(2)).await;
    assert_eq!(sigs(&bot.pop()), ["escalate → emergency"]);
    change(&mut bot, "incident.acknowledged", 2, "carol").await;

    // Nothing more until the resolution clock warns; the response deadline is not breached.
    walk(&mut bot, t0, 1, &[(h(126), &["warn resolution → repository-owners"])]).await;
    assert!(emitted(&bot, "sla.breached").await.is_empty());
    let status = bot.command("/sla status 1").await;
    assert_eq!(
        status[0].message.text,
        "🟠 Incident #1 · SQL injection (high) in acme/api\n  acknowledged 2026-03-02 09:30 UTC (respond by 2026-03-02 13:00 UTC)\n  \
         resolve by 2026-03-09 09:00 UTC (in 1d 18h)\nNo silences.\n"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_severity_rise_replans_from_the_original_start_and_catches_up_with_one_ping() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "medium", "Reflected XSS", Some("acme/web")).await;
    walk(&mut bot, t0, 1, &[(h(2), &["reminder 1/1 → security-champions"])]).await;
    let now = bot.clock.now();
    let replanned = domain(
        &mut bot,
        "incident.severity_changed",
        json!({"id": 1, "from": "medium", "to": "high", "at": rfc(now), "by": "alice", "opened_at": rfc(t0)}),
    )
    .await;
    // The high chain is at its step 2 two hours in: one catch-up escalation, not a burst.
    assert_eq!(sigs(&replanned), ["escalate → emergency"]);
    assert!(replanned[0].message.text.contains("still not acknowledged after 2h: escalating to L4 emergency contact (step 2). Respond by 2026-03-02 13:00 UTC (in 2h)."), "{}", replanned[0].message.text);
    // Deadlines count from the opening: the 4 h response deadline is at 13:00, not 15:00.
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(3), &["reminder 2/2 → emergency", "warn response → emergency"]),
            (h(4), &["breach response → emergency"]),
            (h(126), &["warn resolution → emergency"]),
        ],
    )
    .await;
    let planned = emitted(&bot, "sla.planned").await;
    assert_eq!(planned.len(), 2);
    assert_eq!(
        planned[1],
        json!({"incident_id": 1, "severity": "high", "respond_by": "2026-03-02T13:00:00Z", "resolve_by": "2026-03-09T09:00:00Z"})
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_rise_past_the_new_deadline_breaches_at_once_and_a_fall_replans_quietly() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "low", "Outdated lodash", None).await;
    open(&mut bot, 2, "critical", "Leaked token", None).await;
    walk(&mut bot, t0, 2, &[(m(15), &["reminder 1/3 → emergency"])]).await;

    // 20 minutes in, incident 2 goes critical → low: no reminder at 30m, the low chain from the opening.
    until(&mut bot, t0 + m(20)).await;
    let fall = domain(
        &mut bot,
        "incident.severity_changed",
        json!({"id": 2, "from": "critical", "to": "low", "at": rfc(t0 + m(20)), "by": "alice", "opened_at": rfc(t0)}),
    )
    .await;
    assert!(fall.is_empty(), "{:?}", sigs(&fall));
    assert!(until(&mut bot, t0 + h(2)).await.is_empty());
    assert_eq!(
        column(&bot, "SELECT respond_by FROM sla_incidents WHERE incident_id = 2").await,
        Some((t0 + Duration::days(7)).timestamp_millis())
    );

    // Two hours in, incident 1 goes low → critical: the 1 h response deadline from the opening has
    // passed, so one catch-up ping to the new first level and the breach come at once.
    let rise = domain(
        &mut bot,
        "incident.severity_changed",
        json!({"id": 1, "from": "low", "to": "critical", "at": rfc(t0 + h(2)), "by": "alice", "opened_at": rfc(t0)}),
    )
    .await;
    assert_eq!(sigs(&rise), ["ping → emergency", "breach response → emergency"]);
    assert!(
        rise[0]
            .message
            .text
            .ends_with("Respond by 2026-03-02 10:00 UTC (overdue by 1h)."),
        "{}",
        rise[0].message.text
    );

    // Both low chains (incident 1's is gone) go on: incident 2 climbs to L2 after one business day.
    let at8 = until(&mut bot, t0 + h(8)).await;
    assert_eq!(sigs(&at8), ["escalate → security-champions"]);
    assert_eq!(at8[0].message.thread.as_ref().unwrap().as_str(), "incident:2");
    walk(&mut bot, t0, 1, &[(h(18), &["warn resolution → emergency"])]).await;
    bot.stop().await;
}

#[tokio::test]
async fn resolve_pauses_every_clock_and_reopen_resumes_the_resolution_clock_where_it_stopped() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "critical", "Leaked AWS key", None).await;
    until(&mut bot, t0 + m(10)).await;
    change(&mut bot, "incident.acknowledged", 1, "dave").await;
    until(&mut bot, t0 + h(6)).await;
    assert!(change(&mut bot, "incident.resolved", 1, "dave").await.is_empty());
    assert!(timer_keys(&bot).await.is_empty());
    // Paused: neither the 18 h warning nor the 24 h deadline comes.
    assert!(until(&mut bot, t0 + Duration::days(2)).await.is_empty());
    assert_eq!(
        bot.command("/sla status").await[0].message.text,
        "No open incidents.\nNo silences.\n"
    );

    // Reopened two days in: 6 of the 24 hours were used, 18 are left.
    let reopened = t0 + Duration::days(2);
    assert!(change(&mut bot, "incident.reopened", 1, "dave").await.is_empty());
    walk(
        &mut bot,
        reopened,
        1,
        &[
            (h(12), &["warn resolution → emergency"]),
            (h(18), &["breach resolution → emergency"]),
        ],
    )
    .await;
    assert_eq!(
        emitted(&bot, "sla.breached").await,
        [
            json!({"incident_id": 1, "kind": "resolution", "deadline": "2026-03-05T03:00:00Z", "at": "2026-03-05T03:00:00Z"})
        ]
    );

    // Closing stops everything for good.
    open(&mut bot, 2, "high", "Auth bypass", None).await;
    assert!(change(&mut bot, "incident.closed", 2, "carol").await.is_empty());
    assert!(until(&mut bot, reopened + Duration::days(30)).await.is_empty());
    bot.stop().await;
}
