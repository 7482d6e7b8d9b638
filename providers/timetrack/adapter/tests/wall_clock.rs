//! TimeTrack's `...Z` times as wall-clock time (evidence K1) through the adapter and the
//! simulator in Europe/Berlin: what goes on the wire, what reads back, across the spring
//! gap and the autumn fold, windows around them, a lost create in the fold, and the `utc`
//! switch.

mod common;

use chrono::{DateTime, Utc};
use timeweave_contract::{
    Kind, ListScope, Provider, Record, RemoteId, RemoteRecord, TimeEntry, Window,
};
use timeweave_simkit::{work_entry, Fault, SimulatorControl};
use timeweave_testsupport::{list_all, records};
use timeweave_timetrack::Timestamps;
use timeweave_timetrack_sim::SimOptions;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn entry_of(r: &RemoteRecord) -> &TimeEntry<RemoteId> {
    match &r.record {
        Record::TimeEntry(e) => e,
        other => panic!("not an entry: {other:?}"),
    }
}

/// `minutes` of work on the seeded project from `start` (RFC 3339).
fn work(s: &records::Seeded, start: &str, minutes: i64, notes: &str) -> TimeEntry<RemoteId> {
    work_entry(&s.person, Some(&s.project), at(start), minutes, notes)
}

/// The entries listed for one day's window around `day` (UTC).
async fn listed_on(adapter: &dyn Provider, day: &str) -> Vec<RemoteRecord> {
    let from = at(&format!("{day}T00:00:00Z"));
    let window = Window {
        from: from - chrono::Duration::hours(12),
        to: from + chrono::Duration::hours(36),
    };
    list_all(adapter, Kind::TimeEntry, ListScope::StartedIn(window))
        .await
        .into_iter()
        .filter(|r| r.kind() == Kind::TimeEntry)
        .collect()
}

#[tokio::test]
async fn an_entry_over_the_spring_gap_is_written_as_wall_clock_and_reads_back_the_same() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "g");
    // 01:30 CET to 03:30 CEST: one hour across the skipped 02:00–03:00.
    let mut e = work(&s, "2026-03-29T00:30:00Z", 60, "gap");
    e.source_tz = Some("Europe/Berlin".into());
    let created = adapter
        .create(&Record::TimeEntry(e.clone()), "g1")
        .await
        .unwrap();
    let raw = sim.raw_entry(&created.id).unwrap();
    assert_eq!(raw["from"], "2026-03-29T01:30:00.000Z");
    assert_eq!(raw["to"], "2026-03-29T03:30:00.000Z");
    let listed = listed_on(&adapter, "2026-03-29").await;
    assert_eq!(listed.len(), 1);
    let got = entry_of(&listed[0]);
    assert_eq!((got.started_at, got.ended_at), (e.started_at, e.ended_at));
    // A server deriving workedMinutes from the wall clock counts the skipped hour; the
    // adapter keeps the provider's figure rather than re-deriving it.
    assert_eq!(raw["workedMinutes"], 120);
    assert_eq!(got.duration_seconds, Some(120 * 60));
    // One that keeps the minutes as sent reads back exactly what was written.
    sim.configure(|o| o.derive_worked_minutes = false);
    let target = records::target(&created.id, None);
    adapter
        .update(&target, &Record::TimeEntry(e.clone()))
        .await
        .unwrap();
    let listed = listed_on(&adapter, "2026-03-29").await;
    assert_eq!(entry_of(&listed[0]), &e);
}

