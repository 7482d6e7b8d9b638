//! Test support shared by the crates' tests and the benchmarks (a dev-only crate: never a
//! normal dependency of the binary or the adapters): the [`conformance`] suite every adapter
//! runs against its own simulator, and the fast-failing transport its tests use, so the three
//! adapters honour the same [`Provider`] contract; fixed test instants and entries; full
//! listings; test [`records`] and the reference data tests seed; and
//! [`memory::MemoryProvider`], the engine's in-memory test double.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod conformance;
pub mod memory;
pub mod records;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use timeweave_contract::{
    Kind, ListScope, PageItem, Provider, RemoteId, RemoteRecord, TimeEntry, Window,
};
use timeweave_http::{Quota, Transport, TransportConfig};
use timeweave_simkit::work_entry;

/// A transport for an adapter-against-simulator test: short timeouts, three quick retries
/// and a cap of five seconds on `Retry-After`, so failure paths run fast.
pub fn fast_transport(instance: &str, quotas: Vec<Quota>) -> Transport {
    let mut cfg = TransportConfig::new(instance);
    cfg.timeout = std::time::Duration::from_millis(1500);
    cfg.connect_timeout = std::time::Duration::from_millis(500);
    cfg.max_retries = 3;
    cfg.min_backoff = std::time::Duration::from_millis(5);
    cfg.max_backoff = std::time::Duration::from_millis(20);
    cfg.max_retry_after = std::time::Duration::from_secs(5);
    cfg.quotas = quotas;
    Transport::new(cfg).expect("transport")
}

/// A fixed, DST-free instant for test data: 2026-03-10 08:00 UTC plus `minutes`.
pub fn test_instant(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0)
        .single()
        .expect("valid")
        + Duration::minutes(minutes)
}

/// A finished work entry on a project, `start_minutes` after [`test_instant`], for tests.
pub fn sample_entry(
    person: &RemoteId,
    project: Option<&RemoteId>,
    start_minutes: i64,
    minutes: i64,
    notes: &str,
) -> TimeEntry<RemoteId> {
    work_entry(person, project, test_instant(start_minutes), minutes, notes)
}

/// Lists one kind in full (all pages) through the adapter, panicking on errors.
pub async fn list_all(p: &dyn Provider, kind: Kind, scope: ListScope) -> Vec<RemoteRecord> {
    let mut out = Vec::new();
    let mut token = None;
    for _ in 0..100_000 {
        let page = p
            .list_page(kind, scope, token)
            .await
            .unwrap_or_else(|e| panic!("listing {kind} failed: {e}"));
        for item in page.items {
            match item {
                PageItem::Record(r) if r.kind() == kind => out.push(r),
                PageItem::Record(_) => {}
                PageItem::Invalid(bad) => panic!("invalid {kind} in listing: {}", bad.reason),
            }
        }
        match page.next {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
    panic!("listing {kind} never ended");
}

/// The ids of the time entries a listing of `window` holds, through the adapter.
pub async fn entry_ids_in(p: &dyn Provider, window: Window) -> BTreeSet<RemoteId> {
    list_all(p, Kind::TimeEntry, ListScope::StartedIn(window))
        .await
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// Whether `get` through the adapter says the `kind` record `id` is gone, panicking on errors.
pub async fn is_gone(p: &dyn Provider, kind: Kind, id: &RemoteId) -> bool {
    p.get(kind, id)
        .await
        .unwrap_or_else(|e| panic!("getting {kind} {id} failed: {e}"))
        .is_none()
}

/// A window that holds every `test_instant` used by the conformance suite.
pub fn test_window() -> Window {
    Window::new(test_instant(-3 * 24 * 60), test_instant(30 * 24 * 60))
}

/// Lists every time entry that starts in [`test_window`], through the adapter.
pub async fn list_entries(p: &dyn Provider) -> Vec<RemoteRecord> {
    list_all(p, Kind::TimeEntry, ListScope::StartedIn(test_window())).await
}
