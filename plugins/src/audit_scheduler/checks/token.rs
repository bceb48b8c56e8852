//! The checks of Sentinel's own access to GitHub, from one `/rate_limit` answer: the token's
//! scopes and expiry, and the rate limit left.

use chrono::DateTime;
use sentinel_bot::github::GitHubResponse;
use serde_json::Value;

use super::answers::{Answer, Context, Outcome};
use crate::audit_scheduler::render::{fmt_day, fmt_duration, fmt_time};

/// The token's scopes and expiry: flagged when it expired or expires soon.
pub(super) fn token(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let Some(answer) = answers.first() else {
        return Outcome::failed("no answer from GitHub");
    };
    let (expiry, flag) = token_expiry(&answer.response, cx);
    let scopes = match answer.response.oauth_scopes.as_deref() {
        Some("") => "scopes: none".to_owned(),
        Some(scopes) => format!("scopes: {scopes}"),
        None => "scopes: not reported (a fine-grained token or app: permissions are set per repository)".to_owned(),
    };
    Outcome::new(flag, format!("{scopes}; {expiry}"))
}

/// The API's health: flagged when the token expires soon or the rate limit runs low.
pub(super) fn api_health(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let Some(answer) = answers.first() else {
        return Outcome::failed("no answer from GitHub");
    };
    let (expiry, expiring) = token_expiry(&answer.response, cx);
    let (rate, low) = rate_limit(&answer.response, cx);
    Outcome::new(expiring || low, format!("GitHub API answered; {rate}; {expiry}"))
}

/// When the token expires, and whether it is expired or within the warning window.
fn token_expiry(response: &GitHubResponse, cx: &Context<'_>) -> (String, bool) {
    match response.token_expiration {
        None => ("no token expiry reported".to_owned(), false),
        Some(at) if at <= cx.now => (format!("token EXPIRED {}", fmt_time(at, cx.tz)), true),
        Some(at) => {
            let left = at - cx.now;
            let text = format!("token expires {} (in {})", fmt_day(at, cx.tz), fmt_duration(left));
            if left <= cx.token_expiry_warning {
                (format!("{text} — renew it"), true)
            } else {
                (text, false)
            }
        }
    }
}

/// The core rate limit left, and whether it is below the warning threshold.
fn rate_limit(response: &GitHubResponse, cx: &Context<'_>) -> (String, bool) {
    let body = response.body.as_ref();
    let core = body
        .and_then(|b| b.pointer("/resources/core"))
        .or_else(|| body.and_then(|b| b.get("rate")));
    let limit = core.and_then(|c| c.get("limit")).and_then(Value::as_u64);
    let remaining = core
        .and_then(|c| c.get("remaining"))
        .and_then(Value::as_u64)
        .or(response.rate_limit.remaining);
    let reset = core
        .and_then(|c| c.get("reset"))
        .and_then(Value::as_i64)
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .or(response.rate_limit.reset);
    let reset_text = reset
        .map(|t| format!(", resets {}", fmt_time(t, cx.tz)))
        .unwrap_or_default();
    match (remaining, limit) {
        (Some(remaining), Some(limit)) if limit > 0 => {
            let low = remaining * 100 < limit * u64::from(cx.rate_limit_warning_percent);
            let mut text = format!("rate limit {remaining} of {limit} calls left{reset_text}");
            if low {
                text.push_str(" — low");
            }
            (text, low)
        }
        (Some(remaining), _) => (format!("rate limit {remaining} calls left{reset_text}"), false),
        _ => ("rate limit not reported".to_owned(), false),
    }
}
