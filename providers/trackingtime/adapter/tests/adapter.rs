//! The adapter against its simulator: every kind round-trips, each envelope error type is
//! typed, time zones convert both ways, the change feed finds an edit to an old event,
//! a window rescan detects a deletion, a create after a lost answer lands exactly once,
//! account discovery refuses to guess, and what goes on the wire is what the spec asks.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, TimeZone, Utc};
use timeweave_contract::{
    Client, ConflictReason, Kind, ListScope, PageItem, Project, Provider, ProviderError, Record,
    RemoteId, Task, TimeEntry, Window,
};
use timeweave_simkit::{Fault, SimulatorControl};
use timeweave_testsupport::{
    is_gone, list_all, list_entries, records, sample_entry, test_instant, test_window,
};
use timeweave_trackingtime_sim::SimOptions;

fn entry(r: &timeweave_contract::RemoteRecord) -> &TimeEntry<RemoteId> {
    match &r.record {
        Record::TimeEntry(e) => e,
        other => panic!("not an entry: {other:?}"),
    }
}

use common::seed;

#[tokio::test]
async fn ids_are_large_and_every_request_is_scoped_and_identified() {
    let (sim, a) = common::setup().await;
    let info = a.connect().await.expect("connect");
    assert!(info
        .account
        .unwrap()
        .contains(&sim.account_id().to_string()));
    assert_eq!(info.timezone.as_deref(), Some("Europe/Madrid"));
    let (person, _, project) = seed(&sim);
    assert!(
        person.as_str().parse::<i64>().unwrap() > i32::MAX as i64,
        "ids start above 2^31"
    );
    sim.add_entry(&sample_entry(&person, Some(&project), 0, 30, "x"));
    sim.clear_request_log();
    list_entries(&a).await;
    list_all(&a, Kind::Person, ListScope::All).await;
    let log = sim.request_log();
    assert!(!log.is_empty());
    let prefix = format!("/{}/", sim.account_id());
    for r in &log {
        assert!(
            r.path.starts_with(&prefix),
            "account id in every path: {}",
            r.path
        );
        assert_eq!(r.username.as_deref(), Some("API_TOKEN"));
        let ua = r.user_agent.as_deref().unwrap_or("");
        assert!(
            ua.starts_with("timeweave/") && ua.contains("(tests@timeweave.example)"),
            "{ua}"
        );
    }
    let events = log.iter().find(|r| r.path.ends_with("/events")).unwrap();
    assert_eq!(events.params["filter"], "COMPANY");
    assert_eq!(
        events.params["page_size"], "1000",
        "page_size is always sent"
    );
    let users = log.iter().find(|r| r.path.ends_with("/users")).unwrap();
    assert_eq!(users.params["filter"], "ALL");
}

