//! TrackingTime's change trail: the event listing by change date (`sort_by=updated_at`,
//! then `sort_by=created_at`; `uat`/`cat` in the compact form, spec §8.2 and §9), read from
//! the last position to now, with the listing's own day of overlap each side. Its records
//! come whole, so nothing is fetched again. It lists edits and creations only (no
//! deletions, and no reference kinds), so it spares no listing: it brings edits to old
//! history in the next cycle, and the windows keep finding deletions.

use chrono::{DateTime, Utc};
use timeweave_contract::{
    Kind, ListScope, PageItem, Provider, ProviderError, TrailPosition, TrailRead, Window,
};

/// Reads every event changed since `since` (an RFC 3339 instant this module wrote).
pub async fn read(
    provider: &dyn Provider,
    since: Option<&TrailPosition>,
    now: DateTime<Utc>,
) -> Result<TrailRead, ProviderError> {
    let position = Some(TrailPosition(now.to_rfc3339()));
    let from = since.and_then(|p| DateTime::parse_from_rfc3339(&p.0).ok());
    let Some(from) = from.map(|t| t.with_timezone(&Utc)) else {
        return Ok(TrailRead {
            position,
            ..TrailRead::incomplete("no trail position yet: this read only sets one")
        });
    };
    let mut read = TrailRead {
        position,
        ..TrailRead::default()
    };
    let scope = ListScope::ChangedIn(Window::new(from.min(now), now));
    let mut token = None;
    loop {
        let page = provider.list_page(Kind::TimeEntry, scope, token).await?;
        for item in page.items {
            match item {
                PageItem::Record(r) if r.kind() == Kind::TimeEntry => {
                    read.note_changed(Kind::TimeEntry, r.id.clone());
                    read.records.push(r);
                }
                // A reference the page carries, or an event it cannot read: the windows
                // take those in (and record why not).
                _ => {}
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    Ok(read)
}
