//! Canonical fields a provider may be unable to hold, and how a listed record keeps the
//! ledger's value for them.
//!
//! A provider that has no place for a field (TimeTrack projects have no billable flag) reads
//! it back as a constant. Taken as it is, that constant would overwrite the value another
//! provider set, in the ledger and then everywhere, the next time anything else about the
//! record changed there. An adapter names such fields in `Capabilities::unheld`; the engine
//! lays the ledger's values over them ([`Record::keep_unheld`]) before it compares or applies
//! a listed record, so a field a provider cannot hold is never a change made there.

use serde::{Deserialize, Serialize};

use crate::model::{Kind, Record};

/// One canonical field that is not a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    PersonEmail,
    PersonUsername,
    ClientEmail,
    ClientNotes,
    ProjectBillable,
    ProjectHourlyRate,
    TaskArchived,
    /// A time entry's break, with its worked duration (net of the break), which a provider
    /// without breaks derives from start and end: the two travel together.
    EntryBreak,
    EntryNotes,
    EntryTags,
    EntryBillable,
}

impl Field {
    /// Every field, in declaration order.
    pub const ALL: [Field; 11] = [
        Field::PersonEmail,
        Field::PersonUsername,
        Field::ClientEmail,
        Field::ClientNotes,
        Field::ProjectBillable,
        Field::ProjectHourlyRate,
        Field::TaskArchived,
        Field::EntryBreak,
        Field::EntryNotes,
        Field::EntryTags,
        Field::EntryBillable,
    ];

    /// The kind of record the field belongs to.
    pub fn kind(self) -> Kind {
        match self {
            Field::PersonEmail | Field::PersonUsername => Kind::Person,
            Field::ClientEmail | Field::ClientNotes => Kind::Client,
            Field::ProjectBillable | Field::ProjectHourlyRate => Kind::Project,
            Field::TaskArchived => Kind::Task,
            Field::EntryBreak | Field::EntryNotes | Field::EntryTags | Field::EntryBillable => {
                Kind::TimeEntry
            }
        }
    }

    /// `kind.field`, for messages and docs.
    pub fn name(self) -> &'static str {
        match self {
            Field::PersonEmail => "person.email",
            Field::PersonUsername => "person.username",
            Field::ClientEmail => "client.email",
            Field::ClientNotes => "client.notes",
            Field::ProjectBillable => "project.billable",
            Field::ProjectHourlyRate => "project.hourly_rate",
            Field::TaskArchived => "task.archived",
            Field::EntryBreak => "time_entry.break_seconds",
            Field::EntryNotes => "time_entry.notes",
            Field::EntryTags => "time_entry.tags",
            Field::EntryBillable => "time_entry.billable",
        }
    }
}

/// Whether any of `unheld` belongs to `kind` (nothing to lay over otherwise).
pub fn any_unheld(unheld: &[Field], kind: Kind) -> bool {
    unheld.iter().any(|f| f.kind() == kind)
}

