//! The plugin: incident events set, re-plan and cancel timers; timers ping, warn and record breaches.
//!
//! Exactly once comes from the core: a timer turns into one inbox event in the transaction that
//! deletes it, and this handler's effects commit with the record that it handled that event. On
//! top, every timer carries its plan's generation and the handler re-reads the incident, so a
//! timer that fired just before an acknowledgement, a re-plan or a resolve committed — already in
//! the inbox, behind the change — does nothing.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use clap::CommandFactory;
use sentinel_bot::config::{Config, ConfigError};
use sentinel_bot::{
    CommandSpec, Cx, DomainEvent, DomainEventPayload, Event, Mention, Message, Plugin, PluginError, Severity,
    Subscriptions, TimerFired,
};

use super::commands::{self, SlaCommand};
use super::config::{Settings, SlaConfig};
use super::plan::{self, Clock, Running, TimerPayload, What};
use super::policy::{Level, Snapshot};
use super::render;
use super::store::{self, Incident, State};
use crate::domain::incident::LIFECYCLE_KINDS;
use crate::domain::{
    self, IncidentAcknowledged, IncidentClosed, IncidentEscalateRequested, IncidentOpened, IncidentReopened,
    IncidentResolved, IncidentSeverityChanged, SlaBreached, SlaDeadline, SlaPing, SlaPlanned, SlaWarning,
};

/// The plugin's name: it keys its timers and its config section.
pub const NAME: &str = "sla_escalator";

/// Watches every incident's deadlines and escalates, one level at a time.
pub struct SlaEscalator {
    pub(super) settings: Arc<Settings>,
}

impl SlaEscalator {
    /// The plugin with checked settings.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }

    /// Builds the plugin from its section, checked against the whole configuration.
    pub fn from_config(section: &SlaConfig, config: &Config) -> Result<Self, Vec<ConfigError>> {
        section.settings(config).map(Self::new)
    }

    /// The people and groups of `level` as mentions, and their names for the `sla.ping` event.
    fn mentions(&self, cx: &Cx<'_>, level: Level) -> (Vec<Mention>, Vec<String>) {
        let names = self.settings.levels.names(level).to_vec();
        let mentions = names
            .iter()
            .map(|name| {
                if cx.directory().has_group(name) {
                    Mention::Group(name.clone())
                } else {
                    Mention::Person(name.clone())
                }
            })
            .collect();
        (mentions, names)
    }

    fn thread_message(&self, incident: &Incident, text: String, mentions: Vec<Mention>) -> Message {
        let mut message =
            Message::new(self.settings.channel.as_str(), text).in_thread(format!("incident:{}", incident.id));
        message.mentions = mentions;
        message
    }

    /// Sets the incident's timers from its snapshot and clocks and announces its deadlines.
    async fn apply_plan(&self, cx: &mut Cx<'_>, incident: &Incident, ping_past: bool) -> Result<(), PluginError> {
        let calendar = incident.snapshot.calendar().map_err(PluginError::failed)?;
        let planned = plan::plan(incident.id, &incident.snapshot, &calendar, &incident.clocks());
        let now = cx.now();
        for timer in plan::collapse(planned, now, ping_past) {
            let payload = TimerPayload {
                incident: incident.id,
                generation: incident.generation,
                what: timer.what,
            };
            cx.set_timer(&timer.key, timer.at, serde_json::to_value(payload)?)
                .await?;
        }
        cx.publish(&SlaPlanned {
            incident_id: incident.id,
            severity: Some(incident.severity()),
            respond_by: Some(incident.respond_by),
            resolve_by: Some(incident.resolve_by),
        })
        .await
    }

    fn snapshot(&self, severity: Severity) -> Snapshot {
        Snapshot {
            severity,
            policy: self.settings.policy(severity).clone(),
            business_hours: self.settings.business_hours.clone(),
        }
    }

