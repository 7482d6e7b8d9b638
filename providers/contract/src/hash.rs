//! The content hash: a SHA-256 over a versioned, length-prefixed text encoding of a record's
//! *synced fields* after normalisation, so the same content hashes the same on every run and
//! platform, whatever the provider's formatting (whitespace, tag order, offsets).
//!
//! What it covers, per kind (in this order, after the kind name and `HASH_VERSION`):
//! - person: display_name, email, username
//! - client: name, email, notes, archived
//! - project: client ref, name, billable, hourly_rate_cents, archived
//! - task: project ref, name, archived
//! - time_entry: person ref, project ref, task ref, client ref, started_at and ended_at
//!   (UTC, whole seconds, RFC 3339 with `Z`), break_seconds, duration_seconds, notes,
//!   tags (sorted set), billable, kind
//!
//! What it leaves out on purpose: ids, ledger timestamps, origin, and `source_tz` (it says how
//! a provider displayed the instant, not what was booked; two providers that show one entry
//! in different zones hold equal content).
//!
//! References hash as their text, so a record with remote references and the same record
//! with canonical references hash differently: compare hashes only within one id space.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{whole_seconds, Record};

/// Bump when the encoding changes; stored hashes of an older version then read as "changed".
pub const HASH_VERSION: &str = "tw1";

/// Hex SHA-256 of a record's synced fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(pub String);

impl ContentHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

struct Encoder(Sha256);

