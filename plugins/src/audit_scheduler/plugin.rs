//! The plugin: runs start on their schedule, automatic checks ask GitHub through the core, people
//! tick the rest, reminders and escalations follow, and the monthly/quarterly report is posted.
//!
//! Over 600 lines: run lifecycle, reporting, reminders and the domain-event ledger still share
//! this file; the split is open under issue 13 item 3.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clap::CommandFactory;
use sentinel_bot::github::{GITHUB_RESPONSE, GitHubRequest, GitHubResponse};
use sentinel_bot::{
    CommandSpec, Cx, Event, Mention, Message, Plugin, PluginError, Schedule, Subscriptions, TimerFired,
};
use serde_json::{Value, json};

use super::checklist::{Cadence, Check};
use super::checks::{self, Answer, Context, Outcome, Verdict};
use super::commands::{self, AuditCommand};
use super::config::Settings;
use super::facts;
use super::period::Period;
use super::render::{self, fmt_time, plural};
use super::report::{self, ReportData};
use super::store::{self, ItemState, ItemUpdate, NewRequest, NewRun};
use crate::domain::{AuditCompleted, AuditOverdue};

/// The plugin's name: it keys its timers and is the `requester` of its GitHub requests.
pub const NAME: &str = "audit_scheduler";

/// Who Sentinel's own ticks are recorded as.
const SENTINEL: &str = "Sentinel";

/// The request kind of filing a report as an issue.
const ISSUE: &str = "issue";

/// The audit scheduler.
pub struct AuditScheduler {
    settings: Settings,
}

impl AuditScheduler {
    /// The plugin with resolved settings.
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    /// Its settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The `/audit` command spec.
    pub fn spec(&self) -> CommandSpec {
        CommandSpec::from_clap("audit", &AuditCommand::command())
    }

    fn channel(&self) -> &str {
        &self.settings.channel
    }

    fn mention(cx: &Cx<'_>, name: &str) -> Mention {
        if cx.directory().has_person(name) && !cx.directory().has_group(name) {
            Mention::Person(name.to_owned())
        } else {
            Mention::Group(name.to_owned())
        }
    }

    // -----------------------------------------------------------------------------------------
    // Runs

