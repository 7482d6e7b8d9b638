//! Listings with TrackingTime's per-endpoint paging: users, customers and projects whole,
//! tasks by page, and time entries (events) by date range through the change feed
//! (`sort_by=updated_at`, then `sort_by=created_at`).

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use serde_json::Value;
use timeweave_contract::{
    Kind, ListScope, Page, PageItem, PageToken, ProviderError, Record, Window,
};
use timeweave_http::Repeat;

use super::requests::{short, Call};
use super::TrackingTimeAdapter;
use crate::errors::Body;
use crate::mapping::{self};
use crate::observe::{self, SearchAnswer};
use crate::paging::{self, Cursor, Next, Phase};
use crate::wire;
use crate::zone::{parse_naive, Zone};

/// Whether an event's `updated_at` falls in the inclusive date range (so the
/// `sort_by=updated_at` phase already listed it).
pub(super) fn updated_within(v: &Value, from: NaiveDate, to: NaiveDate) -> bool {
    wire::read_event(v)
        .ok()
        .and_then(|e| e.updated_at)
        .as_deref()
        .and_then(parse_naive)
        .is_some_and(|t| (from..=to).contains(&t.date()))
}

/// `GET search/events?type=ByExternalID` for `key` (spec §8.2; the parameter names are
/// unpublished, T9): `external_id`, and `service` when given.
pub(super) fn search_call(key: &str, service: Option<&str>) -> Call {
    let call = Call::get("search/events")
        .q("type", "ByExternalID")
        .q("entity", "Event")
        .q("external_id", key);
    match service {
        Some(s) => call.q("service", s),
        None => call,
    }
    .q("include_custom_fields", "true")
}

/// Custom-field rows `(slug, value)` by event id.
pub(super) type CustomFields = HashMap<i64, Vec<(String, String)>>;

/// The custom-field rows of a `set_custom_fields` sibling (`[{entity_id, slug, value}]`)
/// by event id, as `(slug, value)`; events without rows (or a missing or odd sibling)
/// are absent.
pub(super) fn custom_field_rows(body: &Body) -> CustomFields {
    let mut out: CustomFields = HashMap::new();
    let rows = body
        .0
        .get("set_custom_fields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for f in rows {
        let id = f
            .get("entity_id")
            .and_then(|id| id.as_i64().or_else(|| id.as_str()?.parse().ok()));
        let slug = f.get("slug").and_then(Value::as_str);
        let value = f.get("value").and_then(Value::as_str);
        if let (Some(id), Some(slug), Some(value)) = (id, slug, value) {
            out.entry(id)
                .or_default()
                .push((slug.to_owned(), value.to_owned()));
        }
    }
    out
}

pub(super) fn people_unsupported() -> ProviderError {
    ProviderError::unsupported(
        "writing TrackingTime users: people are invited and managed in TrackingTime itself",
    )
}

impl TrackingTimeAdapter {
    pub(super) fn items_of(body: Body, what: &str) -> Result<Vec<Value>, ProviderError> {
        match body.into_data() {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            Value::Object(m) if m.is_empty() => Ok(Vec::new()),
            other => Err(ProviderError::malformed(format!(
                "{what}: expected a list in data, got {}",
                short(&other)
            ))),
        }
    }

    /// A reference kind that comes in one answer (users, customers, projects): the whole
    /// list, each id once (customers ignore `page`, projects answer all on page 0).
    pub(super) async fn list_whole(&self, kind: Kind, path: &str) -> Result<Page, ProviderError> {
        let what = format!("GET {path}?filter=ALL");
        let call = Call::get(path).q("filter", "ALL");
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let ctx = self.ctx().await?;
        let mut seen = HashSet::new();
        let items = Self::items_of(body, &what)?
            .iter()
            .filter(|v| wire::id_of(v).is_none_or(|id| seen.insert(id)))
            .map(|v| mapping::item(kind, v, &ctx))
            .collect();
        Ok(Page { items, next: None })
    }

    /// Which key of the listed customers carries an e-mail (T2): counted, never shown.
    pub(super) async fn customer_email_keys(&self) -> Result<observe::EmailKeys, ProviderError> {
        let what = "GET customers?filter=ALL";
        let call = Call::get("customers").q("filter", "ALL");
        let body = self.send_ok(what, Repeat::Safe, &call).await?;
        Ok(observe::EmailKeys::count(&Self::items_of(body, what)?))
    }

