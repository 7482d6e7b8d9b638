//! Table tests for every planner case.

use super::*;
use chrono::TimeZone;
use timeweave_contract::Client;

fn t(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, h, 0, 0).unwrap()
}

fn client(name: &str, archived: bool) -> Record<CanonicalId> {
    Record::Client(Client {
        name: name.into(),
        email: None,
        notes: None,
        archived,
    })
}

fn h(r: &Record<CanonicalId>) -> ContentHash {
    content_hash(r)
}

/// A fixture: the ledger record, the remote record (mapped), and the link's hashes.
struct Case {
    ledger: Record<CanonicalId>,
    ledger_deleted: bool,
    remote: Record<CanonicalId>,
    link_remote: Record<CanonicalId>,
    link_canonical: Record<CanonicalId>,
    link_deleted: bool,
    remote_time: DateTime<Utc>,
    ledger_time: DateTime<Utc>,
    changed_by: &'static str,
    mode: Mode,
    policy: ConflictPolicy,
    linked: bool,
    candidates: Vec<Record<CanonicalId>>,
    remote_version: Option<&'static str>,
    link_version: Option<&'static str>,
    /// The version both sides held at the last sync, when kept.
    base: Option<Record<CanonicalId>>,
    keep_ours: Vec<timeweave_contract::Field>,
}

impl Case {
    fn synced(content: &Record<CanonicalId>) -> Case {
        Case {
            ledger: content.clone(),
            ledger_deleted: false,
            remote: content.clone(),
            link_remote: content.clone(),
            link_canonical: content.clone(),
            link_deleted: false,
            remote_time: t(10),
            ledger_time: t(9),
            changed_by: "other",
            mode: Mode::Both,
            policy: ConflictPolicy::Newest,
            linked: true,
            candidates: vec![],
            remote_version: None,
            link_version: None,
            base: None,
            keep_ours: vec![],
        }
    }

    fn plan(&self) -> RemoteAction {
        let id = CanonicalId::from("c1");
        // In these tests remote ids equal canonical ids, so one hash serves both spaces.
        let remote_hash = h(&self.remote);
        let link_remote_hash = h(&self.link_remote);
        let link_canonical_hash = h(&self.link_canonical);
        let ledger_hash = h(&self.ledger);
        let cand_ids: Vec<CanonicalId> = (0..self.candidates.len())
            .map(|i| CanonicalId::from(format!("cand{i}")))
            .collect();
        let cand_hashes: Vec<ContentHash> = self.candidates.iter().map(h).collect();
        let candidates: Vec<LedgerSide> = self
            .candidates
            .iter()
            .enumerate()
            .map(|(i, r)| LedgerSide {
                id: &cand_ids[i],
                record: r,
                hash: &cand_hashes[i],
                deleted: false,
                changed_by: self.changed_by,
                modified_at: self.ledger_time,
            })
            .collect();
        let o = Observation {
            provider: "tt",
            mode: self.mode,
            policy: &self.policy,
            remote_hash: &remote_hash,
            remote_version: self.remote_version,
            remote_modified_at: self.remote_time,
            mapped: Ok(&self.remote),
            link: self.linked.then_some(LinkSide {
                remote_hash: &link_remote_hash,
                canonical_hash: &link_canonical_hash,
                remote_version: self.link_version,
                remote_deleted: self.link_deleted,
            }),
            ledger: self.linked.then_some(LedgerSide {
                id: &id,
                record: &self.ledger,
                hash: &ledger_hash,
                deleted: self.ledger_deleted,
                changed_by: self.changed_by,
                modified_at: self.ledger_time,
            }),
            candidates: &candidates,
            mapped_hash: None,
            base: self.base.as_ref(),
            keep_ours: &self.keep_ours,
        };
        plan_remote(&o)
    }
}

fn c1() -> CanonicalId {
    CanonicalId::from("c1")
}

#[test]
fn nothing_changed() {
    let a = client("Acme", false);
    assert_eq!(Case::synced(&a).plan(), RemoteAction::Unchanged);
}

