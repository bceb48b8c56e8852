//! Transitional, for `plugins/tests/mention_injection.rs` only (see `fake_chat.rs`): the limits
//! are `sentinel_bot::harness::fakes::limits`.
pub use sentinel_bot::harness::fakes::limits::*;
