//! The checklists: automatic checks against the fake GitHub (pagination, rate-limit headers, 5xx
//! and 403 answers), people ticking the rest by command or button, reminders and escalation of an
//! incomplete run, and bad input answered privately.

use super::*;

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
    // A concluded item's answers keep only their outcome, not the listings GitHub sent.
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT response FROM audit_requests WHERE run_id = 1 AND item = 'dependabot' ORDER BY id")
            .fetch_all(bot.bot().pool())
            .await
            .unwrap();
    let kept: Vec<Value> = kept.iter().map(|text| serde_json::from_str(text).unwrap()).collect();
    assert!(!kept.is_empty());
    for answer in &kept {
        let mut fields: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["error", "ok", "status"], "{answer}");
    }
    assert!(
        kept.iter()
            .any(|a| a["ok"] == true && a["status"] == 200 && a["error"].is_null()),
        "{kept:?}"
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
    bot.push(support::click(
        "click-1",
        "alice",
        "console",
        "audit.done",
        "1:workflows",
    ))
    .await;
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