    async fn on_domain(&self, cx: &mut Cx<'_>, event: &DomainEvent) -> Result<(), PluginError> {
        if let Some(opened) = domain::read::<IncidentOpened>(event) {
            return self.opened(cx, opened).await;
        }
        if let Some(changed) = domain::read::<IncidentSeverityChanged>(event) {
            return self.severity_changed(cx, changed).await;
        }
        let (id, at, by, then) = if let Some(IncidentAcknowledged(c)) = domain::read(event) {
            (c.id, c.at, c.by, Then::Acknowledge)
        } else if let Some(r) = domain::read::<IncidentResolved>(event) {
            (r.id, r.at, r.by, Then::Pause(State::Resolved))
        } else if let Some(IncidentClosed(c)) = domain::read(event) {
            (c.id, c.at, c.by, Then::Pause(State::Closed))
        } else if let Some(IncidentReopened(c)) = domain::read(event) {
            (c.id, c.at, c.by, Then::Reopen)
        } else if let Some(IncidentEscalateRequested(c)) = domain::read(event) {
            (c.id, c.at, c.by, Then::Escalate)
        } else {
            return Ok(());
        };
        let Some(incident) = store::get(cx.db(), id).await? else {
            tracing::debug!(
                kind = %event.kind,
                incident = id,
                "event for an incident opened before the sla escalator saw it"
            );
            return Ok(());
        };
        // A missing time is the handling time.
        let at = at.unwrap_or_else(|| cx.now());
        match then {
            Then::Acknowledge => self.acknowledged(cx, incident, at).await,
            Then::Pause(state) => self.paused(cx, incident, at, state).await,
            Then::Reopen => self.reopened(cx, incident, at).await,
            Then::Escalate => {
                let by = by.unwrap_or_else(|| "someone".to_owned());
                self.escalate(cx, incident, &by).await
            }
        }
    }

    async fn opened(&self, cx: &mut Cx<'_>, opened: IncidentOpened) -> Result<(), PluginError> {
        let severity = opened.severity;
        let now = cx.now();
        let started_at = opened.opened_at.unwrap_or(now);
        let snapshot = self.snapshot(severity);
        let calendar = snapshot.calendar().map_err(PluginError::failed)?;
        let running = Running {
            since: started_at,
            used: chrono::Duration::zero(),
        };
        let incident = Incident {
            id: opened.id,
            title: opened.title,
            repository: opened.repository.filter(|r| !r.trim().is_empty()),
            respond_by: plan::respond_by(&snapshot, &calendar, started_at),
            resolve_by: plan::resolve_by(&snapshot, &calendar, running),
            snapshot,
            generation: 1,
            state: State::Open,
            started_at,
            acknowledged_at: None,
            response_stopped_at: None,
            response_breached_at: None,
            resolution_breached_at: None,
            resolution_used: chrono::Duration::zero(),
            resolution_resumed_at: Some(started_at),
            level: None,
        };
        if !store::insert(cx.db(), &incident, now).await? {
            return Ok(());
        }
        self.apply_plan(cx, &incident, true).await
    }

    async fn acknowledged(
        &self,
        cx: &mut Cx<'_>,
        mut incident: Incident,
        at: DateTime<Utc>,
    ) -> Result<(), PluginError> {
        if incident.acknowledged_at.is_some() {
            return Ok(());
        }
        incident.acknowledged_at = Some(at);
        incident.response_stopped_at.get_or_insert(at);
        cx.cancel_timers(&format!("incident:{}:respond:", incident.id)).await?;
        let now = cx.now();
        store::save(cx.db(), &incident, now).await?;
        Ok(())
    }

    async fn severity_changed(&self, cx: &mut Cx<'_>, changed: IncidentSeverityChanged) -> Result<(), PluginError> {
        let Some(mut incident) = store::get(cx.db(), changed.id).await? else {
            return Ok(());
        };
        let to = changed.to;
        let from = incident.severity();
        if to == from {
            return Ok(());
        }
        let now = cx.now();
        incident.snapshot = self.snapshot(to);
        incident.generation += 1;
        let calendar = incident.snapshot.calendar().map_err(PluginError::failed)?;
        // The original start time stays: the new policy's deadlines count from the opening.
        incident.respond_by = plan::respond_by(&incident.snapshot, &calendar, incident.started_at);
        if let Some(running) = incident.clocks().resolution {
            incident.resolve_by = plan::resolve_by(&incident.snapshot, &calendar, running);
        }
        cx.cancel_timers(&format!("incident:{}:", incident.id)).await?;
        store::save(cx.db(), &incident, now).await?;
        tracing::info!(incident = incident.id, %from, %to, at = ?changed.at, "sla re-planned");
        if incident.state == State::Open {
            // A rise catches up at once with the new chain's latest due ping; a fall does not
            // re-notify people the higher severity already reached.
            self.apply_plan(cx, &incident, to > from).await?;
        }
        Ok(())
    }

