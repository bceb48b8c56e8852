//! A long list shown a page at a time: which page `?page=N` asks for, which rows it holds, and the
//! links to the pages before and after it, with the page's other query parameters kept and
//! percent-encoded (they are user input: HTML escaping alone does not make them a query string).

/// Which page was asked for: `?page=N`, 1-based; absent or empty is the first.
///
/// # Errors
/// A text that is not a whole number from 1: the message says so, for a 400 answer.
pub fn asked(page: Option<&str>) -> Result<u64, String> {
    match page.map(str::trim) {
        None | Some("") => Ok(1),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("There is no page “{text}”: pages are numbered from 1.")),
    }
}

/// One page of `total` rows, `size` a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    /// This page, 1-based.
    pub page: u64,
    /// How many pages there are (at least 1, even for no rows).
    pub pages: u64,
    /// Every row of every page.
    pub total: u64,
    /// Rows a page.
    pub size: u64,
    /// The page asked for was past the last one, so this is the last one instead.
    pub clamped_from: Option<u64>,
}

impl Paging {
    /// Page `asked` of `total` rows; past the last page it is the last page.
    pub fn new(asked: u64, total: u64, size: u64) -> Self {
        let size = size.max(1);
        let pages = total.div_ceil(size).max(1);
        let page = asked.clamp(1, pages);
        Self {
            page,
            pages,
            total,
            size,
            clamped_from: (asked > pages).then_some(asked),
        }
    }

    /// Rows before this page's first.
    pub fn offset(&self) -> u64 {
        (self.page - 1) * self.size
    }

    /// This page's first and last row, 1-based (`(0, 0)` when there are none).
    pub fn range(&self) -> (u64, u64) {
        if self.total == 0 {
            return (0, 0);
        }
        let first = self.offset() + 1;
        (first, (first + self.size - 1).min(self.total))
    }

    /// The page before, if any.
    pub fn previous(&self) -> Option<u64> {
        (self.page > 1).then(|| self.page - 1)
    }

    /// The page after, if any.
    pub fn next(&self) -> Option<u64> {
        (self.page < self.pages).then(|| self.page + 1)
    }
}

/// `path?k=v&…&page=N`, each value percent-encoded (`application/x-www-form-urlencoded`, as
/// the page's own filter form sends it); parameters without a value are left out.
pub fn link(path: &str, params: &[(&str, Option<&str>)], page: u64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    query.append_pair("page", &page.to_string());
    format!("{path}?{}", query.finish())
}

/// `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_their_slice_and_clamp_past_the_end() {
        let second = Paging::new(2, 250, 100);
        assert_eq!((second.offset(), second.range()), (100, (101, 200)));
        assert_eq!((second.previous(), second.next()), (Some(1), Some(3)));
        let last = Paging::new(3, 250, 100);
        assert_eq!((last.range(), last.next(), last.clamped_from), ((201, 250), None, None));
        let past = Paging::new(9, 250, 100);
        assert_eq!((past.page, past.range(), past.clamped_from), (3, (201, 250), Some(9)));
        let none = Paging::new(4, 0, 100);
        assert_eq!((none.page, none.pages, none.range(), none.next()), (1, 1, (0, 0), None));
        assert_eq!(Paging::new(1, 100, 100).pages, 1);
        assert_eq!(Paging::new(1, 101, 100).pages, 2);
    }

    #[test]
    fn only_whole_numbers_from_one_are_pages() {
        assert_eq!(asked(None), Ok(1));
        assert_eq!(asked(Some("")), Ok(1));
        assert_eq!(asked(Some("3")), Ok(3));
        for bad in ["0", "-1", "2.5", "two", "99999999999999999999999"] {
            assert!(asked(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_percent_encode_every_value() {
        assert_eq!(
            link("/web/alerts", &[("repo", Some("a/b&page=9 <x>\"#"))], 2),
            "/web/alerts?repo=a%2Fb%26page%3D9+%3Cx%3E%22%23&page=2"
        );
        assert_eq!(link("/web/alerts", &[("repo", None)], 1), "/web/alerts?page=1");
        assert_eq!(
            (count(0), count(999), count(1000), count(250_000), count(1_234_567)),
            (
                "0".into(),
                "999".into(),
                "1,000".into(),
                "250,000".into(),
                "1,234,567".into()
            )
        );
    }
}
