//! The audit scheduler at chat level, with the real core (dispatcher, timers, GitHub worker) and a
//! fake GitHub API on 127.0.0.1: checklists posting themselves on the manual clock, automatic checks
//! with pagination, rate-limit headers, 5xx and 403 answers, people ticking the rest, reminders and
//! escalation, a missed run after downtime, and the monthly report against last month's snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::fakes::github::{FakeGitHub, Reply};
use sentinel_bot::harness::{TestBot, test_start};
use sentinel_bot::store::from_ms;
use sentinel_bot::{Action, Actor, Clock, DedupKey, DomainEvent, Message, NewEvent, Origin, Platform, Plugin};
use sentinel_plugins::audit_scheduler::{AuditConfig, AuditScheduler};
use serde_json::{Value, json};

const CHANNEL: &str = "security-audits";

// -------------------------------------------------------------------------------------------------
// A fake GitHub API

/// A 200 with a comfortable rate limit.
fn ok(body: Value) -> Reply {
    Reply::ok(body).header("x-ratelimit-remaining", "4900")
}

/// The fake GitHub, answering `200 []` (an empty listing) where nothing is set.
async fn fake_github() -> FakeGitHub {
    let fake = FakeGitHub::start().await.unwrap();
    fake.otherwise(ok(json!([])));
    fake
}

// -------------------------------------------------------------------------------------------------
// Harness helpers

const PEOPLE: &str = r#"
[people.alice]
github = "alice"
[people.bob]
github = "bob"
[groups.on-call]
members = ["alice"]
[groups.team-lead]
members = ["bob"]
"#;

fn github_section(fake: &FakeGitHub) -> String {
    format!(
        "[github]\ntoken = \"ghp_test\"\napi_url = \"{}\"\nmax_attempts = 2\nretry_base = \"1s\"\nretry_max = \"2s\"\n",
        fake.url
    )
}

fn plugin_for(text: &str) -> impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static {
    let table = sentinel_bot::config::load::parse_table(text, "test").unwrap();
    let config = sentinel_bot::config::load::from_table(table).unwrap();
    let section: AuditConfig =
        sentinel_bot::config::deserialize_named(config.plugin_section("audit_scheduler"), "plugins.audit_scheduler")
            .unwrap();
    let settings = section.resolve(&config.schedule.time_zone).unwrap();
    move || vec![Arc::new(AuditScheduler::new(settings.clone())) as Arc<dyn Plugin>]
}

async fn start(extra: &str) -> TestBot {
    let text = format!("{PEOPLE}{extra}");
    TestBot::start(&text, plugin_for(&text)).await.unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
}

/// The latest version of the message with `key`.
fn latest(bot: &TestBot, key: &str) -> Message {
    bot.all_printed()
        .into_iter()
        .rev()
        .find(|p| p.message.key.as_ref().map(|k| k.as_str()) == Some(key))
        .unwrap_or_else(|| panic!("no message {key}"))
        .message
}

/// The line of item `id` in run `run`'s latest checklist.
fn line(bot: &TestBot, run: i64, id: &str) -> String {
    let body = latest(bot, &format!("audit:run:{run}")).body.unwrap_or_default();
    let needle = format!(". {id} — ");
    body.lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no item {id} in {body}"))
        .to_owned()
}

fn private(printed: &[Printed]) -> Vec<String> {
    printed
        .iter()
        .filter(|p| matches!(p.kind, PrintedKind::Ephemeral { .. }))
        .map(|p| p.message.text.clone())
        .collect()
}

fn texts(printed: &[Printed]) -> Vec<String> {
    printed.iter().map(|p| p.text.clone()).collect()
}

async fn runs(bot: &TestBot) -> Vec<(String, DateTime<Utc>, bool)> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as("SELECT schedule, due_at, late FROM audit_runs ORDER BY id")
        .fetch_all(bot.bot().pool())
        .await
        .unwrap();
    rows.into_iter().map(|(s, d, l)| (s, from_ms(d), l != 0)).collect()
}

