//! Rejected requests, per client: a budget of failed unauthenticated requests, answered 429 once it
//! is spent, and one security-log row per client and window instead of one per request, so that a
//! flood of junk costs neither disk nor the inbox's write time.
//!
//! One table serves both, keyed by client (IPv6 clients by their /64, which one host usually
//! owns whole), bounded to [`MAX_CLIENTS`] entries, and read through the bot's [`Clock`] so tests
//! can move time. (The `governor` crate would give the limiter, but not the aggregation, the bound
//! or the clock.)

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::store::DbPool;
use chrono::{DateTime, Utc};
use sqlx::Connection;

use super::client::Client;
use crate::clock::SharedClock;
use crate::config::HttpConfig;
use crate::pipeline::Shared;
use crate::store::security_log;

/// The most clients tracked one by one; past that, new ones share one entry until old ones go quiet.
pub const MAX_CLIENTS: usize = 10_000;

/// What to do with one rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Write it to the security log and the log: it is its client's first in the window.
    pub record: bool,
    /// Answer 429 with this `Retry-After` instead: the client's failure budget is spent.
    pub throttled: Option<Duration>,
}

/// Rejections folded into one security-log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// When the last of them happened.
    pub at: DateTime<Utc>,
    /// `github`, `slack`, `discord`.
    pub source: &'static str,
    /// The security-log kind.
    pub kind: &'static str,
    /// How many.
    pub count: u64,
    /// Who, since when, and the last one's detail.
    pub detail: String,
}

/// The per-client table.
pub struct Rejections {
    clock: SharedClock,
    burst: u32,
    per_minute: u32,
    window: chrono::Duration,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    clients: HashMap<Key, Entry>,
    /// Summaries of windows that ended, not yet written.
    ended: Vec<Summary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    /// The upper 64 bits of an IPv6 address.
    Net64(u64),
    /// Everyone who arrived while the table was full.
    Overflow,
}

impl Key {
    fn of(client: Client) -> Self {
        match client.0 {
            IpAddr::V6(v6) => Key::Net64((u128::from(v6) >> 64) as u64),
            v4 => Key::Addr(v4),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Addr(ip) => ip.fmt(f),
            Key::Net64(net) => write!(f, "{}/64", Ipv6Addr::from(u128::from(*net) << 64)),
            Key::Overflow => f.write_str("clients beyond the tracked ones"),
        }
    }
}

struct Entry {
    tokens: f64,
    refilled: DateTime<Utc>,
    window: Option<Window>,
}

struct Window {
    started: DateTime<Utc>,
    repeats: BTreeMap<(&'static str, &'static str), Repeats>,
}

struct Repeats {
    count: u64,
    throttled: u64,
    last_at: DateTime<Utc>,
    last_detail: String,
}

impl Window {
    fn summaries(self, key: Key) -> impl Iterator<Item = Summary> {
        let started = self.started;
        self.repeats.into_iter().map(move |((source, kind), repeats)| {
            let throttled = match repeats.throttled {
                0 => String::new(),
                n => format!(", {n} of them answered 429"),
            };
            Summary {
                at: repeats.last_at,
                source,
                kind,
                count: repeats.count,
                detail: format!(
                    "{} more from {key} since {}{throttled}; the last: {}",
                    repeats.count,
                    started.format("%Y-%m-%d %H:%M:%S UTC"),
                    repeats.last_detail
                ),
            }
        })
    }
}

impl Rejections {
    /// The table for `[http]`'s `failed_auth_*` and `rejection_log_window` settings.
    pub fn new(clock: SharedClock, http: &HttpConfig) -> Self {
        Self {
            clock,
            burst: http.failed_auth_burst,
            per_minute: http.failed_auth_per_minute.max(1),
            window: http.rejection_log_window.chrono(),
            table: Mutex::new(Table::default()),
        }
    }

