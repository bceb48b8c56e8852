//! The monthly (and quarterly) security report, following the guide's template: the numbers are
//! gathered from GitHub's answers and the plugin's own records, then rendered as Markdown.
//!
//! - [`data`]: what the report shows ([`ReportData`]).
//! - [`gather`]: open alerts, updates and patches from GitHub's answers or the records.
//! - [`kpis`]: mean times, resolutions, fixes and SLA breaches of the period.
//! - [`markdown`]: the Markdown, one function per section of the template.

mod data;
mod gather;
mod kpis;
mod markdown;

pub use data::ReportData;
pub use gather::metrics;
pub(crate) use kpis::kpis;
pub use markdown::{render, title};