    async fn paused(
        &self,
        cx: &mut Cx<'_>,
        mut incident: Incident,
        at: DateTime<Utc>,
        state: State,
    ) -> Result<(), PluginError> {
        if incident.state == state {
            return Ok(());
        }
        if let (State::Open, Some(since)) = (incident.state, incident.resolution_resumed_at) {
            let calendar = incident.snapshot.calendar().map_err(PluginError::failed)?;
            let business = incident.snapshot.policy.resolve.span(calendar.day_length()).business;
            incident.resolution_used += calendar.elapsed(since, at, business);
            incident.resolution_resumed_at = None;
            incident.response_stopped_at.get_or_insert(at);
        }
        incident.state = state;
        cx.cancel_timers(&format!("incident:{}:", incident.id)).await?;
        let now = cx.now();
        store::save(cx.db(), &incident, now).await?;
        Ok(())
    }

    async fn reopened(&self, cx: &mut Cx<'_>, mut incident: Incident, at: DateTime<Utc>) -> Result<(), PluginError> {
        if incident.state == State::Open {
            return Ok(());
        }
        incident.state = State::Open;
        incident.generation += 1;
        incident.resolution_resumed_at = Some(at);
        if let Some(running) = incident.clocks().resolution {
            let calendar = incident.snapshot.calendar().map_err(PluginError::failed)?;
            incident.resolve_by = plan::resolve_by(&incident.snapshot, &calendar, running);
        }
        let now = cx.now();
        store::save(cx.db(), &incident, now).await?;
        self.apply_plan(cx, &incident, false).await
    }

    async fn escalate(&self, cx: &mut Cx<'_>, mut incident: Incident, by: &str) -> Result<(), PluginError> {
        if incident.state != State::Open {
            return Ok(());
        }
        let level = incident
            .level
            .map(Level::next)
            .unwrap_or_else(|| first_level(&incident));
        let (mentions, names) = self.mentions(cx, level);
        let mut text = render::escalated(&incident, by, level);
        if mentions.is_empty() {
            text.push('\n');
            text.push_str(&render::nobody(level));
        }
        // A person asked for it: silences do not apply.
        let message = self.thread_message(&incident, text, mentions);
        cx.send(message).await?;
        let now = cx.now();
        self.emit_ping(cx, &incident, level, 0, now, names).await?;
        incident.level = Some(level);
        store::save(cx.db(), &incident, now).await?;
        Ok(())
    }

    async fn emit_ping(
        &self,
        cx: &mut Cx<'_>,
        incident: &Incident,
        level: Level,
        step: u32,
        at: DateTime<Utc>,
        mentions: Vec<String>,
    ) -> Result<(), PluginError> {
        cx.publish(&SlaPing {
            incident_id: incident.id,
            level: Some(level.as_str().to_owned()),
            step: Some(step),
            at: Some(at),
            mentions,
        })
        .await
    }

