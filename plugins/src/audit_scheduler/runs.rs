//! A run's life: it starts on its schedule (or by command), asks GitHub for the automatic checks,
//! applies their answers and people's ticks, and completes; GitHub's answers are routed here.

use chrono::{DateTime, Utc};
use sentinel_bot::github::{GitHubRequest, GitHubResponse};
use sentinel_bot::{Cx, Message, PluginError};
use serde_json::json;

use super::checklist::{Cadence, Check};
use super::checks::{self, Answer, Context, Outcome, Verdict};
use super::period::Period;
use super::plugin::{AuditScheduler, ISSUE, SENTINEL, answer_of};
use super::render::{self, fmt_time};
use super::store::{self, ItemState, ItemUpdate, NewRequest, NewRun};
use crate::domain::AuditCompleted;

impl AuditScheduler {
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

    pub(super) fn context(&self, now: DateTime<Utc>, since: DateTime<Utc>) -> Context<'_> {
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
    pub(super) async fn ask(
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

    pub(super) async fn set_state(
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
    pub(super) async fn apply(
        &self,
        cx: &mut Cx<'_>,
        run_id: i64,
        item: &str,
        outcome: &Outcome,
    ) -> Result<(), PluginError> {
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
    pub(super) async fn finish_item(&self, cx: &mut Cx<'_>, run_id: i64, item: &str) -> Result<(), PluginError> {
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

    pub(super) async fn on_response(&self, cx: &mut Cx<'_>, response: GitHubResponse) -> Result<(), PluginError> {
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
}