#[test]
fn only_the_version_moved() {
    let a = client("Acme", false);
    let mut c = Case::synced(&a);
    c.remote_version = Some("2026-03-10T10:00:01");
    c.link_version = Some("2026-03-10T10:00:00");
    assert_eq!(c.plan(), RemoteAction::RefreshVersion);
}

#[test]
fn only_the_ledger_changed_is_left_to_the_push_side() {
    let mut c = Case::synced(&client("Acme", false));
    c.ledger = client("Acme Ltd", false);
    assert_eq!(c.plan(), RemoteAction::Unchanged);
    // A ledger tombstone too: the push side deletes remotely.
    let mut c = Case::synced(&client("Acme", false));
    c.ledger_deleted = true;
    assert_eq!(c.plan(), RemoteAction::Unchanged);
}

#[test]
fn only_the_remote_changed() {
    let mut c = Case::synced(&client("Acme", false));
    c.remote = client("Acme Ltd", false);
    assert_eq!(c.plan(), RemoteAction::ApplyRemote { canonical_id: c1() });
}

#[test]
fn both_changed_to_the_same_content() {
    let mut c = Case::synced(&client("Acme", false));
    c.remote = client("Acme Ltd", false);
    c.ledger = client("Acme Ltd", false);
    assert_eq!(c.plan(), RemoteAction::Converged { canonical_id: c1() });
}

fn client_with(name: &str, email: Option<&str>, notes: Option<&str>) -> Record<CanonicalId> {
    Record::Client(Client {
        name: name.into(),
        email: email.map(Into::into),
        notes: notes.map(Into::into),
        archived: false,
    })
}

#[test]
fn edits_of_different_fields_merge_when_the_base_is_known() {
    let base = client_with("Acme", None, None);
    let mut c = Case::synced(&base);
    c.base = Some(base.clone());
    c.remote = client_with("Acme", Some("ops@acme.example"), None);
    c.ledger = client_with("Acme", None, Some("Net 30"));
    assert_eq!(
        c.plan(),
        RemoteAction::Merge {
            canonical_id: c1(),
            merged: Box::new(client_with(
                "Acme",
                Some("ops@acme.example"),
                Some("Net 30")
            )),
        }
    );
}

#[test]
fn the_same_field_edited_both_sides_is_a_conflict_even_with_the_base() {
    let base = client_with("Acme", None, None);
    let mut c = Case::synced(&base);
    c.base = Some(base.clone());
    c.remote = client_with("Acme Remote", None, None);
    c.ledger = client_with("Acme Ledger", None, Some("n"));
    assert!(matches!(c.plan(), RemoteAction::Conflict { .. }));
}

#[test]
fn a_read_only_field_keeps_the_ledger_value_in_a_merge() {
    // The provider never held the ledger's notes (its API cannot set them).
    let base = client_with("Acme", None, Some("Net 30"));
    let mut c = Case::synced(&base);
    c.base = Some(base.clone());
    c.keep_ours = vec![timeweave_contract::Field::ClientNotes];
    c.remote = client_with("Acme Ltd", None, None);
    c.ledger = client_with("Acme", Some("ops@acme.example"), Some("Net 30"));
    assert_eq!(
        c.plan(),
        RemoteAction::Merge {
            canonical_id: c1(),
            merged: Box::new(client_with(
                "Acme Ltd",
                Some("ops@acme.example"),
                Some("Net 30")
            )),
        }
    );
}