#[tokio::test]
async fn a_wall_clock_time_in_the_spring_gap_reads_as_the_browser_shows_it() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "h");
    let e = work(&s, "2026-03-29T06:00:00Z", 60, "gap");
    let id = adapter
        .create(&Record::TimeEntry(e), "h1")
        .await
        .unwrap()
        .id;
    // Booked in the web app as 02:30–04:00 on the night 02:00–03:00 does not exist.
    assert!(sim.set_wall_times(&id, "2026-03-29T02:30:00.000Z", "2026-03-29T04:00:00.000Z"));
    let listed = listed_on(&adapter, "2026-03-29").await;
    assert_eq!(
        listed.len(),
        1,
        "an entry in the gap is listed in its window"
    );
    let got = entry_of(&listed[0]);
    // 02:30 is read with the offset before the gap (+01:00): 01:30Z, shown as 03:30 CEST.
    assert_eq!(got.started_at, at("2026-03-29T01:30:00Z"));
    assert_eq!(got.ended_at, Some(at("2026-03-29T02:00:00Z")));
    assert_eq!(
        got.duration_seconds,
        Some(90 * 60),
        "the server's minutes are kept"
    );
}

#[tokio::test]
async fn an_hour_across_the_autumn_fold_keeps_its_instants_when_the_server_keeps_its_minutes() {
    let opts = SimOptions {
        derive_worked_minutes: false,
        ..SimOptions::unthrottled()
    };
    let (sim, adapter) = common::setup(opts, false).await;
    let s = common::seed(&sim, "f");
    // 02:30 summer time to 02:30 winter time: the same wall-clock text twice.
    let mut e = work(&s, "2026-10-25T00:30:00Z", 60, "fold");
    e.source_tz = Some("Europe/Berlin".into());
    let created = adapter
        .create(&Record::TimeEntry(e.clone()), "f1")
        .await
        .unwrap();
    let raw = sim.raw_entry(&created.id).unwrap();
    assert_eq!(raw["from"], "2026-10-25T02:30:00.000Z");
    assert_eq!(raw["to"], "2026-10-25T02:30:00.000Z");
    assert_eq!(raw["workedMinutes"], 60);
    let listed = listed_on(&adapter, "2026-10-25").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(entry_of(&listed[0]), &e, "its minutes settle the fold");
}

#[tokio::test]
async fn a_lost_create_in_the_fold_is_found_not_sent_twice() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    let s = common::seed(&sim, "l");
    // 02:10–02:50 winter time: the second pass of the fold, which reads back as the first.
    let e = work(&s, "2026-10-25T01:10:00Z", 40, "twice?");
    sim.inject_faults(Fault::LoseResponse, 1);
    let created = adapter
        .create(&Record::TimeEntry(e.clone()), "l1")
        .await
        .unwrap();
    assert_eq!(sim.count(Kind::TimeEntry), 1, "exactly one entry");
    let found = adapter
        .find_created(&Record::TimeEntry(e), "l1")
        .await
        .unwrap()
        .expect("found by its wall-clock times");
    assert_eq!(found.id, created.id);
}

#[tokio::test]
async fn the_utc_switch_writes_and_reads_utc() {
    let opts = SimOptions {
        timestamps: Timestamps::Utc,
        ..SimOptions::unthrottled()
    };
    let (sim, adapter) = common::setup(opts, false).await;
    assert_eq!(sim.config_lines(), "timestamps = \"utc\"\n");
    let s = common::seed(&sim, "u");
    let mut e = work(&s, "2026-07-01T08:00:00Z", 30, "utc");
    e.source_tz = Some("UTC".into());
    let created = adapter
        .create(&Record::TimeEntry(e.clone()), "u1")
        .await
        .unwrap();
    assert_eq!(
        sim.raw_entry(&created.id).unwrap()["from"],
        "2026-07-01T08:00:00.000Z"
    );
    assert_eq!(created.record, Record::TimeEntry(e));
}

#[tokio::test]
async fn the_default_simulator_names_its_zone_for_configs() {
    let (sim, adapter) = common::setup(SimOptions::unthrottled(), false).await;
    assert_eq!(
        sim.config_lines(),
        "timestamps = \"local\"\ntime_zone = \"Europe/Berlin\"\n"
    );
    assert_eq!(
        sim.settings().timestamps,
        Timestamps::Local(chrono_tz::Europe::Berlin)
    );
    let _ = adapter;
}
