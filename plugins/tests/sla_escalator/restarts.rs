//! Restarts and downtime: pending steps fire once, steps due while down fire once on start.

use super::*;

#[tokio::test]
async fn a_restart_with_pending_timers_fires_each_step_once() {
    let mut bot = start(LEVELS).await;
    let t0 = test_start();
    open(&mut bot, 1, "critical", "Leaked key", None).await;
    until(&mut bot, t0 + m(10)).await;
    bot.restart().await.unwrap();
    assert!(bot.pop().is_empty(), "a restart re-sends nothing");
    walk(&mut bot, t0, 1, &[(m(15), &["reminder 1/3 → emergency"])]).await;
    bot.restart().await.unwrap();
    assert!(bot.pop().is_empty());
    walk(&mut bot, t0, 1, &[(m(30), &["reminder 2/3 → emergency"])]).await;
    assert_eq!(emitted(&bot, "sla.ping").await.len(), 3);
    bot.stop().await;
}

#[tokio::test]
async fn steps_that_came_due_while_sentinel_was_down_fire_once_on_start() {
    let dir = TestDb::new().await;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let mut bot = start_at(LEVELS, t0, &dir).await;
    open(&mut bot, 1, "critical", "Leaked key", None).await;
    bot.stop().await;

    // Down from 09:00 to 09:50: three reminders and the warning were due meanwhile.
    let mut bot = start_at(LEVELS, t0 + m(50), &dir).await;
    let late = bot.pop();
    assert_eq!(
        sigs(&late),
        [
            "reminder 1/3 → emergency",
            "reminder 2/3 → emergency",
            "reminder 3/3 → emergency",
            "warn response → emergency"
        ]
    );
    assert!(
        late[0].message.text.ends_with("(Due 2026-03-02 09:15 UTC, sent late.)"),
        "{}",
        late[0].message.text
    );
    bot.restart().await.unwrap();
    assert!(bot.pop().is_empty(), "nothing fires twice");
    walk(&mut bot, t0, 1, &[(m(60), &["breach response → emergency"])]).await;
    assert_eq!(emitted(&bot, "sla.ping").await.len(), 4);
    assert_eq!(emitted(&bot, "sla.breached").await.len(), 1);
    bot.stop().await;
}
