//! Listings of every kind: people (or only the token's own user), clients, projects and tasks
//! (all pages, archived included), and time entries by window, page by page with the
//! records that shift between pages dropped.

use std::collections::BTreeSet;

use chrono::Duration;
use reqwest::Method;
use serde_json::Value;
use timeweave_contract::{
    InvalidRecord, Kind, ListScope, Page, PageItem, Provider, ProviderError, Record, RemoteRecord,
    Window,
};
use timeweave_http::Repeat;

use super::requests::Request;
use super::{Session, TimeTrackerAdapter};
use crate::mapping::{self, raw_id, typed, Zone};
use crate::paging::{encode_token, next_page, PAGE_SIZE};
use crate::time::{read_local, write_local};
use crate::tolerance::server_now;
use crate::wire;

pub(super) fn invalid(kind: Kind, item: &Value, reason: String) -> PageItem {
    PageItem::Invalid(InvalidRecord {
        kind,
        remote_id: raw_id(item),
        reason,
    })
}

impl TimeTrackerAdapter {
    pub(super) async fn list_people(&self, page: i64) -> Result<Page, ProviderError> {
        let listable = self.users_listable.lock().ok().and_then(|g| *g);
        if listable != Some(false) {
            let query = vec![
                ("page", page.to_string()),
                ("per_page", PAGE_SIZE.to_string()),
            ];
            let users = self.call(
                "GET /users",
                Method::GET,
                "/users",
                &query,
                None,
                None,
                Repeat::Safe,
                true,
                |b| wire::ListPage::parse_lenient(b, "users"),
            );
            match users.await {
                Ok(list) => {
                    if let Ok(mut g) = self.users_listable.lock() {
                        *g = Some(true);
                    }
                    let items = list
                        .items
                        .iter()
                        .map(|item| match typed::<wire::User>(item) {
                            Ok(u) => PageItem::Record(mapping::person(&u)),
                            Err(reason) => invalid(Kind::Person, item, reason),
                        })
                        .collect();
                    return Ok(Page {
                        items,
                        next: next_page(&list, page, false).map(|n| encode_token(n, &[])),
                    });
                }
                Err(ProviderError::Forbidden { .. }) if page == 1 => {
                    tracing::info!(
                        "TimeTracker token cannot list /users (needs admin:all); listing only \
                         the token's own user"
                    );
                    if let Ok(mut g) = self.users_listable.lock() {
                        *g = Some(false);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let me: wire::UserMe = self.get_json("GET /users/me", "/users/me", &[]).await?;
        Ok(Page {
            items: vec![PageItem::Record(mapping::person(&me.user))],
            next: None,
        })
    }

    pub(super) async fn list_simple(
        &self,
        kind: Kind,
        page: i64,
        zone: &Zone,
    ) -> Result<Page, ProviderError> {
        let mut query = vec![
            ("page", page.to_string()),
            ("per_page", PAGE_SIZE.to_string()),
        ];
        let (what, path, key) = match kind {
            Kind::Client => ("GET /clients", "/clients", "clients"),
            Kind::Project => {
                query.push(("status", "all".into()));
                ("GET /projects", "/projects", "projects")
            }
            _ => ("GET /tasks", "/tasks", "tasks"),
        };
        let list = self.list_raw(what, path, key, query).await?;
        let items = list
            .items
            .iter()
            .map(|item| {
                let mapped = match kind {
                    Kind::Client => typed::<wire::Client>(item).map(|c| mapping::client(&c)),
                    Kind::Project => {
                        typed::<wire::Project>(item).and_then(|p| mapping::project(&p))
                    }
                    _ => typed::<wire::Task>(item).map(|t| mapping::task(&t, zone)),
                };
                match mapped {
                    Ok(r) => {
                        self.references.listed(&r);
                        PageItem::Record(r)
                    }
                    Err(reason) => invalid(kind, item, reason),
                }
            })
            .collect();
        // The task paginator's `total` is only an estimate on later pages: a full page means
        // there may be more.
        let next = next_page(&list, page, kind == Kind::Task);
        Ok(Page {
            items,
            next: next.map(|n| encode_token(n, &[])),
        })
    }

    pub(super) async fn list_entries(
        &self,
        window: Option<Window>,
        user_id: Option<i64>,
        page: i64,
        seen: &BTreeSet<i64>,
        session: &Session,
    ) -> Result<(Page, Vec<i64>), ProviderError> {
        let zone = &session.zone;
        let mut query = vec![
            ("include_active", "true".to_owned()),
            ("per_page", PAGE_SIZE.to_string()),
            ("page", page.to_string()),
        ];
        if let Some(w) = window {
            // The server compares naive local start times, inclusive at both ends. Ask for an
            // hour more on each side (a DST fold makes naive bounds ambiguous) and keep the
            // half-open UTC window on our side.
            let hour = Duration::hours(1);
            let from = w.from.checked_sub_signed(hour).unwrap_or(w.from);
            let to = w.to.checked_add_signed(hour).unwrap_or(w.to);
            query.push(("start_date", write_local(zone.tz, from)));
            query.push(("end_date", write_local(zone.tz, to)));
        }
        if let Some(u) = user_id {
            query.push(("user_id", u.to_string()));
        }
        let (list, now) = self
            .call_raw(
                "GET /time-entries",
                Request::get("/time-entries", &query),
                |raw| {
                    Ok((
                        wire::ListPage::parse(&raw.body, "time_entries")?,
                        server_now(&raw.headers),
                    ))
                },
            )
            .await?;
        let mut ids = Vec::with_capacity(list.items.len());
        let mut items = Vec::with_capacity(list.items.len());
        let mut derived = std::collections::HashSet::new();
        for item in &list.items {
            if let Some(id) = item.get("id").and_then(Value::as_i64) {
                ids.push(id);
                if seen.contains(&id) {
                    continue; // shifted in from the previous page
                }
            }
            let wire_entry = typed::<wire::TimeEntry>(item);
            match wire_entry.and_then(|e| mapping::entry(&e, zone).map(|r| (e, r))) {
                Ok((e, r)) => {
                    self.note_listed(&r, now);
                    let keep = match (&r.record, window) {
                        (Record::TimeEntry(e), Some(w)) => w.contains(e.started_at),
                        _ => true,
                    };
                    if !keep {
                        continue;
                    }
                    // A reference the token cannot list comes before the entry booked on it.
                    let unlisted = (!session.admin)
                        .then(|| self.references.unlisted_of(&e))
                        .flatten()
                        .filter(|u| derived.insert((u.kind(), u.id.clone())));
                    items.extend(unlisted.map(PageItem::Record));
                    items.push(PageItem::Record(r));
                }
                Err(reason) => items.push(invalid(Kind::TimeEntry, item, reason)),
            }
        }
        let next = next_page(&list, page, false);
        Ok((
            Page {
                items,
                next: next.map(|n| encode_token(n, &ids)),
            },
            ids,
        ))
    }

    /// One entry of the unfiltered listing (sorted by start, newest first), at `page` of
    /// one-entry pages: its start, if it can be read, and the listing's total.
    pub(super) async fn entry_at(
        &self,
        page: i64,
        zone: &Zone,
    ) -> Result<(Option<chrono::DateTime<chrono::Utc>>, Option<i64>), ProviderError> {
        let query = vec![
            ("include_active", "true".to_owned()),
            ("per_page", "1".to_owned()),
            ("page", page.to_string()),
        ];
        let list = self
            .list_raw("GET /time-entries", "/time-entries", "time_entries", query)
            .await?;
        let start = list
            .items
            .first()
            .and_then(|e| e.get("start_time"))
            .and_then(Value::as_str)
            .and_then(|s| read_local(zone.tz, s));
        let total = list.pagination.total.or(list.pagination.pages);
        Ok((start, total))
    }

    /// Every record of a reference kind (used by `get` of clients and by `find_created`).
    pub(super) async fn all_of(&self, kind: Kind) -> Result<Vec<RemoteRecord>, ProviderError> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self.list_page(kind, ListScope::All, token).await?;
            out.extend(page.items.into_iter().filter_map(|i| match i {
                PageItem::Record(r) if r.kind() == kind => Some(r),
                _ => None,
            }));
            match page.next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }
}
