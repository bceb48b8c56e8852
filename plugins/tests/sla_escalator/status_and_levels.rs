//! `/sla status` and `/sla policy`, a level with no one configured, and escalate requests.

use super::*;

#[tokio::test]
async fn status_shows_each_open_incidents_deadlines_time_left_and_next_ping_and_policy_shows_the_table() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "critical", "Leaked AWS key", Some("acme/api")).await;
    open(&mut bot, 2, "low", "Old lodash", None).await;
    until(&mut bot, t0 + m(10)).await;
    let status = bot.command("/sla status").await;
    assert_eq!(
        status[0].message.text,
        "2 open incidents:\n\
         🔴 Incident #1 · Leaked AWS key (critical) in acme/api\n  \
         respond by 2026-03-02 10:00 UTC (in 50m)\n  \
         resolve by 2026-03-03 09:00 UTC (in 23h 50m)\n  \
         next ping 2026-03-02 09:15 UTC (in 5m): L4 emergency contact\n\
         🔵 Incident #2 · Old lodash (low)\n  \
         respond by 2026-03-09 09:00 UTC (in 6d 23h)\n  \
         resolve by 2026-05-31 09:00 UTC (in 89d 23h)\n  \
         next ping 2026-03-02 17:00 UTC (in 7h 50m): L2 security champion\n\
         No silences.\n"
    );
    let missing = bot.command("/sla status 9").await;
    assert!(matches!(missing[0].kind, PrintedKind::Ephemeral { .. }));

    // Many open incidents: the ten most urgent, and how many more.
    for id in 3..=13 {
        open(&mut bot, id, "low", "Old lodash", None).await;
    }
    let many = bot.command("/sla status").await[0].message.text.clone();
    assert!(many.starts_with("13 open incidents:\n🔴 Incident #1 "), "{many}");
    assert!(
        many.contains("Incident #10 ") && !many.contains("Incident #11 "),
        "{many}"
    );
    assert!(
        many.ends_with("… and 3 more (most urgent first); /sla status <id> shows any one.\nNo silences.\n"),
        "{many}"
    );

    let policy = bot.command("/sla policy").await[0].message.text.clone();
    for line in [
        "SLA policy in force (business time: Mon Tue Wed Thu Fri 09:00–17:00 UTC):",
        "🔴 critical: respond 1h, resolve 1d, warn at 75%",
        "  1. at once → L4 emergency contact (emergency), then every 15m ×3",
        "🟠 high: respond 4h, resolve 7d, warn at 75%",
        "  2. after 1h → L4 emergency contact (emergency), then every 1h ×2",
        "🟡 medium: respond 1d, resolve 30d, warn at 75%",
        "🔵 low: respond 7d, resolve 90d, warn at 75%",
        "  2. after 1 business day → L2 security champion (security-champions), then every 1 business day ×2",
        "  L1 team lead: team-lead",
    ] {
        assert!(policy.lines().any(|l| l == line), "missing {line:?} in\n{policy}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_level_with_no_one_configured_still_gets_its_post_and_escalate_requests_climb_a_level() {
    let mut bot = start("").await;
    let first = open(&mut bot, 1, "critical", "Leaked key", None).await;
    assert!(first[0].message.mentions.is_empty());
    assert!(
        first[0].message.text.ends_with(
            "\nNo one is configured for L4 emergency contact: set plugins.sla_escalator.levels.emergency_contact."
        ),
        "{}",
        first[0].message.text
    );
    bot.stop().await;

    let mut bot = start(LEVELS).await;
    open(&mut bot, 1, "high", "Auth bypass", None).await;
    let escalated = change(&mut bot, "incident.escalate_requested", 1, "alice").await;
    assert_eq!(sigs(&escalated), ["escalate → emergency"]);
    assert_eq!(
        escalated[0].message.text,
        "🔺 alice escalated incident #1 · Auth bypass (high) to L4 emergency contact."
    );
    assert_eq!(emitted(&bot, "sla.ping").await[1]["step"], json!(0));

    // A replayed opening changes nothing.
    assert!(open(&mut bot, 1, "high", "Auth bypass", None).await.is_empty());
    assert_eq!(emitted(&bot, "sla.planned").await.len(), 1);
    bot.stop().await;
}
