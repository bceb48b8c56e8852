//! When runs come: daily, weekly, first-Monday and quarter boundaries in local time across DST, and a
//! run missed while the bot was down.

use super::*;

#[tokio::test]
async fn schedules_cross_daily_weekly_first_monday_and_quarter_boundaries_in_local_time_across_dst() {
    let mut bot = start("[plugins.audit_scheduler]\ntime_zone = \"Europe/Berlin\"\n").await;
    // From Monday 2026-03-02 09:00 UTC (10:00 in Berlin) to Tuesday 2026-04-07 09:00 UTC, a day at a time.
    // Each day the clock stops at 06:00, 07:00, 08:00 and 09:00 UTC, so every occurrence fires on time.
    let mut reports = Vec::new();
    for _ in 0..36 {
        for step in [21, 1, 1, 1] {
            for printed in bot.advance(Duration::hours(step)).await {
                if printed.message.title.as_deref().is_some_and(|t| t.starts_with("📊")) {
                    reports.push(printed.message.title.clone().unwrap());
                }
            }
        }
    }
    let all = runs(&bot).await;
    let of = |schedule: &str| -> Vec<DateTime<Utc>> {
        all.iter()
            .filter(|(s, _, _)| s == schedule)
            .map(|(_, at, _)| *at)
            .collect()
    };
    let daily = of("daily");
    assert_eq!(daily.len(), 36);
    // 09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC from Sunday 2026-03-29 (summer time).
    assert_eq!(daily[0], utc(2026, 3, 3, 8, 0));
    assert_eq!(daily[24], utc(2026, 3, 27, 8, 0));
    assert_eq!(daily[25], utc(2026, 3, 28, 8, 0));
    assert_eq!(daily[26], utc(2026, 3, 29, 7, 0));
    assert_eq!(daily[35], utc(2026, 4, 7, 7, 0));
    assert_eq!(
        of("weekly"),
        [
            utc(2026, 3, 9, 8, 0),
            utc(2026, 3, 16, 8, 0),
            utc(2026, 3, 23, 8, 0),
            utc(2026, 3, 30, 7, 0),
            utc(2026, 4, 6, 7, 0)
        ]
    );
    // The first Monday of April only (the first Monday of March was before the start), and the
    // first week of the second quarter.
    assert_eq!(of("monthly"), [utc(2026, 4, 6, 7, 0)]);
    assert_eq!(of("quarterly"), [utc(2026, 4, 6, 7, 0)]);
    assert!(all.iter().all(|(_, _, late)| !late));
    // The monthly run posts March's report, the quarterly run Q1's.
    assert_eq!(
        reports,
        [
            "📊 Security Report - March 2026",
            "📊 Quarterly Security Assessment - Q1 2026"
        ]
    );
    let monthly_id: i64 = sqlx::query_scalar("SELECT id FROM audit_runs WHERE schedule = 'monthly'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert!(
        line(&bot, monthly_id, "report")
            .contains("checked by Sentinel: posted in security-audits 2026-04-06 09:00 CEST"),
        "{}",
        line(&bot, monthly_id, "report")
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_run_missed_while_the_bot_was_down_runs_once_on_start_unless_its_policy_is_skip() {
    let config = format!(
        "{PEOPLE}[plugins.audit_scheduler]\nweekly = {{ missed = \"skip\" }}\nmonthly = {{ enabled = false }}\n\
         quarterly = {{ enabled = false }}\n"
    );
    let db = sentinel_bot::harness::test_db::TestDb::new().await;
    let mut bot = TestBot::start_on_url(db.url(), &config, alone::<AuditScheduler>(&config), test_start(), false)
        .await
        .unwrap();
    bot.advance(Duration::days(1)).await;
    assert_eq!(runs(&bot).await, [("daily".to_owned(), utc(2026, 3, 3, 9, 0), false)]);
    bot.stop().await;

    // Down from Tuesday 09:00 to Wednesday of the next week: seven dailies and Monday's weekly missed.
    let mut bot = TestBot::start_on_url(
        db.url(),
        &config,
        alone::<AuditScheduler>(&config),
        utc(2026, 3, 11, 9, 0),
        false,
    )
    .await
    .unwrap();
    let printed = bot.pop();
    assert_eq!(
        runs(&bot).await,
        [
            ("daily".to_owned(), utc(2026, 3, 3, 9, 0), false),
            ("daily".to_owned(), utc(2026, 3, 4, 9, 0), true),
        ]
    );
    let late = latest(&bot, "audit:run:2");
    assert_eq!(
        late.title.as_deref(),
        Some("📋 Daily security monitoring #2 — 2026-03-04")
    );
    assert!(
        late.body
            .unwrap()
            .starts_with("Run late: it was due 2026-03-04 09:00 UTC while Sentinel was down."),
    );
    // Run #1's escalation, due while the bot was down, happened on start too.
    assert!(
        texts(&printed)
            .iter()
            .any(|t| t.contains("🚨 Overdue: Daily security monitoring #1"))
    );

    // The schedules carry on from now: the next daily tomorrow, the next weekly on Monday the 16th.
    bot.advance(Duration::days(1)).await;
    let all = runs(&bot).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], ("daily".to_owned(), utc(2026, 3, 12, 9, 0), false));
    bot.advance(Duration::days(4)).await;
    let weekly: Vec<(String, DateTime<Utc>, bool)> =
        runs(&bot).await.into_iter().filter(|(s, _, _)| s == "weekly").collect();
    assert_eq!(weekly, [("weekly".to_owned(), utc(2026, 3, 16, 9, 0), false)]);
    bot.stop().await;
}
