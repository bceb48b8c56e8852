//! Fake platform APIs on 127.0.0.1 for the tests of every crate (feature `fakes`): they record
//! what they receive and answer as the real platforms document.

pub mod github;
pub mod github_alerts;
pub mod github_hooks;