#[test]
fn with_the_base_a_conflict_is_settled_field_by_field() {
    let base = client_with("Acme", None, None);
    let mut c = Case::synced(&base);
    c.base = Some(base.clone());
    // The name changed on both sides; the e-mail only remotely, the notes only in the ledger.
    c.remote = client_with("Acme Remote", Some("ops@acme.example"), None);
    c.ledger = client_with("Acme Ledger", None, Some("Net 30"));
    c.remote_time = t(11);
    c.ledger_time = t(10);
    assert_eq!(
        c.plan(),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Remote),
            settled: Some(Box::new(client_with(
                "Acme Remote",
                Some("ops@acme.example"),
                Some("Net 30")
            ))),
        }
    );
    c.remote_time = t(9);
    assert_eq!(
        c.plan(),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Ledger),
            settled: Some(Box::new(client_with(
                "Acme Ledger",
                Some("ops@acme.example"),
                Some("Net 30")
            ))),
        }
    );
    // Left open (manual): nothing is settled.
    c.policy = ConflictPolicy::Manual;
    assert_eq!(
        c.plan(),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: None,
            settled: None,
        }
    );
}

#[test]
fn without_the_base_edits_of_different_fields_are_a_conflict() {
    let base = client_with("Acme", None, None);
    let mut c = Case::synced(&base);
    c.remote = client_with("Acme", Some("ops@acme.example"), None);
    c.ledger = client_with("Acme", None, Some("Net 30"));
    assert!(matches!(c.plan(), RemoteAction::Conflict { .. }));
}

#[test]
fn a_base_changes_nothing_for_revives_overwrites_and_one_sided_edits() {
    let base = client_with("Acme", None, None);
    let mut c = Case::synced(&base);
    c.base = Some(base.clone());
    c.remote = client_with("Acme", Some("ops@acme.example"), None);
    c.ledger = client_with("Acme", None, Some("Net 30"));
    c.ledger_deleted = true;
    assert_eq!(c.plan(), RemoteAction::Revive { canonical_id: c1() });
    c.ledger_deleted = false;
    c.mode = Mode::Push;
    assert_eq!(c.plan(), RemoteAction::Overwrite { canonical_id: c1() });
    c.mode = Mode::Both;
    c.ledger = base.clone();
    assert_eq!(c.plan(), RemoteAction::ApplyRemote { canonical_id: c1() });
}

fn conflicting(
    policy: ConflictPolicy,
    remote_time: DateTime<Utc>,
    ledger_time: DateTime<Utc>,
    changed_by: &'static str,
) -> RemoteAction {
    let mut c = Case::synced(&client("Acme", false));
    c.remote = client("Acme Remote", false);
    c.ledger = client("Acme Ledger", false);
    c.policy = policy;
    c.remote_time = remote_time;
    c.ledger_time = ledger_time;
    c.changed_by = changed_by;
    c.plan()
}

#[test]
fn conflict_newest_wins() {
    assert_eq!(
        conflicting(ConflictPolicy::Newest, t(11), t(10), "x"),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Remote),
            settled: None,
        }
    );
    assert_eq!(
        conflicting(ConflictPolicy::Newest, t(9), t(10), "x"),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Ledger),
            settled: None,
        }
    );
    // A tie goes to the remote (it is the newer observation).
    assert_eq!(
        conflicting(ConflictPolicy::Newest, t(10), t(10), "x"),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Remote),
            settled: None,
        }
    );
}

#[test]
fn conflict_prefer_order_wins() {
    let order = ConflictPolicy::Prefer(vec!["tm".into(), "tt".into()]);
    // The ledger content came from tm, which ranks before tt (this provider).
    assert_eq!(
        conflicting(order.clone(), t(11), t(10), "tm"),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Ledger),
            settled: None,
        }
    );
    // The ledger content came from a provider not in the list: tt wins.
    assert_eq!(
        conflicting(order.clone(), t(9), t(10), "unlisted"),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Remote),
            settled: None,
        }
    );
    let order = ConflictPolicy::Prefer(vec!["tt".into(), "tm".into()]);
    assert_eq!(
        conflicting(order, t(9), t(10), "tm"),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: Some(Winner::Remote),
            settled: None,
        }
    );
}

#[test]
fn conflict_manual_stays_open() {
    assert_eq!(
        conflicting(ConflictPolicy::Manual, t(11), t(10), "x"),
        RemoteAction::Conflict {
            canonical_id: c1(),
            winner: None,
            settled: None,
        }
    );
}

