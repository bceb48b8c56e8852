//! Unit tests: schedules, periods, checks and the report, without a bot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Datelike, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use sentinel_bot::github::GitHubResponse;
use sentinel_bot::store::timers::{next_occurrence, parse_cron};
use serde_json::json;

use super::checklist::{Cadence, Check, default_cron};
use super::checks::{self, Answer, Context, Verdict};
use super::period::Period;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
}

fn occurrences(cron: &str, tz: Tz, from: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let schedule = parse_cron(cron).unwrap();
    let mut out = Vec::new();
    let mut at = from;
    for _ in 0..n {
        at = next_occurrence(&schedule, tz, at).unwrap();
        out.push(at);
    }
    out
}

#[test]
fn the_monthly_cron_is_the_first_monday_of_every_month_not_every_monday_or_every_first_week_day() {
    // The cron crate ANDs day-of-month and day-of-week, so `1-7 * Mon` is the first Monday.
    let runs = occurrences(default_cron(Cadence::Monthly), Tz::UTC, utc(2026, 1, 1, 0, 0), 12);
    let days: Vec<(u32, u32)> = runs.iter().map(|t| (t.month(), t.day())).collect();
    assert_eq!(
        days,
        [
            (1, 5),
            (2, 2),
            (3, 2),
            (4, 6),
            (5, 4),
            (6, 1),
            (7, 6),
            (8, 3),
            (9, 7),
            (10, 5),
            (11, 2),
            (12, 7)
        ]
    );
    assert!(runs.iter().all(|t| t.weekday() == Weekday::Mon && t.day() <= 7));
}

#[test]
fn the_quarterly_cron_is_the_first_monday_of_each_quarter() {
    let runs = occurrences(default_cron(Cadence::Quarterly), Tz::UTC, utc(2026, 1, 1, 0, 0), 5);
    assert_eq!(
        runs,
        [
            utc(2026, 1, 5, 9, 0),
            utc(2026, 4, 6, 9, 0),
            utc(2026, 7, 6, 9, 0),
            utc(2026, 10, 5, 9, 0),
            utc(2027, 1, 4, 9, 0)
        ]
    );
}

#[test]
fn daily_and_weekly_crons_keep_nine_o_clock_local_across_a_dst_change() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    // Clocks go forward on Sunday 2026-03-29: 09:00 is 08:00 UTC before and 07:00 UTC after.
    let daily = occurrences(default_cron(Cadence::Daily), berlin, utc(2026, 3, 27, 12, 0), 4);
    assert_eq!(
        daily,
        [
            utc(2026, 3, 28, 8, 0),
            utc(2026, 3, 29, 7, 0),
            utc(2026, 3, 30, 7, 0),
            utc(2026, 3, 31, 7, 0)
        ]
    );
    let weekly = occurrences(default_cron(Cadence::Weekly), berlin, utc(2026, 3, 20, 0, 0), 2);
    assert_eq!(weekly, [utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0)]);
}

#[test]
fn periods_parse_print_and_step_in_the_local_zone() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let march: Period = "2026-03".parse().unwrap();
    assert_eq!(march.to_string(), "2026-03");
    assert_eq!(march.label(), "March 2026");
    assert_eq!(march.previous().to_string(), "2026-02");
    assert_eq!("2026-01".parse::<Period>().unwrap().previous().to_string(), "2025-12");
    assert_eq!(march.start(berlin), utc(2026, 2, 28, 23, 0));
    assert_eq!(
        march.end(berlin),
        utc(2026, 3, 31, 22, 0),
        "April starts in summer time"
    );
    let q1: Period = "2026-q1".parse().unwrap();
    assert_eq!(q1.to_string(), "2026-Q1");
    assert_eq!(q1.previous().to_string(), "2025-Q4");
    assert_eq!(q1.last_day().to_string(), "2026-03-31");
    assert_eq!(Period::quarter_of(utc(2026, 4, 6, 9, 0), Tz::UTC).previous(), q1);
    assert!("2026-13".parse::<Period>().is_err());
    assert!("March".parse::<Period>().is_err());
    assert!("2026-Q5".parse::<Period>().is_err());
}

fn context(workflows: &[String]) -> Context<'_> {
    Context {
        now: utc(2026, 3, 2, 9, 0),
        since: utc(2026, 3, 1, 9, 0),
        tz: Tz::UTC,
        security_workflows: workflows,
        token_expiry_warning: chrono::Duration::days(14),
        rate_limit_warning_percent: 10,
    }
}