async fn push_domain(bot: &mut TestBot, kind: &str, payload: Value) {
    let event = DomainEvent {
        kind: kind.to_owned(),
        payload,
    };
    let dedup = format!("test:{kind}:{}", bot.clock.now().timestamp_millis());
    bot.push(NewEvent {
        dedup_key: DedupKey(dedup),
        kind: "domain",
        name: kind.to_owned(),
        owner: None,
        payload: serde_json::to_string(&event).unwrap(),
    })
    .await;
}

// -------------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn the_daily_checklist_checks_github_itself_and_people_tick_the_rest() {
    let fake = fake_github().await;
    // Dependabot alerts for acme/app over two pages: one high alert new since the last run, one old medium.
    fake.pages(
        "/repos/acme/app/dependabot/alerts",
        vec![
            json!([{"number": 3, "created_at": "2026-03-02T12:00:00Z", "html_url": "https://github.com/acme/app/security/dependabot/3",
                    "security_advisory": {"severity": "high"}, "dependency": {"package": {"name": "lodash"}}}]),
            json!([{"number": 1, "created_at": "2026-01-10T12:00:00Z",
                    "security_advisory": {"severity": "medium"}, "dependency": {"package": {"name": "minimist"}}}]),
        ],
    );
    fake.set(
        "/repos/acme/app/actions/runs",
        vec![ok(json!({"total_count": 2, "workflow_runs": [
            {"name": "CodeQL", "conclusion": "failure", "run_number": 41, "head_branch": "main", "created_at": "2026-03-03T06:02:00Z"},
            {"name": "Deploy", "conclusion": "failure", "run_number": 9, "head_branch": "main", "created_at": "2026-03-03T07:00:00Z"}
        ]}))],
    );
    fake.set(
        "/repos/acme/api/actions/runs",
        vec![ok(json!({"total_count": 0, "workflow_runs": []}))],
    );
    fake.set(
        "/repos/acme/api/secret-scanning/alerts",
        vec![Reply::error(403, "Resource not accessible by integration")],
    );
    fake.set(
        "/rate_limit",
        vec![
            ok(json!({"resources": {"core": {"limit": 5000, "remaining": 4900, "reset": 1772531400}}}))
                .header("github-authentication-token-expiration", "2026-03-10 09:00:00 UTC")
                .header("x-oauth-scopes", "repo, read:org"),
        ],
    );
    let config = format!(
        "{}[plugins.audit_scheduler]\nrepositories = [\"acme/app\", \"acme/api\"]\n\
         weekly = {{ enabled = false }}\nmonthly = {{ enabled = false }}\nquarterly = {{ enabled = false }}\n",
        github_section(&fake)
    );
    let mut bot = start(&config).await;

    // The harness starts at Monday 09:00 exactly: the first daily run is Tuesday 09:00.
    assert!(bot.advance(Duration::hours(23)).await.is_empty());
    let printed = bot.advance(Duration::hours(1)).await;
    assert!(printed.iter().all(|p| p.channel == CHANNEL), "{printed:#?}");
    let checklist = latest(&bot, "audit:run:1");
    assert_eq!(
        checklist.title.as_deref(),
        Some("📋 Daily security monitoring #1 — 2026-03-03")
    );
    assert_eq!(checklist.text, "Daily security monitoring #1 — 2026-03-03: 2 of 6 done");
    assert_eq!(
        line(&bot, 1, "dependabot"),
        "⚠️ 1. dependabot — Dependabot alerts reviewed (if any new alerts) · needs a person: 2 Dependabot alerts open \
         — 1 high, 1 medium (acme/app 2); 1 new since 2026-03-02 09:00 UTC: acme/app#3 lodash (high)"
    );
    assert_eq!(
        line(&bot, 1, "workflows"),
        "⚠️ 2. workflows — Failed security workflows investigated · needs a person: 1 failed security workflow run \
         since 2026-03-02 09:00 UTC: CodeQL #41 on main (acme/app, 2026-03-03 06:02 UTC)"
    );
    let secret = line(&bot, 1, "secret-scanning");
    assert!(
        secret.starts_with("❌ 3. secret-scanning — Secret scanning alerts responded to immediately · could not check: acme/api: GitHub answered 403"),
        "{secret}"
    );
    assert!(secret.contains("Resource not accessible by integration"), "{secret}");
    assert!(
        secret.ends_with("— the rest: no open secret-scanning alerts"),
        "{secret}"
    );
    assert_eq!(
        line(&bot, 1, "security-log"),
        "✅ 4. security-log — Security log reviewed · checked by Sentinel: no security log entries since 2026-03-02 09:00 UTC"
    );
    assert_eq!(
        line(&bot, 1, "health"),
        "⚠️ 5. health — Health check: Sentinel, the GitHub API and its token · needs a person: GitHub API answered; \
         rate limit 4900 of 5000 calls left, resets 2026-03-03 09:50 UTC; token expires 2026-03-10 (in 7d) — renew it"
    );
    assert!(line(&bot, 1, "auth-failures").starts_with("✅ 6. auth-failures"));
    // Pagination was followed; nothing else was asked twice.
    assert_eq!(fake.count("/repos/acme/app/dependabot/alerts"), 2);
    assert!(
        fake.received()
            .iter()
            .any(|r| r.target == "/repos/acme/app/dependabot/alerts?state=open&per_page=100&page=2")
    );
    // Buttons for what is left.
    let labels: Vec<String> = checklist.buttons.iter().map(|b| b.label.clone()).collect();
    assert_eq!(
        labels,
        [
            "Done: dependabot",
            "Done: workflows",
            "Done: secret-scanning",
            "Done: health"
        ]
    );

    // People do the rest: by command (with a note), by run name, by position, and by button.
    let printed = bot
        .command_as("alice", "/audit done 1 dependabot lodash fix merged in #12")
        .await;
    assert_eq!(
        private(&printed),
        ["Done: dependabot — Dependabot alerts reviewed (if any new alerts) (audit #1)."]
    );
    let done = line(&bot, 1, "dependabot");
    assert!(
        done.starts_with("✅ 1. dependabot — Dependabot alerts reviewed (if any new alerts) · done by alice 2026-03-03 09:00 UTC — “lodash fix merged in #12” (Sentinel found: 2 Dependabot alerts open"),
        "{done}"
    );
    bot.command_as(
        "bob",
        "/audit skip daily secret-scanning the token cannot see acme/api yet",
    )
    .await;
    assert!(
        line(&bot, 1, "secret-scanning")
            .contains("· skipped by bob 2026-03-03 09:00 UTC: the token cannot see acme/api yet"),
        "{}",
        line(&bot, 1, "secret-scanning")
    );
    bot.advance(Duration::minutes(10)).await;
    bot.command_as("bob", "/audit done #1 5 renewed the token").await;
    let click = Action {
        id: "audit.done".into(),
        value: "1:workflows".into(),
        origin: Origin {
            actor: Actor {
                platform: Platform::Console,
                id: "alice".into(),
                name: "alice".into(),
                groups: Vec::new(),
            },
            channel: "console".into(),
            response_url: None,
        },
    };
    bot.push(NewEvent::action("click-1", &click).unwrap()).await;
    let printed = bot.pop();
    assert!(line(&bot, 1, "workflows").contains("done by alice 2026-03-03 09:10 UTC"));
    let complete = latest(&bot, "audit:run:1");
    assert_eq!(
        complete.text,
        "Daily security monitoring #1 — 2026-03-03: complete (6 of 6)"
    );
    assert!(complete.buttons.is_empty());
    assert!(
        texts(&printed).iter().any(|t| t.contains(
            "✅ Daily security monitoring #1 — 2026-03-03 complete: 3 done by people, 2 checked by Sentinel, 1 skipped. Thanks, alice, bob."
        )),
        "{printed:#?}"
    );
    // Ticking it again is answered, not recorded twice.
    let printed = bot.command_as("bob", "/audit done 1 dependabot").await;
    assert_eq!(
        private(&printed),
        ["dependabot of audit #1 was already done by alice 2026-03-03 09:00 UTC."]
    );
    let history = bot.command("/audit history daily").await;
    assert!(
        private(&history)[0].contains(
            "dependabot ✅ alice, workflows ✅ alice, secret-scanning ⏭️ bob, security-log ✅ Sentinel, health ✅ bob, auth-failures ✅ Sentinel"
        ),
        "{history:#?}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn server_errors_are_retried_refusals_are_reported_and_the_rate_limit_is_never_exhausted() {
    let fake = fake_github().await;
    let reset = (test_start() + Duration::minutes(10)).timestamp();
    // The first answer says only 50 calls are left until the reset in 10 minutes: the worker holds the rest.
    fake.set(
        "/repos/acme/app/code-scanning/alerts",
        vec![
            ok(json!([{"number": 8, "created_at": "2026-02-01T00:00:00Z",
                               "rule": {"security_severity_level": "critical", "description": "SQL injection"}}]))
            .header("x-ratelimit-remaining", "50")
            .header("x-ratelimit-reset", reset.to_string()),
        ],
    );
    // Webhooks: a 502 first, then the list; pulls: 502 every time.
    fake.set(
        "/repos/acme/app/hooks",
        vec![Reply::error(502, "Bad Gateway"), ok(json!([{"id": 12}]))],
    );
    fake.set(
        "/repos/acme/app/hooks/12/deliveries",
        vec![ok(json!([
            {"id": 1, "hook_id": 12, "delivered_at": "2026-03-01T10:00:00Z", "status": "Bad Gateway", "status_code": 502},
            {"id": 2, "hook_id": 12, "delivered_at": "2026-03-01T11:00:00Z", "status": "OK", "status_code": 200}
        ]))],
    );
    fake.set("/repos/acme/app/pulls", vec![Reply::error(502, "Bad Gateway")]);
    fake.set("/search/issues", vec![ok(json!({"total_count": 3, "items": []}))]);
    let config = format!(
        "{}[plugins.audit_scheduler]\nrepositories = [\"acme/app\"]\n\
         daily = {{ enabled = false }}\nmonthly = {{ enabled = false }}\nquarterly = {{ enabled = false }}\n",
        github_section(&fake)
    );
    let mut bot = start(&config).await;
    let printed = bot.command_as("alice", "/audit run weekly").await;
    assert!(
        private(&printed).contains(&"Started Weekly security review #1.".to_owned()),
        "{printed:#?}"
    );
    // Only the first request was made: the rest wait for the reset.
    assert_eq!(fake.received().len(), 1, "{:?}", fake.received());
    assert!(line(&bot, 1, "codeql").contains("needs a person: 1 code-scanning alert open — 1 critical"));
    assert!(line(&bot, 1, "security-scans").ends_with("· checking…"));

    bot.advance(Duration::minutes(10)).await;
    bot.advance(Duration::seconds(2)).await;
    bot.advance(Duration::seconds(4)).await;
    assert_eq!(fake.count("/repos/acme/app/pulls"), 2, "{:?}", fake.received());
    assert_eq!(fake.count("/repos/acme/app/hooks?"), 2);
    assert_eq!(
        line(&bot, 1, "dependabot-prs"),
        "❌ 3. dependabot-prs — Check Dependabot pull requests · could not check: acme/app: gave up after 2 attempts: \
         GitHub answered 502 Bad Gateway: Bad Gateway"
    );
    assert_eq!(
        line(&bot, 1, "webhooks"),
        "⚠️ 8. webhooks — Check webhook deliveries · needs a person: 1 failed delivery since 2026-02-23 09:00 UTC: \
         acme/app hook 12: 1× 502"
    );
    assert!(
        line(&bot, 1, "dependency-updates")
            .contains("checked by Sentinel: 3 Dependabot updates merged since 2026-02-23 09:00 UTC")
    );
    assert_eq!(
        line(&bot, 1, "access-logs"),
        "⬜ 6. access-logs — Review access logs (if available)"
    );
    assert!(
        line(&bot, 1, "token").contains("checked by Sentinel: scopes: not reported"),
        "{}",
        line(&bot, 1, "token")
    );
    bot.stop().await;
}

