//! Page tokens and the stop rule (spec §5): TrackingTime lists carry no totals, some
//! endpoints ignore `page`, and page sizes have changed over time, so a listing stops at
//! a short or empty page, or at a page that brings no new ids (the same ids as the page
//! before: a server ignoring `page`), and never goes past a page cap.

use timeweave_contract::{PageToken, ProviderError};

/// Which listing of events a token continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// `from`/`to` on the start date.
    Start,
    /// `sort_by=updated_at`.
    Updated,
    /// `sort_by=created_at`.
    Created,
}

impl Phase {
    fn code(self) -> char {
        match self {
            Phase::Start => 's',
            Phase::Updated => 'u',
            Phase::Created => 'c',
        }
    }
    fn from_code(c: &str) -> Option<Phase> {
        match c {
            "s" => Some(Phase::Start),
            "u" => Some(Phase::Updated),
            "c" => Some(Phase::Created),
            _ => None,
        }
    }
}

/// Where the next request of a listing starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub phase: Phase,
    pub page: u32,
    /// The fingerprint of the previous page's ids (0 on the first page).
    pub previous: u64,
}

impl Cursor {
    pub fn first(phase: Phase) -> Cursor {
        Cursor {
            phase,
            page: 0,
            previous: 0,
        }
    }

    /// The cursor of the page after this one, which printed `print`.
    pub fn following(self, print: u64) -> Cursor {
        Cursor {
            page: self.page + 1,
            previous: print,
            ..self
        }
    }

    pub fn token(&self) -> PageToken {
        PageToken(format!(
            "{}:{}:{:x}",
            self.phase.code(),
            self.page,
            self.previous
        ))
    }

    pub fn parse(t: &PageToken) -> Result<Cursor, ProviderError> {
        let bad = || {
            ProviderError::rejected(format!(
                "page token {:?} was not made by the TrackingTime adapter",
                t.0
            ))
        };
        let mut parts = t.0.split(':');
        let phase = parts.next().and_then(Phase::from_code).ok_or_else(bad)?;
        let page = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let previous = parts
            .next()
            .and_then(|p| u64::from_str_radix(p, 16).ok())
            .ok_or_else(bad)?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Cursor {
            phase,
            page,
            previous,
        })
    }
}

/// A fingerprint of a page's ids (FNV-1a over the sorted ids): equal pages, equal prints.
pub fn fingerprint(ids: &[i64]) -> u64 {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for id in sorted {
        for b in id.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h | 1 // never 0, which marks "no previous page"
}

/// What to do after a page of `len` items (asked with `page_size`) whose ids print `print`.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Ask for the next page.
    More(u64),
    /// This listing is complete.
    Done,
    /// The page repeats the previous one: the server ignores `page`; the items are already
    /// known and the listing is complete.
    Repeated,
}

pub fn next(
    cursor: &Cursor,
    len: usize,
    page_size: u32,
    print: u64,
    max_pages: u32,
) -> Result<Next, ProviderError> {
    if len == 0 {
        return Ok(Next::Done);
    }
    if cursor.previous != 0 && print == cursor.previous {
        return Ok(Next::Repeated);
    }
    if len < page_size as usize {
        return Ok(Next::Done);
    }
    if cursor.page + 1 >= max_pages {
        return Err(ProviderError::malformed(format!(
            "TrackingTime listing still had full pages after {max_pages} pages; \
             narrow the sync window or raise the page size"
        )));
    }
    Ok(Next::More(print))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let c = Cursor {
            phase: Phase::Created,
            page: 7,
            previous: 0xdead_beef,
        };
        assert_eq!(Cursor::parse(&c.token()).unwrap(), c);
        for bad in ["", "x:1:0", "s:one:0", "s:1:zz", "s:1:0:9"] {
            assert!(Cursor::parse(&PageToken(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_following_cursor_keeps_the_phase_and_remembers_the_page() {
        let c = Cursor {
            phase: Phase::Updated,
            page: 4,
            previous: 9,
        };
        let after = Cursor {
            phase: Phase::Updated,
            page: 5,
            previous: 7,
        };
        assert_eq!(c.following(7), after);
    }

    #[test]
    fn stop_rules() {
        let c = Cursor::first(Phase::Start);
        let p = fingerprint(&[3, 1, 2]);
        assert_eq!(p, fingerprint(&[1, 2, 3]));
        assert_eq!(next(&c, 0, 3, 1, 10).unwrap(), Next::Done);
        assert_eq!(next(&c, 2, 3, p, 10).unwrap(), Next::Done);
        assert_eq!(next(&c, 3, 3, p, 10).unwrap(), Next::More(p));
        let c2 = Cursor {
            page: 1,
            previous: p,
            ..c
        };
        assert_eq!(next(&c2, 3, 3, p, 10).unwrap(), Next::Repeated);
        let last = Cursor {
            page: 9,
            previous: 5,
            ..c
        };
        assert!(next(&last, 3, 3, p, 10).is_err());
    }
}