impl Encoder {
    fn field(&mut self, name: &str, value: Option<&str>) {
        self.0.update(name.as_bytes());
        match value {
            None => self.0.update(b"=~;"),
            Some(v) => {
                // Length-prefixed, so no value can forge a field boundary.
                self.0.update(format!("={}:", v.len()).as_bytes());
                self.0.update(v.as_bytes());
                self.0.update(b";");
            }
        }
    }
    fn text(&mut self, name: &str, v: &str) {
        self.field(name, Some(v))
    }
    fn opt(&mut self, name: &str, v: Option<&str>) {
        self.field(name, v)
    }
    fn bool(&mut self, name: &str, v: bool) {
        self.text(name, if v { "1" } else { "0" })
    }
    fn int(&mut self, name: &str, v: Option<i64>) {
        self.opt(name, v.map(|n| n.to_string()).as_deref())
    }
    fn instant(&mut self, name: &str, v: Option<DateTime<Utc>>) {
        // RFC 3339 with `Z`, whole seconds (written directly: no format-string parsing).
        let s = v.map(|t| whole_seconds(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        self.opt(name, s.as_deref())
    }
}

/// The content hash of a record. The record is normalised first, so callers need not.
pub fn content_hash<R: AsRef<str> + Clone>(record: &Record<R>) -> ContentHash {
    let record = record.clone().normalised();
    let mut e = Encoder(Sha256::new());
    e.text("v", HASH_VERSION);
    e.text("kind", record.kind().as_str());
    match &record {
        Record::Person(p) => {
            e.text("display_name", &p.display_name);
            e.opt("email", p.email.as_deref());
            e.opt("username", p.username.as_deref());
        }
        Record::Client(c) => {
            e.text("name", &c.name);
            e.opt("email", c.email.as_deref());
            e.opt("notes", c.notes.as_deref());
            e.bool("archived", c.archived);
        }
        Record::Project(p) => {
            e.opt("client", p.client.as_ref().map(AsRef::as_ref));
            e.text("name", &p.name);
            e.bool("billable", p.billable);
            e.int("hourly_rate_cents", p.hourly_rate_cents);
            e.bool("archived", p.archived);
        }
        Record::Task(t) => {
            e.text("project", t.project.as_ref());
            e.text("name", &t.name);
            e.bool("archived", t.archived);
        }
        Record::TimeEntry(t) => {
            e.text("person", t.person.as_ref());
            e.opt("project", t.project.as_ref().map(AsRef::as_ref));
            e.opt("task", t.task.as_ref().map(AsRef::as_ref));
            e.opt("client", t.client.as_ref().map(AsRef::as_ref));
            e.instant("started_at", Some(t.started_at));
            e.instant("ended_at", t.ended_at);
            e.int("break_seconds", Some(t.break_seconds));
            e.int("duration_seconds", t.duration_seconds);
            e.opt("notes", t.notes.as_deref());
            e.int("tags", Some(t.tags.len() as i64));
            for tag in &t.tags {
                e.text("tag", tag);
            }
            e.bool("billable", t.billable);
            e.text("entry_kind", t.kind.as_str());
        }
    }
    ContentHash(hex::encode(e.0.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Client, EntryKind, Person, Project, Task, TimeEntry};
    use chrono::{FixedOffset, TimeZone};
    use std::collections::BTreeSet;

    fn entry() -> TimeEntry<String> {
        TimeEntry {
            person: "p1".into(),
            project: Some("pr1".into()),
            task: None,
            client: None,
            started_at: Utc.with_ymd_and_hms(2026, 3, 16, 8, 0, 0).unwrap(),
            ended_at: Some(Utc.with_ymd_and_hms(2026, 3, 16, 9, 30, 0).unwrap()),
            break_seconds: 0,
            duration_seconds: Some(5400),
            source_tz: Some("Europe/Rome".into()),
            notes: Some("Design review".into()),
            tags: ["b", "a"].iter().map(|s| s.to_string()).collect(),
            billable: true,
            kind: EntryKind::Work,
        }
    }

    fn h(e: TimeEntry<String>) -> ContentHash {
        content_hash(&Record::TimeEntry(e))
    }

    #[test]
    fn stable_known_value() {
        // Pinned: a change to the encoding must bump HASH_VERSION (stored hashes change).
        let hash = h(entry());
        assert_eq!(hash.0.len(), 64);
        assert_eq!(hash, h(entry()));
        assert_eq!(
            hash.0,
            "e55468f9800ee6dca778091e8ebb731936a477e86c74feb4db74384be2067528"
        );
    }

    #[test]
    fn equal_for_differences_that_do_not_matter() {
        let base = h(entry());
        let mut e = entry();
        e.notes = Some("  Design review\n".into());
        assert_eq!(h(e), base, "surrounding whitespace");
        let mut e = entry();
        e.tags = [" a", "b "].iter().map(|s| s.to_string()).collect();
        assert_eq!(h(e), base, "tag order and padding");
        let mut e = entry();
        let rome = FixedOffset::east_opt(3600).unwrap();
        e.started_at = rome
            .with_ymd_and_hms(2026, 3, 16, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(h(e), base, "same instant written in another offset");
        let mut e = entry();
        e.started_at += chrono::Duration::milliseconds(400);
        assert_eq!(h(e), base, "sub-second precision");
        let mut e = entry();
        e.source_tz = Some("+01:00".into());
        assert_eq!(h(e), base, "display zone is not content");
    }

    #[test]
    fn different_for_differences_that_matter() {
        let base = h(entry());
        type Change = Box<dyn Fn(&mut TimeEntry<String>)>;
        let changes: Vec<Change> = vec![
            Box::new(|e| e.notes = Some("Design  review".into())),
            Box::new(|e| e.notes = None),
            Box::new(|e| e.started_at += chrono::Duration::seconds(1)),
            Box::new(|e| e.ended_at = None),
            Box::new(|e| e.break_seconds = 60),
            Box::new(|e| e.duration_seconds = Some(5399)),
            Box::new(|e| e.billable = false),
            Box::new(|e| e.kind = EntryKind::Attendance),
            Box::new(|e| e.project = None),
            Box::new(|e| e.task = Some("t".into())),
            Box::new(|e| e.client = Some("c".into())),
            Box::new(|e| e.person = "p2".into()),
            Box::new(|e| {
                e.tags.insert("c".into());
            }),
            Box::new(|e| e.tags = BTreeSet::new()),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut e = entry();
            change(&mut e);
            assert_ne!(h(e), base, "change #{i} must change the hash");
        }
    }

    #[test]
    fn empty_text_equals_absent_and_email_case_is_ignored() {
        let a: Record<String> = Record::Client(Client {
            name: "Acme".into(),
            email: Some("Ops@Acme.example".into()),
            notes: Some("".into()),
            archived: false,
        });
        let b: Record<String> = Record::Client(Client {
            name: "Acme ".into(),
            email: Some("ops@acme.example".into()),
            notes: None,
            archived: false,
        });
        assert_eq!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn kinds_and_field_boundaries_do_not_collide() {
        let person: Record<String> = Record::Person(Person {
            display_name: "Acme".into(),
            email: None,
            username: None,
        });
        let client: Record<String> = Record::Client(Client {
            name: "Acme".into(),
            email: None,
            notes: None,
            archived: false,
        });
        assert_ne!(content_hash(&person), content_hash(&client));
        let t1: Record<String> = Record::Task(Task {
            project: "a;name=b".into(),
            name: "c".into(),
            archived: false,
        });
        let t2: Record<String> = Record::Task(Task {
            project: "a".into(),
            name: "b;name=c".into(),
            archived: false,
        });
        assert_ne!(content_hash(&t1), content_hash(&t2));
        let p1: Record<String> = Record::Project(Project {
            client: None,
            name: "X".into(),
            billable: true,
            hourly_rate_cents: Some(8550),
            archived: false,
        });
        let mut p2 = p1.clone();
        if let Record::Project(p) = &mut p2 {
            p.hourly_rate_cents = Some(8551);
        }
        assert_ne!(content_hash(&p1), content_hash(&p2));
    }
}
