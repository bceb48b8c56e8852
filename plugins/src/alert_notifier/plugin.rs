//! [`AlertNotifier`]: GitHub security webhooks in; alert messages, thread notes and domain events out.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sentinel_bot::{Action, Cx, Event, GitHubDelivery, Message, Plugin, PluginError, Subscriptions, TimerFired};
use serde_json::Value;

use super::config::AlertNotifierConfig;
use super::digest::{self, Timer};
use super::normalize::{self, Alert, AlertChange};
use super::render;
use super::route::{self, Destination};
use super::store::{self, NewChange, StoredAlert};
use crate::domain::{
    AlertAcknowledged, AlertClosed, AlertIncidentRequested, AlertRaised, AlertReopened, AlertTransition,
};

/// The plugin's name, also the `[plugins.alert_notifier]` section.
pub const NAME: &str = "alert_notifier";

/// Posts each GitHub security alert once, keeps that message up to date as the alert changes, and
/// tells other plugins when an alert wants, or no longer needs, an incident.
#[derive(Debug, Clone, Default)]
pub struct AlertNotifier {
    config: AlertNotifierConfig,
}

impl AlertNotifier {
    /// A notifier with `config`.
    pub fn new(config: AlertNotifierConfig) -> Self {
        Self { config }
    }
}

#[async_trait]
impl Plugin for AlertNotifier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn channels(&self) -> Vec<String> {
        let routed = self
            .config
            .routes
            .iter()
            .flat_map(|route| route.channels.iter().cloned());
        let mut channels: Vec<String> = std::iter::once(self.config.channel.clone()).chain(routed).collect();
        channels.sort();
        channels.dedup();
        channels
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: normalize::EVENTS.iter().map(|event| (*event).to_owned()).collect(),
            domain: Vec::new(),
            actions: vec!["alert".to_owned()],
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::GitHub(delivery) => self.on_delivery(cx, delivery).await,
            Event::Action(action) => self.on_action(cx, action).await,
            Event::Timer(fired) => self.on_timer(cx, fired).await,
            _ => Ok(()),
        }
    }
}