impl<R> Record<R> {
    /// This record, as a provider listed it, with every field in `unheld` taken from `base`
    /// (the ledger's version of the same record). Records of different kinds, and fields of
    /// other kinds, are left as they are.
    pub fn keep_unheld(mut self, base: &Record<R>, unheld: &[Field]) -> Record<R> {
        for field in unheld {
            match (&mut self, base, field) {
                (Record::Person(p), Record::Person(b), Field::PersonEmail) => {
                    p.email.clone_from(&b.email)
                }
                (Record::Person(p), Record::Person(b), Field::PersonUsername) => {
                    p.username.clone_from(&b.username)
                }
                (Record::Client(c), Record::Client(b), Field::ClientEmail) => {
                    c.email.clone_from(&b.email)
                }
                (Record::Client(c), Record::Client(b), Field::ClientNotes) => {
                    c.notes.clone_from(&b.notes)
                }
                (Record::Project(p), Record::Project(b), Field::ProjectBillable) => {
                    p.billable = b.billable
                }
                (Record::Project(p), Record::Project(b), Field::ProjectHourlyRate) => {
                    p.hourly_rate_cents = b.hourly_rate_cents
                }
                (Record::Task(t), Record::Task(b), Field::TaskArchived) => t.archived = b.archived,
                // Only while the span is the same: a provider without breaks that moved the
                // start or end has changed the work, and its own duration stands.
                (Record::TimeEntry(e), Record::TimeEntry(b), Field::EntryBreak)
                    if e.started_at == b.started_at && e.ended_at == b.ended_at =>
                {
                    e.break_seconds = b.break_seconds;
                    e.duration_seconds = b.duration_seconds;
                }
                (Record::TimeEntry(e), Record::TimeEntry(b), Field::EntryNotes) => {
                    e.notes.clone_from(&b.notes)
                }
                (Record::TimeEntry(e), Record::TimeEntry(b), Field::EntryTags) => {
                    e.tags.clone_from(&b.tags)
                }
                (Record::TimeEntry(e), Record::TimeEntry(b), Field::EntryBillable) => {
                    e.billable = b.billable
                }
                _ => {}
            }
        }
        self
    }
}

impl<R> Record<R> {
    /// This record as a provider without `unheld` stores it: each such field at the constant
    /// it reads back (billable, no rate, not archived, no notes, no tags, no break with
    /// the duration from start and end, no e-mail or username). For in-memory providers and tests that
    /// stand in for one.
    pub fn forget_unheld(mut self, unheld: &[Field]) -> Record<R> {
        for field in unheld {
            match (&mut self, field) {
                (Record::Person(p), Field::PersonEmail) => p.email = None,
                (Record::Person(p), Field::PersonUsername) => p.username = None,
                (Record::Client(c), Field::ClientEmail) => c.email = None,
                (Record::Client(c), Field::ClientNotes) => c.notes = None,
                (Record::Project(p), Field::ProjectBillable) => p.billable = true,
                (Record::Project(p), Field::ProjectHourlyRate) => p.hourly_rate_cents = None,
                (Record::Task(t), Field::TaskArchived) => t.archived = false,
                (Record::TimeEntry(e), Field::EntryBreak) => {
                    e.break_seconds = 0;
                    e.duration_seconds = e.computed_duration();
                }
                (Record::TimeEntry(e), Field::EntryNotes) => e.notes = None,
                (Record::TimeEntry(e), Field::EntryTags) => e.tags.clear(),
                (Record::TimeEntry(e), Field::EntryBillable) => e.billable = true,
                _ => {}
            }
        }
        self
    }
}

/// One field a provider did not keep as it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unkept {
    /// `kind.field`.
    pub field: &'static str,
    pub sent: String,
    pub kept: String,
}

