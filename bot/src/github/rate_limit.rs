//! When to hold GitHub calls back: one rule for the request [`super::worker`], [`super::pull`] mode
//! and webhook [`super::reconcile`]iation.
//!
//! An answer pauses a task when GitHub says it is rate limited (429, or a 403 with no calls left or
//! a `Retry-After`) — until `Retry-After`, else the window's reset, else [`DEFAULT_PAUSE`] — or when
//! fewer calls than `github.rate_limit_reserve` are left, until the window resets, so other tools
//! sharing the token are never starved. No pause is believed beyond [`MAX_PAUSE`].

use chrono::{DateTime, Duration, Utc};

use super::client::Answer;

/// The longest rate-limit pause believed (GitHub's window is an hour).
pub const MAX_PAUSE: Duration = Duration::hours(1);

/// The pause after a rate-limited answer that says nothing about when to come back.
pub const DEFAULT_PAUSE: Duration = Duration::minutes(1);

/// A 429, or a 403 that is GitHub's rate limit rather than a refusal.
pub fn is_rate_limited(answer: &Answer) -> bool {
    answer.status == 429
        || (answer.status == 403
            && (answer.remaining == Some(0)
                || answer.retry_after.is_some()
                || answer
                    .message()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("rate limit"))))
}

/// When a rate-limited request may be tried again.
pub fn pause_end(answer: &Answer, now: DateTime<Utc>) -> DateTime<Utc> {
    let after = answer
        .retry_after
        .and_then(|secs| i64::try_from(secs).ok())
        .map(|secs| now + Duration::seconds(secs));
    let reset = answer.reset.filter(|_| answer.remaining == Some(0));
    after
        .or(reset)
        .unwrap_or(now + DEFAULT_PAUSE)
        .clamp(now, now + MAX_PAUSE)
}

/// Until when calls should wait because fewer than `reserve` are left in the window, if so.
pub fn reserve_pause(answer: &Answer, reserve: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let remaining = answer.remaining?;
    if remaining >= u64::from(reserve) {
        return None;
    }
    let until = answer.reset.unwrap_or(now + DEFAULT_PAUSE).min(now + MAX_PAUSE);
    (until > now).then_some(until)
}

/// Until when calls should wait after `answer`, if they should: rate limited, or fewer calls left
/// than `reserve` (the later of the two).
pub fn pause_after(answer: &Answer, reserve: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let limited = is_rate_limited(answer).then(|| pause_end(answer, now));
    limited
        .max(reserve_pause(answer, reserve, now))
        .filter(|until| *until > now)
}

/// A task's pause: set by answers, over once the clock passes it.
#[derive(Debug, Default)]
pub struct Pause(Option<DateTime<Utc>>);

impl Pause {
    /// The end of the pause, if one was set (and not yet found over).
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.0
    }

    /// True while paused at `now`; a pause found over is forgotten.
    pub fn active(&mut self, now: DateTime<Utc>) -> bool {
        match self.0 {
            Some(until) if until > now => true,
            _ => {
                self.0 = None;
                false
            }
        }
    }

    /// Extends the pause for what `answer` says; the new end when it moved (for the caller's log).
    pub fn note(&mut self, answer: &Answer, reserve: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let until = pause_after(answer, reserve, now)?;
        if self.0.is_some_and(|current| current >= until) {
            return None;
        }
        self.0 = Some(until);
        Some(until)
    }
}

/// `GitHub answered 404 Not Found: Not Found`.
pub fn describe(answer: &Answer) -> String {
    match answer.message() {
        Some(message) => format!("GitHub answered {}: {message}", answer.status_text()),
        None => format!("GitHub answered {}", answer.status_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn answer(status: u16, remaining: Option<u64>, reset: Option<i64>, retry_after: Option<u64>) -> Answer {
        Answer {
            status,
            remaining,
            reset: reset.map(at),
            retry_after,
            ..Answer::default()
        }
    }

    #[test]
    fn a_low_reserve_pauses_until_the_reset_and_enough_calls_do_not() {
        let now = at(0);
        assert_eq!(
            pause_after(&answer(200, Some(99), Some(600), None), 100, now),
            Some(at(600))
        );
        assert_eq!(pause_after(&answer(200, Some(100), Some(600), None), 100, now), None);
        assert_eq!(pause_after(&answer(200, None, None, None), 100, now), None);
        // Never believed beyond an hour.
        assert_eq!(
            pause_after(&answer(200, Some(0), Some(99_999), None), 100, now),
            Some(at(3600))
        );
    }

    #[test]
    fn a_rate_limited_answer_waits_for_retry_after_else_the_reset_else_a_minute() {
        let now = at(0);
        assert_eq!(
            pause_after(&answer(429, Some(50), Some(600), Some(30)), 10, now),
            Some(at(30))
        );
        assert_eq!(
            pause_after(&answer(403, Some(0), Some(600), None), 10, now),
            Some(at(600))
        );
        assert_eq!(pause_after(&answer(429, Some(50), None, None), 10, now), Some(at(60)));
        // A 403 with calls left and no Retry-After is a refusal, not a rate limit.
        assert_eq!(pause_after(&answer(403, Some(50), Some(600), None), 10, now), None);
    }

    #[test]
    fn a_pause_only_grows_and_is_over_once_the_clock_passes_it() {
        let mut pause = Pause::default();
        assert!(!pause.active(at(0)));
        assert_eq!(
            pause.note(&answer(200, Some(1), Some(600), None), 100, at(0)),
            Some(at(600))
        );
        assert_eq!(
            pause.note(&answer(200, Some(1), Some(300), None), 100, at(0)),
            None,
            "not shortened"
        );
        assert!(pause.active(at(599)));
        assert!(!pause.active(at(600)));
        assert_eq!(pause.until(), None);
    }
}