impl AlertNotifier {
    async fn on_delivery(&self, cx: &mut Cx<'_>, delivery: &GitHubDelivery) -> Result<(), PluginError> {
        let change = match normalize::normalize(
            &delivery.event,
            &delivery.payload,
            &self.config.severity,
            &self.config.workflows,
        ) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(()),
            Err(err) => {
                // Retrying cannot fix a payload; failing would park it as dead after pointless attempts.
                tracing::warn!(
                    delivery = %delivery.delivery,
                    event = %delivery.event,
                    error = %err,
                    "security webhook ignored: it cannot become an alert"
                );
                return Ok(());
            }
        };
        let now = cx.now();
        match store::find(cx.db(), &change.alert.key).await? {
            None => self.raise(cx, change, now).await,
            Some(stored) if announces_new_alert(&delivery.event, &change.action) => {
                tracing::debug!(
                    delivery = %delivery.delivery,
                    alert = %stored.alert.key,
                    "creation of a known alert: a redelivery, ignored"
                );
                Ok(())
            }
            Some(stored) => self.update(cx, stored, change, now).await,
        }
    }

    /// A new alert: post it to every routed channel — or, in an alert storm there, list it in the
    /// channel's next digest — and announce it.
    async fn raise(&self, cx: &mut Cx<'_>, change: AlertChange, now: DateTime<Utc>) -> Result<(), PluginError> {
        let alert = &change.alert;
        let mut alone = Vec::new();
        let mut digested = Vec::new();
        for destination in route::destinations(&self.config, alert, cx.directory()) {
            if digest::wants_digest(cx, &self.config.digest, alert, &destination.channel, now).await? {
                digested.push(destination);
            } else {
                alone.push(destination);
            }
        }
        store::insert(cx.db(), alert, &alone, now).await?;
        store::record_change(cx.db(), new_change(&change), now).await?;
        for destination in &alone {
            cx.send(render::alert_message(alert, destination)).await?;
        }
        for destination in &digested {
            digest::gather(cx, &self.config.digest, &alert.key, destination, now).await?;
        }
        cx.publish(&AlertRaised(alert.clone())).await?;
        if !alert.state.is_closed() && self.reaches_incident(alert) {
            cx.publish(&incident_requested(alert, None)).await?;
        }
        Ok(())
    }

    /// A known alert changed: edit its messages, note the change in their threads, and announce
    /// what the change means for incidents. The same change delivered again does nothing.
    async fn update(
        &self,
        cx: &mut Cx<'_>,
        stored: StoredAlert,
        change: AlertChange,
        now: DateTime<Utc>,
    ) -> Result<(), PluginError> {
        let StoredAlert {
            alert: previous,
            mut posted,
        } = stored;
        let alert = merge(&previous, &change.alert)?;
        let recorded = NewChange {
            state: alert.state,
            ..new_change(&change)
        };
        if !store::record_change(cx.db(), recorded, now).await? {
            tracing::debug!(alert = %alert.key, action = %change.action, "change already posted, ignored");
            return Ok(());
        }
        let edited = alert != previous;
        for destination in &posted {
            if edited {
                cx.send(render::alert_message(&alert, destination)).await?;
            }
            cx.send(render::note_message(&alert, &destination.channel, &change.note))
                .await?;
        }
        // A digest that shows the alert is edited (and the change noted in its thread) shortly.
        digest::changed(cx, &self.config.digest, &alert.key, now).await?;
        // A change can route the alert somewhere new (its severity rose): post it there in full. A
        // channel whose digest lists it gets its own message only once it is severe enough to
        // stand alone.
        let listed = digest::listed_in(cx, &alert.key).await?;
        let alone = digest::stands_alone(&self.config.digest, &alert);
        let fresh: Vec<Destination> = route::destinations(&self.config, &alert, cx.directory())
            .into_iter()
            .filter(|routed| posted.iter().all(|p| p.channel != routed.channel))
            .filter(|routed| alone || !listed.contains(&routed.channel))
            .collect();
        for destination in &fresh {
            cx.send(render::alert_message(&alert, destination)).await?;
        }
        posted.extend(fresh);
        store::update(cx.db(), &alert, &posted, now).await?;
        self.announce(cx, &previous, &alert, &change).await
    }

    /// Domain events for a change from `previous` to `alert`.
    async fn announce(
        &self,
        cx: &mut Cx<'_>,
        previous: &Alert,
        alert: &Alert,
        change: &AlertChange,
    ) -> Result<(), PluginError> {
        let was_closed = previous.state.is_closed();
        let closed = alert.state.is_closed();
        let transition = || AlertTransition {
            alert: alert.clone(),
            action: change.action.clone(),
            actor: change.actor.clone(),
            grouping_key: grouping_key(alert),
        };
        if closed && !was_closed && self.config.resolve_incidents {
            cx.publish(&AlertClosed(transition())).await?;
        }
        if was_closed && !closed {
            cx.publish(&AlertReopened(transition())).await?;
        }
        // Reopened at incident level, or an open alert whose severity rose to it: either way no
        // incident was asked for while it was below the bar or closed.
        let newly_reaches = was_closed || !self.reaches_incident(previous);
        if !closed && self.reaches_incident(alert) && newly_reaches {
            cx.publish(&incident_requested(alert, None)).await?;
        }
        Ok(())
    }

    fn reaches_incident(&self, alert: &Alert) -> bool {
        alert.severity >= self.config.incident_severity
    }

    /// The digest timers: post a digest, or refresh a posted part after its alerts changed.
    async fn on_timer(&self, cx: &mut Cx<'_>, fired: &TimerFired) -> Result<(), PluginError> {
        match Timer::parse(fired.key.as_str()) {
            Some(Timer::Flush(id)) => digest::flush(cx, &self.config.digest, id).await,
            Some(Timer::Edit(id, part)) => digest::refresh(cx, &self.config.digest, id, part).await,
            None => {
                tracing::warn!(timer = %fired.key, "unknown alert notifier timer");
                Ok(())
            }
        }
    }

    /// The buttons under an alert's message.
    async fn on_action(&self, cx: &mut Cx<'_>, action: &Action) -> Result<(), PluginError> {
        let origin = &action.origin;
        let Some(stored) = store::find_clicked(cx.db(), &action.value).await? else {
            let text = format!("Sentinel does not know the alert `{}` (any more).", action.value);
            return cx.reply_private(origin, Message::reply(text)).await;
        };
        let who = cx.directory().display(&origin.actor);
        let alert = &stored.alert;
        match action.id.as_str() {
            render::ACK => {
                let note = format!("Acknowledged by {who}");
                if self.note(cx, &stored, "acknowledged", &who, &note).await? {
                    cx.reply_private(origin, Message::reply(format!("Acknowledged {}", alert.title)))
                        .await?;
                    let acknowledged = AlertAcknowledged {
                        alert: alert.clone(),
                        by: who,
                        grouping_key: grouping_key(alert),
                    };
                    cx.publish(&acknowledged).await
                } else {
                    let text = format!("You already acknowledged {}", alert.title);
                    cx.reply_private(origin, Message::reply(text)).await
                }
            }
            render::INCIDENT => {
                // Every press is passed on: the incident side groups requests by `grouping_key`, and a
                // person asking again after an incident was closed must be heard.
                cx.publish(&incident_requested(alert, Some(who.clone()))).await?;
                let note = format!("Incident requested by {who}");
                self.note(cx, &stored, "incident_requested", &who, &note).await?;
                let text = format!("Incident requested for {}", alert.title);
                cx.reply_private(origin, Message::reply(text)).await
            }
            other => {
                tracing::warn!(action = other, "unknown alert button");
                cx.reply_private(origin, Message::reply("That button is no longer supported."))
                    .await
            }
        }
    }

    /// Records a change made in chat and notes it in the alert's threads. Returns false (and posts
    /// nothing) when the same person already did the same while the alert was in this state.
    async fn note(
        &self,
        cx: &mut Cx<'_>,
        stored: &StoredAlert,
        action: &str,
        who: &str,
        note: &str,
    ) -> Result<bool, PluginError> {
        let now = cx.now();
        let change = NewChange {
            alert_key: &stored.alert.key,
            action,
            state: stored.alert.state,
            actor: Some(who),
            note,
        };
        if !store::record_change(cx.db(), change, now).await? {
            return Ok(false);
        }
        for destination in &stored.posted {
            cx.send(render::note_message(&stored.alert, &destination.channel, note))
                .await?;
        }
        Ok(true)
    }
}