/// The fields of `sent` that `kept` (the provider's answer to writing it) holds otherwise.
/// References, times, breaks and durations are left out: providers resolve, round and
/// derive those. Compare against the payload less the provider's declared `unheld` fields,
/// so only losses nobody declared are found.
pub fn unkept<R>(sent: &Record<R>, kept: &Record<R>) -> Vec<Unkept> {
    fn diff<T: PartialEq + std::fmt::Debug>(
        out: &mut Vec<Unkept>,
        field: &'static str,
        sent: &T,
        kept: &T,
    ) {
        if sent != kept {
            out.push(Unkept {
                field,
                sent: format!("{sent:?}"),
                kept: format!("{kept:?}"),
            });
        }
    }
    let mut out = Vec::new();
    match (sent, kept) {
        (Record::Person(s), Record::Person(k)) => {
            diff(
                &mut out,
                "person.display_name",
                &s.display_name,
                &k.display_name,
            );
            diff(&mut out, Field::PersonEmail.name(), &s.email, &k.email);
            diff(
                &mut out,
                Field::PersonUsername.name(),
                &s.username,
                &k.username,
            );
        }
        (Record::Client(s), Record::Client(k)) => {
            diff(&mut out, "client.name", &s.name, &k.name);
            diff(&mut out, Field::ClientEmail.name(), &s.email, &k.email);
            diff(&mut out, Field::ClientNotes.name(), &s.notes, &k.notes);
            diff(&mut out, "client.archived", &s.archived, &k.archived);
        }
        (Record::Project(s), Record::Project(k)) => {
            diff(&mut out, "project.name", &s.name, &k.name);
            diff(
                &mut out,
                Field::ProjectBillable.name(),
                &s.billable,
                &k.billable,
            );
            diff(
                &mut out,
                Field::ProjectHourlyRate.name(),
                &s.hourly_rate_cents,
                &k.hourly_rate_cents,
            );
            diff(&mut out, "project.archived", &s.archived, &k.archived);
        }
        (Record::Task(s), Record::Task(k)) => {
            diff(&mut out, "task.name", &s.name, &k.name);
            diff(
                &mut out,
                Field::TaskArchived.name(),
                &s.archived,
                &k.archived,
            );
        }
        (Record::TimeEntry(s), Record::TimeEntry(k)) => {
            diff(&mut out, Field::EntryNotes.name(), &s.notes, &k.notes);
            diff(&mut out, Field::EntryTags.name(), &s.tags, &k.tags);
            diff(
                &mut out,
                Field::EntryBillable.name(),
                &s.billable,
                &k.billable,
            );
        }
        _ => {}
    }
    out
}

/// A three-way merge of one record: `base` is what both sides held at their last sync,
/// `ours` the ledger's version now, `theirs` the provider's (in ledger ids). Each field
/// takes the side that changed it; when both changed the same field to different values
/// there is no merge (`None`: a conflict for the policy). A time entry's span (start, end,
/// break, duration) moves as one field: its parts depend on each other.
pub fn merge<R: Clone + PartialEq>(
    base: &Record<R>,
    ours: &Record<R>,
    theirs: &Record<R>,
) -> Option<Record<R>> {
    merge_with(base, ours, theirs, None)
}

/// A conflict settled field by field: like [`merge`], but a field both sides changed
/// differently takes `theirs` when `prefer_theirs`, else `ours`; every other edit of both
/// sides is kept. `None` only for records of different kinds.
pub fn merge_preferring<R: Clone + PartialEq>(
    base: &Record<R>,
    ours: &Record<R>,
    theirs: &Record<R>,
    prefer_theirs: bool,
) -> Option<Record<R>> {
    merge_with(base, ours, theirs, Some(prefer_theirs))
}

