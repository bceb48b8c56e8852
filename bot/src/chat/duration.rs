//! The one way a span of time is shown to people in chat.
//!
//! [`human`] gives its magnitude in at most its two largest units, each a whole number with no
//! zero parts: `1d 2h`, `2d`, `5h 10m`, `12m`, and whole seconds only for spans under a minute
//! (`40s`, `0s`). Smaller units than the two shown are dropped, not rounded (`1d 2h 59m` is
//! `1d 2h`): a reader wants the order of magnitude, and a deadline shown never looks further away
//! than it is. The sign is the caller's to word (`in 5m`, `overdue by 5m`).

/// `span`'s magnitude in words, as described in the module docs.
pub fn human(span: chrono::Duration) -> String {
    let secs = span.num_seconds().unsigned_abs();
    if secs < 60 {
        return format!("{secs}s");
    }
    let parts = [
        ("d", secs / 86_400),
        ("h", secs % 86_400 / 3_600),
        ("m", secs % 3_600 / 60),
    ];
    let shown: Vec<String> = parts
        .iter()
        .skip_while(|(_, n)| *n == 0)
        .take(2)
        .filter(|(_, n)| *n > 0)
        .map(|(unit, n)| format!("{n}{unit}"))
        .collect();
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn shows_the_two_largest_units() {
        assert_eq!(human(Duration::zero()), "0s");
        assert_eq!(human(Duration::seconds(40)), "40s");
        assert_eq!(human(Duration::seconds(60)), "1m");
        assert_eq!(human(Duration::minutes(45)), "45m");
        assert_eq!(human(Duration::minutes(5 * 60 + 10)), "5h 10m");
        assert_eq!(human(Duration::hours(5)), "5h");
        assert_eq!(human(Duration::minutes(26 * 60 + 5)), "1d 2h");
        assert_eq!(human(Duration::minutes(24 * 60 + 5)), "1d");
        assert_eq!(human(Duration::hours(48)), "2d");
        assert_eq!(human(Duration::minutes(-5)), "5m");
    }

    proptest! {
        #[test]
        fn never_more_than_two_parts_and_never_longer_than_the_span(secs in -10_000_000i64..10_000_000) {
            let text = human(Duration::seconds(secs));
            let parts: Vec<&str> = text.split(' ').collect();
            prop_assert!(parts.len() <= 2);
            let shown: u64 = parts.iter().map(|part| {
                let (n, unit) = part.split_at(part.len() - 1);
                let n: u64 = n.parse().unwrap_or(u64::MAX);
                n * match unit { "d" => 86_400, "h" => 3_600, "m" => 60, _ => 1 }
            }).sum();
            prop_assert!(shown <= secs.unsigned_abs());
        }
    }
}
