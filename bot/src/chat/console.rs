//! The console adapter: prints messages readably; the bot reads slash commands from stdin.
//!
//! A space opens with a line `── opened #<name> (space <key>) ──` (and who was asked in); its
//! messages then print under `#<name>`, the space's name standing in for a channel id.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{ChatAdapter, Delivered, Delivery, DeliveryError, Directory, OpenedSpace, SpaceRequest, Target};
use crate::ids::Platform;
use crate::message::Message;

/// One message as the console printed it, kept for tests and the demo.
#[derive(Debug, Clone, PartialEq)]
pub struct Printed {
    /// The logical channel.
    pub channel: String,
    /// The message id the console gave it (an edit carries the id of the message it edits).
    pub message_id: String,
    /// New, edit, thread reply or ephemeral.
    pub kind: PrintedKind,
    /// The message.
    pub message: Message,
    /// Exactly what was printed.
    pub text: String,
}

/// How a printed message relates to earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintedKind {
    /// A new message.
    New,
    /// An edit of the message with `message_id`.
    Edit,
    /// A reply in the thread of `parent`.
    Reply {
        /// The parent's message id.
        parent: String,
    },
    /// Only `user` sees it.
    Ephemeral {
        /// Who.
        user: String,
    },
    /// A space was opened; `channel` is its name, under which its messages print.
    Opened {
        /// The space's key.
        space: String,
    },
}

/// Where the console writes.
#[derive(Clone)]
pub enum ConsoleSink {
    /// Standard output.
    Stdout,
    /// A shared list, for tests and the demo; also echoed to stdout when `echo` is set.
    Memory {
        /// What was printed, in order.
        printed: Arc<Mutex<Vec<Printed>>>,
        /// Also print to stdout.
        echo: bool,
    },
}

impl ConsoleSink {
    /// A memory sink and the list it fills.
    pub fn memory(echo: bool) -> (Self, Arc<Mutex<Vec<Printed>>>) {
        let printed = Arc::new(Mutex::new(Vec::new()));
        (
            ConsoleSink::Memory {
                printed: printed.clone(),
                echo,
            },
            printed,
        )
    }
}

/// Prints each message with a header line naming its channel and how it relates to earlier ones.
pub struct ConsoleAdapter {
    sink: ConsoleSink,
    directory: Arc<Directory>,
}

impl ConsoleAdapter {
    /// An adapter writing to `sink`, rendering mentions with `directory`.
    pub fn new(sink: ConsoleSink, directory: Arc<Directory>) -> Self {
        Self { sink, directory }
    }

    fn print(&self, printed: Printed) -> Result<(), DeliveryError> {
        let text = printed.text.clone();
        let echo = match &self.sink {
            ConsoleSink::Stdout => true,
            ConsoleSink::Memory { printed: list, echo } => {
                if let Ok(mut list) = list.lock() {
                    list.push(printed);
                }
                *echo
            }
        };
        if echo {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}").map_err(|err| DeliveryError::Retry {
                after: None,
                reason: format!("cannot write to stdout: {err}"),
            })?;
        }
        Ok(())
    }
}

#[async_trait]
impl ChatAdapter for ConsoleAdapter {
    fn platform(&self) -> Platform {
        Platform::Console
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        // The idempotency key is unique per outbox row, so it serves as a stable message id.
        let (message_id, kind, header) = match delivery.target {
            Target::New => (delivery.idempotency_key.to_owned(), PrintedKind::New, String::new()),
            Target::Update { message_id } => (message_id.to_owned(), PrintedKind::Edit, " · updated".to_owned()),
            Target::Reply { parent_id } => (
                delivery.idempotency_key.to_owned(),
                PrintedKind::Reply {
                    parent: parent_id.to_owned(),
                },
                " · thread reply".to_owned(),
            ),
            Target::Ephemeral { user, .. } => (
                delivery.idempotency_key.to_owned(),
                PrintedKind::Ephemeral { user: user.to_owned() },
                format!(" · only {user} sees this"),
            ),
        };
        let body = delivery
            .message
            .to_plain_text(|m| self.directory.render_mention(Platform::Console, m));
        let text = format!("── #{}{header} ──\n{body}", delivery.channel);
        self.print(Printed {
            channel: delivery.channel.to_owned(),
            message_id: message_id.clone(),
            kind,
            message: delivery.message.clone(),
            text,
        })?;
        Ok(Delivered { message_id })
    }

    /// Prints the opening line; the space's name is its channel id here.
    async fn open_space(&self, request: SpaceRequest<'_>) -> Result<OpenedSpace, DeliveryError> {
        let space = request.space;
        let name = space.name.trim().to_owned();
        let mut text = format!("── opened #{name} (space {}) ──", space.key);
        if !space.members.is_empty() {
            let members: Vec<String> = space
                .members
                .iter()
                .map(|m| match self.directory.mention_of(m) {
                    Some(mention) => self.directory.render_mention(Platform::Console, &mention),
                    None => format!("@{m}"),
                })
                .collect();
            text.push_str(&format!("\nwith {}", members.join(" ")));
        }
        self.print(Printed {
            channel: name.clone(),
            message_id: request.idempotency_key.to_owned(),
            kind: PrintedKind::Opened {
                space: space.key.to_string(),
            },
            message: Message::new(space.channel(), text.clone()),
            text,
        })?;
        Ok(OpenedSpace { channel_id: name })
    }
}

/// Reads slash commands typed on stdin (`/incident declare high Title`) and submits them as
/// commands from `user` in the `console` channel, until stdin closes or shutdown.
pub async fn read_commands(
    ingest: crate::pipeline::ingest::Ingest,
    clock: crate::clock::SharedClock,
    user: String,
    mut shutdown: crate::pipeline::Shutdown,
) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    // Commands typed in different runs must never share a dedup key.
    let session = clock.now().timestamp_nanos_opt().unwrap_or_default();
    let mut typed = 0u64;
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            _ = shutdown.wait() => return,
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(cause = %err, "cannot read stdin; console commands disabled");
                return;
            }
        };
        let Some(command) = parse_console_line(&line, &user) else {
            if !line.trim().is_empty() {
                println!("Type a slash command, e.g. /sentinel help");
            }
            continue;
        };
        typed += 1;
        let event = match crate::event::NewEvent::command(&format!("{session}:{typed}"), &command) {
            Ok(event) => event,
            Err(err) => {
                tracing::error!(cause = %err, "cannot encode console command");
                continue;
            }
        };
        if let Err(err) = ingest.submit(event).await {
            println!("Command not accepted: {err}");
        }
    }
}

/// Parses `/name args…` typed at the console into a command from `user`.
pub fn parse_console_line(line: &str, user: &str) -> Option<crate::event::Command> {
    let rest = line.trim().strip_prefix('/')?;
    let (name, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if name.is_empty() {
        return None;
    }
    Some(crate::event::Command {
        name: name.to_owned(),
        args: args.trim().to_owned(),
        origin: crate::event::Origin {
            actor: crate::event::Actor {
                platform: Platform::Console,
                id: user.to_owned(),
                name: user.to_owned(),
                groups: Vec::new(),
            },
            channel: "console".to_owned(),
            response_url: None,
        },
    })
}
