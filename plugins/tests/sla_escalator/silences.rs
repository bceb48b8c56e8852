//! Silences: pings suppressed but not deadlines, listed, lifted, ending by themselves, and only for
//! the configured silencers.

use super::*;

#[tokio::test]
async fn silences_suppress_pings_but_not_deadlines_and_are_listed_and_lifted() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    let reply = bot
        .command_as("alice", "/sla silence acme/* 2h maintenance window")
        .await;
    assert_eq!(
        reply[0].message.text,
        "🔕 Silence #1: SLA pings for incidents in acme/* are suppressed until 2026-03-02 11:00 UTC (in 2h) — \
         maintenance window. Deadlines and breaches are still recorded. Lift it with /sla unsilence 1."
    );
    assert_eq!(reply[0].kind, PrintedKind::New);

    assert!(
        open(&mut bot, 1, "critical", "Leaked key", Some("acme/api"))
            .await
            .is_empty()
    );
    assert_eq!(
        sigs(&open(&mut bot, 2, "critical", "Leaked key", Some("other/web")).await),
        ["ping → emergency"]
    );
    let at45 = until(&mut bot, t0 + m(45)).await;
    assert!(
        at45.iter()
            .all(|p| p.message.thread.as_ref().unwrap().as_str() == "incident:2")
    );
    assert_eq!(at45.len(), 4);

    // The deadline is still recorded and posted, without mentions.
    let at60 = until(&mut bot, t0 + m(60)).await;
    assert_eq!(sigs(&at60), ["breach response → ", "breach response → emergency"]);
    assert!(
        at60[0]
            .message
            .text
            .ends_with("Escalating to L4 emergency contact. Mentions suppressed by silence #1 (maintenance window)."),
        "{}",
        at60[0].message.text
    );
    assert_eq!(emitted(&bot, "sla.breached").await.len(), 2);
    assert_eq!(
        emitted(&bot, "sla.warning").await.len(),
        2,
        "warnings are recorded even when not posted"
    );
    let pinged: Vec<i64> = emitted(&bot, "sla.ping")
        .await
        .iter()
        .map(|p| p["incident_id"].as_i64().unwrap())
        .collect();
    assert_eq!(pinged, [2, 2, 2, 2]);

    let status = bot.command("/sla status").await;
    assert!(
        status[0]
            .message
            .text
            .ends_with("Silences (pings suppressed, deadlines still recorded):\n  #1 acme/* until 2026-03-02 11:00 UTC (in 1h) — maintenance window (by alice)\n"),
        "{}",
        status[0].message.text
    );
    let lifted = bot.command_as("bob", "/sla unsilence 1").await;
    assert_eq!(
        lifted[0].message.text,
        "🔔 Silence #1 (acme/*, maintenance window) lifted by bob: SLA pings resume."
    );
    let at18 = until(&mut bot, t0 + h(18)).await;
    assert_eq!(
        sigs(&at18),
        ["warn resolution → emergency", "warn resolution → emergency"]
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_silence_ends_by_itself_and_bad_input_gets_the_usage() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    bot.command("/sla silence all 20m deploy").await;
    assert!(open(&mut bot, 1, "critical", "Leaked key", None).await.is_empty());
    assert!(until(&mut bot, t0 + m(15)).await.is_empty());
    walk(&mut bot, t0, 1, &[(m(30), &["reminder 2/3 → emergency"])]).await;

    let bad = bot.command("/sla silence acme/* soon maintenance").await;
    assert!(matches!(bad[0].kind, PrintedKind::Ephemeral { .. }));
    assert!(
        bad[0].message.text.contains("`soon` is not a duration"),
        "{}",
        bad[0].message.text
    );
    assert!(
        bad[0]
            .message
            .text
            .ends_with("Usage: /sla silence <repo-glob|all> <duration> <reason…>"),
        "{}",
        bad[0].message.text
    );
    let missing = bot.command("/sla silence acme/* 1h").await;
    assert!(matches!(missing[0].kind, PrintedKind::Ephemeral { .. }));
    let unknown = bot.command("/sla unsilence 42").await;
    assert_eq!(
        unknown[0].message.text,
        "No silence #42 is in force (see /sla status). Usage: /sla unsilence <id>"
    );
    let expired = bot.command("/sla unsilence 1").await;
    assert!(expired[0].message.text.starts_with("No silence #1 is in force"));
    let bare = bot.command("/sla").await;
    assert!(matches!(bare[0].kind, PrintedKind::Ephemeral { .. }));
    assert!(
        bare[0]
            .message
            .text
            .contains("/sla silence <repo-glob|all> <duration> <reason…> — Suppresses pings"),
        "{}",
        bare[0].message.text
    );
    let nonsense = bot.command("/sla frobnicate").await;
    assert!(matches!(nonsense[0].kind, PrintedKind::Ephemeral { .. }));
    assert!(
        nonsense[0].message.text.contains("/sla status [id]"),
        "{}",
        nonsense[0].message.text
    );
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sla_silences")
            .fetch_one(bot.bot().pool())
            .await
            .unwrap(),
        1
    );
    bot.stop().await;
}

#[tokio::test]
async fn only_configured_silencers_may_silence() {
    let config = format!("{LEVELS}\n[plugins.sla_escalator]\nsilencers = [\"security-champions\"]\n");
    let mut bot = start(&config).await;
    let refused = bot.command_as("mallory", "/sla silence all 1h quiet please").await;
    assert!(matches!(refused[0].kind, PrintedKind::Ephemeral { .. }));
    assert_eq!(
        refused[0].message.text,
        "Only security-champions may silence or unsilence SLA pings."
    );
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM security_log WHERE kind = 'sla_silence_refused'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(logged, 1);
    let allowed = bot.command_as("bob", "/sla silence all 1h release").await;
    assert!(
        allowed[0]
            .message
            .text
            .starts_with("🔕 Silence #1: SLA pings for every incident")
    );
    bot.stop().await;
}
