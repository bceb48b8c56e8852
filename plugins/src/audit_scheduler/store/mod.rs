//! The plugin's tables (migration 0005), one file per table group: [`runs`] (runs and their
//! items), [`requests`] (GitHub requests), [`reports`] (reports and snapshots) and [`ledger`] (its
//! own record of alerts and incidents from domain events). The core's `security_log` is read
//! through `sentinel_bot::store::security_log`.

use chrono::{DateTime, Utc};
use sentinel_bot::store::from_ms;

mod ledger;
mod reports;
mod requests;
mod runs;

pub use ledger::*;
pub use reports::*;
pub use requests::*;
pub use runs::*;

fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}
