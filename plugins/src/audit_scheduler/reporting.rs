//! The monthly and quarterly security report: collecting GitHub's numbers, posting the report and
//! filing it as an issue.

use sentinel_bot::github::{GitHubRequest, GitHubResponse};
use sentinel_bot::{Cx, Message, PluginError};
use serde_json::{Value, json};

use super::checklist::{Cadence, Check};
use super::checks::{self, Answer, Outcome, Verdict};
use super::period::Period;
use super::plugin::{AuditScheduler, ISSUE, answer_of};
use super::render::fmt_time;
use super::report::{self, ReportData};
use super::store::{self, NewRequest};

impl AuditScheduler {
    /// Starts collecting the report of `period`. Returns its id and how many GitHub requests it
    /// waits for (none: it was posted at once).
    pub async fn start_report(
        &self,
        cx: &mut Cx<'_>,
        period: Period,
        run_id: Option<i64>,
        requested_by: Option<&str>,
    ) -> Result<(i64, usize), PluginError> {
        let now = cx.now();
        let tz = self.settings.tz;
        let report_id = store::insert_report(cx.db(), &period.to_string(), run_id, requested_by, now).await?;
        let mut planned = Vec::new();
        let end = period.is_complete(now, tz).then(|| period.end(tz));
        for repo in &self.settings.repositories {
            for kind in [
                checks::DEPENDABOT_ALERTS,
                checks::CODE_SCANNING_ALERTS,
                checks::SECRET_SCANNING_ALERTS,
            ] {
                planned.push(checks::Planned {
                    kind,
                    repository: Some(repo.clone()),
                    path: checks::alerts_path(kind, repo),
                    paginate: true,
                });
            }
            planned.push(checks::Planned {
                kind: checks::MERGED_UPDATES,
                repository: Some(repo.clone()),
                path: checks::merged_updates_path(repo, period.start(tz), end),
                paginate: false,
            });
        }
        for request in &planned {
            self.ask(cx, None, Some(report_id), request.kind, request).await?;
        }
        if planned.is_empty() {
            self.finish_report(cx, report_id).await?;
        } else {
            cx.set_timer(
                &format!("report:{report_id}"),
                now + self.settings.check_timeout,
                json!({ "report": report_id }),
            )
            .await?;
        }
        Ok((report_id, planned.len()))
    }

    /// The chat message of a report; with the web status page on (`web` is its `public_url`), a
    /// button opens the report there, with its charts.
    pub fn report_message(
        &self,
        period: Period,
        markdown: &str,
        issue_url: Option<&str>,
        web: Option<&str>,
    ) -> Message {
        let body = markdown.lines().skip(1).collect::<Vec<_>>().join("\n");
        let mut message = Message::new(self.channel(), report::title(period))
            .title(format!("📊 {}", report::title(period)))
            .body(body.trim().to_owned());
        if let Some(url) = issue_url {
            message = message.button(sentinel_bot::Button::link("Open the issue", url));
        }
        if let Some(base) = web {
            let url = format!("{base}/web/reports/{period}");
            message = message.button(sentinel_bot::Button::link("Open with charts", url));
        }
        message
    }

