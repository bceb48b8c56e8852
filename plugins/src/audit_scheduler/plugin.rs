//! The plugin: what it subscribes to and where each event goes. Runs (`runs`), reports
//! (`reporting`), reminders (`reminders`) and other plugins' facts (`facts`) each have their file.

use async_trait::async_trait;
use clap::CommandFactory;
use sentinel_bot::github::{GITHUB_RESPONSE, GitHubResponse};
use sentinel_bot::{CommandSpec, Cx, Event, Mention, Plugin, PluginError, Schedule, Subscriptions};

use super::checklist::Cadence;
use super::checks::Answer;
use super::commands::{self, AuditCommand};
use super::config::Settings;
use super::facts;
use super::store::{self, ItemState};

/// The plugin's name: it keys its timers and is the `requester` of its GitHub requests.
pub const NAME: &str = "audit_scheduler";

/// Who Sentinel's own ticks are recorded as.
pub(super) const SENTINEL: &str = "Sentinel";

/// The request kind of filing a report as an issue.
pub(super) const ISSUE: &str = "issue";

/// The audit scheduler.
pub struct AuditScheduler {
    pub(super) settings: Settings,
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

    pub(super) fn channel(&self) -> &str {
        &self.settings.channel
    }

    pub(super) fn mention(cx: &Cx<'_>, name: &str) -> Mention {
        if cx.directory().has_person(name) && !cx.directory().has_group(name) {
            Mention::Person(name.to_owned())
        } else {
            Mention::Group(name.to_owned())
        }
    }
}

/// A stored request as the evaluation sees it.
pub(super) fn answer_of(request: &store::Request) -> Answer {
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
                .chain(facts::consumed())
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
                let request = commands::Tick {
                    origin: &action.origin,
                    run,
                    item,
                    who: &who,
                    state: ItemState::Done,
                    note: None,
                };
                commands::tick(self, cx, &request).await
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