#[tokio::test]
async fn without_repositories_or_token_items_say_why_and_an_incomplete_run_is_reminded_then_escalated() {
    let mut bot = start(
        "[plugins.audit_scheduler]\nweekly = { enabled = false }\nmonthly = { enabled = false }\nquarterly = { enabled = false }\n",
    )
    .await;
    bot.command_as("alice", "/audit run daily").await;
    assert_eq!(
        line(&bot, 1, "dependabot"),
        "❌ 1. dependabot — Dependabot alerts reviewed (if any new alerts) · could not check: no repositories \
         configured (plugins.audit_scheduler.repositories)"
    );
    assert_eq!(
        line(&bot, 1, "health"),
        "❌ 5. health — Health check: Sentinel, the GitHub API and its token · could not check: no GitHub token \
         configured (set SENTINEL_GITHUB_TOKEN)"
    );
    let body = latest(&bot, "audit:run:1").body.unwrap();
    assert!(body.starts_with("Started by alice."), "{body}");

    // Four hours later: a reminder in the run's thread for the people responsible.
    assert!(bot.advance(Duration::hours(3)).await.is_empty());
    let printed = bot.advance(Duration::hours(1)).await;
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(matches!(printed[0].kind, PrintedKind::Reply { .. }));
    assert_eq!(
        printed[0].message.text,
        "⏰ Reminder: Daily security monitoring #1 — 2026-03-02 still has 4 items open: 1 dependabot, 2 workflows, \
         3 secret-scanning, 5 health. `/audit done 1 <item> [note]` or `/audit skip 1 <item> <reason>`."
    );
    assert!(printed[0].text.contains("cc @on-call"), "{}", printed[0].text);

    // A day after it started it is overdue: escalated to the team lead, in the channel.
    let printed = bot.advance(Duration::hours(20)).await;
    let overdue = printed
        .iter()
        .find(|p| p.message.text.starts_with("🚨 Overdue"))
        .unwrap_or_else(|| panic!("{printed:#?}"));
    assert_eq!(overdue.kind, PrintedKind::New);
    assert_eq!(
        overdue.message.text,
        "🚨 Overdue: Daily security monitoring #1 — 2026-03-02 is still incomplete 1d after it started (4 items open: \
         1 dependabot, 2 workflows, 3 secret-scanning, 5 health). Escalated to team-lead."
    );
    assert!(overdue.text.contains("cc @team-lead"), "{}", overdue.text);
    let emitted: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE kind = 'domain' AND name = 'audit.overdue'")
            .fetch_one(bot.bot().pool())
            .await
            .unwrap();
    assert_eq!(emitted, 1);
    // The scheduled daily run of Tuesday 09:00 came too.
    assert!(
        printed
            .iter()
            .any(|p| p.message.text.starts_with("Daily security monitoring #2 — 2026-03-03"))
    );
    let status = bot.command("/audit status").await;
    let status = &private(&status)[0];
    assert!(status.starts_with("2 audit runs open:"), "{status}");
    assert!(status.contains(", overdue"), "{status}");
    bot.stop().await;
}

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
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sentinel.db");
    let mut bot = TestBot::start_on(&db, &config, plugin_for(&config), test_start(), false)
        .await
        .unwrap();
    bot.advance(Duration::days(1)).await;
    assert_eq!(runs(&bot).await, [("daily".to_owned(), utc(2026, 3, 3, 9, 0), false)]);
    bot.stop().await;

    // Down from Tuesday 09:00 to Wednesday of the next week: seven dailies and Monday's weekly missed.
    let mut bot = TestBot::start_on(&db, &config, plugin_for(&config), utc(2026, 3, 11, 9, 0), false)
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