#[tokio::test]
async fn account_discovery_refuses_to_guess() {
    let (sim, a) = common::setup_with(SimOptions {
        extra_workspaces: vec!["Second Co".into(), "Third Co".into()],
        ..SimOptions::default()
    })
    .await;
    match a.connect().await {
        Err(ProviderError::Setup { message }) => {
            assert!(message.contains("account_id"), "{message}");
            assert!(message.contains(&sim.account_id().to_string()), "{message}");
            assert!(
                message.contains("Second Co") && message.contains("Third Co"),
                "{message}"
            );
            assert!(!message.contains("sim-app-password"), "no secret in errors");
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
    // Listing before connect refuses as well (discovery is lazy).
    assert!(matches!(
        a.list_page(Kind::Person, ListScope::All, None).await,
        Err(ProviderError::Setup { .. })
    ));
    // A configured account works, and every call goes to it.
    let second = sim.extra_account_ids()[0];
    let mut settings = sim.settings();
    settings.account_id = Some(second);
    let a = common::adapter(settings);
    a.connect()
        .await
        .expect("connect with a configured account");
    assert_eq!(a.account_id().await, Some(second));
    sim.clear_request_log();
    let people = list_all(&a, Kind::Person, ListScope::All).await;
    assert_eq!(people.len(), 1, "the second workspace holds only its owner");
    assert!(sim
        .request_log()
        .iter()
        .all(|r| r.path.starts_with(&format!("/{second}/"))));
    // An account the user does not belong to is a setup error.
    let mut settings = sim.settings();
    settings.account_id = Some(42);
    let a = common::adapter(settings);
    assert!(matches!(
        a.connect().await,
        Err(ProviderError::Setup { .. })
    ));
}

/// T7: `/me` `teams` may leave out the account the user is in. Unconfigured, that account
/// counts as one more workspace (no guess among two); a configured account missing from
/// `teams` is used when a probe there answers, and refused only when it does not, naming
/// the workspaces.
#[tokio::test]
async fn a_configured_account_missing_from_teams_is_probed() {
    let sim = common::sim(SimOptions {
        extra_workspaces: vec!["Second Co".into()],
        teams_omit_account: true,
        ..SimOptions::default()
    })
    .await;
    // Unconfigured: the account `/me` names and the one team are two workspaces.
    match common::adapter(sim.settings()).connect().await {
        Err(ProviderError::Setup { message }) => assert!(
            message.contains(&sim.account_id().to_string()) && message.contains("Second Co"),
            "{message}"
        ),
        other => panic!("two workspaces: no guess, got {other:?}"),
    }
    let mut settings = sim.settings();
    settings.account_id = Some(sim.account_id());
    let a = common::adapter(settings);
    a.connect()
        .await
        .expect("the probe answers: the account is used");
    assert_eq!(a.account_id().await, Some(sim.account_id()));
    assert!(sim
        .request_log()
        .iter()
        .any(|r| r.path == format!("/{}/users/{}", sim.account_id(), sim.caller_id())));
    let mut settings = sim.settings();
    settings.account_id = Some(42);
    match common::adapter(settings).connect().await {
        Err(ProviderError::Setup { message }) => {
            assert!(
                message.contains("42") && message.contains("Second Co"),
                "{message}"
            )
        }
        other => panic!("an account that refuses the probe is a setup error: {other:?}"),
    }
}

/// T3: the account's zone as a city label (the simulator's default `/me`) resolves to
/// its IANA zone; one that cannot be read is no zone (never UTC), and an event without
/// its own timezone is then invalid with the reason.
#[tokio::test]
async fn account_zone_city_label_and_unknown() {
    let (sim, a) = common::setup().await;
    let info = a.connect().await.unwrap();
    assert_eq!(info.timezone.as_deref(), Some("Europe/Madrid"));
    let unknown = common::sim(SimOptions {
        account_timezone: "Atlantis".into(),
        ..SimOptions::default()
    })
    .await;
    let a = common::adapter(unknown.settings());
    let info = a.connect().await.unwrap();
    assert_eq!(info.timezone, None, "never a silent UTC");
    drop(sim);
    let (person, _, project) = seed(&unknown);
    let e = sample_entry(&person, Some(&project), 0, 30, "zoned");
    let id = unknown.add_entry(&e);
    let got = a.get(Kind::TimeEntry, &id).await.unwrap().unwrap();
    assert_eq!(
        entry(&got).started_at,
        e.started_at,
        "its own timezone is read"
    );
}

#[tokio::test]
async fn settings_are_checked_without_io() {
    let sim = common::sim(SimOptions::default()).await;
    let mut s = sim.settings();
    s.base_url = "http://api.example.com/api/v4".into();
    assert!(matches!(
        timeweave_trackingtime::TrackingTimeAdapter::new(s, common::transport()),
        Err(ProviderError::Setup { .. })
    ));
    let mut s = sim.settings();
    s.contact = " ".into();
    assert!(timeweave_trackingtime::TrackingTimeAdapter::new(s, common::transport()).is_err());
    let mut s = sim.settings();
    s.app_password = timeweave_contract::Secret::new("");
    assert!(timeweave_trackingtime::TrackingTimeAdapter::new(s, common::transport()).is_err());
    assert_eq!(sim.requests_served(), 0);
}

#[tokio::test]
async fn wrong_password_is_auth() {
    let sim = common::sim(SimOptions::default()).await;
    let mut s = sim.settings();
    s.app_password = timeweave_contract::Secret::new("wrong");
    let a = common::adapter(s);
    match a.connect().await {
        Err(e @ ProviderError::Auth { .. }) => assert!(e.is_fatal_for_cycle()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn envelope_errors_of_each_type() {
    let (sim, a) = common::connected(SimOptions::default()).await;
    let cases: [(i64, &str, &str); 5] = [
        (500, "Something went wrong", "rejected"),
        (502, "There is another task running", "conflict"),
        (404, "Not found", "not_found"),
        (403, "You don't have permission", "forbidden"),
        (402, "Account suspended", "setup"),
    ];
    for (status, message, class) in cases {
        sim.inject_envelope_error(status, message, 1);
        let e = a
            .list_page(Kind::Client, ListScope::All, None)
            .await
            .unwrap_err();
        assert_eq!(e.class(), class, "status {status}: {e}");
        assert!(!e.is_retryable(), "status {status} is not retried: {e}");
    }
    // The duplicate customer name is a Duplicate conflict.
    let c = records::client("Acme");
    a.create(&Record::Client(c.clone()), "k-acme-1")
        .await
        .unwrap();
    match a.create(&Record::Client(c), "k-acme-2").await {
        Err(ProviderError::Conflict {
            reason: ConflictReason::Duplicate,
            message,
        }) => {
            assert!(message.contains("already another customer"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // HTML gateway pages and 5xx are retried; the call still succeeds.
    sim.inject_faults(Fault::HtmlErrorPage, 2);
    assert!(a
        .list_page(Kind::Client, ListScope::All, None)
        .await
        .is_ok());
    sim.inject_faults(Fault::ServerError, 1);
    assert!(a
        .list_page(Kind::Client, ListScope::All, None)
        .await
        .is_ok());
    sim.inject_faults(Fault::TruncatedBody, 1);
    assert!(a
        .list_page(Kind::Client, ListScope::All, None)
        .await
        .is_ok());
    // A gateway page that never ends fails as retryable, for the engine to try later.
    sim.inject_faults(Fault::HtmlErrorPage, 10);
    let e = a
        .list_page(Kind::Client, ListScope::All, None)
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    sim.clear_faults();
}

#[tokio::test]
async fn rate_limits_are_survived_and_retry_after_honoured() {
    let (sim, a) = common::connected(SimOptions::default()).await;
    sim.inject_faults(
        Fault::RateLimited {
            retry_after_secs: Some(1),
        },
        1,
    );
    let t = Instant::now();
    a.list_page(Kind::Client, ListScope::All, None)
        .await
        .expect("retried after 429");
    assert!(
        t.elapsed() >= StdDuration::from_millis(900),
        "waited for Retry-After"
    );
    // The simulator's own limiter: a burst beyond it is throttled, nothing fails.
    let a = common::adapter(sim.settings());
    a.connect().await.unwrap();
    sim.set_rate_limiting(true);
    sim.configure(|o| o.rate_limit_per_second = 2);
    let before = sim.requests_served();
    for _ in 0..3 {
        a.list_page(Kind::Client, ListScope::All, None)
            .await
            .expect("throttled, then served");
    }
    assert!(
        sim.requests_served() > before + 3,
        "at least one request was answered 429"
    );
    sim.set_rate_limiting(false);
}

#[test]
fn default_quota_is_two_per_second() {
    let q = timeweave_trackingtime::default_quotas();
    assert_eq!(q, vec![timeweave_http::Quota::per_second(2)]);
}

#[tokio::test]
async fn timezones_on_both_sides_of_utc_and_across_midnight() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    // 23:30 UTC on the 10th, shown at +05:30: 05:00 on the 11th.
    let mut east = sample_entry(&person, Some(&project), 15 * 60 + 30, 60, "east");
    east.source_tz = Some("+05:30".into());
    // 02:00 UTC on the 11th, shown at -08:00: 18:00 on the 10th.
    let mut west = sample_entry(&person, Some(&project), 18 * 60, 90, "west");
    west.source_tz = Some("-08:00".into());
    let east_id = sim.add_entry(&east);
    let west_id = sim.add_entry(&west);
    let raw = sim.raw_event(&east_id).unwrap();
    assert_eq!(
        (raw.start.as_str(), raw.timezone.as_str()),
        ("2026-03-11 05:00:00", "GMT+05:30")
    );
    let raw = sim.raw_event(&west_id).unwrap();
    assert_eq!(
        (raw.start.as_str(), raw.timezone.as_str()),
        ("2026-03-10 18:00:00", "GMT-08:00")
    );

    // A window of exactly the UTC day of the 10th holds the east entry (23:30 UTC on the
    // 10th, local date the 11th) but not the west one (02:00 UTC on the 11th, local 10th).
    let day = Window::new(
        Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 11, 0, 0, 0).unwrap(),
    );
    let listed = list_all(&a, Kind::TimeEntry, ListScope::StartedIn(day)).await;
    let ids: BTreeSet<_> = listed.iter().map(|r| r.id.clone()).collect();
    assert!(ids.contains(&east_id) && !ids.contains(&west_id), "{ids:?}");
    let e = entry(listed.iter().find(|r| r.id == east_id).unwrap());
    assert_eq!(e.started_at, east.started_at);
    assert_eq!(e.source_tz.as_deref(), Some("+05:30"));
    let w = a.get(Kind::TimeEntry, &west_id).await.unwrap().unwrap();
    assert_eq!(entry(&w).started_at, west.started_at);
    assert_eq!(entry(&w).ended_at, west.ended_at);
    assert_eq!(entry(&w).source_tz.as_deref(), Some("-08:00"));

    // Writes send the wall-clock time of the entry's offset.
    let mut made = sample_entry(&person, Some(&project), 17 * 60, 45, "made");
    made.source_tz = Some("-03:00".into()); // 01:00 UTC on the 11th: 22:00 on the 10th.
    let created = a
        .create(&Record::TimeEntry(made.clone()), "tz-1")
        .await
        .unwrap();
    let raw = sim.raw_event(&created.id).unwrap();
    assert_eq!(raw.start, "2026-03-10 22:00:00");
    assert_eq!(raw.end.as_deref(), Some("2026-03-10 22:45:00"));
    assert_eq!(raw.timezone, "GMT-03:00");
    assert_eq!(entry(&created).started_at, made.started_at);
    // An IANA source zone is written as the offset in force at the start.
    let mut named = sample_entry(&person, Some(&project), 20 * 60, 30, "rome");
    named.source_tz = Some("Europe/Rome".into());
    let created = a
        .create(&Record::TimeEntry(named.clone()), "tz-2")
        .await
        .unwrap();
    assert_eq!(sim.raw_event(&created.id).unwrap().timezone, "GMT+01:00");
    assert_eq!(entry(&created).started_at, named.started_at);
    // No source zone: UTC.
    let plain = sample_entry(&person, Some(&project), 21 * 60, 30, "utc");
    let created = a
        .create(&Record::TimeEntry(plain.clone()), "tz-3")
        .await
        .unwrap();
    assert_eq!(sim.raw_event(&created.id).unwrap().timezone, "GMT+00:00");
}

#[tokio::test]
async fn change_feed_finds_an_edit_to_a_months_old_event() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    // Booked and created in January; never edited since.
    let jan = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    sim.set_clock(Some(jan + Duration::hours(8)));
    let mut old = sample_entry(&person, Some(&project), 0, 60, "january work");
    old.started_at = jan;
    old.ended_at = Some(jan + Duration::hours(1));
    let old_id = sim.add_entry(&old);
    assert!(
        sim.raw_event(&old_id).unwrap().updated_at.is_none(),
        "updated_at null until the first edit"
    );

    // Today is in May; the last sync ran yesterday.
    let now = Utc.with_ymd_and_hms(2026, 5, 20, 12, 0, 0).unwrap();
    sim.set_clock(Some(now));
    let since_yesterday = Window::new(now - Duration::days(1), now);
    let scope = ListScope::ChangedIn(since_yesterday);
    assert!(
        list_all(&a, Kind::TimeEntry, scope)
            .await
            .iter()
            .all(|r| r.id != old_id),
        "not changed yet"
    );

    // Someone fixes the January entry in the web app today.
    let mut fixed = old.clone();
    fixed.notes = Some("january work, corrected".into());
    assert!(sim.edit(&old_id, &Record::TimeEntry(fixed)));
    // And books a new entry today, never edited.
    let fresh = sim.add_entry(&sample_entry(&person, Some(&project), 0, 30, "fresh"));
    // And creates then edits another today (in both phases: listed once).
    let both = sim.add_entry(&sample_entry(&person, Some(&project), 60, 30, "both"));
    let mut both_edit = sample_entry(&person, Some(&project), 60, 30, "both, edited");
    both_edit.billable = false;
    sim.edit(&both, &Record::TimeEntry(both_edit));

    sim.clear_request_log();
    let changed = list_all(&a, Kind::TimeEntry, scope).await;
    let ids: Vec<_> = changed.iter().map(|r| r.id.clone()).collect();
    assert!(
        ids.contains(&old_id),
        "the edit to a months-old event is found"
    );
    assert!(
        ids.contains(&fresh),
        "a new event (updated_at null) is found via created_at"
    );
    assert_eq!(
        ids.iter().filter(|i| **i == both).count(),
        1,
        "deduped across phases"
    );
    let found = changed.iter().find(|r| r.id == old_id).unwrap();
    assert_eq!(
        entry(found).notes.as_deref(),
        Some("january work, corrected")
    );
    assert_eq!(entry(found).started_at, jan);
    assert_eq!(
        found.modified_at,
        Some(now),
        "updated_at (account zone) read back as UTC"
    );
    let log = sim.request_log();
    let sorts: Vec<_> = log.iter().filter_map(|r| r.params.get("sort_by")).collect();
    assert!(sorts.iter().any(|s| *s == "updated_at") && sorts.iter().any(|s| *s == "created_at"));
    // The window reaches back one day before the cursor (account zone dates).
    let first = &log[0].params;
    assert_eq!(first["from"], "2026-05-18");
    assert!(a.capabilities().change_feed);
}

#[tokio::test]
async fn deletion_is_detected_by_a_window_rescan() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    let keep = sim.add_entry(&sample_entry(&person, Some(&project), 0, 30, "keep"));
    let gone = sim.add_entry(&sample_entry(&person, Some(&project), 120, 30, "gone"));
    let ids = |v: Vec<timeweave_contract::RemoteRecord>| {
        v.into_iter().map(|r| r.id).collect::<BTreeSet<_>>()
    };
    let before = ids(list_entries(&a).await);
    assert!(before.contains(&keep) && before.contains(&gone));
    assert!(sim.remove(Kind::TimeEntry, &gone));
    // Nothing in the change feed says so (no tombstones)...
    let now = Utc::now();
    let feed = ids(list_all(
        &a,
        Kind::TimeEntry,
        ListScope::ChangedIn(Window::new(now - Duration::days(1), now)),
    )
    .await);
    assert!(!feed.contains(&gone));
    // ...but the complete rescan of its window no longer holds it, and get confirms.
    let after = ids(list_entries(&a).await);
    assert!(after.contains(&keep) && !after.contains(&gone));
    assert!(is_gone(&a, Kind::TimeEntry, &gone).await);
    // A generic in-envelope 500, once, is not taken for "gone": asked again, the event is
    // there.
    sim.inject_envelope_error(500, "Something failed", 1);
    assert!(a.get(Kind::TimeEntry, &keep).await.unwrap().is_some());
    // Some servers answer 500 for a deleted event, every time: still "gone".
    sim.configure(|o| o.deleted_event_get_status = 500);
    assert!(is_gone(&a, Kind::TimeEntry, &gone).await);
}

#[tokio::test]
async fn idempotent_create_after_a_lost_response_yields_one_event() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    let record = Record::TimeEntry(sample_entry(
        &person,
        Some(&project),
        3 * 24 * 60,
        30,
        "lost",
    ));
    a.connect().await.unwrap();
    let before = sim.count(Kind::TimeEntry);
    sim.inject_faults(Fault::LoseResponse, 1);
    sim.clear_request_log();
    let created = a
        .create(&record, "lost-key-1")
        .await
        .expect("recovers by searching");
    assert_eq!(sim.count(Kind::TimeEntry), before + 1, "exactly one event");
    let log = sim.request_log();
    let adds = log
        .iter()
        .filter(|r| r.path.ends_with("/events/add"))
        .count();
    assert_eq!(adds, 1, "the create was not re-sent: it was found first");
    assert!(log
        .iter()
        .any(|r| r.path.ends_with("/search/events") && r.params["external_id"] == "lost-key-1"));
    let cf = sim.custom_fields(&created.id);
    assert!(
        cf.contains(&("EVENT_THIRD_PARTY_ID".into(), "lost-key-1".into())),
        "{cf:?}"
    );
    assert!(
        cf.contains(&("EVENT_THIRD_PARTY_SERVICE".into(), "timeweave".into())),
        "{cf:?}"
    );
    // find_created sees the same event, and nothing for another key.
    let found = a
        .find_created(&record, "lost-key-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, created.id);
    assert!(a
        .find_created(&record, "other-key")
        .await
        .unwrap()
        .is_none());

    // When the request never arrived (connection reset before the server acted), the
    // search finds nothing and the create is sent again: still exactly one event.
    let record2 = Record::TimeEntry(sample_entry(
        &person,
        Some(&project),
        4 * 24 * 60,
        30,
        "reset",
    ));
    sim.inject_faults(Fault::ConnectionReset, 1);
    a.create(&record2, "reset-key")
        .await
        .expect("re-sent after a confirmed miss");
    assert_eq!(sim.count(Kind::TimeEntry), before + 2);
}

#[tokio::test]
async fn every_kind_round_trips() {
    let (sim, a) = common::connected(SimOptions::default()).await;
    let (person, _, _) = seed(&sim);

    // People: listed (archived included), read-only.
    let people = list_all(&a, Kind::Person, ListScope::All).await;
    let grace = people
        .iter()
        .find(|r| r.id == person)
        .expect("person listed");
    match &grace.record {
        Record::Person(p) => {
            assert_eq!(p.display_name, "Grace Hopper");
            assert_eq!(p.email.as_deref(), Some("grace@example.com"));
        }
        o => panic!("{o:?}"),
    }
    sim.remove(Kind::Person, &person); // archives the user
    assert!(list_all(&a, Kind::Person, ListScope::All)
        .await
        .iter()
        .any(|r| r.id == person));
    let p = Record::Person(records::person("X", None, None));
    assert!(matches!(
        a.check_writable(timeweave_contract::WriteOp::Create, &p),
        Err(ProviderError::Unsupported { .. })
    ));

    // Clients.
    let client = Client {
        name: "Initech".into(),
        email: Some("ops@initech.example".into()),
        notes: Some("n".into()),
        archived: false,
    };
    let c = a
        .create(&Record::Client(client.clone()), "c1")
        .await
        .unwrap();
    // The e-mail is unheld (T2): customers answer `contact: null`.
    let unheld = a.capabilities().not_writable();
    // What the adapter reads back of a record it wrote: the unheld fields at their constant.
    let held = |r: Record<RemoteId>| r.normalised().forget_unheld(&unheld);
    assert_eq!(c.record, held(Record::Client(client.clone())));
    let mut renamed = client.clone();
    renamed.name = "Initech Ltd".into();
    renamed.archived = true;
    let target = records::target(&c.id, None);
    let u = a
        .update(&target, &Record::Client(renamed.clone()))
        .await
        .unwrap();
    assert_eq!(u.record, held(Record::Client(renamed.clone())));
    assert_eq!(sim.is_archived(Kind::Client, &c.id), Some(true));
    let listed = list_all(&a, Kind::Client, ListScope::All).await;
    assert!(
        listed.iter().any(|r| r.id == c.id),
        "archived clients are listed (filter=ALL)"
    );
    let log = sim.request_log();
    let close = log
        .iter()
        .rev()
        .find(|r| r.path.contains("/customers/close/"))
        .unwrap();
    assert_eq!(
        close.method, "PUT",
        "POST customers/close answers an HTML page"
    );
    let upd = log
        .iter()
        .rev()
        .find(|r| r.path.contains("/customers/update/"))
        .unwrap();
    assert_eq!(upd.params["name"], "Initech Ltd");
    renamed.archived = false;
    let u = a
        .update(&target, &Record::Client(renamed.clone()))
        .await
        .unwrap();
    assert_eq!(u.record, held(Record::Client(renamed)));

    // Projects.
    let project = records::project(Some(&c.id), "Tps", Some(9_950));
    let pr = a
        .create(&Record::Project(project.clone()), "p1")
        .await
        .unwrap();
    // Billing parameters are not known to be kept (declared read-only): the project
    // reads back billable without a rate.
    assert_eq!(pr.record, held(Record::Project(project.clone())));
    let mut closed = project.clone();
    closed.archived = true;
    let pu = a
        .update(
            &records::target(&pr.id, None),
            &Record::Project(closed.clone()),
        )
        .await
        .unwrap();
    assert_eq!(pu.record, held(Record::Project(closed.clone())));
    // Leaving the customer cannot be sent (T4): the update says so.
    closed.client = None;
    let left = a
        .update(&records::target(&pr.id, None), &Record::Project(closed))
        .await;
    assert!(
        matches!(&left, Err(ProviderError::Unsupported { what }) if what.contains("off its customer")),
        "{left:?}"
    );
    assert!(list_all(&a, Kind::Project, ListScope::All)
        .await
        .iter()
        .any(|r| r.id == pr.id));
    // Created archived from the start.
    let archived = Project {
        billable: false,
        archived: true,
        ..records::project(None, "Old", None)
    };
    let old = a
        .create(&Record::Project(archived.clone()), "p2")
        .await
        .unwrap();
    assert_eq!(old.record, held(Record::Project(archived)));

    // Tasks.
    let task = records::task(&pr.id, "Cover sheets");
    let t = a.create(&Record::Task(task.clone()), "t1").await.unwrap();
    assert_eq!(t.record, Record::Task(task.clone()).normalised());
    let mut done = task.clone();
    done.archived = true;
    done.name = "Cover sheets (done)".into();
    let tu = a
        .update(&records::target(&t.id, None), &Record::Task(done.clone()))
        .await
        .unwrap();
    assert_eq!(tu.record, Record::Task(done).normalised());
    assert!(list_all(&a, Kind::Task, ListScope::All)
        .await
        .iter()
        .any(|r| r.id == t.id));

    // An entry on the task survives the task's delete (delete_all=false).
    let mut e = sample_entry(&person, Some(&pr.id), 0, 30, "on task");
    e.task = Some(t.id.clone());
    let ev = a.create(&Record::TimeEntry(e.clone()), "e1").await.unwrap();
    assert_eq!(entry(&ev).task.as_ref(), Some(&t.id));
    a.delete(Kind::Task, &t.id).await.unwrap();
    let del = sim
        .request_log()
        .into_iter()
        .rev()
        .find(|r| r.path.contains("/tasks/delete/"))
        .unwrap();
    assert_eq!(del.params["delete_all"], "false");
    let ev_after = a
        .get(Kind::TimeEntry, &ev.id)
        .await
        .unwrap()
        .expect("the event survives");
    assert_eq!(entry(&ev_after).task, None);
    assert!(is_gone(&a, Kind::Task, &t.id).await);
    assert!(matches!(
        a.delete(Kind::Task, &t.id).await,
        Err(ProviderError::NotFound { .. })
    ));

    // Client-only booking (no project): events/add documents no customer (T5), so it
    // is declared not writable, before anything is sent.
    let mut client_only = sample_entry(&person, None, 600, 30, "client only");
    client_only.client = Some(c.id.clone());
    let adds = |sim: &timeweave_trackingtime_sim::SimServer| {
        sim.request_log()
            .iter()
            .filter(|r| r.path.ends_with("/events/add"))
            .count()
    };
    let before = adds(&sim);
    let co = a
        .create(&Record::TimeEntry(client_only.clone()), "e2")
        .await;
    assert!(
        matches!(&co, Err(ProviderError::Unsupported { what }) if what.contains("client without a project")),
        "{co:?}"
    );
    assert_eq!(adds(&sim), before, "nothing was sent");

    // The server computes the duration from start and end (T10): a break is not kept,
    // and reads back as none (declared unheld).
    let mut with_break = sample_entry(&person, Some(&pr.id), 900, 60, "break");
    with_break.break_seconds = 600;
    with_break.duration_seconds = Some(3000);
    let wb = a
        .create(&Record::TimeEntry(with_break.clone()), "e3")
        .await
        .unwrap();
    assert_eq!(entry(&wb).duration_seconds, Some(3600));
    assert_eq!(entry(&wb).break_seconds, 0);

    // Deletes of projects and clients.
    a.delete(Kind::Project, &pr.id).await.unwrap();
    assert!(is_gone(&a, Kind::Project, &pr.id).await);
    a.delete(Kind::Client, &c.id).await.unwrap();
    assert!(is_gone(&a, Kind::Client, &c.id).await);
    assert!(matches!(
        a.delete(Kind::Client, &c.id).await,
        Err(ProviderError::NotFound { .. })
    ));

    // Natural-key lookups after an unknown create outcome.
    let again = records::client("initech ltd ");
    assert!(a
        .find_created(&Record::Client(again), "x")
        .await
        .unwrap()
        .is_none());
    let nk = records::client("Hooli");
    let h = a.create(&Record::Client(nk.clone()), "c2").await.unwrap();
    let f = a
        .find_created(
            &Record::Client(Client {
                name: "HOOLI".into(),
                ..nk
            }),
            "x",
        )
        .await
        .unwrap();
    assert_eq!(f.map(|r| r.id), Some(h.id));
}

#[tokio::test]
async fn running_and_attendance_entries_are_not_writable() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    let mut running = sample_entry(&person, Some(&project), 0, 30, "r");
    running.ended_at = None;
    running.duration_seconds = None;
    let op = timeweave_contract::WriteOp::Create;
    assert!(matches!(
        a.check_writable(op, &Record::TimeEntry(running.clone())),
        Err(ProviderError::Unsupported { .. })
    ));
    assert!(a.create(&Record::TimeEntry(running), "r").await.is_err());
    let mut att = sample_entry(&person, None, 0, 30, "a");
    att.kind = timeweave_contract::EntryKind::Attendance;
    assert!(a.check_writable(op, &Record::TimeEntry(att)).is_err());
    assert_eq!(sim.count(Kind::TimeEntry), 0);
}

#[tokio::test]
async fn odd_records_become_invalid_items_and_the_page_goes_on() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    let unnamed = sim.add_unnamed_task(&project);
    let orphan = sim.add_orphan_task("Loose end");
    let named = sim.add_task(&Task {
        archived: true,
        ..records::task(&project, "Named")
    });
    let page = a.list_page(Kind::Task, ListScope::All, None).await.unwrap();
    let mut records = Vec::new();
    let mut invalid = Vec::new();
    for item in page.items {
        match item {
            PageItem::Record(r) => records.push(r),
            PageItem::Invalid(i) => invalid.push(i),
        }
    }
    let un = records
        .iter()
        .find(|r| r.id == unnamed)
        .expect("unnamed task listed");
    match &un.record {
        Record::Task(t) => assert_eq!(t.name, format!("(unnamed task {unnamed})")),
        o => panic!("{o:?}"),
    }
    assert!(
        records.iter().any(|r| r.id == named),
        "archived task listed"
    );
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].remote_id.as_ref(), Some(&orphan));
    assert!(invalid[0].reason.contains("no project"));

    let work = sim.add_entry(&sample_entry(&person, Some(&project), 0, 30, "work"));
    let off = sim.add_time_off(&person, test_instant(120), 4);
    let page = a
        .list_page(Kind::TimeEntry, ListScope::StartedIn(test_window()), None)
        .await
        .unwrap();
    let mut saw_work = false;
    let mut saw_off = false;
    for item in page.items {
        match item {
            PageItem::Record(r) => saw_work |= r.id == work,
            PageItem::Invalid(i) => {
                saw_off |= i.remote_id.as_ref() == Some(&off) && i.reason.contains("TIME_OFF")
            }
        }
    }
    assert!(saw_work && saw_off);
}

#[tokio::test]
async fn tasks_page_and_customers_are_read_in_one_request() {
    let (sim, a) = common::connected(SimOptions::default()).await;
    let (_, _, project) = seed(&sim);
    let mut ids = BTreeSet::new();
    for i in 0..10 {
        ids.insert(sim.add_task(&records::task(&project, &format!("t{i}"))));
    }
    for i in 0..5 {
        sim.add_client(&Client {
            archived: i % 2 == 0,
            ..records::client(&format!("c{i}"))
        });
    }
    let a = a.with_tasks_page_size(3);
    sim.clear_request_log();
    let tasks = list_all(&a, Kind::Task, ListScope::All).await;
    let got: BTreeSet<_> = tasks.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, ids, "every task once");
    let task_pages = sim
        .request_log()
        .iter()
        .filter(|r| r.path.ends_with("/tasks"))
        .count();
    assert_eq!(task_pages, 4, "10 tasks in pages of 3");
    sim.clear_request_log();
    let clients = list_all(&a, Kind::Client, ListScope::All).await;
    assert_eq!(clients.len(), 6, "archived customers included, each once");
    assert_eq!(
        sim.request_log().len(),
        1,
        "customers ignore page: one request"
    );
}