#[test]
fn edit_beats_delete_in_the_ledger() {
    let mut c = Case::synced(&client("Acme", false));
    c.ledger_deleted = true;
    c.remote = client("Acme edited", false);
    assert_eq!(c.plan(), RemoteAction::Revive { canonical_id: c1() });
}

#[test]
fn new_remote_records_are_imported() {
    let mut c = Case::synced(&client("Acme", false));
    c.linked = false;
    assert_eq!(c.plan(), RemoteAction::Import);
}

#[test]
fn new_remote_records_adopt_a_natural_key_match() {
    let mut c = Case::synced(&client("Acme", false));
    c.linked = false;
    c.candidates = vec![client("Acme", false)];
    assert_eq!(
        c.plan(),
        RemoteAction::Adopt {
            canonical_id: CanonicalId::from("cand0"),
            then: Settle::Equal
        }
    );
    // Same key, different content: settled by the policy.
    c.candidates = vec![client("Acme", true)];
    c.remote_time = t(11);
    c.ledger_time = t(10);
    assert_eq!(
        c.plan(),
        RemoteAction::Adopt {
            canonical_id: CanonicalId::from("cand0"),
            then: Settle::Conflict(Some(Winner::Remote))
        }
    );
    c.policy = ConflictPolicy::Manual;
    assert_eq!(
        c.plan(),
        RemoteAction::Adopt {
            canonical_id: CanonicalId::from("cand0"),
            then: Settle::Conflict(None)
        }
    );
}

#[test]
fn push_mode_never_takes_remote_content() {
    let mut c = Case::synced(&client("Acme", false));
    c.mode = Mode::Push;
    c.remote = client("Edited in the target", false);
    assert_eq!(c.plan(), RemoteAction::Overwrite { canonical_id: c1() });
    // Unmatched remote records stay out of the ledger.
    let mut c = Case::synced(&client("Acme", false));
    c.mode = Mode::Push;
    c.linked = false;
    assert!(matches!(c.plan(), RemoteAction::Ignore { .. }));
    // A matched one is linked and the ledger version is pushed over any difference.
    c.candidates = vec![client("Acme", true)];
    assert_eq!(
        c.plan(),
        RemoteAction::Adopt {
            canonical_id: CanonicalId::from("cand0"),
            then: Settle::KeepLedger
        }
    );
}

#[test]
fn pull_mode_takes_remote_content() {
    let mut c = Case::synced(&client("Acme", false));
    c.mode = Mode::Pull;
    c.remote = client("Acme 2", false);
    assert_eq!(c.plan(), RemoteAction::ApplyRemote { canonical_id: c1() });
}

#[test]
fn records_we_deleted_remotely_are_ignored_when_archived() {
    // TimeTracker archives a project on delete: it stays listed, archived.
    let mut c = Case::synced(&client("Acme", false));
    c.link_deleted = true;
    c.remote = client("Acme", true);
    assert!(matches!(c.plan(), RemoteAction::Ignore { .. }));
    // A live record under a remote id we saw deleted is a new record (ids reused).
    c.remote = client("Someone else", false);
    assert_eq!(c.plan(), RemoteAction::Import);
}

#[test]
fn unmappable_records_are_invalid_with_the_reason() {
    let a = client("Acme", false);
    let id = CanonicalId::from("c1");
    let hash = h(&a);
    let o = Observation {
        provider: "tt",
        mode: Mode::Both,
        policy: &ConflictPolicy::Newest,
        remote_hash: &hash,
        remote_version: None,
        remote_modified_at: t(1),
        mapped: Err("references unknown project 42"),
        link: None,
        ledger: Some(LedgerSide {
            id: &id,
            record: &a,
            hash: &hash,
            deleted: false,
            changed_by: "x",
            modified_at: t(1),
        }),
        candidates: &[],
        mapped_hash: None,
        base: None,
        keep_ours: &[],
    };
    assert_eq!(
        plan_remote(&o),
        RemoteAction::Invalid {
            reason: "references unknown project 42".into()
        }
    );
}

