//! What the GitHub door reads of a signed body, in **one** pass of serde_json's parser over it:
//!
//! - that it is one JSON object and nothing else;
//! - that it nests arrays and objects no deeper than [`MAX_DEPTH`]: serde_json refuses to build a
//!   value nested deeper than 128 levels, so a deeper payload that the door stored would fail in
//!   the dispatcher on every attempt and be parked as dead;
//! - `repository.full_name`, for `github.allowed_repositories`;
//! - for a security alert event, the parts of its content key (see [`NewEvent::github_alert_key`]).
//!
//! Everything else is skipped without being built. (This replaced a byte-by-byte depth scan and
//! two typed parses — three passes over the ~10 KB payload, a fifth of the door's CPU.)

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::event::NewEvent;
use crate::ids::DedupKey;

/// The deepest nesting of arrays and objects accepted. GitHub's payloads nest about 6 levels; the
/// dispatcher decodes up to 128.
pub const MAX_DEPTH: usize = 64;

/// Why a body was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Not UTF-8, not JSON, not an object, or a `repository` without a string `full_name`.
    Malformed(String),
}

/// What the door read of a body.
#[derive(Debug)]
pub struct GitHubBody<'a> {
    /// `repository.full_name`, when the body has a repository.
    pub repository: Option<Cow<'a, str>>,
    /// The key parts of the alert object (`alert`, or `repository_advisory` for advisories); `None`
    /// for other events and when the payload has no such object.
    key_parts: Option<Map<String, Value>>,
}

impl GitHubBody<'_> {
    /// The content key of a security alert delivery, as [`NewEvent::github_alert_key`] gives it
    /// for the whole payload; `None` for other events and when a part of the key is missing.
    pub fn alert_key(&self, event: &str) -> Option<DedupKey> {
        let object_name = alert_object(event)?;
        let mut payload = Map::new();
        if let Some(name) = &self.repository {
            payload.insert("repository".to_owned(), json!({ "full_name": name }));
        }
        if let Some(parts) = &self.key_parts {
            payload.insert(object_name.to_owned(), Value::Object(parts.clone()));
        }
        NewEvent::github_alert_key(event, &Value::Object(payload))
    }
}

/// Reads `body` (the `event` delivery's signed bytes) in one pass; see the module documentation.
pub fn read<'a>(body: &'a [u8], event: &str) -> Result<(&'a str, GitHubBody<'a>), BodyError> {
    // JSON is UTF-8: checking that first lets the payload be stored as the very text that was signed.
    let text = std::str::from_utf8(body).map_err(|err| BodyError::Malformed(err.to_string()))?;
    let too_deep = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = Top {
        alert_object: alert_object(event),
        too_deep: &too_deep,
    };
    let read = seed.deserialize(&mut deserializer).and_then(|read| {
        deserializer.end()?;
        Ok(read)
    });
    match read {
        Ok(read) => Ok((text, read)),
        Err(_) if too_deep.get() => Err(BodyError::TooDeep),
        Err(err) => Err(BodyError::Malformed(err.to_string())),
    }
}

/// The object of `event`'s payload that its content key is read from.
fn alert_object(event: &str) -> Option<&'static str> {
    match event {
        "dependabot_alert" | "code_scanning_alert" | "secret_scanning_alert" => Some("alert"),
        "repository_advisory" => Some("repository_advisory"),
        _ => None,
    }
}

/// The fields of the alert object that the key is made of.
const KEY_FIELDS: [&str; 4] = ["number", "ghsa_id", "state", "updated_at"];

/// The top-level object.
struct Top<'c> {
    alert_object: Option<&'static str>,
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = GitHubBody<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = GitHubBody<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut repository: Option<Option<Cow<'de, str>>> = None;
        let mut key_parts = None;
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            if name == "repository" {
                if repository.is_some() {
                    return Err(A::Error::duplicate_field("repository"));
                }
                repository = Some(map.next_value_seed(RepositorySeed {
                    too_deep: self.too_deep,
                })?);
            } else if Some(name.as_ref()) == self.alert_object {
                // The last one counts, as in a `serde_json::Value` of the whole payload.
                key_parts = map.next_value_seed(KeyPartsSeed {
                    too_deep: self.too_deep,
                })?;
            } else {
                map.next_value_seed(Skip::at(2, self.too_deep))?;
            }
        }
        Ok(GitHubBody {
            repository: repository.flatten(),
            key_parts,
        })
    }
}