#[tokio::test]
async fn a_server_that_ignores_page_does_not_loop() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    for i in 0..5 {
        sim.add_entry(&sample_entry(&person, Some(&project), i * 40, 30, "p"));
    }
    // Old servers capped page_size at 5 and (here) ignore page: pages repeat.
    sim.configure(|o| o.events_page_size_max = 5);
    let a = a.with_events_page_size(5);
    let all = list_entries(&a).await;
    assert_eq!(all.len(), 5);
}

#[tokio::test]
async fn webhooks_register_list_deliver_and_delete() {
    use axum::routing::post;
    let (sim, a) = common::setup().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body.to_vec());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let reg = a.register_webhook(&url).await.unwrap();
    assert!(reg.secret.is_some());
    let list = a.list_webhooks().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, reg.id);
    assert_eq!(list[0].url.as_deref(), Some(url.as_str()));

    let (person, _, project) = seed(&sim);
    let created = a
        .create(
            &Record::TimeEntry(sample_entry(&person, Some(&project), 0, 30, "hooked")),
            "wh-1",
        )
        .await
        .unwrap();
    let body = tokio::time::timeout(StdDuration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let hint = timeweave_trackingtime::parse_webhook(&body);
    assert!(hint.concerns_time_entries());
    assert_eq!(hint.events, vec!["event.created"]);
    assert_eq!(
        hint.event_ids,
        vec![created.id.as_str().parse::<i64>().unwrap()]
    );
    // A delete sends no callback (none exist on the real API).
    a.delete(Kind::TimeEntry, &created.id).await.unwrap();
    assert!(
        tokio::time::timeout(StdDuration::from_millis(400), rx.recv())
            .await
            .is_err()
    );

    a.delete_webhook(reg.id).await.unwrap();
    assert!(a.list_webhooks().await.unwrap().is_empty());
    assert!(matches!(
        a.delete_webhook(reg.id).await,
        Err(ProviderError::NotFound { .. })
    ));
    server.abort();
}