    /// Notes one rejection of `client`. An `unauthenticated` one spends the client's budget.
    pub fn note(
        &self,
        client: Client,
        source: &'static str,
        kind: &'static str,
        detail: &str,
        unauthenticated: bool,
    ) -> Verdict {
        let now = self.clock.now();
        let mut guard = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let table = &mut *guard;
        let key = self.key_for(table, Key::of(client), now);
        let entry = table.clients.entry(key).or_insert_with(|| Entry {
            tokens: f64::from(self.burst),
            refilled: now,
            window: None,
        });
        self.refill(entry, now);
        let throttled = if unauthenticated && self.burst > 0 {
            if entry.tokens >= 1.0 {
                entry.tokens -= 1.0;
                None
            } else {
                let wait = (1.0 - entry.tokens) * 60.0 / f64::from(self.per_minute);
                Some(Duration::from_secs(wait.ceil().max(1.0) as u64))
            }
        } else {
            None
        };
        if self.window <= chrono::Duration::zero() {
            return Verdict {
                record: true,
                throttled,
            };
        }
        let record = match &mut entry.window {
            Some(window) if now < window.started + self.window => {
                let repeats = window.repeats.entry((source, kind)).or_insert_with(|| Repeats {
                    count: 0,
                    throttled: 0,
                    last_at: now,
                    last_detail: String::new(),
                });
                repeats.count += 1;
                repeats.throttled += u64::from(throttled.is_some());
                repeats.last_at = now;
                repeats.last_detail = security_log::clip(detail, 120);
                false
            }
            window => {
                if let Some(old) = window.take() {
                    table.ended.extend(old.summaries(key));
                }
                *window = Some(Window {
                    started: now,
                    repeats: BTreeMap::new(),
                });
                true
            }
        };
        Verdict { record, throttled }
    }

    /// The summaries of every window that has ended (of every window, with `everything`, at
    /// shutdown); forgets clients that went quiet.
    pub fn take_ended(&self, everything: bool) -> Vec<Summary> {
        let now = self.clock.now();
        let mut guard = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let table = &mut *guard;
        for (key, entry) in &mut table.clients {
            let ended = entry
                .window
                .as_ref()
                .is_some_and(|w| everything || now >= w.started + self.window);
            if ended && let Some(window) = entry.window.take() {
                table.ended.extend(window.summaries(*key));
            }
        }
        self.forget_quiet(table, now);
        std::mem::take(&mut table.ended)
    }

    fn refill(&self, entry: &mut Entry, now: DateTime<Utc>) {
        let elapsed = (now - entry.refilled).num_milliseconds().max(0) as f64 / 1000.0;
        entry.tokens = (entry.tokens + elapsed * f64::from(self.per_minute) / 60.0).min(f64::from(self.burst));
        entry.refilled = now;
    }

    /// `key`, or [`Key::Overflow`] when the table is full of clients that are not quiet.
    fn key_for(&self, table: &mut Table, key: Key, now: DateTime<Utc>) -> Key {
        if table.clients.len() < MAX_CLIENTS || table.clients.contains_key(&key) {
            return key;
        }
        for (old, entry) in &mut table.clients {
            if entry.window.as_ref().is_some_and(|w| now >= w.started + self.window)
                && let Some(window) = entry.window.take()
            {
                table.ended.extend(window.summaries(*old));
            }
        }
        self.forget_quiet(table, now);
        if table.clients.len() < MAX_CLIENTS {
            key
        } else {
            Key::Overflow
        }
    }

    /// Drops clients with no open window and a full budget: they are as if never seen.
    fn forget_quiet(&self, table: &mut Table, now: DateTime<Utc>) {
        table.clients.retain(|_, entry| {
            if entry.window.is_some() {
                return true;
            }
            self.refill(entry, now);
            entry.tokens < f64::from(self.burst)
        });
    }
}

