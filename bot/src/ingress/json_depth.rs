//! JSON nesting depth, checked at the door. serde_json refuses to build a value nested deeper than
//! 128 levels, so a deeper payload that the ingress stored would fail in the dispatcher on every
//! attempt and be parked as dead. The ingress refuses it instead, with a 400 that says why.

/// The deepest nesting of arrays and objects accepted. GitHub's payloads nest about 6 levels; the
/// dispatcher decodes up to 128.
pub const MAX_DEPTH: usize = 64;

/// True when `json` nests arrays and objects deeper than `max`. Brackets inside strings do not
/// count; the text need not be valid JSON (that is checked separately). One pass, no allocation.
pub fn deeper_than(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    fn nested(levels: usize) -> String {
        format!("{}{}", r#"{"a":["#.repeat(levels / 2), "]}".repeat(levels / 2))
    }

    #[test]
    fn counts_arrays_and_objects_but_not_brackets_in_strings() {
        assert!(!deeper_than(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(deeper_than(br#"{"a":[1,{"b":[2]}]}"#, 3));
        assert!(!deeper_than(br#"{"a":"[[[[[[[[[[\"[[[["}"#, 1));
        assert!(!deeper_than(b"", 0));
        assert!(deeper_than(nested(100_000).as_bytes(), MAX_DEPTH));
    }

    #[test]
    fn whatever_passes_the_door_the_dispatcher_can_decode() {
        let deepest = nested(MAX_DEPTH);
        assert!(!deeper_than(deepest.as_bytes(), MAX_DEPTH));
        assert!(deeper_than(nested(MAX_DEPTH + 2).as_bytes(), MAX_DEPTH));
        // The dispatcher's own decoding of a stored GitHub delivery.
        let event = Event::decode("github", "issues", "github:d-1", &deepest);
        assert!(event.is_ok(), "{event:?}");
        // The reason the check exists: one level past serde_json's limit cannot be decoded.
        assert!(Event::decode("github", "issues", "github:d-2", &nested(130)).is_err());
    }

    #[test]
    fn every_real_github_fixture_passes() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let body = std::fs::read(&path).expect("read");
                assert!(!deeper_than(&body, MAX_DEPTH), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 10, "only {seen} fixtures found");
    }
}
