//! Each row of the default policy: whom it pings first, how it climbs, when it warns and breaches;
//! and a business-day deadline across a weekend and a DST change.

use super::*;

#[tokio::test]
async fn critical_row_pings_the_emergency_contact_every_15m_then_breaches_both_deadlines() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let first = open(&mut bot, 1, "critical", "Leaked AWS key", Some("acme/api")).await;
    assert_eq!(sigs(&first), ["ping → emergency"]);
    assert_eq!(
        first[0].message.text,
        "🔔 Incident #1 · Leaked AWS key (critical) needs a responder. L4 emergency contact, please acknowledge. \
         Respond by 2026-03-02 10:00 UTC (in 1h)."
    );
    assert_eq!(first[0].message.mentions, [Mention::Group("emergency".into())]);

    walk(
        &mut bot,
        t0,
        1,
        &[
            (m(15), &["reminder 1/3 → emergency"]),
            (m(30), &["reminder 2/3 → emergency"]),
        ],
    )
    .await;
    let at45 = until(&mut bot, t0 + m(45)).await;
    assert_eq!(sigs(&at45), ["reminder 3/3 → emergency", "warn response → emergency"]);
    assert_eq!(
        at45[0].message.text,
        "🔁 Reminder 3/3: incident #1 · Leaked AWS key (critical) is still not acknowledged after 45m. \
         L4 emergency contact, please acknowledge. Respond by 2026-03-02 10:00 UTC (in 15m)."
    );
    assert_eq!(
        at45[1].message.text,
        "⏳ Incident #1 · Leaked AWS key (critical): 75% of the 1h response time has passed. \
         Respond by 2026-03-02 10:00 UTC (in 15m)."
    );
    let at60 = until(&mut bot, t0 + m(60)).await;
    assert_eq!(sigs(&at60), ["breach response → emergency"]);
    assert_eq!(
        at60[0].message.text,
        "🚨 Incident #1 · Leaked AWS key (critical) breached its response SLA: not acknowledged by \
         2026-03-02 10:00 UTC (1h). Escalating to L4 emergency contact."
    );
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(18), &["warn resolution → emergency"]),
            (h(24), &["breach resolution → emergency"]),
        ],
    )
    .await;
    assert!(until(&mut bot, t0 + Duration::days(60)).await.is_empty());

    // Every ping and breach is a timeline entry; the breach is recorded with its time.
    let pings = emitted(&bot, "sla.ping").await;
    assert_eq!(pings.len(), 4);
    assert_eq!(
        pings[0],
        json!({"incident_id": 1, "level": "emergency_contact", "step": 1, "at": "2026-03-02T09:00:00Z", "mentions": ["emergency"]})
    );
    assert_eq!(
        emitted(&bot, "sla.breached").await,
        [
            json!({"incident_id": 1, "kind": "response", "deadline": "2026-03-02T10:00:00Z", "at": "2026-03-02T10:00:00Z"}),
            json!({"incident_id": 1, "kind": "resolution", "deadline": "2026-03-03T09:00:00Z", "at": "2026-03-03T09:00:00Z"}),
        ]
    );
    assert_eq!(emitted(&bot, "sla.warning").await.len(), 2);
    assert_eq!(
        emitted(&bot, "sla.planned").await,
        [
            json!({"incident_id": 1, "severity": "critical", "respond_by": "2026-03-02T10:00:00Z", "resolve_by": "2026-03-03T09:00:00Z"})
        ]
    );
    assert_eq!(
        column(
            &bot,
            "SELECT response_breached_at FROM sla_incidents WHERE incident_id = 1"
        )
        .await,
        Some((t0 + h(1)).timestamp_millis())
    );
    assert_eq!(
        column(
            &bot,
            "SELECT resolution_breached_at FROM sla_incidents WHERE incident_id = 1"
        )
        .await,
        Some((t0 + h(24)).timestamp_millis())
    );
    bot.stop().await;
}