/// Writes `summaries` to the security log in one transaction (one sync), and says so in the log.
pub async fn write(pool: &DbPool, shared: &Shared, summaries: Vec<Summary>) {
    if summaries.is_empty() {
        return;
    }
    for summary in &summaries {
        tracing::warn!(
            kind = summary.kind,
            source = summary.source,
            count = summary.count,
            detail = %summary.detail,
            "repeated rejections"
        );
    }
    let result = async {
        let _turn = shared.writes.turn().await;
        let mut conn = pool.acquire().await?;
        let mut tx = conn.begin().await?;
        for summary in &summaries {
            security_log::record_repeated(
                &mut tx,
                summary.at,
                summary.kind,
                summary.source,
                &summary.detail,
                summary.count,
            )
            .await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(err) = result {
        tracing::error!(cause = ?err, "cannot write the security log");
    }
}

/// Writes the summaries of ended windows once per window, forever (the caller drops it at shutdown
/// and writes the rest with `take_ended(true)`).
pub async fn flush_periodically(pool: DbPool, shared: std::sync::Arc<Shared>, rejections: std::sync::Arc<Rejections>) {
    let period = shared
        .config
        .http
        .rejection_log_window
        .chrono()
        .max(chrono::Duration::seconds(1));
    loop {
        let next = shared.clock.now() + period;
        shared.clock.sleep_until(next).await;
        write(&pool, &shared, rejections.take_ended(false)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::config::HumanDuration;

    fn table(burst: u32, per_minute: u32, window_secs: u64) -> (Rejections, ManualClock) {
        let clock = ManualClock::new(DateTime::from_timestamp(1_700_000_000, 0).expect("time"));
        let http = HttpConfig {
            failed_auth_burst: burst,
            failed_auth_per_minute: per_minute,
            rejection_log_window: HumanDuration::secs(window_secs),
            ..HttpConfig::default()
        };
        (Rejections::new(Arc::new(clock.clone()), &http), clock)
    }

    fn client(text: &str) -> Client {
        Client(text.parse().expect("ip"))
    }

    #[test]
    fn a_client_gets_its_burst_then_429_until_the_budget_refills() {
        let (rejections, clock) = table(3, 6, 60);
        let a = client("198.51.100.1");
        for _ in 0..3 {
            assert_eq!(
                rejections.note(a, "github", "signature_missing", "x", true).throttled,
                None
            );
        }
        let verdict = rejections.note(a, "github", "signature_missing", "x", true);
        assert_eq!(
            verdict.throttled,
            Some(Duration::from_secs(10)),
            "6 a minute: one every 10 s"
        );
        // Another client is not affected, nor are rejections of authenticated requests.
        assert_eq!(
            rejections
                .note(client("198.51.100.2"), "github", "signature_missing", "x", true)
                .throttled,
            None
        );
        assert_eq!(
            rejections.note(a, "github", "malformed_json", "x", false).throttled,
            None
        );
        clock.advance(chrono::Duration::seconds(10));
        assert_eq!(
            rejections.note(a, "github", "signature_missing", "x", true).throttled,
            None
        );
        assert!(
            rejections
                .note(a, "github", "signature_missing", "x", true)
                .throttled
                .is_some()
        );
    }

    #[test]
    fn repeated_rejections_make_one_row_and_one_summary_per_window() {
        let (rejections, clock) = table(2, 6, 60);
        let a = client("2001:db8:1:2::7");
        assert!(rejections.note(a, "github", "signature_invalid", "first", true).record);
        for i in 0..9 {
            let same_net = client(&format!("2001:db8:1:2::{}", i + 100));
            assert!(
                !rejections
                    .note(same_net, "github", "signature_invalid", "again", true)
                    .record
            );
        }
        assert!(
            !rejections
                .note(a, "github", "malformed_json", "signed junk", false)
                .record
        );
        assert!(rejections.take_ended(false).is_empty(), "the window is still open");
        clock.advance(chrono::Duration::seconds(61));
        let summaries = rejections.take_ended(false);
        let counts: Vec<(&str, u64)> = summaries.iter().map(|s| (s.kind, s.count)).collect();
        assert_eq!(counts, [("malformed_json", 1), ("signature_invalid", 9)]);
        assert!(
            summaries[1].detail.starts_with("9 more from 2001:db8:1:2::/64 since"),
            "{}",
            summaries[1].detail
        );
        assert!(
            summaries[1].detail.contains("8 of them answered 429"),
            "{}",
            summaries[1].detail
        );
        // The next rejection opens a new window and is recorded again.
        assert!(rejections.note(a, "github", "signature_invalid", "later", true).record);
        assert_eq!(
            rejections.take_ended(true).len(),
            0,
            "nothing repeated in the new window yet"
        );
    }

    #[test]
    fn the_table_stays_bounded_and_forgets_quiet_clients() {
        let (rejections, clock) = table(5, 60, 1);
        for i in 0..MAX_CLIENTS as u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            rejections.note(Client(ip), "github", "signature_missing", "x", true);
        }
        let newcomer = client("192.0.2.1");
        rejections.note(newcomer, "github", "signature_missing", "x", true);
        assert!(
            !rejections
                .table
                .lock()
                .expect("lock")
                .clients
                .contains_key(&Key::of(newcomer))
        );
        // A few seconds later the windows are over and the budgets full again: all forgotten.
        clock.advance(chrono::Duration::seconds(10));
        rejections.take_ended(false);
        assert!(rejections.table.lock().expect("lock").clients.is_empty());
    }
}
