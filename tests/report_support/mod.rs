//! A known ledger for the reporting tests: two people (one with markup in the name), two
//! clients, projects with and without a rate, a task, finished entries in two zones (one
//! crossing midnight), a running timer, a tombstoned entry, an entry outside the range,
//! links to two providers, sync runs (ok and failed), conflicts, a pending push and an issue.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use timeweave::ledger::{
    Direction, Ledger, LinkUpdate, NewConflict, NewIntent, NewIssue, PushOp, RunCounts, RunStatus,
    Tx,
};
use timeweave_contract::{
    CanonicalId, Client, ContentHash, EntryKind, Kind, Person, Project, Record, RemoteId, Task,
    TimeEntry,
};

pub const BOB: &str = "Bob <&> \"Builder\"";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub ledger: Ledger,
    pub ada: CanonicalId,
    pub bob: CanonicalId,
    pub apollo: CanonicalId,
    pub zephyr: CanonicalId,
    pub idle: CanonicalId,
    pub globex: CanonicalId,
    /// E1..E7 as described in `known_ledger`.
    pub entries: Vec<CanonicalId>,
}

pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn now() -> DateTime<Utc> {
    at(2026, 3, 20, 12, 0)
}

pub struct EntrySpec<'a> {
    pub person: &'a CanonicalId,
    pub project: Option<&'a CanonicalId>,
    pub task: Option<&'a CanonicalId>,
    pub client: Option<&'a CanonicalId>,
    pub start: DateTime<Utc>,
    pub minutes: Option<i64>,
    pub break_seconds: i64,
    pub zone: Option<&'a str>,
    pub billable: bool,
    pub tags: &'a [&'a str],
    pub notes: Option<&'a str>,
}

impl<'a> EntrySpec<'a> {
    pub fn new(
        person: &'a CanonicalId,
        project: Option<&'a CanonicalId>,
        start: DateTime<Utc>,
        minutes: i64,
    ) -> Self {
        EntrySpec {
            person,
            project,
            task: None,
            client: None,
            start,
            minutes: Some(minutes),
            break_seconds: 0,
            zone: None,
            billable: true,
            tags: &[],
            notes: None,
        }
    }

    pub fn record(&self) -> Record<CanonicalId> {
        let ended_at = self.minutes.map(|m| self.start + Duration::minutes(m));
        Record::TimeEntry(TimeEntry {
            person: self.person.clone(),
            project: self.project.cloned(),
            task: self.task.cloned(),
            client: self.client.cloned(),
            started_at: self.start,
            ended_at,
            break_seconds: self.break_seconds,
            duration_seconds: self.minutes.map(|m| m * 60 - self.break_seconds),
            source_tz: self.zone.map(Into::into),
            notes: self.notes.map(Into::into),
            tags: self
                .tags
                .iter()
                .map(|t| t.to_string())
                .collect::<BTreeSet<_>>(),
            billable: self.billable,
            kind: EntryKind::Work,
        })
    }
}

pub async fn insert(tx: &mut Tx, record: Record<CanonicalId>) -> CanonicalId {
    tx.insert_record(&record, "tt", now()).await.unwrap().id
}

pub async fn link(tx: &mut Tx, provider: &str, kind: Kind, id: &CanonicalId, remote: &str) {
    let hash = ContentHash("h".into());
    tx.upsert_link(
        &LinkUpdate {
            provider,
            kind,
            canonical_id: id,
            remote_id: &RemoteId(remote.into()),
            remote_hash: &hash,
            canonical_hash: &hash,
            remote_version: None,
            remote_updated_at: None,
            remote_started_at: None,
            remote_incarnation: None,
        },
        now(),
    )
    .await
    .unwrap();
}