    async fn on_timer(&self, cx: &mut Cx<'_>, fired: &TimerFired) -> Result<(), PluginError> {
        let payload: TimerPayload = match serde_json::from_value(fired.payload.clone()) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::warn!(key = %fired.key, cause = %err, "sla timer with an unreadable payload ignored");
                return Ok(());
            }
        };
        let Some(mut incident) = store::get(cx.db(), payload.incident).await? else {
            return Ok(());
        };
        if incident.generation != payload.generation || incident.state != State::Open {
            tracing::debug!(key = %fired.key, "timer of an older plan or a paused incident ignored");
            return Ok(());
        }
        let now = cx.now();
        let silence = store::silence_for(cx.db(), incident.repository.as_deref(), now).await?;
        match payload.what {
            What::Ping {
                step,
                repeat,
                repeats,
                level,
            } => {
                // The acknowledgement committed first: no ping after it, whatever is in the inbox.
                if incident.response_stopped_at.is_some() {
                    return Ok(());
                }
                // A silenced chain still climbs, so a later breach goes to the right level.
                incident.level = Some(level);
                store::save(cx.db(), &incident, now).await?;
                if let Some(silence) = silence {
                    tracing::info!(
                        incident = incident.id,
                        step,
                        repeat,
                        silence = silence.id,
                        "sla ping silenced"
                    );
                    return Ok(());
                }
                let (mentions, names) = self.mentions(cx, level);
                let text = render::PingText {
                    incident: &incident,
                    step,
                    repeat,
                    repeats,
                    level,
                    due: fired.due_at,
                    now,
                    has_mentions: !mentions.is_empty(),
                }
                .render();
                let message = self.thread_message(&incident, text, mentions);
                cx.send(message).await?;
                self.emit_ping(cx, &incident, level, step, now, names).await
            }
            What::Warning { clock, percent } => {
                let (running, deadline) = match clock {
                    Clock::Response => (
                        incident.response_stopped_at.is_none() && incident.response_breached_at.is_none(),
                        incident.respond_by,
                    ),
                    Clock::Resolution => (incident.resolution_breached_at.is_none(), incident.resolve_by),
                };
                if !running {
                    return Ok(());
                }
                cx.publish(&SlaWarning(deadline_event(&incident, clock, deadline, now)))
                    .await?;
                if silence.is_some() {
                    return Ok(());
                }
                let level = incident.level.unwrap_or_else(|| first_level(&incident));
                let (mentions, _) = self.mentions(cx, level);
                let text = render::warning(&incident, clock, percent, now);
                let message = self.thread_message(&incident, text, mentions);
                cx.send(message).await
            }
            What::Breach { clock } => {
                let deadline = match clock {
                    Clock::Response if incident.response_stopped_at.is_some() => return Ok(()),
                    Clock::Response if incident.response_breached_at.is_some() => return Ok(()),
                    Clock::Resolution if incident.resolution_breached_at.is_some() => return Ok(()),
                    Clock::Response => {
                        incident.response_breached_at = Some(now);
                        incident.respond_by
                    }
                    Clock::Resolution => {
                        incident.resolution_breached_at = Some(now);
                        incident.resolve_by
                    }
                };
                let next = incident
                    .level
                    .map(Level::next)
                    .unwrap_or_else(|| first_level(&incident));
                incident.level = Some(next);
                store::save(cx.db(), &incident, now).await?;
                cx.publish(&SlaBreached(deadline_event(&incident, clock, deadline, now)))
                    .await?;
                // The breach is always posted: a silence only takes the mentions away.
                let (mentions, _) = self.mentions(cx, next);
                let mut text = render::breach(&incident, clock, next);
                let mentions = match &silence {
                    Some(silence) => {
                        text.push(' ');
                        text.push_str(&render::silenced(silence));
                        Vec::new()
                    }
                    None if mentions.is_empty() => {
                        text.push('\n');
                        text.push_str(&render::nobody(next));
                        mentions
                    }
                    None => mentions,
                };
                let message = self.thread_message(&incident, text, mentions);
                cx.send(message).await
            }
        }
    }
}

/// The level the chain starts at, for a breach or escalation before any ping.
fn first_level(incident: &Incident) -> Level {
    incident
        .snapshot
        .policy
        .steps
        .first()
        .map(|s| s.notify)
        .unwrap_or(Level::TeamLead)
}

/// What `sla.warning` and `sla.breached` say about `clock`'s `deadline`.
fn deadline_event(incident: &Incident, clock: Clock, deadline: DateTime<Utc>, now: DateTime<Utc>) -> SlaDeadline {
    SlaDeadline {
        incident_id: incident.id,
        kind: Some(clock.as_str().to_owned()),
        deadline: Some(deadline),
        at: Some(now),
    }
}

/// What an incident's state change does to its SLA.
enum Then {
    Acknowledge,
    Pause(State),
    Reopen,
    Escalate,
}

#[async_trait]
impl Plugin for SlaEscalator {
    fn name(&self) -> &'static str {
        NAME
    }

    fn channels(&self) -> Vec<String> {
        vec![self.settings.channel.clone()]
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec::from_clap(commands::COMMAND, &SlaCommand::command())]
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            domain: LIFECYCLE_KINDS
                .into_iter()
                .chain([IncidentEscalateRequested::KIND])
                .map(str::to_owned)
                .collect(),
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) if command.name == commands::COMMAND => {
                commands::handle(&self.settings, cx, command).await
            }
            Event::Domain(domain_event) => self.on_domain(cx, domain_event).await,
            Event::Timer(fired) => self.on_timer(cx, fired).await,
            _ => Ok(()),
        }
    }
}
