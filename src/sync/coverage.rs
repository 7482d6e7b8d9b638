//! Which entry start dates a provider's listings have shown so far (pure). Until the deep
//! scan's first pass is done, part of an account's history has not been listed yet; a new
//! entry dated there is not created on that provider, since the provider may hold a copy
//! booked there too, which a create would duplicate (and the duplicate would spread to
//! every other provider once the scan reached it). The entry waits until the scan has
//! listed its date: then a copy already there is matched by natural key, and only an entry
//! the provider really lacks is created.

use chrono::{DateTime, Utc};
use timeweave_contract::{CanonicalId, Record, Window};

use crate::ledger::Cursor;

/// What a provider's entry listings have shown, as of this cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// Every date: a full pass of the deep scan is done, or the provider lists no entries
    /// (nothing to match against, so nothing to wait for).
    Everything,
    /// The first pass is under way: starts at or after `walked_down_to` (the deep scan walks
    /// down from past the newest entry when the provider tells its span, else from the hot
    /// window: dates past the hot window are then never listed, in this pass or any later
    /// one, so nothing there can be matched and waiting would gain nothing), and starts in
    /// `hot`, the hot window listed this cycle.
    Partly {
        walked_down_to: Option<DateTime<Utc>>,
        hot: Option<Window>,
    },
}

impl Coverage {
    /// From the entry cursor as it stands after this cycle's listings, and the hot window
    /// when this cycle listed it completely.
    pub fn after(cursor: &Cursor, hot_listed: Option<Window>) -> Coverage {
        if cursor.deep_scan_passes > 0 {
            return Coverage::Everything;
        }
        Coverage::Partly {
            walked_down_to: cursor.deep_scan_position,
            hot: hot_listed,
        }
    }

    /// Whether an entry starting at `start` would have been listed.
    pub fn covers(&self, start: DateTime<Utc>) -> bool {
        match self {
            Coverage::Everything => true,
            Coverage::Partly {
                walked_down_to,
                hot,
            } => {
                walked_down_to.is_some_and(|floor| start >= floor)
                    || hot.is_some_and(|w| w.contains(start))
            }
        }
    }

    /// Whether a new record may be created on the provider now: references always (they
    /// are listed in full every cycle), entries once their date has been listed.
    pub fn may_create(&self, record: &Record<CanonicalId>) -> bool {
        match record {
            Record::TimeEntry(e) => self.covers(e.started_at),
            _ => true,
        }
    }

    /// Where the listings have not looked yet, for the operator (`None`: nowhere).
    pub fn not_yet_below(&self) -> Option<String> {
        match self {
            Coverage::Everything => None,
            Coverage::Partly {
                walked_down_to: Some(at),
                ..
            } => Some(format!("before {}", at.format("%Y-%m-%d"))),
            Coverage::Partly { hot: Some(w), .. } => Some(format!(
                "outside {} to {}",
                w.from.format("%Y-%m-%d"),
                w.to.format("%Y-%m-%d")
            )),
            Coverage::Partly { .. } => Some("anywhere".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use std::collections::BTreeSet;
    use timeweave_contract::{Client, EntryKind, TimeEntry};

    fn at(days: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::days(days)
    }

    fn cursor(passes: i64, position: Option<DateTime<Utc>>) -> Cursor {
        Cursor {
            deep_scan_position: position,
            deep_scan_passes: passes,
            change_watermark: None,
        }
    }

    fn hot() -> Window {
        Window::new(at(-35), at(7))
    }

    fn entry(start: DateTime<Utc>) -> Record<CanonicalId> {
        Record::TimeEntry(TimeEntry {
            person: CanonicalId("p".into()),
            project: None,
            task: None,
            client: None,
            started_at: start,
            ended_at: Some(start + Duration::hours(1)),
            break_seconds: 0,
            duration_seconds: Some(3600),
            source_tz: None,
            notes: None,
            tags: BTreeSet::new(),
            billable: false,
            kind: EntryKind::Work,
        })
    }

    #[test]
    fn a_finished_pass_covers_every_date() {
        let listed = Coverage::after(&cursor(1, None), None);
        assert_eq!(listed, Coverage::Everything);
        assert!(listed.covers(at(-5000)));
        assert!(listed.covers(at(5000)));
        assert_eq!(listed.not_yet_below(), None);
    }

    #[test]
    fn a_first_pass_covers_what_it_walked_and_the_hot_window() {
        let listed = Coverage::after(&cursor(0, Some(at(-100))), Some(hot()));
        assert!(listed.covers(at(-100)), "the walk's lowest start");
        assert!(listed.covers(at(-60)));
        assert!(
            listed.covers(at(400)),
            "above the hot window: walked first, or never listed"
        );
        assert!(listed.covers(at(0)));
        assert!(!listed.covers(at(-101)), "below the walk");
        assert_eq!(listed.not_yet_below().as_deref(), Some("before 2026-08-23"));
    }

    #[test]
    fn before_any_slice_only_the_hot_window_is_covered() {
        let listed = Coverage::after(&cursor(0, None), Some(hot()));
        assert!(listed.covers(at(0)));
        assert!(listed.covers(at(-35)));
        assert!(!listed.covers(at(7)), "the window's end is exclusive");
        assert!(!listed.covers(at(-36)));
        assert!(!listed.covers(at(30)), "future entries are not listed yet");
    }

    #[test]
    fn an_incomplete_cycle_trusts_only_the_earlier_walk() {
        let nothing = Coverage::after(&cursor(0, None), None);
        assert!(!nothing.covers(at(0)));
        assert_eq!(nothing.not_yet_below().as_deref(), Some("anywhere"));
        let walked = Coverage::after(&cursor(0, Some(at(-10))), None);
        assert!(walked.covers(at(0)));
        assert!(!walked.covers(at(-11)));
    }

    #[test]
    fn references_may_always_be_created_entries_once_listed() {
        let listed = Coverage::after(&cursor(0, Some(at(-10))), None);
        let client = Record::Client(Client {
            name: "Acme".into(),
            email: None,
            notes: None,
            archived: false,
        });
        assert!(listed.may_create(&client));
        assert!(listed.may_create(&entry(at(-1))));
        assert!(!listed.may_create(&entry(at(-200))));
    }
}