#[test]
fn missing_records() {
    let old = h(&client("Acme", false));
    let new = h(&client("Acme 2", false));
    // Still there: processed like a listed record.
    assert_eq!(
        plan_missing(Mode::Both, true, &old, Some((&old, false))),
        MissingAction::StillThere
    );
    // Gone and unchanged in the ledger: delete propagates into the ledger.
    assert_eq!(
        plan_missing(Mode::Both, false, &old, Some((&old, false))),
        MissingAction::Tombstone
    );
    // Gone but edited in the ledger since: the edit wins.
    assert_eq!(
        plan_missing(Mode::Both, false, &old, Some((&new, false))),
        MissingAction::Unlink
    );
    // Gone and already deleted in the ledger.
    assert_eq!(
        plan_missing(Mode::Both, false, &old, Some((&old, true))),
        MissingAction::MarkGone
    );
    assert_eq!(
        plan_missing(Mode::Both, false, &old, None),
        MissingAction::MarkGone
    );
    // A push-only target: the ledger is the source, the record is sent again.
    assert_eq!(
        plan_missing(Mode::Push, false, &old, Some((&old, false))),
        MissingAction::Unlink
    );
    // A pull-only source: deletes flow into the ledger.
    assert_eq!(
        plan_missing(Mode::Pull, false, &old, Some((&old, false))),
        MissingAction::Tombstone
    );
}

#[test]
fn mass_delete_guard_needs_both_thresholds() {
    let g = MassDeleteGuard {
        max_fraction: 0.2,
        min_count: 10,
    };
    assert!(mass_delete_guard(g, 10, 20).is_ok(), "not more than 10");
    assert!(mass_delete_guard(g, 11, 100).is_ok(), "not more than 20 %");
    assert!(mass_delete_guard(g, 0, 0).is_ok());
    let err = mass_delete_guard(g, 11, 50).unwrap_err();
    assert!(err.contains("11 of 50"), "{err}");
    assert!(mass_delete_guard(g, 1000, 1000).is_err());
}

fn tally(linked: usize, missing: usize, listed: usize) -> KindTally {
    KindTally {
        linked,
        missing,
        listed,
    }
}

/// A guard case: its name, the cycle's tallies, and a part of the refusal (`None`: allowed).
type GuardCase = (&'static str, Vec<(Kind, KindTally)>, Option<&'static str>);

fn cycle_guard_cases() -> Vec<GuardCase> {
    vec![
        (
            "nothing missing",
            vec![(Kind::Client, tally(5, 0, 5))],
            None,
        ),
        (
            "nothing linked yet, nothing listed",
            vec![(Kind::Project, tally(0, 0, 0))],
            None,
        ),
        (
            "a few real deletes",
            vec![
                (Kind::TimeEntry, tally(100, 5, 95)),
                (Kind::Client, tally(4, 1, 3)),
            ],
            None,
        ),
        (
            "entries alone",
            vec![
                (Kind::TimeEntry, tally(50, 11, 39)),
                (Kind::Client, tally(4, 0, 4)),
            ],
            Some("time_entry: 11 of 50"),
        ),
        (
            "clients alone",
            vec![
                (Kind::Client, tally(40, 12, 28)),
                (Kind::TimeEntry, tally(1000, 0, 1000)),
            ],
            Some("client: 12 of 40"),
        ),
        (
            "projects alone",
            vec![(Kind::Project, tally(30, 30, 1))],
            Some("project: 30 of 30"),
        ),
        (
            "tasks alone",
            vec![(Kind::Task, tally(20, 15, 5))],
            Some("task: 15 of 20"),
        ),
        (
            // No kind alone passes both thresholds; together they do.
            "all kinds together",
            vec![
                (Kind::Client, tally(8, 4, 4)),
                (Kind::Project, tally(8, 4, 4)),
                (Kind::Task, tally(8, 4, 4)),
            ],
            Some("all kinds together: 12 of 24"),
        ),
        (
            "the only entry deleted, references still listed",
            vec![
                (Kind::Client, tally(1, 0, 1)),
                (Kind::TimeEntry, tally(1, 1, 0)),
            ],
            None,
        ),
        (
            "nothing listed at all, regardless of counts",
            vec![
                (Kind::Client, tally(1, 1, 0)),
                (Kind::Project, tally(1, 1, 0)),
                (Kind::TimeEntry, tally(3, 3, 0)),
            ],
            Some("it listed nothing at all where the ledger links 5 records"),
        ),
    ]
}

