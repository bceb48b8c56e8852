//! The monthly report: a scripted month compared with the previous month's snapshot, filed as a
//! GitHub issue.

use super::*;

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
    let db = sentinel_bot::harness::test_db::TestDb::new().await;
    // Monday 2 March 10:00, just after the first Monday's monthly audit would have run.
    let mut bot = TestBot::start_on_url(
        db.url(),
        &config,
        alone::<AuditScheduler>(&config),
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