#[tokio::test]
async fn lost_create_is_found_by_content_when_search_is_unavailable() {
    let (sim, a) = common::connected(SimOptions {
        search_by_external_id: false,
        ..SimOptions::default()
    })
    .await;
    let (person, _, project) = seed(&sim);
    let mut e = sample_entry(&person, Some(&project), 2 * 24 * 60, 30, "no search");
    e.source_tz = Some("+02:00".into());
    let record = Record::TimeEntry(e);
    sim.inject_faults(Fault::LoseResponse, 1);
    let created = a
        .create(&record, "k-fallback")
        .await
        .expect("found by content");
    assert_eq!(sim.count(Kind::TimeEntry), 1, "exactly one event");
    let found = a.find_created(&record, "k-fallback").await.unwrap();
    assert_eq!(found.map(|r| r.id), Some(created.id));
}

#[tokio::test]
async fn a_search_that_ignores_the_external_id_never_adopts_another_event() {
    for (ignores, fields) in [(false, true), (true, true), (true, false), (false, false)] {
        let (sim, a) = common::setup_with(SimOptions {
            search_ignores_external_id: ignores,
            search_returns_custom_fields: fields,
            ..SimOptions::default()
        })
        .await;
        let mode = format!("ignores id {ignores}, custom fields {fields}");
        a.connect().await.unwrap();
        let (person, _, project) = seed(&sim);
        // Someone else's work on the same day, and an earlier entry of ours.
        let other = sim.add_entry(&sample_entry(&person, Some(&project), 0, 45, "theirs"));
        let ours = Record::TimeEntry(sample_entry(&person, Some(&project), 60, 30, "ours"));
        let older = a.create(&ours, "k-older").await.unwrap();
        let never = Record::TimeEntry(sample_entry(&person, Some(&project), 120, 30, "never"));
        assert!(
            a.find_created(&never, "k-never").await.unwrap().is_none(),
            "{mode}: a record never created is not found"
        );
        let found = a.find_created(&ours, "k-older").await.unwrap();
        assert_eq!(found.map(|r| r.id), Some(older.id.clone()), "{mode}");
        if fields {
            // With custom fields, the key decides: another key is not ours, even for the
            // same work.
            let by_other_key = a.find_created(&ours, "k-unknown").await.unwrap();
            assert!(by_other_key.is_none(), "{mode}: {other:?}");
        }
    }
}

