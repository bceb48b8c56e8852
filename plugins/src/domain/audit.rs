//! Audit events, emitted by the audit scheduler.

use chrono::{DateTime, Utc};
use sentinel_bot::DomainEventPayload;
use serde::{Deserialize, Serialize};

/// `audit.completed` — every item of an audit run is done, checked or skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditCompleted {
    /// The run.
    pub run_id: i64,
    /// `daily`, `weekly`, `monthly` or `quarterly`.
    pub audit: String,
    /// When the run completed.
    #[serde(default, with = "super::time::lenient")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Who did the items people did, sorted.
    #[serde(default)]
    pub done_by: Vec<String>,
}

impl DomainEventPayload for AuditCompleted {
    const KIND: &'static str = "audit.completed";
}

/// `audit.overdue` — an audit run is still incomplete after its `overdue_after` and was escalated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditOverdue {
    /// The run.
    pub run_id: i64,
    /// `daily`, `weekly`, `monthly` or `quarterly`.
    pub audit: String,
    /// The items still open.
    #[serde(default)]
    pub open_items: Vec<String>,
    /// Who it was escalated to.
    pub escalated_to: String,
    /// When.
    #[serde(with = "super::time")]
    pub at: DateTime<Utc>,
}

impl DomainEventPayload for AuditOverdue {
    const KIND: &'static str = "audit.overdue";
}