/// `prefer_theirs`: how a field both sides changed differently is settled (`None`: it
/// is not, and there is no merge).
fn merge_with<R: Clone + PartialEq>(
    base: &Record<R>,
    ours: &Record<R>,
    theirs: &Record<R>,
    prefer_theirs: Option<bool>,
) -> Option<Record<R>> {
    // One field: the side that changed it; when both did, differently, the preferred side
    // or `Err`.
    fn pick<T: Clone + PartialEq>(
        base: &T,
        ours: &T,
        theirs: &T,
        prefer_theirs: Option<bool>,
    ) -> Result<T, ()> {
        if theirs == base || theirs == ours {
            Ok(ours.clone())
        } else if ours == base {
            Ok(theirs.clone())
        } else {
            match prefer_theirs {
                Some(true) => Ok(theirs.clone()),
                Some(false) => Ok(ours.clone()),
                None => Err(()),
            }
        }
    }
    // Each side in the one normal form, so a difference is a change, not a spelling.
    let (base, ours, theirs) = (
        &base.clone().normalised(),
        &ours.clone().normalised(),
        &theirs.clone().normalised(),
    );
    let merged = match (base, ours, theirs) {
        (Record::Person(b), Record::Person(o), Record::Person(t)) => {
            Record::Person(crate::model::Person {
                display_name: pick(
                    &b.display_name,
                    &o.display_name,
                    &t.display_name,
                    prefer_theirs,
                )
                .ok()?,
                email: pick(&b.email, &o.email, &t.email, prefer_theirs).ok()?,
                username: pick(&b.username, &o.username, &t.username, prefer_theirs).ok()?,
            })
        }
        (Record::Client(b), Record::Client(o), Record::Client(t)) => {
            Record::Client(crate::model::Client {
                name: pick(&b.name, &o.name, &t.name, prefer_theirs).ok()?,
                email: pick(&b.email, &o.email, &t.email, prefer_theirs).ok()?,
                notes: pick(&b.notes, &o.notes, &t.notes, prefer_theirs).ok()?,
                archived: pick(&b.archived, &o.archived, &t.archived, prefer_theirs).ok()?,
            })
        }
        (Record::Project(b), Record::Project(o), Record::Project(t)) => {
            Record::Project(crate::model::Project {
                client: pick(&b.client, &o.client, &t.client, prefer_theirs).ok()?,
                name: pick(&b.name, &o.name, &t.name, prefer_theirs).ok()?,
                billable: pick(&b.billable, &o.billable, &t.billable, prefer_theirs).ok()?,
                hourly_rate_cents: pick(
                    &b.hourly_rate_cents,
                    &o.hourly_rate_cents,
                    &t.hourly_rate_cents,
                    prefer_theirs,
                )
                .ok()?,
                archived: pick(&b.archived, &o.archived, &t.archived, prefer_theirs).ok()?,
            })
        }
        (Record::Task(b), Record::Task(o), Record::Task(t)) => Record::Task(crate::model::Task {
            project: pick(&b.project, &o.project, &t.project, prefer_theirs).ok()?,
            name: pick(&b.name, &o.name, &t.name, prefer_theirs).ok()?,
            archived: pick(&b.archived, &o.archived, &t.archived, prefer_theirs).ok()?,
        }),
        (Record::TimeEntry(b), Record::TimeEntry(o), Record::TimeEntry(t)) => {
            let span = |e: &crate::model::TimeEntry<R>| {
                (
                    e.started_at,
                    e.ended_at,
                    e.break_seconds,
                    e.duration_seconds,
                )
            };
            let (started_at, ended_at, break_seconds, duration_seconds) =
                pick(&span(b), &span(o), &span(t), prefer_theirs).ok()?;
            // The work's references move together too: a task belongs to its project.
            let refs = |e: &crate::model::TimeEntry<R>| {
                (e.project.clone(), e.task.clone(), e.client.clone())
            };
            let (project, task, client) = pick(&refs(b), &refs(o), &refs(t), prefer_theirs).ok()?;
            Record::TimeEntry(crate::model::TimeEntry {
                person: pick(&b.person, &o.person, &t.person, prefer_theirs).ok()?,
                project,
                task,
                client,
                started_at,
                ended_at,
                break_seconds,
                duration_seconds,
                // Informational, not hashed: the provider's zone when it moved the span.
                source_tz: if span(t) != span(b) {
                    t.source_tz.clone()
                } else {
                    o.source_tz.clone()
                },
                notes: pick(&b.notes, &o.notes, &t.notes, prefer_theirs).ok()?,
                tags: pick(&b.tags, &o.tags, &t.tags, prefer_theirs).ok()?,
                billable: pick(&b.billable, &o.billable, &t.billable, prefer_theirs).ok()?,
                kind: pick(&b.kind, &o.kind, &t.kind, prefer_theirs).ok()?,
            })
        }
        _ => return None,
    };
    Some(merged)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{EntryKind, Project, TimeEntry};

    fn project(billable: bool, rate: Option<i64>, name: &str) -> Record<String> {
        Record::Project(Project {
            client: None,
            name: name.into(),
            billable,
            hourly_rate_cents: rate,
            archived: false,
        })
    }

    fn entry(start_h: u32, end_h: u32, brk: i64) -> Record<String> {
        let mut e = TimeEntry {
            person: "p".to_owned(),
            project: None,
            task: None,
            client: None,
            started_at: Utc.with_ymd_and_hms(2026, 3, 2, start_h, 0, 0).unwrap(),
            ended_at: Some(Utc.with_ymd_and_hms(2026, 3, 2, end_h, 0, 0).unwrap()),
            break_seconds: brk,
            duration_seconds: None,
            source_tz: None,
            notes: Some("n".into()),
            tags: ["a".to_owned()].into(),
            billable: false,
            kind: EntryKind::Work,
        };
        e.duration_seconds = e.computed_duration();
        Record::TimeEntry(e)
    }

    #[test]
    fn unheld_fields_come_from_the_base_and_the_rest_from_the_listing() {
        let ledger = project(false, Some(8550), "Old name");
        let listed = project(true, Some(100), "New name");
        let kept = listed.keep_unheld(&ledger, &[Field::ProjectBillable]);
        assert_eq!(kept, project(false, Some(100), "New name"));
    }

    #[test]
    fn fields_of_other_kinds_and_other_records_change_nothing() {
        let ledger = project(false, None, "P");
        let listed = project(true, None, "P");
        let kept = listed
            .clone()
            .keep_unheld(&ledger, &[Field::EntryBillable, Field::ClientNotes]);
        assert_eq!(kept, listed);
        let kept = listed
            .clone()
            .keep_unheld(&entry(8, 9, 0), &[Field::ProjectBillable]);
        assert_eq!(kept, listed);
    }

    #[test]
    fn a_break_is_kept_only_while_the_span_is_the_same() {
        let ledger = entry(8, 12, 1800);
        let same_span = entry(8, 12, 0);
        assert_eq!(
            same_span.keep_unheld(&ledger, &[Field::EntryBreak]),
            entry(8, 12, 1800)
        );
        let moved = entry(8, 13, 0);
        assert_eq!(
            moved.clone().keep_unheld(&ledger, &[Field::EntryBreak]),
            moved
        );
    }

    #[test]
    fn forgetting_then_keeping_restores_the_record() {
        let all = [
            Field::EntryBreak,
            Field::EntryNotes,
            Field::EntryTags,
            Field::EntryBillable,
        ];
        let ledger = entry(8, 12, 900);
        let stored = ledger.clone().forget_unheld(&all);
        let Record::TimeEntry(e) = &stored else {
            unreachable!()
        };
        assert_eq!(
            (
                e.break_seconds,
                e.duration_seconds,
                e.notes.as_deref(),
                e.tags.len(),
                e.billable
            ),
            (0, Some(4 * 3600), None, 0, true)
        );
        assert_eq!(stored.keep_unheld(&ledger, &all), ledger);
    }

    #[test]
    fn unkept_names_each_field_kept_otherwise_and_ignores_derived_ones() {
        let sent = project(false, Some(4250), "P");
        assert!(unkept(&sent, &sent).is_empty());
        let found = unkept(&sent, &project(true, Some(4250), "P"));
        assert_eq!(
            found,
            vec![Unkept {
                field: "project.billable",
                sent: "false".into(),
                kept: "true".into()
            }]
        );
        // A provider that rounds a break or derives the duration has kept the entry.
        assert!(unkept(&entry(8, 12, 90), &entry(8, 12, 120)).is_empty());
        let Record::TimeEntry(mut e) = entry(8, 12, 0) else {
            unreachable!()
        };
        e.tags = ["a_b".to_owned()].into();
        let fields: Vec<_> = unkept(&entry(8, 12, 0), &Record::TimeEntry(e))
            .into_iter()
            .map(|u| u.field)
            .collect();
        assert_eq!(fields, vec!["time_entry.tags"]);
    }

    fn with_notes(r: &Record<String>, notes: &str) -> Record<String> {
        let mut r = r.clone();
        if let Record::TimeEntry(e) = &mut r {
            e.notes = Some(notes.into());
        }
        r
    }

    fn with_tags(r: &Record<String>, tag: &str) -> Record<String> {
        let mut r = r.clone();
        if let Record::TimeEntry(e) = &mut r {
            e.tags = [tag.to_owned()].into();
        }
        r
    }

    #[test]
    fn edits_of_different_fields_merge() {
        let base = entry(8, 12, 0);
        let ours = with_tags(&base, "ours");
        let theirs = with_notes(&base, "theirs");
        assert_eq!(
            merge(&base, &ours, &theirs),
            Some(with_notes(&with_tags(&base, "ours"), "theirs"))
        );
        // Symmetric.
        assert_eq!(
            merge(&base, &theirs, &ours),
            Some(with_notes(&with_tags(&base, "ours"), "theirs"))
        );
    }

    #[test]
    fn the_same_field_changed_differently_does_not_merge() {
        let base = entry(8, 12, 0);
        assert_eq!(
            merge(&base, &with_notes(&base, "a"), &with_notes(&base, "b")),
            None
        );
        // The same change on both sides is no conflict.
        assert_eq!(
            merge(&base, &with_notes(&base, "a"), &with_notes(&base, "a")),
            Some(with_notes(&base, "a"))
        );
    }

    #[test]
    fn a_conflict_settled_by_field_keeps_every_other_edit() {
        let base = entry(8, 12, 0);
        let ours = with_tags(&with_notes(&base, "ours"), "ours");
        let theirs = with_notes(&entry(9, 12, 0), "theirs");
        // Notes changed on both sides: the preferred side's; tags (ours) and the span
        // (theirs) changed on one side only: kept.
        assert_eq!(
            merge_preferring(&base, &ours, &theirs, true),
            Some(with_tags(&with_notes(&entry(9, 12, 0), "theirs"), "ours"))
        );
        assert_eq!(
            merge_preferring(&base, &ours, &theirs, false),
            Some(with_tags(&with_notes(&entry(9, 12, 0), "ours"), "ours"))
        );
        assert_eq!(merge(&base, &ours, &theirs), None);
    }

    #[test]
    fn a_span_moves_as_one_field() {
        let base = entry(8, 12, 0);
        // Ours moved the end; theirs added a break (which changes the duration): both
        // touched the span, so no merge.
        assert_eq!(merge(&base, &entry(8, 13, 0), &entry(8, 12, 900)), None);
        // Theirs moved the span, ours changed notes: both kept.
        assert_eq!(
            merge(&base, &with_notes(&base, "n2"), &entry(9, 12, 0)),
            Some(with_notes(&entry(9, 12, 0), "n2"))
        );
    }

    #[test]
    fn records_of_different_kinds_do_not_merge() {
        assert_eq!(
            merge(&entry(8, 9, 0), &entry(8, 9, 0), &project(true, None, "P")),
            None
        );
        let p = project(true, None, "P");
        assert_eq!(
            merge(&p, &project(false, None, "P"), &project(true, Some(5), "Q")),
            Some(project(false, Some(5), "Q"))
        );
    }

    #[test]
    fn every_field_names_its_kind() {
        for f in Field::ALL {
            assert!(f.name().starts_with(f.kind().as_str()), "{}", f.name());
            assert!(any_unheld(&[f], f.kind()));
        }
        // ALL holds each variant once; a new variant stops this match compiling: list it
        // here and in ALL.
        for f in Field::ALL {
            match f {
                Field::PersonEmail
                | Field::PersonUsername
                | Field::ClientEmail
                | Field::ClientNotes
                | Field::ProjectBillable
                | Field::ProjectHourlyRate
                | Field::TaskArchived
                | Field::EntryBreak
                | Field::EntryNotes
                | Field::EntryTags
                | Field::EntryBillable => {}
            }
        }
        let distinct: std::collections::HashSet<Field> = Field::ALL.into_iter().collect();
        assert_eq!(distinct.len(), Field::ALL.len());
    }
}
