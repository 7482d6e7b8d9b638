//! Paging rules (§1.4): `limit=1000` and `page_number` from 0, a listing ends on a short page.
//! Two defences against a server that does not honour those parameters as documented, each
//! of which would otherwise truncate a listing silently (and make the engine infer false
//! deletions): a page of exactly 50 rows (the documented default page size, what a server
//! ignoring `limit` sends) is not taken as the end; and a page that starts with the same id
//! as the previous one (a server ignoring `page_number`) is an error, not an endless loop.

use serde_json::Value;
use timeweave_contract::{PageToken, ProviderError};

use crate::lenient;

/// Rows per list request: the documented maximum.
pub const PAGE_LIMIT: usize = 1000;
/// Rows the server sends when `limit` is absent (or ignored).
pub const SERVER_DEFAULT_LIMIT: usize = 50;

/// A position in a listing: the page to fetch and the first id of the page before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub page: u32,
    pub prev_first: Option<i64>,
}

impl Cursor {
    /// The cursor after a page holding `values`, or `None` when that page was the last.
    pub fn after(self, values: &[Value]) -> Option<Cursor> {
        let n = values.len();
        (n >= PAGE_LIMIT || n == SERVER_DEFAULT_LIMIT).then(|| Cursor {
            page: self.page + 1,
            prev_first: first_id(values),
        })
    }

    /// Fails when `values` repeats the previous page (the server ignores `page_number`).
    pub fn check(self, values: &[Value], what: &str) -> Result<(), ProviderError> {
        match (self.prev_first, first_id(values)) {
            (Some(prev), Some(first)) if prev == first => Err(ProviderError::malformed(format!(
                "{what}: page {} repeats page {} (first id {first}); the server seems to ignore \
                 `page_number`, so the listing cannot be completed",
                self.page,
                self.page.saturating_sub(1)
            ))),
            _ => Ok(()),
        }
    }

    /// `prefix:page[:prev_first]`.
    pub fn token(self, prefix: &str) -> PageToken {
        PageToken(match self.prev_first {
            Some(f) => format!("{prefix}:{}:{f}", self.page),
            None => format!("{prefix}:{}", self.page),
        })
    }

    /// `(prefix, cursor)` of a token made by [`Cursor::token`].
    pub fn parse(token: &PageToken) -> Option<(&str, Cursor)> {
        let mut parts = token.0.split(':');
        let prefix = parts.next()?;
        let page = parts.next()?.parse().ok()?;
        let prev_first = match parts.next() {
            None => None,
            Some(f) => Some(f.parse().ok()?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some((prefix, Cursor { page, prev_first }))
    }
}

fn first_id(values: &[Value]) -> Option<i64> {
    values
        .first()
        .and_then(Value::as_object)
        .and_then(|o| lenient::int(o, &["id", "ID"]).ok().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(n: usize, first: i64) -> Vec<Value> {
        (0..n as i64).map(|i| json!({"id": first + i})).collect()
    }

    #[test]
    fn short_pages_end_the_listing_except_the_default_size() {
        let c = Cursor::default();
        assert_eq!(c.after(&rows(999, 1)), None);
        assert_eq!(c.after(&rows(0, 1)), None);
        assert_eq!(
            c.after(&rows(1000, 7)),
            Some(Cursor {
                page: 1,
                prev_first: Some(7)
            })
        );
        assert!(
            c.after(&rows(50, 1)).is_some(),
            "50 may be a server ignoring limit"
        );
    }

    #[test]
    fn a_repeated_page_is_an_error() {
        let c = Cursor {
            page: 1,
            prev_first: Some(1),
        };
        let err = c.check(&rows(50, 1), "GET /x").unwrap_err();
        assert!(err.to_string().contains("page_number"), "{err}");
        assert!(c.check(&rows(50, 51), "GET /x").is_ok());
        assert!(c.check(&[], "GET /x").is_ok());
    }

    #[test]
    fn tokens_round_trip() {
        for c in [
            Cursor::default(),
            Cursor {
                page: 3,
                prev_first: Some(2001),
            },
        ] {
            assert_eq!(Cursor::parse(&c.token("e")), Some(("e", c)));
        }
        assert_eq!(Cursor::parse(&PageToken("e:x".into())), None);
        assert_eq!(Cursor::parse(&PageToken("e:1:2:3".into())), None);
    }
}