/// `repository`: `null`, or an object with a string `full_name` (anything else is refused, as
/// the allow-list could not be checked).
struct RepositorySeed<'c> {
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for RepositorySeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for RepositorySeed<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null or an object with a string `full_name`")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut full_name: Option<Cow<'de, str>> = None;
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            if name == "full_name" {
                if full_name.is_some() {
                    return Err(A::Error::duplicate_field("full_name"));
                }
                full_name = Some(map.next_value::<Text<'de>>()?.0);
            } else {
                map.next_value_seed(Skip::at(3, self.too_deep))?;
            }
        }
        full_name.map(Some).ok_or_else(|| A::Error::missing_field("full_name"))
    }
}

/// The alert object: its key fields when it is an object (scalars kept, anything nested kept as
/// `null`, which gives no key part just as the nested value would); `None` when it is not one.
struct KeyPartsSeed<'c> {
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for KeyPartsSeed<'_> {
    type Value = Option<Map<String, Value>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyPartsSeed<'_> {
    type Value = Option<Map<String, Value>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut parts = Map::new();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            if KEY_FIELDS.contains(&name.as_ref()) {
                let value = map.next_value_seed(Scalar {
                    too_deep: self.too_deep,
                })?;
                parts.insert(name.into_owned(), value);
            } else {
                map.next_value_seed(Skip::at(3, self.too_deep))?;
            }
        }
        Ok(Some(parts))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip::at(2, self.too_deep).visit_seq(seq).map(|_| None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A key field's value: a scalar as itself, an array or object (skipped) as `null`.
struct Scalar<'c> {
    too_deep: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Scalar<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scalar<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip::at(3, self.too_deep).visit_map(map).map(|_| Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip::at(3, self.too_deep).visit_seq(seq).map(|_| Value::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
}

/// Any value, checked for depth and dropped as it is read. `depth` is the nesting level an array
/// or object read here would have (the top-level object is level 1).
#[derive(Clone, Copy)]
struct Skip<'c> {
    depth: usize,
    too_deep: &'c Cell<bool>,
}

impl<'c> Skip<'c> {
    fn at(depth: usize, too_deep: &'c Cell<bool>) -> Self {
        Self { depth, too_deep }
    }

    /// The skipper for the values inside an array or object read at this level: an error past
    /// [`MAX_DEPTH`].
    fn inside<E: serde::de::Error>(self) -> Result<Skip<'c>, E> {
        if self.depth > MAX_DEPTH {
            self.too_deep.set(true);
            return Err(E::custom(format!("JSON nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(Skip::at(self.depth + 1, self.too_deep))
    }
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = self.inside()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let inner = self.inside()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(())
    }
}

/// A string, borrowed from the body when it holds no escape (serde's own `Cow<str>` always copies).
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(value.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    fn nested(levels: usize) -> String {
        format!("{}{}", r#"{"a":["#.repeat(levels / 2), "]}".repeat(levels / 2))
    }

    fn key_of(event: &str, text: &str) -> Option<DedupKey> {
        read(text.as_bytes(), event).expect("readable").1.alert_key(event)
    }

    #[test]
    fn counts_arrays_and_objects_but_not_brackets_in_strings() {
        let depth_ok = |text: &str| read(text.as_bytes(), "issues").map(|_| ());
        assert_eq!(depth_ok(r#"{"a":[1,{"b":2}]}"#), Ok(()));
        assert_eq!(depth_ok(r#"{"a":"[[[[[[[[[[\"[[[["}"#), Ok(()));
        assert_eq!(depth_ok(&nested(100_000)), Err(BodyError::TooDeep));
        // Deep under each of the fields the door reads, too.
        for field in ["repository", "alert"] {
            let deep = format!(r#"{{"{field}": {{"x": {}}}}}"#, nested(MAX_DEPTH));
            assert_eq!(
                read(deep.as_bytes(), "dependabot_alert").map(|_| ()),
                Err(BodyError::TooDeep),
                "{field}"
            );
        }
        let deep_key_field = format!(r#"{{"alert": {{"number": {}}}}}"#, nested(MAX_DEPTH));
        assert_eq!(
            read(deep_key_field.as_bytes(), "dependabot_alert").map(|_| ()),
            Err(BodyError::TooDeep)
        );
    }

    #[test]
    fn whatever_passes_the_door_the_dispatcher_can_decode() {
        let deepest = nested(MAX_DEPTH);
        assert!(read(deepest.as_bytes(), "issues").is_ok());
        assert_eq!(
            read(nested(MAX_DEPTH + 2).as_bytes(), "issues").map(|_| ()),
            Err(BodyError::TooDeep)
        );
        // The dispatcher's own decoding of a stored GitHub delivery.
        let event = Event::decode("github", "issues", "github:d-1", &deepest);
        assert!(event.is_ok(), "{event:?}");
        // The reason the check exists: one level past serde_json's limit cannot be decoded.
        assert!(Event::decode("github", "issues", "github:d-2", &nested(130)).is_err());
    }

    #[test]
    fn only_one_json_object_passes() {
        for text in [
            "",
            "[]",
            "\"text\"",
            "{",
            r#"{"a": 1} {"b": 2}"#,
            r#"{"a": 1,}"#,
            r#"{"repository": "acme/web"}"#,
            r#"{"repository": {}}"#,
            r#"{"repository": {"full_name": 7}}"#,
            r#"{"repository": null, "repository": {"full_name": "a/b"}}"#,
        ] {
            assert!(
                matches!(read(text.as_bytes(), "dependabot_alert"), Err(BodyError::Malformed(_))),
                "{text}"
            );
        }
        assert!(matches!(
            read(b"{\"a\": \"\xff\"}", "issues"),
            Err(BodyError::Malformed(_))
        ));
        let (text, body) = read(br#" {"repository": {"id": 1, "full_name": "Acme/Web"}} "#, "issues").expect("object");
        assert_eq!(text, r#" {"repository": {"id": 1, "full_name": "Acme/Web"}} "#);
        assert_eq!(body.repository.as_deref(), Some("Acme/Web"));
        assert_eq!(
            read(br#"{"repository": null}"#, "issues").expect("object").1.repository,
            None
        );
    }

    #[test]
    fn every_real_github_fixture_passes_with_its_repository() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let body = std::fs::read(&path).expect("read");
                let event = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split('.').next());
                let (_, read) = read(&body, event.unwrap_or_default()).expect("a fixture passes");
                let whole: Value = serde_json::from_slice(&body).expect("json");
                let repository = whole
                    .get("repository")
                    .and_then(|r| r.get("full_name"))
                    .and_then(Value::as_str);
                assert_eq!(read.repository.as_deref(), repository, "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 10, "only {seen} fixtures found");
    }

    /// The door reads only the key's fields; the key must be the one the whole payload gives, for
    /// every real alert payload and for the odd shapes (no number, a number of another type, no
    /// repository, a part that is not a string).
    #[test]
    fn the_alert_key_read_from_the_key_fields_is_the_key_of_the_whole_payload() {
        let whole =
            |event: &str, text: &str| NewEvent::github_alert_key(event, &serde_json::from_str(text).expect("json"));
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github");
        let mut real = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let event = name.split('.').next().unwrap_or_default();
            if !name.ends_with(".json") || !event.ends_with("_alert") && event != "repository_advisory" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("fixture");
            let key = key_of(event, &text);
            assert_eq!(key, whole(event, &text), "{name}");
            // (The code and secret scanning fixtures carry no update time, and
            // `repository_vulnerability_alert` is not keyed by content: keyed by their delivery.)
            real += usize::from(key.is_some());
        }
        assert!(real >= 3, "the alert fixtures were read and keyed ({real})");
        for (event, text) in [
            (
                "repository_advisory",
                r#"{"repository_advisory": {"ghsa_id": "GHSA-1234", "state": "published", "updated_at": "2026-01-01T00:00:00Z"}, "repository": {"full_name": "Acme/Web"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": "7", "ghsa_id": "GHSA-x", "state": "open", "updated_at": "t"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7, "state": "open", "updated_at": "t"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7, "state": " ", "updated_at": "t"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7, "state": 3, "updated_at": "t"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "code_scanning_alert",
                r#"{"alert": null, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7, "state": {"nested": ["x"]}, "updated_at": "t"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": [1, 2], "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 1, "state": "open", "updated_at": "t"}, "alert": {"number": 2, "state": "fixed", "updated_at": "u"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7.0, "ghsa_id": "GHSA-y", "state": "open", "updated_at": "t"}, "repository": {"full_name": "A\u002fB"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": -7, "state": "open", "updated_at": "t"}, "repository": null}"#,
            ),
            (
                "secret_scanning_alert",
                r#"{"alert": {"number": 7, "state": "open", "updated_at": "t", "extra": [1, {"deep": true}]}, "repository": {"full_name": "a/b", "id": 1}}"#,
            ),
        ] {
            assert_eq!(key_of(event, text), whole(event, text), "{text}");
        }
    }
}
