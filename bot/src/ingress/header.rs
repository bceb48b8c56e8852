//! Reading one request header the way every ingress route wants it.

use axum::http::HeaderMap;

/// The header `name` as text, trimmed; `None` when it is absent, not visible ASCII, or blank —
/// the senders' documented headers are all ASCII, so anything else is treated as missing.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn blank_and_non_ascii_headers_count_as_missing() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("  v0=ab  "));
        headers.insert("x-blank", HeaderValue::from_static("   "));
        headers.insert(
            "x-bytes",
            HeaderValue::from_bytes(b"\xff").unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(header(&headers, "x-a"), Some("v0=ab"));
        assert_eq!(header(&headers, "X-A"), Some("v0=ab"));
        assert_eq!(header(&headers, "x-blank"), None);
        assert_eq!(header(&headers, "x-bytes"), None);
        assert_eq!(header(&headers, "x-none"), None);
    }
}