fn alert(number: i64, severity: &str, created: &str, package: &str) -> Value {
    json!({"number": number, "created_at": created, "html_url": format!("https://github.com/acme/app/security/dependabot/{number}"),
           "security_advisory": {"severity": severity}, "dependency": {"package": {"name": package}}})
}

#[tokio::test]
async fn the_monthly_report_compares_a_scripted_month_with_the_previous_months_snapshot_and_is_filed_as_an_issue() {
    let fake = fake_github().await;
    let config = format!(
        "{}{PEOPLE}[plugins.audit_scheduler]\nrepositories = [\"acme/app\"]\nreport_repository = \"acme/security\"\n\
         daily = {{ enabled = false }}\nweekly = {{ enabled = false }}\nquarterly = {{ enabled = false }}\n",
        github_section(&fake)
    );
    let dir = tempfile::tempdir().unwrap();
    // Monday 2 March 10:00, just after the first Monday's monthly audit would have run.
    let mut bot = TestBot::start_on(
        &dir.path().join("sentinel.db"),
        &config,
        plugin_for(&config),
        utc(2026, 3, 2, 10, 0),
        false,
    )
    .await
    .unwrap();

    // February, as GitHub shows it on March 2nd: 3 Dependabot alerts, 1 CodeQL alert, 3 updates merged.
    fake.pages(
        "/repos/acme/app/dependabot/alerts",
        vec![json!([
            alert(1, "critical", "2026-02-01T09:00:00Z", "openssl"),
            alert(2, "high", "2026-02-10T09:00:00Z", "requests"),
            alert(4, "medium", "2026-02-11T09:00:00Z", "jinja2")
        ])],
    );
    fake.set(
        "/repos/acme/app/code-scanning/alerts",
        vec![ok(json!([{"number": 2, "created_at": "2026-02-03T00:00:00Z",
                                 "rule": {"security_severity_level": "high", "description": "XSS"}}]))],
    );
    fake.set("/search/issues", vec![ok(json!({"total_count": 3, "items": []}))]);
    fake.set(
        "/repos/acme/security/issues",
        vec![
            ok(json!({"number": 41, "html_url": "https://github.com/acme/security/issues/41"})),
            ok(json!({"number": 42, "html_url": "https://github.com/acme/security/issues/42"})),
        ],
    );
    let printed = bot.command_as("alice", "/audit report 2026-02").await;
    assert!(
        private(&printed).contains(
            &"Collecting the report for February 2026 (4 requests to GitHub); it will be posted in security-audits."
                .to_owned()
        ),
        "{printed:#?}"
    );
    let february = latest(&bot, "audit:report:1");
    assert_eq!(february.title.as_deref(), Some("📊 Security Report - February 2026"));
    let body = february.body.unwrap();
    assert!(body.contains("| Open Dependabot Alerts | 3 | n/a |"), "{body}");
    assert!(
        body.contains("_No snapshot of January 2026 to compare with._"),
        "{body}"
    );

    // March, scripted: an alert raised and fixed, two incidents (one breaching its response SLA).
    bot.advance(Duration::days(1)).await; // Mar 3 10:00
    let lodash = json!({"key": "dependabot:acme/app:5", "source": "dependabot", "repository": "acme/app", "number": 5,
        "severity": "high", "state": "open", "title": "Prototype pollution in lodash", "package": "lodash", "cve": "CVE-2026-1234",
        "ghsa": "GHSA-abcd-efgh-ijkl", "created_at": "2026-03-03T08:00:00Z"});
    push_domain(&mut bot, "alert.raised", lodash.clone()).await;
    bot.advance(Duration::days(1)).await; // Mar 4 10:00
    push_domain(
        &mut bot,
        "incident.opened",
        json!({"id": 7, "title": "lodash RCE in acme/app", "severity": "high",
        "opened_at": "2026-03-04T10:00:00Z", "opened_by": "alice", "repository": "acme/app", "alert_keys": []}),
    )
    .await;
    push_domain(
        &mut bot,
        "incident.acknowledged",
        json!({"id": 7, "at": "2026-03-04T11:00:00Z", "by": "alice"}),
    )
    .await;
    push_domain(
        &mut bot,
        "incident.resolved",
        json!({"id": 7, "at": "2026-03-04T15:00:00Z", "by": "bob",
        "summary": "upgraded lodash to 4.17.21"}),
    )
    .await;
    bot.advance(Duration::days(5)).await; // Mar 9 10:00
    let mut fixed = lodash.clone();
    fixed["state"] = json!("fixed");
    push_domain(
        &mut bot,
        "alert.closed",
        json!({"alert": fixed, "action": "fixed", "actor": "bob"}),
    )
    .await;
    bot.advance(Duration::days(11)).await; // Mar 20 10:00
    push_domain(
        &mut bot,
        "incident.opened",
        json!({"id": 8, "title": "Leaked deploy key", "severity": "critical",
        "opened_at": "2026-03-20T10:00:00Z", "opened_by": "bob", "repository": null, "alert_keys": []}),
    )
    .await;
    push_domain(
        &mut bot,
        "sla.breached",
        json!({"incident_id": 8, "kind": "response",
        "deadline": "2026-03-20T11:00:00Z", "at": "2026-03-20T11:00:00Z"}),
    )
    .await;
    push_domain(
        &mut bot,
        "incident.resolved",
        json!({"id": 8, "at": "2026-03-21T10:00:00Z", "by": "alice", "summary": null}),
    )
    .await;

    // GitHub at the start of April: the critical alert is still open, a new high one, no CodeQL
    // alert, one leaked secret; 4 updates merged in March.
    fake.pages(
        "/repos/acme/app/dependabot/alerts",
        vec![json!([
            alert(1, "critical", "2026-02-01T09:00:00Z", "openssl"),
            alert(6, "high", "2026-03-12T09:00:00Z", "urllib3")
        ])],
    );
    fake.set("/repos/acme/app/code-scanning/alerts", vec![ok(json!([]))]);
    fake.set(
        "/repos/acme/app/secret-scanning/alerts",
        vec![ok(
            json!([{"number": 3, "created_at": "2026-03-30T09:00:00Z", "secret_type_display_name": "AWS Access Key"}]),
        )],
    );
    fake.set("/search/issues", vec![ok(json!({"total_count": 4, "items": []}))]);

    // The monthly audit on the first Monday of April posts March's report.
    bot.clock.set(utc(2026, 4, 6, 8, 59));
    bot.advance(Duration::minutes(1)).await;
    let report = latest(&bot, "audit:report:2");
    assert_eq!(report.title.as_deref(), Some("📊 Security Report - March 2026"));
    let body = report.body.unwrap();
    let expected = [
        "**Report Period:** 2026-03-01 - 2026-03-31",
        "**Prepared by:** Sentinel for monthly audit #1",
        "**Date:** 2026-04-06",
        "| Open Dependabot Alerts | 2 | -1 |",
        "| Open CodeQL Alerts | 0 | -1 |",
        "| Open Secret Scanning Alerts | 1 | +1 |",
        "| Dependencies Updated | 4 | +1 |",
        "| Security Patches Applied | 1 | +1 |",
        "1. acme/app#1 openssl (critical) - open 64d - Status: Open",
        "2. acme/app#6 urllib3 (high) - open 25d - Status: Open",
        "3. acme/app#3 AWS Access Key - open 7d - Status: Open",
        "1. Resolved incident #7 (high) “lodash RCE in acme/app” by bob in 5h - 2026-03-04 - upgraded lodash to 4.17.21",
        "2. Resolved incident #8 (critical) “Leaked deploy key” by alice in 1d - 2026-03-21 - resolved",
        "1. CVE-2026-1234 - lodash - Severity: High - Fixed: 2026-03-09",
        "| Mean Time to Detect (MTTD) | 2h (critical: —) | < 24 hours for critical |",
        "| Mean Time to Acknowledge (MTTA) | 1h | within the response SLA |",
        "| Mean Time to Resolve incidents (MTTR) | 14h 30m | within the resolution SLA |",
        "| Mean Time to Remediate alerts | 6d 2h | within the resolution SLA |",
        "| Vulnerability backlog (open high/critical) | 3 ✅ | < 5 |",
        "| Critical | 0/1 (0%) | 1/1 (100%) | — |",
        "| High | 1/1 (100%) | 1/1 (100%) | 1/1 (100%) (target 7d) |",
        "3 high/critical issues open at the end of March 2026 (target under 5: met). 1 vulnerability fixed and 2 incidents resolved in the period, with 1 SLA breach.",
        "1. Fix acme/app#1 openssl (critical) first.",
    ];
    for line in expected {
        assert!(body.contains(line), "missing `{line}` in\n{body}");
    }
    // Filed as an issue in the report repository, once per period; the checklist item says where.
    let posts: Vec<_> = fake.received().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[1].target, "/repos/acme/security/issues");
    let issue: Value = serde_json::from_str(&posts[1].body).unwrap();
    assert_eq!(issue["title"], "Security Report - March 2026");
    assert_eq!(issue["labels"], json!(["security", "security-report"]));
    assert!(
        issue["body"]
            .as_str()
            .unwrap()
            .starts_with("# Security Report - March 2026\n")
    );
    let run_id: i64 = sqlx::query_scalar("SELECT id FROM audit_runs WHERE schedule = 'monthly'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert!(
        line(&bot, run_id, "report").ends_with("; filed as https://github.com/acme/security/issues/42"),
        "{}",
        line(&bot, run_id, "report")
    );
    let links: Vec<String> = latest(&bot, "audit:report:2")
        .buttons
        .iter()
        .map(|b| b.label.clone())
        .collect();
    assert_eq!(links, ["Open the issue"]);

    // Asking again shows the stored report rather than collecting a new one.
    let printed = bot.command("/audit report 2026-03").await;
    assert_eq!(printed.len(), 1);
    assert_eq!(
        printed[0].message.title.as_deref(),
        Some("📊 Security Report - March 2026")
    );
    assert_eq!(fake.received().iter().filter(|r| r.method == "POST").count(), 2);
    bot.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_private_answer_with_the_usage_and_changes_nothing() {
    let mut bot = start("[plugins.audit_scheduler]\nweekly = { enabled = false }\n").await;
    let cases = [
        (
            "/audit done 99 dependabot",
            "There is no audit run #99.\nUsage: /audit done <run> <item> [note]",
        ),
        (
            "/audit run yearly",
            "`yearly` is not an audit (expected daily, weekly, monthly or quarterly)\nUsage: /audit run <audit>",
        ),
        (
            "/audit run weekly",
            "The weekly audit is disabled (plugins.audit_scheduler.weekly.enabled).",
        ),
        (
            "/audit report 2026-13",
            "`2026-13` is not a month such as 2026-03 or a quarter such as 2026-Q1\nUsage: /audit report [period]",
        ),
        ("/audit report 2026-05", "May 2026 has not started yet."),
        (
            "/audit done daily 1",
            "No daily audit has run yet.\nUsage: /audit done <run> <item> [note]",
        ),
    ];
    for (command, expected) in cases {
        let printed = bot.command_as("alice", command).await;
        assert_eq!(private(&printed), [expected], "{command}");
    }
    let printed = bot.command_as("alice", "/audit skip 1 dependabot").await;
    assert!(private(&printed)[0].to_lowercase().contains("<reason"), "{printed:#?}");
    let printed = bot.command_as("alice", "/audit frobnicate").await;
    assert!(
        private(&printed)[0].contains("/audit status — Show the open audit runs"),
        "{printed:#?}"
    );
    bot.command_as("alice", "/audit run daily").await;
    let printed = bot.command_as("alice", "/audit done 1 nothing").await;
    assert_eq!(
        private(&printed),
        [
            "`nothing` is not an item of this run. Items: 1 dependabot, 2 workflows, 3 secret-scanning, 4 security-log, \
          5 health, 6 auth-failures.\nUsage: /audit done <run> <item> [note]"
        ]
    );
    let printed = bot.command_as("alice", "/audit status").await;
    assert!(private(&printed)[0].starts_with("1 audit run open:"), "{printed:#?}");
    bot.stop().await;
}