    pub(super) async fn list_tasks(&self, token: Option<PageToken>) -> Result<Page, ProviderError> {
        let cursor = match &token {
            Some(t) => Cursor::parse(t)?,
            None => Cursor::first(Phase::Start),
        };
        let what = format!("GET tasks?filter=ALL page {}", cursor.page);
        let call = Call::get("tasks")
            .q("filter", "ALL")
            .q("page", cursor.page)
            .q("page_size", self.tasks_page_size);
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let raw = Self::items_of(body, &what)?;
        let ctx = self.ctx().await?;
        let ids: Vec<i64> = raw.iter().filter_map(wire::id_of).collect();
        let print = paging::fingerprint(&ids);
        let next = paging::next(
            &cursor,
            raw.len(),
            self.tasks_page_size,
            print,
            self.max_pages,
        )?;
        let items = if next == Next::Repeated {
            Vec::new()
        } else {
            raw.iter()
                .map(|v| mapping::item(Kind::Task, v, &ctx))
                .collect()
        };
        let next = match next {
            Next::More(p) => Some(cursor.following(p).token()),
            Next::Done | Next::Repeated => None,
        };
        Ok(Page { items, next })
    }

    /// The inclusive date range and `sort_by` a phase of an event listing asks for. With
    /// the account's zone unknown, change dates are placed as if in UTC: the day of margin
    /// each side covers every real offset (these are request bounds, not data).
    pub(super) fn event_dates(
        phase: Phase,
        window: &Window,
        zone: Option<Zone>,
    ) -> (NaiveDate, NaiveDate) {
        let zone = zone.unwrap_or(Zone::UTC);
        match phase {
            // Start dates are local to each event (offsets within ±14 h): a day of margin
            // each side, then the exact half-open UTC window is applied here.
            Phase::Start => (
                (window.from - Duration::days(1)).date_naive(),
                (window.to + Duration::days(1)).date_naive(),
            ),
            // Change dates are in the account's zone, at day granularity: one day of
            // overlap before the cursor, one after (spec §9).
            Phase::Updated | Phase::Created => (
                zone.date_of(window.from - Duration::days(1)),
                zone.date_of(window.to) + Duration::days(1),
            ),
        }
    }

