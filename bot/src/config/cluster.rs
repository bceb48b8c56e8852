//! `[cluster]`: how an instance takes part when several share one PostgreSQL database.
//!
//! Every option has a default, and a single instance (the SQLite default) needs none of them.

use serde::Deserialize;

use super::duration::HumanDuration;

/// `[cluster]`: this instance's name, its claims on work in flight and its heartbeat. See the README,
/// "Running several instances".
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// This instance's name in `/healthz`, `/metrics`, `/sentinel status` and on its claims; it must be
    /// unique among the instances sharing a database. Default: the host name and the process id
    /// (`host-1234`), unique per run. Env: `SENTINEL_INSTANCE`.
    pub instance: Option<String>,
    /// How long a claim on work in flight (a message being sent, a GitHub request being made) lasts.
    /// The instance renews it while the work lasts; when an instance dies, another takes its claims
    /// over once they expire, so this bounds how long a dead instance's work waits. A taken-over
    /// message is looked for on its platform before it is sent again.
    pub lease: HumanDuration,
    /// How often an instance records that it is alive (others count it as gone after three missed
    /// heartbeats), and how often its timer engine looks for timers another instance set.
    pub heartbeat: HumanDuration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            instance: None,
            lease: HumanDuration::secs(30),
            heartbeat: HumanDuration::secs(5),
        }
    }
}

impl ClusterConfig {
    /// This instance's name: the configured one, or `<host>-<pid>`.
    pub fn instance_name(&self) -> String {
        match self.instance.as_deref().map(str::trim).filter(|name| !name.is_empty()) {
            Some(name) => name.to_owned(),
            None => format!("{}-{}", host_name(), std::process::id()),
        }
    }
}

/// The host's name (`/etc/hostname`, then `$HOSTNAME`), or `sentinel` when neither says.
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "sentinel".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_name_wins_and_the_default_names_host_and_process() {
        let named = ClusterConfig {
            instance: Some(" eu-1 ".into()),
            ..ClusterConfig::default()
        };
        assert_eq!(named.instance_name(), "eu-1");
        let default = ClusterConfig::default().instance_name();
        assert!(default.ends_with(&format!("-{}", std::process::id())), "{default}");
    }
}
