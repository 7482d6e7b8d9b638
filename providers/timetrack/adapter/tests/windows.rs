//! Windowed listing (no change feed): pages of 1000 until a short page, the exact half-open
//! window whatever the server's `from`/`to` semantics (§4.13), and the request count.

mod common;

use std::collections::BTreeSet;

use timeweave_contract::{Kind, ListScope, Provider, Window};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::{entry_ids_in, list_all, sample_entry, test_instant};
use timeweave_timetrack_sim::{FromToSemantics, SimOptions};

#[tokio::test]
async fn more_than_a_thousand_entries_page_by_page() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "pg");
    let mut seeded = BTreeSet::new();
    for i in 0..2_500i64 {
        seeded.insert(sim.add_entry(&sample_entry(&s.person, Some(&s.project), i * 20, 15, "p")));
    }
    let window = Window::new(test_instant(-10), test_instant(2_500 * 20));
    // Warm the directory as a cycle would (people, clients, projects before entries).
    list_all(&adapter, Kind::Person, ListScope::All).await;
    list_all(&adapter, Kind::Project, ListScope::All).await;
    let before = sim.requests_served();
    let mut pages = 0;
    let mut token = None;
    let mut ids = Vec::new();
    loop {
        let page = adapter
            .list_page(Kind::TimeEntry, ListScope::StartedIn(window), token)
            .await
            .unwrap();
        pages += 1;
        ids.extend(page.items.into_iter().map(|i| match i {
            timeweave_contract::PageItem::Record(r) => r.id,
            timeweave_contract::PageItem::Invalid(bad) => panic!("{}", bad.reason),
        }));
        match page.next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 3, "1000 + 1000 + 500");
    assert_eq!(
        sim.requests_served() - before,
        3,
        "one request per page, no refreshes"
    );
    let unique: BTreeSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(unique, seeded);
}

#[tokio::test]
async fn an_exact_multiple_of_the_page_size_ends_on_an_empty_page() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "ex");
    for i in 0..1_000i64 {
        sim.add_entry(&sample_entry(&s.person, Some(&s.project), i * 20, 15, "p"));
    }
    let window = Window::new(test_instant(-10), test_instant(1_000 * 20));
    let all = list_all(&adapter, Kind::TimeEntry, ListScope::StartedIn(window)).await;
    assert_eq!(all.len(), 1_000);
}

#[tokio::test]
async fn the_window_is_exact_under_every_server_semantics() {
    for semantics in [
        FromToSemantics::StartInclusive,
        FromToSemantics::StartHalfOpen,
        FromToSemantics::Overlap,
        FromToSemantics::Contained,
    ] {
        let opts = SimOptions {
            from_to: semantics,
            ..SimOptions::unthrottled()
        };
        let (sim, adapter) = common::setup(opts, false).await;
        let s = common::seed(&sim, "w");
        let from = test_instant(24 * 60);
        let to = test_instant(2 * 24 * 60);
        let at_start = sim.add_entry(&sample_entry(
            &s.person,
            Some(&s.project),
            24 * 60,
            30,
            "at from",
        ));
        // Starts inside, ends after the window: a Contained server hides it without slack.
        let long = sim.add_entry(&sample_entry(
            &s.person,
            Some(&s.project),
            2 * 24 * 60 - 60,
            10 * 60,
            "long",
        ));
        let before = sim.add_entry(&sample_entry(
            &s.person,
            Some(&s.project),
            24 * 60 - 120,
            180,
            "overlaps from",
        ));
        let at_end = sim.add_entry(&sample_entry(
            &s.person,
            Some(&s.project),
            2 * 24 * 60,
            30,
            "at to",
        ));
        let ids = entry_ids_in(&adapter, Window::new(from, to)).await;
        assert_eq!(
            ids,
            [at_start, long].into_iter().collect(),
            "{semantics:?}: {ids:?}"
        );
        assert!(!ids.contains(&before) && !ids.contains(&at_end));
    }
}

#[tokio::test]
async fn a_server_ignoring_limit_is_still_listed_completely() {
    let opts = SimOptions {
        ignore_limit: true,
        ..SimOptions::unthrottled()
    };
    let (sim, adapter) = common::setup(opts, false).await;
    timeweave_testsupport::conformance::pagination(&adapter, &sim, 120).await;
    // Exactly 50 in the window: one extra (empty) page confirms the end.
    let (sim, adapter) = common::setup(
        SimOptions {
            ignore_limit: true,
            ..SimOptions::unthrottled()
        },
        false,
    )
    .await;
    let s = common::seed(&sim, "fifty");
    for i in 0..50i64 {
        sim.add_entry(&sample_entry(&s.person, Some(&s.project), i * 20, 15, "p"));
    }
    let window = Window::new(test_instant(-10), test_instant(50 * 20));
    assert_eq!(
        list_all(&adapter, Kind::TimeEntry, ListScope::StartedIn(window))
            .await
            .len(),
        50
    );
}

#[tokio::test]
async fn a_server_ignoring_page_number_fails_the_listing_loudly() {
    let opts = SimOptions {
        ignore_page_number: true,
        ..SimOptions::unthrottled()
    };
    let (sim, adapter) = common::setup(opts, false).await;
    let s = common::seed(&sim, "ipn");
    for i in 0..1_200i64 {
        sim.add_entry(&sample_entry(&s.person, Some(&s.project), i * 20, 15, "p"));
    }
    let window = Window::new(test_instant(-10), test_instant(1_200 * 20));
    let first = adapter
        .list_page(Kind::TimeEntry, ListScope::StartedIn(window), None)
        .await
        .unwrap();
    let err = adapter
        .list_page(Kind::TimeEntry, ListScope::StartedIn(window), first.next)
        .await
        .unwrap_err();
    assert!(
        matches!(err, timeweave_contract::ProviderError::Malformed { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("page_number"), "{err}");
}
