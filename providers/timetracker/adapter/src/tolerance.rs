//! The server's 2-second `if_updated_at` tolerance (spec §5, sample 46): an update carrying
//! a version at most 2 s older than the entry's own is accepted, so an edit made within 2 s
//! of the version a client listed would be overwritten without a 409. This module remembers
//! the entries whose listed version was that young when listed (by the server's clock, its
//! `Date` header), so that an update of one re-reads it first.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use reqwest::header::{HeaderMap, DATE};

/// How far apart `if_updated_at` and the entry's `updated_at` may be for the server to
/// accept an update (hard-coded in `time_tracking_service.py`).
pub const TOLERANCE: Duration = Duration::seconds(2);
/// `Date` has whole seconds (truncated): one more second keeps the estimate on the safe side.
const DATE_RESOLUTION: Duration = Duration::seconds(1);

/// The server's time when it answered: its `Date` header, or this machine's clock when the
/// header is missing or unreadable.
pub fn server_now(headers: &HeaderMap) -> DateTime<Utc> {
    headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

/// Until when (server time) an edit of a record modified at `modified_at` can go unnoticed
/// by an update carrying that version.
pub fn unsafe_until(modified_at: DateTime<Utc>) -> DateTime<Utc> {
    modified_at + TOLERANCE + DATE_RESOLUTION
}

/// A version listed while still within the tolerance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Young {
    pub version: String,
    pub modified_at: DateTime<Utc>,
}

/// Entries listed with a young version, by id. Only entries modified within seconds of a
/// listing are kept, and an entry leaves once listed again with an older version or updated.
#[derive(Debug, Default)]
pub struct YoungVersions(Mutex<HashMap<i64, Young>>);

impl YoungVersions {
    /// Notes how entry `id` was listed at server time `now`.
    pub fn note(&self, id: i64, version: &str, modified_at: DateTime<Utc>, now: DateTime<Utc>) {
        let Ok(mut map) = self.0.lock() else { return };
        if now < unsafe_until(modified_at) {
            let version = version.to_owned();
            map.insert(
                id,
                Young {
                    version,
                    modified_at,
                },
            );
        } else {
            map.remove(&id);
        }
    }

    /// The young listing of entry `id` at `version`, if it was one (and forgets it).
    pub fn take(&self, id: i64, version: &str) -> Option<Young> {
        let mut map = self.0.lock().ok()?;
        map.remove(&id).filter(|y| y.version == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_date_header_is_the_servers_clock() {
        let mut h = HeaderMap::new();
        h.insert(DATE, "Sun, 22 Nov 2026 06:13:06 GMT".parse().unwrap());
        assert_eq!(server_now(&h), at("2026-11-22T06:13:06Z"));
        h.insert(DATE, "yesterday".parse().unwrap());
        let before = Utc::now();
        assert!(server_now(&h) >= before, "unreadable: this machine's clock");
    }

    #[test]
    fn only_versions_within_the_tolerance_are_kept() {
        let young = YoungVersions::default();
        let v = at("2026-11-22T06:13:05Z");
        young.note(1, "a", v, v + Duration::milliseconds(2500));
        young.note(2, "b", v, v + Duration::seconds(3));
        assert_eq!(young.take(2, "b"), None, "3 s after: safe");
        assert_eq!(young.take(1, "other version"), None);
        young.note(1, "a", v, v + Duration::milliseconds(500));
        assert_eq!(
            young.take(1, "a"),
            Some(Young {
                version: "a".into(),
                modified_at: v
            })
        );
        assert_eq!(young.take(1, "a"), None, "taken once");
        young.note(3, "c", v, v);
        young.note(3, "c", v, v + Duration::seconds(10));
        assert_eq!(young.take(3, "c"), None, "listed again later: safe");
    }
}