#[tokio::test]
async fn slow_answers_and_timeouts_are_retried() {
    let (sim, a) = common::connected(SimOptions {
        timeout_delay: StdDuration::from_secs(3),
        slow_responses: Some(StdDuration::from_millis(200)),
        ..SimOptions::default()
    })
    .await;
    sim.inject_faults(Fault::Timeout, 1);
    a.list_page(Kind::Project, ListScope::All, None)
        .await
        .expect("retried after the timeout");
    sim.inject_faults(Fault::MalformedJson, 1);
    a.list_page(Kind::Project, ListScope::All, None)
        .await
        .expect("retried after bad JSON");
    sim.inject_faults(Fault::ConnectionReset, 1);
    a.list_page(Kind::Project, ListScope::All, None)
        .await
        .expect("retried after a reset");
}

#[tokio::test]
async fn servers_without_json_bodies_get_form_parameters() {
    let (sim, a) = common::connected(SimOptions {
        accept_json_body: false,
        ..SimOptions::default()
    })
    .await;
    let (person, _, project) = seed(&sim);
    let client = Client {
        name: "Form Co".into(),
        email: None,
        notes: Some("n".into()),
        archived: false,
    };
    let c = a
        .create(&Record::Client(client.clone()), "f1")
        .await
        .expect("created through a form");
    assert_eq!(c.record, Record::Client(client).normalised());
    assert_eq!(sim.count(Kind::Client), 2, "exactly one new customer");
    let mut e = sample_entry(&person, Some(&project), 0, 30, "form");
    e.source_tz = Some("+02:00".into());
    let ev = a.create(&Record::TimeEntry(e.clone()), "f2").await.unwrap();
    assert_eq!(entry(&ev).started_at, e.started_at);
    let cf = sim.custom_fields(&ev.id);
    assert!(
        cf.contains(&("EVENT_THIRD_PARTY_ID".into(), "f2".into())),
        "custom_fields as a JSON string: {cf:?}"
    );
    let mut moved = e.clone();
    moved.project = None;
    moved.notes = Some("moved".into());
    // T4: no empty value is sent to clear the project, so it stays, and the update says
    // so (the notes were written).
    let up = a
        .update(&records::target(&ev.id, None), &Record::TimeEntry(moved))
        .await;
    match up {
        Err(ProviderError::Unsupported { what }) => {
            assert!(what.contains("off its project"), "{what}")
        }
        other => panic!("clearing the project must be reported, got {other:?}"),
    }
    let now = a.get(Kind::TimeEntry, &ev.id).await.unwrap().unwrap();
    assert_eq!(entry(&now).project, Some(project.clone()));
    assert_eq!(entry(&now).notes.as_deref(), Some("moved"));
    assert!(
        sim.request_log()
            .iter()
            .filter(|r| r.path.contains("/events/update/"))
            .all(|r| r.params.get("project_id").is_none()),
        "no project_id is sent to clear it"
    );
    // After the first fallback, writes go straight as forms.
    let adds = sim
        .request_log()
        .iter()
        .filter(|r| r.path.ends_with("/events/add"))
        .count();
    assert_eq!(adds, 1);
}