fn new_change(change: &AlertChange) -> NewChange<'_> {
    NewChange {
        alert_key: &change.alert.key,
        action: &change.action,
        state: change.alert.state,
        actor: change.actor.as_deref(),
        note: &change.note,
    }
}

/// Whether a delivery announces that an alert came into being. GitHub sends that once per alert, so
/// for an alert already stored it is a redelivery — perhaps a late one, after the alert was closed,
/// which must not reopen it. A secret's new location also says `created`, but it is a change to an
/// existing alert.
fn announces_new_alert(event: &str, action: &str) -> bool {
    !event.eq_ignore_ascii_case("secret_scanning_alert_location") && matches!(action, "created" | "create")
}

/// `alert.incident_requested` for `alert`, asked for by a person or (`None`) by its severity.
fn incident_requested(alert: &Alert, requested_by: Option<String>) -> AlertIncidentRequested {
    AlertIncidentRequested {
        alert: alert.clone(),
        grouping_key: grouping_key(alert),
        requested_by,
    }
}

/// Alerts that are one problem share this key, so they can share one incident.
pub fn grouping_key(alert: &Alert) -> String {
    let id = alert
        .ghsa
        .as_deref()
        .or(alert.cve.as_deref())
        .or(alert.rule.as_deref())
        .unwrap_or(alert.key.as_str());
    match &alert.repository {
        Some(repository) => format!("{repository}:{id}"),
        None => id.to_owned(),
    }
}

/// The alert after a change: what the delivery says, with fields it leaves out kept from before.
/// GitHub's payloads about one alert differ in what they carry (a secret's location comes in its own
/// event, a `fixed` delivery may lack the finding's message), and an edit must not blank what the
/// message already showed. Likewise a secret once publicly leaked stays leaked.
pub(super) fn merge(previous: &Alert, current: &Alert) -> Result<Alert, PluginError> {
    let mut merged = serde_json::to_value(current)?;
    let before = serde_json::to_value(previous)?;
    if let (Value::Object(merged), Value::Object(before)) = (&mut merged, &before) {
        for (name, value) in merged.iter_mut() {
            let absent = matches!(value, Value::Null | Value::Bool(false));
            if let (true, Some(earlier)) = (absent, before.get(name)) {
                *value = earlier.clone();
            }
        }
    }
    Ok(serde_json::from_value(merged)?)
}