fn answer(kind: &str, repo: Option<&str>, response: GitHubResponse) -> Answer {
    Answer {
        kind: kind.into(),
        repository: repo.map(str::to_owned),
        response,
    }
}

fn listing(items: serde_json::Value) -> GitHubResponse {
    GitHubResponse {
        ok: true,
        status: Some(200),
        items: serde_json::from_value(items).ok(),
        ..GitHubResponse::default()
    }
}

#[test]
fn dependabot_alerts_are_counted_by_severity_and_new_ones_need_a_person() {
    let alerts = json!([
        {"number": 3, "created_at": "2026-03-01T12:00:00Z", "security_advisory": {"severity": "high"},
         "dependency": {"package": {"name": "lodash"}}},
        {"number": 1, "created_at": "2026-01-10T12:00:00Z", "security_advisory": {"severity": "medium"},
         "dependency": {"package": {"name": "minimist"}}}
    ]);
    let answers = [answer("dependabot_alerts", Some("acme/app"), listing(alerts))];
    let outcome = checks::evaluate(Check::DependabotAlerts, &answers, &context(&[]));
    assert_eq!(outcome.verdict, Verdict::Flagged);
    assert_eq!(
        outcome.evidence,
        "2 Dependabot alerts open — 1 high, 1 medium; 1 new since 2026-03-01 09:00 UTC: acme/app#3 lodash (high)"
    );
    let none = [answer("dependabot_alerts", Some("acme/app"), listing(json!([])))];
    let outcome = checks::evaluate(Check::DependabotAlerts, &none, &context(&[]));
    assert_eq!(
        (outcome.verdict, outcome.evidence.as_str()),
        (Verdict::Checked, "no open Dependabot alerts")
    );
}

#[test]
fn a_failed_answer_never_passes_silently() {
    let refused = GitHubResponse {
        ok: false,
        status: Some(403),
        error: Some("GitHub answered 403 Forbidden: Resource not accessible by integration".into()),
        ..GitHubResponse::default()
    };
    let answers = [
        answer("secret_scanning_alerts", Some("acme/api"), refused),
        answer("secret_scanning_alerts", Some("acme/app"), listing(json!([]))),
    ];
    let leaked = [answer(
        "secret_scanning_alerts",
        Some("acme/app"),
        listing(json!([{"number": 4, "secret_type_display_name": "GitHub Personal Access Token"}])),
    )];
    let outcome = checks::evaluate(Check::SecretScanningAlerts, &leaked, &context(&[]));
    assert_eq!(
        (outcome.verdict, outcome.evidence.as_str()),
        (
            Verdict::Flagged,
            "1 secret-scanning alert open: acme/app#4 GitHub Personal Access Token"
        )
    );
    let outcome = checks::evaluate(Check::SecretScanningAlerts, &answers, &context(&[]));
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert_eq!(
        outcome.evidence,
        "could not check: acme/api: GitHub answered 403 Forbidden: Resource not accessible by integration — \
         the rest: no open secret-scanning alerts"
    );
    // A listing cut short is not a full answer either.
    let truncated = GitHubResponse {
        error: Some("truncated: stopped after 50 pages (github.max_pages); more results exist".into()),
        ..listing(json!([]))
    };
    let outcome = checks::evaluate(
        Check::DependabotPrs,
        &[answer("pulls", Some("acme/app"), truncated)],
        &context(&[]),
    );
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert!(
        outcome.evidence.starts_with("could not check: acme/app: truncated"),
        "{}",
        outcome.evidence
    );
}

#[test]
fn only_failed_security_workflows_since_the_last_run_count() {
    let runs = json!([
        {"name": "CodeQL", "conclusion": "failure", "run_number": 41, "head_branch": "main", "created_at": "2026-03-02T06:02:00Z"},
        {"name": "Deploy", "conclusion": "failure", "run_number": 7, "head_branch": "main", "created_at": "2026-03-02T07:00:00Z"},
        {"name": "Python Security Scanning", "conclusion": "failure", "run_number": 3, "head_branch": "main", "created_at": "2026-02-20T07:00:00Z"}
    ]);
    let workflows = vec!["codeql".to_owned(), "security".to_owned()];
    let outcome = checks::evaluate(
        Check::FailedWorkflows,
        &[answer("workflow_runs", Some("acme/app"), listing(runs))],
        &context(&workflows),
    );
    assert_eq!(outcome.verdict, Verdict::Flagged);
    assert_eq!(
        outcome.evidence,
        "1 failed security workflow run since 2026-03-01 09:00 UTC: CodeQL #41 on main (acme/app, 2026-03-02 06:02 UTC)"
    );
}

