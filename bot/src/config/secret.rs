//! A secret value that never prints itself.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A token, signing secret or key. `Debug` and `Display` print `[REDACTED]`; the value is reached
/// only through [`Secret::expose`], so it cannot slip into a log line by formatting.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for signing and authenticating only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the value is empty (an unset variable, an empty string in the file).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}
