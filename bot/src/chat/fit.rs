//! Making text fit a platform's limits without breaking it: lengths are counted in UTF-16 code
//! units (never fewer than the characters a platform counts), escaped text is cut only between
//! whole pieces (an entity such as `&amp;`, a link, a mention stays whole), every cut is marked
//! with "…" (and a link to the full text where there is one), and a total shared by many parts
//! is divided so that the shortest parts stay whole and the longest give way.

use crate::message::Field;

/// The mark of a cut.
pub const ELLIPSIS: &str = "…";

/// How long `text` is as the platforms measure it, at most: UTF-16 code units.
pub fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// True when `text` is longer than `max` units (counting no further than needed).
pub fn longer_than(text: &str, max: usize) -> bool {
    text.len() > max && text.encode_utf16().nth(max).is_some()
}

/// The longest raw input worth escaping for an output of at most `max` units. Escaping never
/// shrinks text by more than half (`**x**` becomes `*x*`), so everything past this is cut anyway.
pub fn raw_prefix(text: &str, max: usize) -> (&str, bool) {
    let keep = max.saturating_mul(2).saturating_add(64);
    match text.char_indices().nth(keep) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    }
}

/// Escaped text built piece by piece, remembering where it may be cut.
#[derive(Debug, Clone, Default)]
pub struct Pieces {
    text: String,
    units: usize,
    /// (byte offset, units) after each piece: the places a cut may fall.
    stops: Vec<(usize, usize)>,
    /// The input was cut before escaping: the text must be shown as cut.
    partial: bool,
}

impl Pieces {
    /// Empty text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `piece`, which a cut never splits.
    pub fn push(&mut self, piece: &str) {
        if piece.is_empty() {
            return;
        }
        self.text.push_str(piece);
        self.units += units(piece);
        self.stops.push((self.text.len(), self.units));
    }

    /// Appends one character.
    pub fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.push(c.encode_utf8(&mut buf));
    }

    /// Marks the text as the beginning of a longer input.
    pub fn mark_partial(&mut self) {
        self.partial = true;
    }

    /// The length in units.
    pub fn units(&self) -> usize {
        if self.partial {
            // Whatever the budget, a partial text is shown cut.
            self.units.saturating_add(1)
        } else {
            self.units
        }
    }

    /// True when nothing but whitespace was pushed.
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// The whole text when it fits in `max` units; otherwise as many whole pieces as leave room for
    /// "…" and `tail` (a link to the full text), then those. When even "…" and `tail` do not fit,
    /// just "…" (or nothing when `max` is 0).
    pub fn fit(&self, max: usize, tail: &str) -> String {
        if !self.partial && self.units <= max {
            return self.text.clone();
        }
        let mut mark = String::from(ELLIPSIS);
        mark.push_str(tail);
        if units(&mark) > max {
            mark = String::from(ELLIPSIS);
        }
        let mark_units = units(&mark);
        if mark_units > max {
            return String::new();
        }
        let room = max - mark_units;
        let end = self
            .stops
            .iter()
            .take_while(|(_, used)| *used <= room)
            .last()
            .map_or(0, |(byte, _)| *byte);
        let mut out = self.text[..end].trim_end().to_owned();
        out.push_str(&mark);
        out
    }
}

/// Cuts plain text (no escaping) to `max` units, marking a cut with "…".
pub fn cut_plain(text: &str, max: usize) -> String {
    let (raw, partial) = raw_prefix(text, max);
    let mut pieces = Pieces::new();
    for c in raw.chars() {
        pieces.push_char(c);
    }
    if partial {
        pieces.mark_partial();
    }
    pieces.fit(max, "")
}

/// Space-separated tokens (mentions) that fit in `max` units, each whole: the tokens that fit, in
/// order, and whether any were left out.
pub fn whole_tokens(tokens: &[String], max: usize) -> (Vec<String>, bool) {
    let mut kept = Vec::new();
    let mut used = 0;
    for token in tokens {
        let cost = units(token) + usize::from(!kept.is_empty());
        if used + cost > max {
            return (kept, true);
        }
        used += cost;
        kept.push(token.clone());
    }
    (kept, false)
}

/// At most `max` fields: the first ones and, when there are more, a last one saying how many more.
pub fn fields(fields: &[Field], max: usize) -> Vec<Field> {
    if fields.len() <= max {
        return fields.to_vec();
    }
    let shown = max.saturating_sub(1);
    let mut out = fields[..shown].to_vec();
    out.push(Field {
        name: ELLIPSIS.into(),
        value: format!("{} more fields not shown", fields.len() - shown),
    });
    out
}

/// Divides `budget` among parts that want `sizes`: when they fit, each gets its size; otherwise
/// every part gets at most one common cap, the largest for which the total fits, so short parts
/// stay whole and only the longest are cut.
pub fn share(sizes: &[usize], budget: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    if total <= budget {
        return sizes.to_vec();
    }
    let fits = |cap: usize| sizes.iter().map(|s| (*s).min(cap)).sum::<usize>() <= budget;
    let (mut low, mut high) = (0, sizes.iter().copied().max().unwrap_or(0));
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if fits(mid) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    sizes.iter().map(|s| (*s).min(low)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_falls_between_pieces_and_is_marked() {
        let mut pieces = Pieces::new();
        for piece in ["ab", "&amp;", "cd"] {
            pieces.push(piece);
        }
        assert_eq!(pieces.fit(9, ""), "ab&amp;cd");
        assert_eq!(pieces.fit(8, ""), "ab&amp;…");
        assert_eq!(pieces.fit(7, ""), "ab…", "the entity is never split");
        assert_eq!(
            pieces.fit(8, " <u|more>"),
            "ab&amp;…",
            "no room for the link: the ellipsis alone"
        );
        assert_eq!(pieces.fit(0, ""), "");
        assert_eq!(cut_plain("🔴🔴🔴", 5), "🔴🔴…", "an emoji is two units");
    }

    #[test]
    fn a_shared_budget_cuts_the_longest_parts_first() {
        assert_eq!(share(&[10, 20], 100), vec![10, 20]);
        assert_eq!(share(&[10, 5000, 3000], 6000), vec![10, 2995, 2995]);
        assert!(share(&[7000; 25], 6000).iter().sum::<usize>() <= 6000);
        let (kept, cut) = whole_tokens(&["<@1>".into(), "<@22>".into()], 8);
        assert_eq!((kept, cut), (vec!["<@1>".to_owned()], true));
    }
}