#[test]
fn admins_and_outside_collaborators_are_flagged() {
    let all = json!([
        {"login": "alice", "role_name": "admin"},
        {"login": "bob", "permissions": {"admin": false, "push": true}},
        {"login": "eve", "role_name": "write"}
    ]);
    let outside = json!([{"login": "eve"}]);
    // As requested: every repository's full list first, then every repository's outside list.
    let outcome = checks::evaluate(
        Check::Collaborators,
        &[
            answer("collaborators", Some("acme/app"), listing(all)),
            answer(
                "collaborators",
                Some("acme/api"),
                listing(json!([{"login": "alice", "role_name": "admin"}])),
            ),
            answer("outside_collaborators", Some("acme/app"), listing(outside)),
            answer("outside_collaborators", Some("acme/api"), listing(json!([]))),
        ],
        &context(&[]),
    );
    assert_eq!(outcome.verdict, Verdict::Flagged);
    assert_eq!(
        outcome.evidence,
        "acme/app: 3 collaborators; admins: ⚑ alice; outside collaborators: ⚑ eve (write) · \
         acme/api: 1 collaborator; admins: ⚑ alice; no outside collaborators"
    );
}

#[test]
fn the_token_is_flagged_fourteen_days_before_it_expires_and_a_low_rate_limit_is_flagged() {
    let response = |expires: DateTime<Utc>, remaining: u64| GitHubResponse {
        ok: true,
        status: Some(200),
        body: Some(json!({"resources": {"core": {"limit": 5000, "remaining": remaining, "reset": 1772445600}}})),
        token_expiration: Some(expires),
        oauth_scopes: Some("repo, read:org".into()),
        ..GitHubResponse::default()
    };
    let cx = context(&[]);
    let far = checks::evaluate(
        Check::Token,
        &[answer("rate_limit", None, response(utc(2026, 3, 20, 0, 0), 4990))],
        &cx,
    );
    assert_eq!(far.verdict, Verdict::Checked);
    assert_eq!(
        far.evidence,
        "scopes: repo, read:org; token expires 2026-03-20 (in 17d 15h)"
    );
    let near = checks::evaluate(
        Check::Token,
        &[answer("rate_limit", None, response(utc(2026, 3, 15, 0, 0), 4990))],
        &cx,
    );
    assert_eq!(near.verdict, Verdict::Flagged);
    assert!(near.evidence.ends_with("— renew it"), "{}", near.evidence);
    let low = checks::evaluate(
        Check::ApiHealth,
        &[answer("rate_limit", None, response(utc(2026, 6, 1, 0, 0), 120))],
        &cx,
    );
    assert_eq!(low.verdict, Verdict::Flagged);
    assert_eq!(
        low.evidence,
        "GitHub API answered; rate limit 120 of 5000 calls left, resets 2026-03-02 10:00 UTC — low; token expires 2026-06-01 (in 90d 15h)"
    );
}

#[test]
fn webhook_deliveries_report_failures_per_hook() {
    let hooks = json!([{"id": 12, "config": {"url": "https://ci.example/hook"}}]);
    let deliveries = GitHubResponse {
        ok: true,
        status: Some(200),
        body: Some(json!([
            {"id": 1, "hook_id": 12, "delivered_at": "2026-03-02T01:00:00Z", "status": "Bad Gateway", "status_code": 502},
            {"id": 2, "hook_id": 12, "delivered_at": "2026-03-02T02:00:00Z", "status": "OK", "status_code": 200},
            {"id": 3, "hook_id": 12, "delivered_at": "2026-02-01T02:00:00Z", "status": "Bad Gateway", "status_code": 502}
        ])),
        ..GitHubResponse::default()
    };
    let outcome = checks::evaluate(
        Check::WebhookDeliveries,
        &[
            answer("hooks", Some("acme/app"), listing(hooks.clone())),
            answer("hook_deliveries", Some("acme/app"), deliveries),
        ],
        &context(&[]),
    );
    assert_eq!(outcome.verdict, Verdict::Flagged);
    assert_eq!(
        outcome.evidence,
        "1 failed delivery since 2026-03-01 09:00 UTC: acme/app hook 12: 1× 502"
    );
    let followups = checks::hook_followups("acme/app", &hooks.as_array().cloned().unwrap());
    assert_eq!(followups[0].path, "/repos/acme/app/hooks/12/deliveries?per_page=100");
}

