//! Maps one GitHub security webhook delivery to an [`AlertChange`].
//!
//! GitHub reports the same kind of finding through seven differently shaped
//! events; the rest of the bot only wants one shape, keyed so that later
//! deliveries about the same alert update the same incident.
//!
//! [`model`] is that shape, [`config`] the configurable severity vocabularies and workflow
//! filter, [`delivery`] the entry point ([`normalize`]) with the envelope every mapper reads,
//! then one mapper per event (the two advisory events share [`advisory`]), and [`text`] the
//! helpers that clean and word GitHub's values.

mod advisory;
mod code_scanning;
mod config;
mod delivery;
mod dependabot;
mod model;
mod repository_advisory;
mod secret_scanning;
mod security_advisory;
mod text;
mod vulnerability_alert;
mod workflow_run;

pub use config::{SeverityMapping, WorkflowFilter};
pub use delivery::{EVENTS, NormalizeError, normalize};
pub use model::{Alert, AlertChange, AlertSource, AlertState};
