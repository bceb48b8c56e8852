//! What `ping` does: a command, a webhook, a cron schedule and a durable timer.

use async_trait::async_trait;
use sentinel_bot::config::HumanDuration;
use sentinel_bot::{
    Command, CommandSpec, Cx, Event, Message, MissedRun, Origin, Plugin, PluginError, Schedule, SubcommandSpec,
    Subscriptions, TimerFired,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::Settings;
use crate::registry::PluginFactory;

/// The command, without its slash.
const COMMAND: &str = "ping";
/// The daily summary's schedule name.
const SUMMARY: &str = "daily-summary";
/// The counters kept in per-plugin storage.
const PINGS: &str = "pings";
const PUSHES: &str = "pushes";

/// Answers `/ping`, posts pushes and sums them up daily.
pub struct Ping {
    settings: Settings,
}

/// What a `/ping in …` timer carries: where to answer, and the wait to mention.
#[derive(Serialize, Deserialize)]
struct Later {
    origin: Origin,
    wait: String,
}

impl Ping {
    /// The plugin with checked settings.
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }

    async fn on_command(&self, cx: &mut Cx<'_>, command: &Command) -> Result<(), PluginError> {
        let Some(wait) = command.args.strip_prefix("in ") else {
            if !command.args.is_empty() {
                let usage = format!("usage: /{COMMAND} or /{COMMAND} in <duration>");
                return cx.reply_private(&command.origin, Message::reply(usage)).await;
            }
            let n = count(cx, PINGS).await?;
            return cx
                .reply(
                    &command.origin,
                    Message::reply(format!("pong ({n} since the last summary)")),
                )
                .await;
        };
        let max = self.settings.section.max_delay;
        let due = match wait.parse::<HumanDuration>() {
            Ok(wait) if wait.std().is_zero() || wait.std() > max.std() => Err(format!("wait between 1s and {max}")),
            Ok(wait) => chrono::Duration::from_std(wait.std())
                .ok()
                .and_then(|wait| cx.now().checked_add_signed(wait))
                .ok_or_else(|| format!("`{wait}` is too long")),
            Err(err) => Err(err),
        };
        let due = match due {
            Ok(due) => due,
            Err(problem) => return cx.reply_private(&command.origin, Message::reply(problem)).await,
        };
        // A Slack response URL expires after 30 minutes: the later answer goes to the channel.
        let origin = Origin {
            response_url: None,
            ..command.origin.clone()
        };
        let later = Later {
            origin,
            wait: wait.trim().to_owned(),
        };
        let key = format!("later:{}", cx.event_id());
        cx.set_timer(&key, due, serde_json::to_value(&later)?).await?;
        let ack = format!("I will answer in {}", later.wait);
        cx.reply(&command.origin, Message::reply(ack)).await
    }

    async fn on_timer(&self, cx: &mut Cx<'_>, fired: &TimerFired) -> Result<(), PluginError> {
        let later: Later = serde_json::from_value(fired.payload.clone())?;
        count(cx, PINGS).await?;
        let text = format!("pong ({} later)", later.wait);
        cx.reply(&later.origin, Message::reply(text)).await
    }

    async fn on_push(&self, cx: &mut Cx<'_>, push: &Value) -> Result<(), PluginError> {
        let text = |pointer: &str| push.pointer(pointer).and_then(Value::as_str).unwrap_or("?").to_owned();
        let (pusher, repo, branch) = (text("/pusher/name"), text("/repository/full_name"), text("/ref"));
        let commits = push.get("commits").and_then(Value::as_array).map_or(0, Vec::len);
        let line = if push.get("deleted").and_then(Value::as_bool) == Some(true) {
            format!("{pusher} deleted {branch} in {repo}")
        } else {
            format!("{pusher} pushed {commits} commit(s) to {branch} in {repo}")
        };
        count(cx, PUSHES).await?;
        cx.send(Message::new(self.settings.section.channel.as_str(), line))
            .await
    }

    async fn on_summary(&self, cx: &mut Cx<'_>) -> Result<(), PluginError> {
        let pings: u64 = cx.kv_get(PINGS).await?.unwrap_or(0);
        let pushes: u64 = cx.kv_get(PUSHES).await?.unwrap_or(0);
        cx.kv_delete(PINGS).await?;
        cx.kv_delete(PUSHES).await?;
        let line = format!("Since the last summary: {pings} ping(s), {pushes} push(es)");
        cx.send(Message::new(self.settings.section.channel.as_str(), line))
            .await
    }
}

/// Adds one to the counter `key` and returns it.
async fn count(cx: &mut Cx<'_>, key: &str) -> Result<u64, PluginError> {
    let n = cx.kv_get::<u64>(key).await?.unwrap_or(0) + 1;
    cx.kv_set(key, &n).await?;
    Ok(n)
}

#[async_trait]
impl Plugin for Ping {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec {
            name: COMMAND.into(),
            description: "Answers pong, now or later (example plugin)".into(),
            subcommands: vec![SubcommandSpec {
                name: "in".into(),
                usage: "<duration>".into(),
                help: "answer after a while, e.g. 10m".into(),
            }],
        }]
    }

    fn schedules(&self) -> Vec<Schedule> {
        vec![Schedule {
            name: SUMMARY.into(),
            cron: self.settings.section.summary.clone(),
            time_zone: self.settings.time_zone,
            missed: MissedRun::Skip,
        }]
    }

    fn channels(&self) -> Vec<String> {
        vec![self.settings.section.channel.clone()]
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["push".into()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => self.on_command(cx, command).await,
            Event::Timer(fired) => self.on_timer(cx, fired).await,
            Event::Schedule(tick) if tick.name == SUMMARY => self.on_summary(cx).await,
            Event::GitHub(delivery) if delivery.event == "push" => self.on_push(cx, &delivery.payload).await,
            _ => Ok(()),
        }
    }
}