#[test]
fn security_log_checks_count_entries_since_the_last_run() {
    let counts = vec![("signature_invalid".to_owned(), 3), ("rate_limited".to_owned(), 1)];
    let cx = context(&[]);
    let auth = checks::evaluate_security_log(Check::AuthFailures, &counts, &cx);
    assert_eq!(auth.verdict, Verdict::Flagged);
    assert_eq!(
        auth.evidence,
        "3 authentication failures since 2026-03-01 09:00 UTC: signature_invalid ×3"
    );
    let all = checks::evaluate_security_log(Check::SecurityLog, &[], &cx);
    assert_eq!(
        (all.verdict, all.evidence.as_str()),
        (Verdict::Checked, "no security log entries since 2026-03-01 09:00 UTC")
    );
}

#[test]
fn checks_ask_for_every_configured_repository_with_pagination() {
    let repos = vec!["acme/app".to_owned(), "acme/api".to_owned()];
    let planned = checks::plan(Check::OpenAlerts, &repos, utc(2026, 3, 1, 9, 0));
    assert_eq!(planned.len(), 6);
    assert!(planned.iter().all(|p| p.paginate));
    assert_eq!(
        planned[0].path,
        "/repos/acme/app/dependabot/alerts?state=open&per_page=100"
    );
    let runs = checks::plan(Check::FailedWorkflows, &repos[..1], utc(2026, 3, 1, 9, 0));
    assert_eq!(
        runs[0].path,
        "/repos/acme/app/actions/runs?status=failure&created=%3E%3D2026-03-01T09:00:00Z&per_page=100"
    );
    assert_eq!(checks::plan(Check::Token, &repos, utc(2026, 3, 1, 9, 0)).len(), 1);
}

#[test]
fn the_default_configuration_resolves_with_the_guides_checklists() {
    let settings = super::AuditConfig::default().resolve("UTC").unwrap();
    assert_eq!(settings.audits.len(), 4);
    let monthly = settings.audit(Cadence::Monthly).unwrap();
    assert_eq!(monthly.items.len(), 10);
    assert_eq!(monthly.items.last().unwrap().check, Some(Check::Report));
    let quarterly = settings.audit(Cadence::Quarterly).unwrap();
    assert!(quarterly.items.iter().any(|i| i.id == "guide-review"));
}

#[test]
fn bad_configuration_is_reported_by_key() {
    let config: super::AuditConfig = toml_like(
        r#"{"time_zone": "Mars/Olympus", "repositories": ["acme"], "weekly": {"cron": "0 9 * * Mon"},
            "daily": {"items": [{"id": "1", "text": "x"}], "remind_after": "2h", "overdue_after": "1h"}}"#,
    );
    let errors = config.resolve("UTC").unwrap_err();
    let keys: Vec<String> = errors.iter().map(|e| e.key.clone()).collect();
    assert_eq!(
        keys,
        [
            "plugins.audit_scheduler.time_zone",
            "plugins.audit_scheduler.repositories",
            "plugins.audit_scheduler.daily.overdue_after",
            "plugins.audit_scheduler.daily.items",
            "plugins.audit_scheduler.weekly.cron",
        ]
    );
}

fn toml_like(json: &str) -> super::AuditConfig {
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_example_configuration_documents_exactly_the_defaults() {
    let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sentinel.example.toml"));
    let table = sentinel_bot::config::load::parse_table(text, "example").unwrap();
    let config = sentinel_bot::config::load::from_table(table).unwrap();
    let section: super::AuditConfig =
        sentinel_bot::config::deserialize_named(config.plugin_section("audit_scheduler"), "plugins.audit_scheduler")
            .unwrap();
    let example = section.resolve(&config.schedule.time_zone).unwrap();
    let defaults = super::AuditConfig::default().resolve("UTC").unwrap();
    assert_eq!(example.audits, defaults.audits);
    assert_eq!(example.channel, defaults.channel);
    assert_eq!(example.resolution_targets, defaults.resolution_targets);
    assert_eq!(example.security_workflows, defaults.security_workflows);
    assert_eq!(example.check_timeout, defaults.check_timeout);
}