    /// Starts a run of `cadence` for the occurrence `due_at`: posts its checklist, asks GitHub for
    /// the automatic checks, sets the reminder and escalation timers. `None` when the occurrence
    /// already has a run (a replayed tick) or the audit is disabled.
    pub async fn start_run(
        &self,
        cx: &mut Cx<'_>,
        cadence: Cadence,
        due_at: DateTime<Utc>,
        late: bool,
        started_by: Option<&str>,
    ) -> Result<Option<i64>, PluginError> {
        let Some(audit) = self.settings.audit(cadence).cloned() else {
            return Ok(None);
        };
        let now = cx.now();
        let since = store::previous_due(cx.db(), cadence, due_at)
            .await?
            .unwrap_or_else(|| cadence.first_since(due_at));
        let new = NewRun {
            cadence,
            due_at,
            started_at: now,
            late,
            started_by,
            since_at: since,
        };
        let Some(run_id) = store::insert_run(cx.db(), &new).await? else {
            return Ok(None);
        };
        let mut pending = 0;
        let mut report_item = None;
        let security_log = sentinel_bot::store::security_log::counts_by_kind_since(cx.db(), since).await?;
        let context = self.context(now, since);
        for (index, spec) in audit.items.iter().enumerate() {
            let position = i64::try_from(index).unwrap_or(i64::MAX) + 1;
            store::insert_item(cx.db(), run_id, position, spec, ItemState::Open).await?;
            let Some(check) = spec.check else { continue };
            let outcome = match check {
                Check::Report => {
                    report_item = Some(spec.id.clone());
                    self.set_state(cx, run_id, &spec.id, ItemState::Checking, None).await?;
                    continue;
                }
                Check::SecurityLog | Check::AuthFailures => {
                    checks::evaluate_security_log(check, &security_log, &context)
                }
                _ if check.needs_repositories() && self.settings.repositories.is_empty() => {
                    Outcome::failed("no repositories configured (plugins.audit_scheduler.repositories)")
                }
                _ => {
                    let planned = checks::plan(check, &self.settings.repositories, since);
                    for request in &planned {
                        self.ask(cx, Some(run_id), None, &spec.id, request).await?;
                    }
                    pending += planned.len();
                    self.set_state(cx, run_id, &spec.id, ItemState::Checking, None).await?;
                    continue;
                }
            };
            self.apply(cx, run_id, &spec.id, &outcome).await?;
        }
        if let Some(item) = &report_item {
            let period = match cadence {
                Cadence::Quarterly => Period::quarter_of(due_at, self.settings.tz).previous(),
                _ => Period::month_of(due_at, self.settings.tz).previous(),
            };
            // A report someone already asked for is not collected twice; the item points at it.
            match store::latest_report(cx.db(), &period.to_string()).await? {
                Some(existing) if existing.posted => {
                    let posted = existing
                        .posted_at
                        .map(|t| fmt_time(t, self.settings.tz))
                        .unwrap_or_default();
                    let mut evidence = format!("posted in {} {posted} (report #{})", self.channel(), existing.id);
                    if let Some(url) = &existing.issue_url {
                        evidence.push_str(&format!("; filed as {url}"));
                    }
                    let outcome = Outcome {
                        verdict: Verdict::Checked,
                        evidence,
                    };
                    self.apply(cx, run_id, item, &outcome).await?;
                }
                _ => {
                    self.start_report(cx, period, Some(run_id), None).await?;
                }
            }
        }
        cx.set_timer(
            &format!("remind:{run_id}"),
            now + audit.remind_after,
            json!({ "run": run_id }),
        )
        .await?;
        cx.set_timer(
            &format!("overdue:{run_id}"),
            now + audit.overdue_after,
            json!({ "run": run_id }),
        )
        .await?;
        if pending > 0 {
            cx.set_timer(
                &format!("checks:{run_id}"),
                now + self.settings.check_timeout,
                json!({ "run": run_id }),
            )
            .await?;
        }
        self.after_change(cx, run_id).await?;
        Ok(Some(run_id))
    }