#[test]
fn the_cycle_guard_weighs_each_kind_alone_all_together_and_empty_listings() {
    let g = MassDeleteGuard {
        max_fraction: 0.2,
        min_count: 10,
    };
    for (name, tallies, expected) in &cycle_guard_cases() {
        let got = cycle_delete_guard(g, tallies);
        match expected {
            None => assert!(got.is_ok(), "{name}: {got:?}"),
            Some(part) => {
                let err = got.expect_err(name);
                assert!(err.contains(part), "{name}: {err}");
                assert!(err.contains("--allow-deletes"), "{name}: {err}");
            }
        }
    }
}

#[test]
fn push_planning() {
    let r = RemoteId::from("9");
    assert_eq!(
        plan_push(Kind::TimeEntry, false, None, true, Ok(())),
        PushAction::Create
    );
    assert_eq!(
        plan_push(Kind::TimeEntry, false, Some(&r), true, Ok(())),
        PushAction::Update { target: r.clone() }
    );
    assert_eq!(
        plan_push(Kind::TimeEntry, true, Some(&r), true, Ok(())),
        PushAction::Delete { target: r.clone() }
    );
    assert!(matches!(
        plan_push(Kind::TimeEntry, true, Some(&r), false, Ok(())),
        PushAction::Skip { .. }
    ));
    assert!(matches!(
        plan_push(Kind::TimeEntry, true, None, true, Ok(())),
        PushAction::Skip { .. }
    ));
    assert!(matches!(
        plan_push(Kind::Person, false, None, true, Ok(())),
        PushAction::Skip { .. }
    ));
    assert_eq!(
        plan_push(
            Kind::TimeEntry,
            false,
            None,
            true,
            Err("waiting: project X".into())
        ),
        PushAction::Wait {
            reason: "waiting: project X".into()
        }
    );
    // Deletes do not wait for references.
    assert_eq!(
        plan_push(Kind::Project, true, Some(&r), true, Err("waiting".into())),
        PushAction::Delete { target: r }
    );
}

#[test]
fn decide_is_symmetric_in_time() {
    let a = client("A", false);
    let id = CanonicalId::from("x");
    let hash = h(&a);
    let ledger = LedgerSide {
        id: &id,
        record: &a,
        hash: &hash,
        deleted: false,
        changed_by: "tm",
        modified_at: t(10),
    };
    assert_eq!(
        decide(
            &ConflictPolicy::Newest,
            "tt",
            t(10) + chrono::Duration::seconds(1),
            &ledger
        ),
        Some(Winner::Remote)
    );
    assert_eq!(
        decide(
            &ConflictPolicy::Newest,
            "tt",
            t(10) - chrono::Duration::seconds(1),
            &ledger
        ),
        Some(Winner::Ledger)
    );
}

#[test]
fn people_matched_by_email_are_linked_without_a_conflict() {
    use timeweave_contract::Person;
    let p = |username: Option<&str>| {
        Record::Person(Person {
            display_name: "Ada".into(),
            email: Some("ada@example.com".into()),
            username: username.map(Into::into),
        })
    };
    let mut c = Case::synced(&p(Some("ada")));
    c.linked = false;
    c.remote = p(None);
    c.candidates = vec![p(Some("ada"))];
    assert_eq!(
        c.plan(),
        RemoteAction::Adopt {
            canonical_id: CanonicalId::from("cand0"),
            then: Settle::Equal
        }
    );
}