#[tokio::test]
async fn high_row_starts_with_the_repository_owner_and_climbs_to_the_emergency_contact_after_1h() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let first = open(&mut bot, 1, "high", "SQL injection", Some("acme/api")).await;
    assert_eq!(sigs(&first), ["ping → repository-owners"]);
    walk(
        &mut bot,
        t0,
        1,
        &[
            (m(30), &["reminder 1/1 → repository-owners"]),
            (h(1), &["escalate → emergency"]),
            (h(2), &["reminder 1/2 → emergency"]),
            (h(3), &["reminder 2/2 → emergency", "warn response → emergency"]),
            (h(4), &["breach response → emergency"]),
            (h(126), &["warn resolution → emergency"]),
            (h(168), &["breach resolution → emergency"]),
        ],
    )
    .await;
    let steps: Vec<Value> = emitted(&bot, "sla.ping")
        .await
        .iter()
        .map(|p| p["step"].clone())
        .collect();
    assert_eq!(steps, [json!(1), json!(1), json!(2), json!(2), json!(2)]);
    bot.stop().await;
}

#[tokio::test]
async fn medium_row_starts_with_the_security_champion_and_climbs_to_the_repository_owner_after_4h() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let first = open(&mut bot, 1, "medium", "Reflected XSS", Some("acme/web")).await;
    assert_eq!(sigs(&first), ["ping → security-champions"]);
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(2), &["reminder 1/1 → security-champions"]),
            (h(4), &["escalate → repository-owners"]),
            (h(8), &["reminder 1/4 → repository-owners"]),
            (h(12), &["reminder 2/4 → repository-owners"]),
            (h(16), &["reminder 3/4 → repository-owners"]),
            (h(18), &["warn response → repository-owners"]),
            (h(20), &["reminder 4/4 → repository-owners"]),
            (h(24), &["breach response → emergency"]),
            (h(540), &["warn resolution → emergency"]),
            (h(720), &["breach resolution → emergency"]),
        ],
    )
    .await;
    bot.stop().await;
}

#[tokio::test]
async fn low_row_starts_with_the_team_lead_and_gives_it_one_business_day() {
    let mut bot = start(LEVELS).await;
    // Monday 09:00 UTC; business hours default to Mon–Fri 09:00–17:00 UTC.
    let t0 = test_start();
    let first = open(&mut bot, 1, "low", "Outdated lodash", None).await;
    assert_eq!(sigs(&first), ["ping → team-lead"]);
    walk(
        &mut bot,
        t0,
        1,
        &[
            (h(8), &["escalate → security-champions"]), // Monday 17:00: one business day
            (h(32), &["reminder 1/2 → security-champions"]), // Tuesday 17:00
            (h(56), &["reminder 2/2 → security-champions"]), // Wednesday 17:00
            (h(126), &["warn response → security-champions"]), // 75 % of a week (wall clock)
            (h(168), &["breach response → repository-owners"]), // one week
            (h(1620), &["warn resolution → repository-owners"]),
            (h(2160), &["breach resolution → emergency"]), // 90 days
        ],
    )
    .await;
    bot.stop().await;
}

#[tokio::test]
async fn one_business_day_from_friday_afternoon_in_berlin_ends_monday_afternoon_across_the_dst_change() {
    let config = format!(
        "{LEVELS}\n[plugins.sla_escalator.business_hours]\ntime_zone = \"Europe/Berlin\"\n\
         days = [\"Mon\", \"Tue\", \"Wed\", \"Thu\", \"Fri\"]\nstart = \"09:00\"\nend = \"17:00\"\n"
    );
    let dir = TestDb::new().await;
    // Friday 2026-03-27 16:00 CET; the clocks go forward on Sunday 2026-03-29.
    let friday = utc("2026-03-27T15:00:00Z");
    let mut bot = start_at(&config, friday, &dir).await;
    assert_eq!(
        sigs(&open(&mut bot, 1, "low", "Outdated lodash", None).await),
        ["ping → team-lead"]
    );
    // One business hour on Friday, seven on Monday from 09:00 CEST (07:00 UTC): 16:00 CEST, 14:00 UTC.
    let monday = utc("2026-03-30T14:00:00Z");
    walk(
        &mut bot,
        monday,
        1,
        &[(Duration::zero(), &["escalate → security-champions"])],
    )
    .await;
    // The next business day ends Tuesday 16:00 CEST.
    walk(&mut bot, monday, 1, &[(h(24), &["reminder 1/2 → security-champions"])]).await;
    bot.stop().await;
}