    fn context(&self, now: DateTime<Utc>, since: DateTime<Utc>) -> Context<'_> {
        Context {
            now,
            since,
            tz: self.settings.tz,
            security_workflows: &self.settings.security_workflows,
            token_expiry_warning: self.settings.token_expiry_warning,
            rate_limit_warning_percent: self.settings.rate_limit_warning_percent,
        }
    }

    /// Enqueues one GitHub request for a run item or a report metric.
    async fn ask(
        &self,
        cx: &mut Cx<'_>,
        run_id: Option<i64>,
        report_id: Option<i64>,
        item: &str,
        planned: &checks::Planned,
    ) -> Result<(), PluginError> {
        let now = cx.now();
        let new = NewRequest {
            run_id,
            report_id,
            item,
            kind: planned.kind,
            repository: planned.repository.as_deref(),
        };
        let correlation = store::insert_request(cx.db(), &new, now).await?;
        let request = if planned.paginate {
            GitHubRequest::list(correlation, planned.path.clone())
        } else {
            GitHubRequest::get(correlation, planned.path.clone())
        };
        cx.github(request).await
    }

    async fn set_state(
        &self,
        cx: &mut Cx<'_>,
        run_id: i64,
        item: &str,
        state: ItemState,
        evidence: Option<&str>,
    ) -> Result<(), PluginError> {
        let now = cx.now();
        let update = ItemUpdate {
            state,
            actor: None,
            at: now,
            note: None,
            evidence,
        };
        store::update_item(cx.db(), run_id, item, &update).await?;
        Ok(())
    }

    /// Records a check's outcome. An item a person already ticked or skipped keeps their word; the
    /// evidence is added beside it.
    async fn apply(&self, cx: &mut Cx<'_>, run_id: i64, item: &str, outcome: &Outcome) -> Result<(), PluginError> {
        let now = cx.now();
        let current = store::items(cx.db(), run_id)
            .await?
            .into_iter()
            .find(|i| i.item == item);
        let Some(current) = current else { return Ok(()) };
        let update = if matches!(current.state, ItemState::Done | ItemState::Skipped) {
            ItemUpdate {
                state: current.state,
                actor: current.actor.as_deref(),
                at: current.at.unwrap_or(now),
                note: None,
                evidence: Some(&outcome.evidence),
            }
        } else {
            ItemUpdate {
                state: match outcome.verdict {
                    Verdict::Checked => ItemState::Checked,
                    Verdict::Flagged => ItemState::Flagged,
                    Verdict::Failed => ItemState::Failed,
                },
                actor: (outcome.verdict == Verdict::Checked).then_some(SENTINEL),
                at: now,
                note: None,
                evidence: Some(&outcome.evidence),
            }
        };
        store::update_item(cx.db(), run_id, item, &update).await?;
        Ok(())
    }

    /// Re-renders a run's checklist after a change, and completes the run when nothing is left.
    pub async fn after_change(&self, cx: &mut Cx<'_>, run_id: i64) -> Result<(), PluginError> {
        let Some(mut run) = store::run(cx.db(), run_id).await? else {
            return Ok(());
        };
        let items = store::items(cx.db(), run_id).await?;
        let tz = self.settings.tz;
        let finished = items.iter().all(|i| i.state.is_finished());
        let just_completed = finished && !run.complete;
        if just_completed {
            let now = cx.now();
            store::complete_run(cx.db(), run_id, now).await?;
            run.complete = true;
            run.completed_at = Some(now);
            for timer in ["remind", "overdue", "checks"] {
                cx.cancel_timer(&format!("{timer}:{run_id}")).await?;
            }
        }
        cx.send(render::checklist(&run, &items, self.channel(), tz)).await?;
        if just_completed {
            let count = |state: ItemState| items.iter().filter(|i| i.state == state).count();
            let mut people: Vec<String> = items
                .iter()
                .filter(|i| matches!(i.state, ItemState::Done | ItemState::Skipped))
                .filter_map(|i| i.actor.clone())
                .collect();
            people.sort();
            people.dedup();
            let mut text = format!(
                "✅ {} complete: {} done by people, {} checked by Sentinel, {} skipped.",
                render::run_title(&run, tz),
                count(ItemState::Done),
                count(ItemState::Checked),
                count(ItemState::Skipped)
            );
            if !people.is_empty() {
                text.push_str(&format!(" Thanks, {}.", people.join(", ")));
            }
            cx.send(Message::new(self.channel(), text).in_thread(render::run_key(run_id)))
                .await?;
            cx.publish(&AuditCompleted {
                run_id,
                audit: run.cadence.as_str().to_owned(),
                completed_at: run.completed_at,
                done_by: people,
            })
            .await?;
        }
        Ok(())
    }

    /// Concludes a run item whose requests have all been answered.
    async fn finish_item(&self, cx: &mut Cx<'_>, run_id: i64, item: &str) -> Result<(), PluginError> {
        let requests = store::item_requests(cx.db(), run_id, item).await?;
        if requests.iter().any(|r| r.state == "pending") {
            return Ok(());
        }
        let Some(run) = store::run(cx.db(), run_id).await? else {
            return Ok(());
        };
        let items = store::items(cx.db(), run_id).await?;
        let Some(check) = items.iter().find(|i| i.item == item).and_then(|i| i.check) else {
            return Ok(());
        };
        let answers: Vec<Answer> = requests.iter().map(answer_of).collect();
        let now = cx.now();
        let outcome = checks::evaluate(check, &answers, &self.context(now, run.since_at));
        self.apply(cx, run_id, item, &outcome).await?;
        store::compact_item_requests(cx.db(), run_id, item).await?;
        self.after_change(cx, run_id).await
    }

    // -----------------------------------------------------------------------------------------
    // GitHub responses

    async fn on_response(&self, cx: &mut Cx<'_>, response: GitHubResponse) -> Result<(), PluginError> {
        let now = cx.now();
        let payload = serde_json::to_value(&response)?;
        let ok = response.ok && response.error.is_none();
        let Some(request) = store::answer_request(cx.db(), &response.correlation, ok, &payload, now).await? else {
            // Unknown or already answered (timed out, or a replay): nothing to do.
            return Ok(());
        };
        if request.kind == checks::HOOKS
            && ok
            && let Some(repo) = request.repository.as_deref()
        {
            let hooks = answer_of(&request).entries();
            for planned in checks::hook_followups(repo, &hooks) {
                self.ask(cx, request.run_id, request.report_id, &request.item, &planned)
                    .await?;
            }
        }
        if let Some(run_id) = request.run_id {
            self.finish_item(cx, run_id, &request.item).await?;
        }
        if let Some(report_id) = request.report_id {
            if request.kind == ISSUE {
                self.on_issue_filed(cx, report_id, &response).await?;
            } else {
                let pending = store::report_requests(cx.db(), report_id)
                    .await?
                    .iter()
                    .any(|r| r.state == "pending" && r.kind != ISSUE);
                if !pending {
                    self.finish_report(cx, report_id).await?;
                }
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Reports

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

    /// The chat message of a report.
    pub fn report_message(&self, period: Period, markdown: &str, issue_url: Option<&str>) -> Message {
        let body = markdown.lines().skip(1).collect::<Vec<_>>().join("\n");
        let mut message = Message::new(self.channel(), report::title(period))
            .title(format!("📊 {}", report::title(period)))
            .body(body.trim().to_owned());
        if let Some(url) = issue_url {
            message = message.button(sentinel_bot::Button::link("Open the issue", url));
        }
        message
    }

    async fn finish_report(&self, cx: &mut Cx<'_>, report_id: i64) -> Result<(), PluginError> {
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
        cx.send(
            self.report_message(period, &markdown, None)
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

    async fn apply_report_item(
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

    async fn on_issue_filed(
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
                    cx.send(
                        self.report_message(period, markdown, Some(&url))
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

    // -----------------------------------------------------------------------------------------
    // Timers

    async fn on_timer(&self, cx: &mut Cx<'_>, fired: &TimerFired) -> Result<(), PluginError> {
        let Some((kind, id)) = fired.key.as_str().split_once(':') else {
            return Ok(());
        };
        let Ok(id) = id.parse::<i64>() else { return Ok(()) };
        let now = cx.now();
        let timeout = render::fmt_duration(self.settings.check_timeout);
        let reason = format!("GitHub did not answer within {timeout}");
        match kind {
            "checks" => {
                for item in store::time_out_requests(cx.db(), Some(id), None, &reason, now).await? {
                    self.finish_item(cx, id, &item).await?;
                }
                Ok(())
            }
            "report" => {
                store::time_out_requests(cx.db(), None, Some(id), &reason, now).await?;
                self.finish_report(cx, id).await
            }
            "remind" => self.remind(cx, id).await,
            "overdue" => self.escalate(cx, id).await,
            _ => Ok(()),
        }
    }

    async fn open_items_text(&self, cx: &mut Cx<'_>, run_id: i64) -> Result<(usize, String), PluginError> {
        let items = store::items(cx.db(), run_id).await?;
        let open: Vec<String> = items
            .iter()
            .filter(|i| !i.state.is_finished())
            .map(|i| format!("{} {}", i.position, i.item))
            .collect();
        Ok((open.len(), open.join(", ")))
    }

    async fn remind(&self, cx: &mut Cx<'_>, run_id: i64) -> Result<(), PluginError> {
        let Some(run) = store::run(cx.db(), run_id).await? else {
            return Ok(());
        };
        if run.complete {
            return Ok(());
        }
        let (left, list) = self.open_items_text(cx, run_id).await?;
        let tz = self.settings.tz;
        let mut message = Message::new(
            self.channel(),
            format!(
                "⏰ Reminder: {} still has {} open: {list}. `/audit done {run_id} <item> [note]` or `/audit skip {run_id} <item> <reason>`.",
                render::run_title(&run, tz),
                plural(left, "item")
            ),
        )
        .in_thread(render::run_key(run_id));
        if let Some(audit) = self.settings.audit(run.cadence) {
            for name in &audit.responsible {
                message = message.mention(Self::mention(cx, name));
            }
        }
        cx.send(message).await?;
        let now = cx.now();
        store::mark_reminded(cx.db(), run_id, now).await?;
        Ok(())
    }

    async fn escalate(&self, cx: &mut Cx<'_>, run_id: i64) -> Result<(), PluginError> {
        let Some(run) = store::run(cx.db(), run_id).await? else {
            return Ok(());
        };
        if run.complete {
            return Ok(());
        }
        let (left, list) = self.open_items_text(cx, run_id).await?;
        let tz = self.settings.tz;
        let now = cx.now();
        let late_by = render::fmt_duration(now - run.started_at);
        let lead = &self.settings.escalate_to;
        let text = format!(
            "🚨 Overdue: {} is still incomplete {late_by} after it started ({} open: {list}). Escalated to {lead}.",
            render::run_title(&run, tz),
            plural(left, "item")
        );
        let message = Message::new(self.channel(), text)
            .title(format!("Overdue audit: {}", render::run_title(&run, tz)))
            .severity(sentinel_bot::Severity::Medium)
            .mention(Self::mention(cx, lead))
            .context(format!("audit #{run_id} · /audit status"));
        cx.send(message).await?;
        store::mark_escalated(cx.db(), run_id, now).await?;
        let open: Vec<String> = store::items(cx.db(), run_id)
            .await?
            .into_iter()
            .filter(|i| !i.state.is_finished())
            .map(|i| i.item)
            .collect();
        cx.publish(&AuditOverdue {
            run_id,
            audit: run.cadence.as_str().to_owned(),
            open_items: open,
            escalated_to: lead.clone(),
            at: now,
        })
        .await
    }
}

/// A stored request as the evaluation sees it.
fn answer_of(request: &store::Request) -> Answer {
    let response = request
        .response
        .clone()
        .and_then(|value| serde_json::from_value::<GitHubResponse>(value).ok())
        .unwrap_or_else(|| GitHubResponse {
            ok: false,
            error: Some("no answer".to_owned()),
            ..GitHubResponse::default()
        });
    Answer {
        kind: request.kind.clone(),
        repository: request.repository.clone(),
        response,
    }
}

#[async_trait]
impl Plugin for AuditScheduler {
    fn name(&self) -> &'static str {
        NAME
    }

    fn channels(&self) -> Vec<String> {
        vec![self.settings.channel.clone()]
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![self.spec()]
    }

    fn schedules(&self) -> Vec<Schedule> {
        self.settings
            .audits
            .iter()
            .map(|audit| Schedule {
                name: audit.cadence.schedule_name(),
                cron: audit.cron.clone(),
                time_zone: self.settings.tz,
                missed: audit.missed,
            })
            .collect()
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: Vec::new(),
            domain: std::iter::once(GITHUB_RESPONSE)
                .chain(facts::CONSUMED)
                .map(str::to_owned)
                .collect(),
            actions: vec!["audit".into()],
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Schedule(tick) => {
                if let Some(cadence) = Cadence::from_schedule_name(&tick.name) {
                    self.start_run(cx, cadence, tick.due_at, tick.late, None).await?;
                }
                Ok(())
            }
            Event::Command(command) => commands::handle(self, cx, command).await,
            Event::Action(action) if action.id == "audit.done" => {
                let Some((run, item)) = action.value.split_once(':') else {
                    return Ok(());
                };
                let who = cx.directory().display(&action.origin.actor);
                commands::tick(self, cx, &action.origin, run, item, &who, ItemState::Done, None).await
            }
            Event::Timer(fired) => self.on_timer(cx, fired).await,
            Event::Domain(domain_event) => match GitHubResponse::for_plugin(event, NAME) {
                Some(response) => self.on_response(cx, response).await,
                None if domain_event.kind == GITHUB_RESPONSE => Ok(()),
                None => facts::record(cx, domain_event).await,
            },
            _ => Ok(()),
        }
    }
}