    pub(super) async fn finish_report(&self, cx: &mut Cx<'_>, report_id: i64) -> Result<(), PluginError> {
        let Some(report) = store::report(cx.db(), report_id).await? else {
            return Ok(());
        };
        if report.posted {
            return Ok(());
        }
        let Ok(period) = report.period.parse::<Period>() else {
            return Err(PluginError::failed(format!(
                "stored report period `{}` is unreadable",
                report.period
            )));
        };
        cx.cancel_timer(&format!("report:{report_id}")).await?;
        let tz = self.settings.tz;
        let now = cx.now();
        let (start, end) = (period.start(tz), period.end(tz));
        let answers: Vec<Answer> = store::report_requests(cx.db(), report_id)
            .await?
            .iter()
            .filter(|r| r.kind != ISSUE)
            .map(answer_of)
            .collect();
        let open_records = store::open_alerts(cx.db()).await?;
        let closed = store::alerts_closed_between(cx.db(), start, end).await?;
        let raised = store::alerts_raised_between(cx.db(), start, end).await?;
        let (current, severe_open, medium_open, notes) =
            report::metrics(&answers, &self.settings.repositories, &open_records, &closed);
        let previous = store::snapshot(cx.db(), &period.previous().to_string()).await?;
        let incidents = store::incidents_touching(cx.db(), start, end).await?;
        let mut runs = Vec::new();
        for run in store::runs_between(cx.db(), start, end).await? {
            let items = store::items(cx.db(), run.id).await?;
            runs.push((run, items));
        }
        let mut upcoming = Vec::new();
        for audit in &self.settings.audits {
            if matches!(audit.cadence, Cadence::Monthly | Cadence::Quarterly)
                && let Ok(cron) = sentinel_bot::store::timers::parse_cron(&audit.cron)
                && let Some(next) = sentinel_bot::store::timers::next_occurrence(&cron, tz, now)
            {
                upcoming.push((format!("Next {}", audit.cadence.title().to_lowercase()), next));
            }
        }
        let mut prepared_by = String::from("Sentinel");
        if let Some(run_id) = report.run_id {
            prepared_by.push_str(&format!(" for {} #{run_id}", period.kind()));
            prepared_by = prepared_by
                .replace("monthly #", "monthly audit #")
                .replace("quarterly #", "quarterly review #");
        }
        if let Some(who) = &report.requested_by {
            prepared_by.push_str(&format!(", requested by {who}"));
        }
        if !period.is_complete(now, tz) {
            prepared_by.push_str(&format!(" (period to date, as of {})", fmt_time(now, tz)));
        }
        let data = ReportData {
            period,
            tz,
            now,
            prepared_by,
            current: current.clone(),
            previous,
            notes,
            severe_open,
            medium_open,
            incidents,
            closed_alerts: closed,
            raised_alerts: raised,
            runs,
            backlog_target: self.settings.backlog_target,
            resolution_targets: self.settings.resolution_targets.clone(),
            repositories: self.settings.repositories.clone(),
            upcoming,
        };
        let markdown = report::render(&data);
        if !store::post_report(cx.db(), report_id, &markdown, now).await? {
            return Ok(());
        }
        store::compact_report_requests(cx.db(), report_id).await?;
        // The first report of a finished period fixes the numbers the next period is compared with.
        let key = period.to_string();
        if period.is_complete(now, tz) && store::snapshot(cx.db(), &key).await?.is_none() {
            store::save_snapshot(cx.db(), &key, &current, now).await?;
        }
        let web = web_base(cx);
        cx.send(
            self.report_message(period, &markdown, None, web.as_deref())
                .keyed(format!("audit:report:{report_id}")),
        )
        .await?;
        let filing = match &self.settings.report_repository {
            Some(repo) if period.is_complete(now, tz) && !store::period_has_issue(cx.db(), &key).await? => {
                let correlation = store::insert_request(
                    cx.db(),
                    &NewRequest {
                        run_id: None,
                        report_id: Some(report_id),
                        item: ISSUE,
                        kind: ISSUE,
                        repository: Some(repo),
                    },
                    now,
                )
                .await?;
                let body = json!({
                    "title": report::title(period),
                    "body": markdown,
                    "labels": self.settings.report_labels,
                });
                cx.github(GitHubRequest::post(correlation, format!("/repos/{repo}/issues"), body))
                    .await?;
                Some(repo.clone())
            }
            _ => None,
        };
        if let Some(run_id) = report.run_id {
            let mut evidence = format!("posted in {} {}", self.channel(), fmt_time(now, tz));
            if let Some(repo) = &filing {
                evidence.push_str(&format!("; filing it as an issue in {repo}"));
            }
            self.apply_report_item(cx, run_id, Verdict::Checked, &evidence).await?;
        }
        Ok(())
    }

    pub(super) async fn apply_report_item(
        &self,
        cx: &mut Cx<'_>,
        run_id: i64,
        verdict: Verdict,
        evidence: &str,
    ) -> Result<(), PluginError> {
        let items = store::items(cx.db(), run_id).await?;
        let Some(item) = items.iter().find(|i| i.check == Some(Check::Report)) else {
            return Ok(());
        };
        let outcome = Outcome {
            verdict,
            evidence: evidence.to_owned(),
        };
        self.apply(cx, run_id, &item.item, &outcome).await?;
        self.after_change(cx, run_id).await
    }

    pub(super) async fn on_issue_filed(
        &self,
        cx: &mut Cx<'_>,
        report_id: i64,
        response: &GitHubResponse,
    ) -> Result<(), PluginError> {
        let Some(report) = store::report(cx.db(), report_id).await? else {
            return Ok(());
        };
        let tz = self.settings.tz;
        let posted = report.posted_at.map(|t| fmt_time(t, tz)).unwrap_or_default();
        let repo = self.settings.report_repository.clone().unwrap_or_default();
        let url = response
            .body
            .as_ref()
            .and_then(|b| b.get("html_url"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (verdict, evidence, text) = match (response.ok, url) {
            (true, Some(url)) => {
                store::set_issue_url(cx.db(), report_id, &url).await?;
                if let (Some(markdown), Ok(period)) = (&report.markdown, report.period.parse::<Period>()) {
                    let web = web_base(cx);
                    cx.send(
                        self.report_message(period, markdown, Some(&url), web.as_deref())
                            .keyed(format!("audit:report:{report_id}")),
                    )
                    .await?;
                }
                (
                    Verdict::Checked,
                    format!("posted in {} {posted}; filed as {url}", self.channel()),
                    format!("Filed as {url}"),
                )
            }
            _ => {
                let reason = response
                    .error
                    .clone()
                    .unwrap_or_else(|| "GitHub gave no issue link".to_owned());
                (
                    Verdict::Flagged,
                    format!(
                        "posted in {} {posted}; could not file it as an issue in {repo}: {reason}",
                        self.channel()
                    ),
                    format!("Could not file the report as an issue in {repo}: {reason}"),
                )
            }
        };
        cx.send(Message::new(self.channel(), text).in_thread(format!("audit:report:{report_id}")))
            .await?;
        store::compact_report_requests(cx.db(), report_id).await?;
        if let Some(run_id) = report.run_id {
            self.apply_report_item(cx, run_id, verdict, &evidence).await?;
        }
        Ok(())
    }
}

/// The web status page's address, when `[web]` is configured.
pub(super) fn web_base(cx: &Cx<'_>) -> Option<String> {
    cx.config().web.as_ref().map(|web| web.base_url().to_owned())
}