    pub(super) async fn list_events(
        &self,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError> {
        let (window, first) = match scope {
            ListScope::StartedIn(w) => (w, Phase::Start),
            ListScope::ChangedIn(w) => (w, Phase::Updated),
            ListScope::All => {
                return Err(ProviderError::unsupported(
                    "listing every TrackingTime event at once: list by start-date window",
                ))
            }
        };
        let cursor = match &token {
            Some(t) => Cursor::parse(t)?,
            None => Cursor::first(first),
        };
        if (first == Phase::Start) != (cursor.phase == Phase::Start) {
            return Err(ProviderError::rejected(
                "page token belongs to another listing",
            ));
        }
        let ctx = self.ctx().await?;
        let (from, to) = Self::event_dates(cursor.phase, &window, ctx.account_zone);
        let (raw, print) = self
            .fetch_events(cursor.phase, cursor.page, from, to, None)
            .await?;
        let next = paging::next(
            &cursor,
            raw.len(),
            self.events_page_size,
            print,
            self.max_pages,
        )?;
        let items = if next == Next::Repeated {
            Vec::new()
        } else {
            raw.iter()
                .filter(|v| !(cursor.phase == Phase::Created && updated_within(v, from, to)))
                .map(|v| mapping::event(v, &ctx))
                .filter(|item| match (cursor.phase, item) {
                    (Phase::Start, PageItem::Record(r)) => match &r.record {
                        Record::TimeEntry(e) => window.contains(e.started_at),
                        _ => false,
                    },
                    _ => true,
                })
                .collect()
        };
        let next = match next {
            Next::More(p) => Some(cursor.following(p)),
            Next::Done | Next::Repeated if cursor.phase == Phase::Updated => {
                Some(Cursor::first(Phase::Created))
            }
            Next::Done | Next::Repeated => None,
        };
        Ok(Page {
            items,
            next: next.map(|c| c.token()),
        })
    }

    /// The first page of the last year's events with their custom fields, for `doctor`:
    /// the form the listing answers in (T1) and an external id to search for (T9).
    pub(super) async fn recent_events(&self) -> Result<(Vec<Value>, CustomFields), ProviderError> {
        let zone = self.ctx().await?.account_zone;
        let now = chrono::Utc::now();
        let window = Window::new(now - Duration::days(365), now);
        let (from, to) = Self::event_dates(Phase::Start, &window, zone);
        let call = Call::get("events")
            .q("filter", "COMPANY")
            .q("from", from.format("%Y-%m-%d"))
            .q("to", to.format("%Y-%m-%d"))
            .q("page", 0)
            .q("page_size", self.events_page_size)
            .q("include_custom_fields", "true");
        let what = format!("GET events {from}..{to} page 0 (custom fields)");
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let fields = custom_field_rows(&body);
        Ok((Self::items_of(body, &what)?, fields))
    }

    /// What the search by external id answers (T9): for an id one of `fields` carries,
    /// whether it finds that event; with none, what it answers for an id nothing carries.
    pub(super) async fn search_answer(
        &self,
        fields: &CustomFields,
    ) -> Result<SearchAnswer, ProviderError> {
        let known = fields.iter().find_map(|(id, rows)| {
            rows.iter()
                .find(|(slug, _)| slug == mapping::THIRD_PARTY_ID)
                .map(|(_, value)| (*id, value.clone()))
        });
        let key = match &known {
            Some((_, value)) => value.clone(),
            None => format!("timeweave-doctor-{}", chrono::Utc::now().timestamp()),
        };
        let what = "GET search/events?type=ByExternalID";
        let answer = self
            .send(
                what,
                Repeat::Safe,
                &search_call(&key, None),
                &[400, 403, 404],
            )
            .await;
        let body = match answer {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                let why = format!("status {}: {}", e.status, e.message);
                return Ok(SearchAnswer::Unavailable(why));
            }
            Err(e) if !e.is_fatal_for_cycle() && !e.is_retryable() => {
                return Ok(SearchAnswer::Unavailable(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        let ids: Vec<i64> = match body.data() {
            Value::Array(items) => items.iter().filter_map(wire::id_of).collect(),
            one => wire::id_of(one).into_iter().collect(),
        };
        Ok(match known {
            Some((id, _)) => SearchAnswer::Known {
                found: ids.contains(&id),
                others: ids.iter().filter(|i| **i != id).count(),
            },
            None => SearchAnswer::Unknown {
                answered: ids.len(),
            },
        })
    }

    /// One page of `GET events?filter=COMPANY` (or `filter=USER&id=` when `user` is given).
    pub(super) async fn fetch_events(
        &self,
        phase: Phase,
        page: u32,
        from: NaiveDate,
        to: NaiveDate,
        user: Option<i64>,
    ) -> Result<(Vec<Value>, u64), ProviderError> {
        let mut call = Call::get("events");
        call = match user {
            Some(u) => call.q("filter", "USER").q("id", u),
            None => call.q("filter", "COMPANY"),
        };
        call = call
            .q("from", from.format("%Y-%m-%d"))
            .q("to", to.format("%Y-%m-%d"))
            .q("page", page)
            .q("page_size", self.events_page_size)
            .q("order", "asc");
        let sort = match phase {
            Phase::Start => None,
            Phase::Updated => Some("updated_at"),
            Phase::Created => Some("created_at"),
        };
        if let Some(s) = sort {
            call = call.q("sort_by", s);
        }
        let what = format!(
            "GET events {from}..{to}{} page {page}",
            sort.map(|s| format!(" sort_by={s}")).unwrap_or_default()
        );
        let body = self.send_ok(&what, Repeat::Safe, &call).await?;
        let raw = Self::items_of(body, &what)?;
        let ids: Vec<i64> = raw.iter().filter_map(wire::id_of).collect();
        Ok((raw, paging::fingerprint(&ids)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn event_date_ranges() {
        let w = Window::new(
            Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 11, 0, 0, 0).unwrap(),
        );
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let madrid = Zone::parse("Europe/Madrid").unwrap();
        assert_eq!(
            TrackingTimeAdapter::event_dates(Phase::Start, &w, Some(madrid)),
            (d("2026-03-09"), d("2026-03-12"))
        );
        // 2026-03-08 23:00 UTC is already the 9th in Madrid.
        let late = Window::new(Utc.with_ymd_and_hms(2026, 3, 9, 23, 0, 0).unwrap(), w.to);
        assert_eq!(
            TrackingTimeAdapter::event_dates(Phase::Updated, &late, Some(madrid)),
            (d("2026-03-09"), d("2026-03-12"))
        );
    }
}