/// The known ledger. Entries (range 2026-03-01..=2026-03-31 holds E1..E5):
/// - E1 Ada, Apollo/Design, Mon 2026-03-02 08:00-10:00Z, Europe/Rome, 2 h, tags b,a, in tm+tt
/// - E2 Ada, Zephyr, 2026-03-03 23:30Z-00:30Z in Rome = work date 2026-03-04, 1 h, not billable
/// - E3 Bob, Apollo, Mon 2026-03-09 09:00-12:00Z, 30 min break = 2.5 h; tm live, tt deleted there
/// - E4 Bob, no project, client Globex, 2026-03-10 13:00-13:45Z = 0.75 h
/// - E5 Ada, Apollo, running since 2026-03-20 11:00Z (0 h)
/// - E6 Ada, Apollo, 2026-03-05, 1 h, tombstoned by `tm`; still linked in tt
/// - E7 Ada, Apollo, 2026-02-27, 1 h (outside the range)
pub async fn known_ledger() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).await.unwrap();
    let mut tx = ledger.write().await.unwrap();
    let person = |name: &str, email: &str| {
        Record::Person(Person {
            display_name: name.into(),
            email: Some(email.into()),
            username: None,
        })
    };
    let client = |name: &str| {
        Record::Client(Client {
            name: name.into(),
            email: None,
            notes: None,
            archived: false,
        })
    };
    let ada = insert(&mut tx, person("Ada Lovelace", "ada@example.com")).await;
    let bob = insert(&mut tx, person(BOB, "bob@example.com")).await;
    let acme = insert(&mut tx, client("Acme")).await;
    let globex = insert(&mut tx, client("Globex")).await;
    let project = |name: &str, client: &CanonicalId, rate: Option<i64>| {
        Record::Project(Project {
            client: Some(client.clone()),
            name: name.into(),
            billable: true,
            hourly_rate_cents: rate,
            archived: false,
        })
    };
    let apollo = insert(&mut tx, project("Apollo", &acme, Some(10_000))).await;
    let zephyr = insert(&mut tx, project("Zephyr", &globex, None)).await;
    let idle = insert(&mut tx, project("Idle", &acme, None)).await;
    let old = insert(&mut tx, project("Old", &acme, None)).await;
    tx.tombstone(Kind::Project, &old, "tt", now())
        .await
        .unwrap();
    let design = insert(
        &mut tx,
        Record::Task(Task {
            project: apollo.clone(),
            name: "Design".into(),
            archived: false,
        }),
    )
    .await;

    let mut e1 = EntrySpec::new(&ada, Some(&apollo), at(2026, 3, 2, 8, 0), 120);
    e1.task = Some(&design);
    e1.zone = Some("Europe/Rome");
    e1.tags = &["b", "a"];
    e1.notes = Some("Kick-off, \"phase 1\"");
    let mut e2 = EntrySpec::new(&ada, Some(&zephyr), at(2026, 3, 3, 23, 30), 60);
    e2.zone = Some("Europe/Rome");
    e2.billable = false;
    let mut e3 = EntrySpec::new(&bob, Some(&apollo), at(2026, 3, 9, 9, 0), 180);
    e3.break_seconds = 1800;
    let mut e4 = EntrySpec::new(&bob, None, at(2026, 3, 10, 13, 0), 45);
    e4.client = Some(&globex);
    let mut e5 = EntrySpec::new(&ada, Some(&apollo), at(2026, 3, 20, 11, 0), 0);
    e5.minutes = None;
    e5.zone = Some("Europe/Rome");
    let e6 = EntrySpec::new(&ada, Some(&apollo), at(2026, 3, 5, 8, 0), 60);
    let e7 = EntrySpec::new(&ada, Some(&apollo), at(2026, 2, 27, 8, 0), 60);
    let mut entries = Vec::new();
    for spec in [&e1, &e2, &e3, &e4, &e5, &e6, &e7] {
        entries.push(insert(&mut tx, spec.record()).await);
    }
    tx.tombstone(Kind::TimeEntry, &entries[5], "tm", at(2026, 3, 6, 7, 0))
        .await
        .unwrap();

    link(&mut tx, "tt", Kind::TimeEntry, &entries[0], "tt-1").await;
    link(&mut tx, "tm", Kind::TimeEntry, &entries[0], "tm-1").await;
    link(&mut tx, "tt", Kind::TimeEntry, &entries[1], "tt-2").await;
    link(&mut tx, "tm", Kind::TimeEntry, &entries[2], "tm-3").await;
    link(&mut tx, "tt", Kind::TimeEntry, &entries[2], "tt-3").await;
    tx.mark_link_remote_deleted("tt", Kind::TimeEntry, &RemoteId("tt-3".into()), now())
        .await
        .unwrap();
    link(&mut tx, "tt", Kind::TimeEntry, &entries[5], "tt-6").await;

    // Sync runs: tt succeeded, then failed; tm succeeded.
    let counts = RunCounts::default();
    let run = tx
        .start_run("tt", "sync", at(2026, 3, 20, 10, 0))
        .await
        .unwrap();
    tx.finish_run(run, RunStatus::Ok, &counts, &[], at(2026, 3, 20, 10, 1))
        .await
        .unwrap();
    let run = tx
        .start_run("tt", "sync", at(2026, 3, 20, 11, 0))
        .await
        .unwrap();
    let errors = ["boom 1".to_string(), "boom <2>".to_string()];
    tx.finish_run(
        run,
        RunStatus::Failed,
        &counts,
        &errors,
        at(2026, 3, 20, 11, 2),
    )
    .await
    .unwrap();
    let run = tx
        .start_run("tm", "sync", at(2026, 3, 20, 11, 0))
        .await
        .unwrap();
    tx.finish_run(run, RunStatus::Ok, &counts, &[], at(2026, 3, 20, 11, 5))
        .await
        .unwrap();

    // An open conflict in tt, a resolved one in tm.
    let rec = e1.record();
    let hash = ContentHash("h".into());
    let remote_one = RemoteId::from(1);
    let conflict = |provider: &'static str| NewConflict {
        provider,
        canonical_id: &entries[0],
        remote_id: &remote_one,
        ledger_record: &rec,
        remote_record: &rec,
        remote_hash: &hash,
        remote_version: None,
        policy: "manual",
        winner: None,
    };
    tx.record_conflict(&conflict("tt"), now()).await.unwrap();
    let resolved = tx.record_conflict(&conflict("tm"), now()).await.unwrap();
    tx.resolve_conflict(resolved, "ledger", "operator", now())
        .await
        .unwrap();

    // A pending push to tm, a pull issue in tt.
    let payload: Record<RemoteId> = Record::Client(Client {
        name: "Acme".into(),
        email: None,
        notes: None,
        archived: false,
    });
    tx.insert_intent(
        &NewIntent {
            provider: "tm",
            canonical_id: &acme,
            op: PushOp::Create,
            remote_id: None,
            idempotency_key: "k1",
            payload: &payload,
            canonical_hash: &hash,
            claimed_by: "1 report",
        },
        at(2026, 3, 20, 11, 4),
    )
    .await
    .unwrap();
    tx.record_issue(
        &NewIssue {
            provider: "tt",
            direction: Direction::Pull,
            kind: Kind::TimeEntry,
            record_id: "99",
            content_hash: "x",
            reason: "no start time",
        },
        now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Fixture {
        dir,
        path,
        ledger,
        ada,
        bob,
        apollo,
        zephyr,
        idle,
        globex,
        entries,
    }
}

/// A config file for the binary with this ledger and one (never contacted) provider.
pub fn write_config(fixture: &Fixture) -> PathBuf {
    let secret = fixture.dir.path().join("token");
    std::fs::write(&secret, "tt_test_token\n").unwrap();
    let config = fixture.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[ledger]\npath = \"{}\"\n\n[providers.tt]\nkind = \"timetracker\"\nbase_url = \"https://tt.example.com\"\napi_secret_file = \"{}\"\n",
            fixture.path.display(),
            secret.display()
        ),
    )
    .unwrap();
    config
}