#[tokio::test]
async fn named_zones_across_daylight_saving() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    // Summer in Rome (+02:00): 07:30 UTC is 09:30 local.
    let summer_start = Utc.with_ymd_and_hms(2026, 7, 1, 7, 30, 0).unwrap();
    let mut summer = sample_entry(&person, Some(&project), 0, 60, "summer");
    summer.started_at = summer_start;
    summer.ended_at = Some(summer_start + Duration::hours(1));
    summer.source_tz = Some("Europe/Rome".into());
    let id = sim.add_entry(&summer);
    let raw = sim.raw_event(&id).unwrap();
    assert_eq!(
        (raw.start.as_str(), raw.timezone.as_str()),
        ("2026-07-01 09:30:00", "Europe/Rome")
    );
    let got = a.get(Kind::TimeEntry, &id).await.unwrap().unwrap();
    assert_eq!(entry(&got).started_at, summer_start);
    assert_eq!(entry(&got).source_tz.as_deref(), Some("Europe/Rome"));
    // An entry spanning the autumn change (02:00-03:00 local happens twice): one UTC hour
    // of wall time becomes two hours of real time, and the adapter keeps the instants.
    let fold_start = Utc.with_ymd_and_hms(2026, 10, 24, 23, 30, 0).unwrap(); // 01:30 CEST
    let mut fold = sample_entry(&person, Some(&project), 0, 0, "fold");
    fold.started_at = fold_start;
    fold.ended_at = Some(fold_start + Duration::hours(3)); // 02:30 UTC = 03:30 CET
    fold.duration_seconds = Some(3 * 3600);
    fold.source_tz = Some("Europe/Rome".into());
    let id = sim.add_entry(&fold);
    let raw = sim.raw_event(&id).unwrap();
    assert_eq!(raw.start, "2026-10-25 01:30:00");
    assert_eq!(raw.end.as_deref(), Some("2026-10-25 03:30:00"));
    let got = a.get(Kind::TimeEntry, &id).await.unwrap().unwrap();
    assert_eq!(entry(&got).started_at, fold_start);
    assert_eq!(entry(&got).ended_at, fold.ended_at);
    assert_eq!(entry(&got).duration_seconds, Some(3 * 3600));
    assert_eq!(entry(&got).break_seconds, 0);
    // Written back, the IANA zone goes as the offset at the start (+02:00).
    let created = a
        .create(&Record::TimeEntry(fold.clone()), "fold-1")
        .await
        .unwrap();
    let raw = sim.raw_event(&created.id).unwrap();
    assert_eq!(
        (raw.start.as_str(), raw.timezone.as_str()),
        ("2026-10-25 01:30:00", "GMT+02:00")
    );
    assert_eq!(
        raw.end.as_deref(),
        Some("2026-10-25 04:30:00"),
        "fixed offset: no fold"
    );
    assert_eq!(entry(&created).ended_at, fold.ended_at);
}

