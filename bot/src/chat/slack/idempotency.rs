//! Slack has no idempotency key, so Sentinel tags each post with its own: message metadata
//! (`event_type` [`EVENT_TYPE`], payload `{"idempotency_key": …}`), which Slack returns from
//! `conversations.history` / `conversations.replies` with `include_all_metadata=true`. After an
//! attempt whose answer was lost, the adapter looks for the tag before posting again.

use std::collections::HashMap;

use slack_morphism::prelude::SlackMessageMetadata;

/// The metadata event type of Sentinel's posts (Slack allows letters, digits and underscores).
pub const EVENT_TYPE: &str = "sentinel_message";

/// The payload field holding the outbox idempotency key.
const KEY_FIELD: &str = "idempotency_key";

/// Pages of history read when looking for a post whose answer was lost.
pub const PAGES: usize = 3;

/// Messages per page (Slack allows up to 1000; 100 keeps each call cheap). A lost answer is
/// looked for at the next retry, seconds to minutes later, so the post is among the newest.
pub const PAGE_SIZE: u16 = 100;

/// The metadata a post with `key` carries.
pub fn tag(key: &str) -> SlackMessageMetadata {
    SlackMessageMetadata {
        event_type: EVENT_TYPE.to_owned(),
        event_payload: Some(HashMap::from([(KEY_FIELD.to_owned(), key.to_owned())])),
    }
}

/// True when `metadata` is Sentinel's tag for `key`.
pub fn is_tagged(metadata: Option<&SlackMessageMetadata>, key: &str) -> bool {
    metadata.is_some_and(|meta| {
        meta.event_type == EVENT_TYPE
            && meta
                .event_payload
                .as_ref()
                .and_then(|payload| payload.get(KEY_FIELD))
                .is_some_and(|tagged| tagged == key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_matches_its_own_key_only() {
        let tagged = tag("evt:1:slack:C1");
        assert!(is_tagged(Some(&tagged), "evt:1:slack:C1"));
        assert!(!is_tagged(Some(&tagged), "evt:2:slack:C1"));
        assert!(!is_tagged(None, "evt:1:slack:C1"));
        let other = SlackMessageMetadata {
            event_type: "someone_else".into(),
            ..tagged
        };
        assert!(!is_tagged(Some(&other), "evt:1:slack:C1"));
    }
}
