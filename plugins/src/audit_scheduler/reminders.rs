//! An incomplete run's reminder and, after `overdue_after`, its escalation.

use sentinel_bot::{Cx, Message, PluginError, TimerFired};

use super::plugin::AuditScheduler;
use super::render::{self, plural};
use super::store::{self};
use crate::domain::AuditOverdue;

impl AuditScheduler {
    pub(super) async fn on_timer(&self, cx: &mut Cx<'_>, fired: &TimerFired) -> Result<(), PluginError> {
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

    pub(super) async fn open_items_text(&self, cx: &mut Cx<'_>, run_id: i64) -> Result<(usize, String), PluginError> {
        let items = store::items(cx.db(), run_id).await?;
        let open: Vec<String> = items
            .iter()
            .filter(|i| !i.state.is_finished())
            .map(|i| format!("{} {}", i.position, i.item))
            .collect();
        Ok((open.len(), open.join(", ")))
    }

    pub(super) async fn remind(&self, cx: &mut Cx<'_>, run_id: i64) -> Result<(), PluginError> {
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

    pub(super) async fn escalate(&self, cx: &mut Cx<'_>, run_id: i64) -> Result<(), PluginError> {
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