#[tokio::test]
async fn change_feed_pages_through_both_phases() {
    let (sim, a) = common::setup().await;
    let (person, _, project) = seed(&sim);
    let a = a.with_events_page_size(2);
    let now = Utc.with_ymd_and_hms(2026, 5, 20, 12, 0, 0).unwrap();
    sim.set_clock(Some(now - Duration::days(60)));
    let mut old = Vec::new();
    for i in 0..5 {
        old.push(sim.add_entry(&sample_entry(&person, Some(&project), i * 60, 30, "old")));
    }
    sim.set_clock(Some(now));
    for (i, id) in old.iter().enumerate() {
        let mut e = sample_entry(&person, Some(&project), i as i64 * 60, 30, "edited");
        e.billable = false;
        assert!(sim.edit(id, &Record::TimeEntry(e)));
    }
    let mut new = Vec::new();
    for i in 0..5 {
        new.push(sim.add_entry(&sample_entry(
            &person,
            Some(&project),
            1000 + i * 60,
            30,
            "new",
        )));
    }
    let listed = list_all(
        &a,
        Kind::TimeEntry,
        ListScope::ChangedIn(Window::new(now - Duration::hours(2), now)),
    )
    .await;
    let ids: Vec<_> = listed.iter().map(|r| r.id.clone()).collect();
    let unique: BTreeSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "each change listed once");
    let expected: BTreeSet<_> = old.into_iter().chain(new).collect();
    assert_eq!(unique, expected);
}
