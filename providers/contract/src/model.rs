//! The canonical model: one struct per entity kind, generic over the reference type so the
//! same shapes serve the ledger (`CanonicalId` references) and the adapters (`RemoteId`
//! references), plus the normalisation every record goes through before it is hashed or
//! stored (trimmed text, empty text as absent, lower-cased e-mail, whole-second UTC instants,
//! a sorted tag set).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

/// The entity kinds, in reference order: a kind only refers to kinds before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Person,
    Client,
    Project,
    Task,
    TimeEntry,
}

impl Kind {
    /// Every kind, referenced kinds first: the order in which a cycle lists and applies them.
    pub const ALL: [Kind; 5] = [
        Kind::Person,
        Kind::Client,
        Kind::Project,
        Kind::Task,
        Kind::TimeEntry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Client => "client",
            Kind::Project => "project",
            Kind::Task => "task",
            Kind::TimeEntry => "time_entry",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

id_type!(
    /// A ledger id: a UUIDv7 as text, stable for the life of the record.
    CanonicalId
);
id_type!(
    /// A provider's own id for a record, as text (integers are written in decimal).
    /// Adapters may compose ids (e.g. `"12/Design"`) where the provider has no single key;
    /// the engine treats them as opaque.
    RemoteId
);

impl From<i64> for RemoteId {
    fn from(n: i64) -> Self {
        Self(n.to_string())
    }
}

/// A person who books time. Matched across providers by e-mail (lower-cased), then username.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub display_name: String,
    pub email: Option<String>,
    pub username: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub name: String,
    pub email: Option<String>,
    pub notes: Option<String>,
    pub archived: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project<R> {
    pub client: Option<R>,
    pub name: String,
    pub billable: bool,
    /// Hourly rate in hundredths of the account currency (85.50 is 8550); exact, unlike f64.
    pub hourly_rate_cents: Option<i64>,
    pub archived: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task<R> {
    pub project: R,
    pub name: String,
    pub archived: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Time booked on work (a project, a task, or a client directly).
    #[default]
    Work,
    /// Presence time (clock in / clock out) with no project, e.g. TimeTrack attendances.
    Attendance,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Work => "work",
            EntryKind::Attendance => "attendance",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        match s {
            "work" => Some(EntryKind::Work),
            "attendance" => Some(EntryKind::Attendance),
            _ => None,
        }
    }
}

/// A time entry. `client` is set only for client-only bookings (no project); when a project
/// is set, the client is the project's and `client` is `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeEntry<R> {
    pub person: R,
    pub project: Option<R>,
    pub task: Option<R>,
    pub client: Option<R>,
    pub started_at: DateTime<Utc>,
    /// `None` while a timer runs.
    pub ended_at: Option<DateTime<Utc>>,
    pub break_seconds: i64,
    /// Worked seconds, net of breaks; `None` while a timer runs.
    pub duration_seconds: Option<i64>,
    /// The offset (`+01:00`) or IANA zone (`Europe/Rome`) the provider showed the entry in.
    /// Informational: not part of the content hash (see `hash.rs`).
    pub source_tz: Option<String>,
    pub notes: Option<String>,
    pub tags: BTreeSet<String>,
    pub billable: bool,
    pub kind: EntryKind,
}

/// One record of any kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum Record<R> {
    Person(Person),
    Client(Client),
    Project(Project<R>),
    Task(Task<R>),
    TimeEntry(TimeEntry<R>),
}

impl<R> Record<R> {
    /// A time entry's start (what places it in a listing window); `None` for other kinds.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Record::TimeEntry(e) => Some(e.started_at),
            _ => None,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Record::Person(_) => Kind::Person,
            Record::Client(_) => Kind::Client,
            Record::Project(_) => Kind::Project,
            Record::Task(_) => Kind::Task,
            Record::TimeEntry(_) => Kind::TimeEntry,
        }
    }

    /// The references this record holds, with the kind each one points to.
    pub fn references(&self) -> Vec<(Kind, &R)> {
        match self {
            Record::Person(_) | Record::Client(_) => vec![],
            Record::Project(p) => p.client.iter().map(|c| (Kind::Client, c)).collect(),
            Record::Task(t) => vec![(Kind::Project, &t.project)],
            Record::TimeEntry(e) => {
                let mut refs = vec![(Kind::Person, &e.person)];
                refs.extend(e.client.iter().map(|c| (Kind::Client, c)));
                refs.extend(e.project.iter().map(|p| (Kind::Project, p)));
                refs.extend(e.task.iter().map(|t| (Kind::Task, t)));
                refs
            }
        }
    }

    /// The same record with every reference mapped by `f`; the first error stops the mapping.
    pub fn try_map_refs<S, E>(
        self,
        mut f: impl FnMut(Kind, R) -> Result<S, E>,
    ) -> Result<Record<S>, E> {
        Ok(match self {
            Record::Person(p) => Record::Person(p),
            Record::Client(c) => Record::Client(c),
            Record::Project(p) => Record::Project(Project {
                client: p.client.map(|c| f(Kind::Client, c)).transpose()?,
                name: p.name,
                billable: p.billable,
                hourly_rate_cents: p.hourly_rate_cents,
                archived: p.archived,
            }),
            Record::Task(t) => Record::Task(Task {
                project: f(Kind::Project, t.project)?,
                name: t.name,
                archived: t.archived,
            }),
            Record::TimeEntry(e) => Record::TimeEntry(TimeEntry {
                person: f(Kind::Person, e.person)?,
                project: e.project.map(|p| f(Kind::Project, p)).transpose()?,
                task: e.task.map(|t| f(Kind::Task, t)).transpose()?,
                client: e.client.map(|c| f(Kind::Client, c)).transpose()?,
                started_at: e.started_at,
                ended_at: e.ended_at,
                break_seconds: e.break_seconds,
                duration_seconds: e.duration_seconds,
                source_tz: e.source_tz,
                notes: e.notes,
                tags: e.tags,
                billable: e.billable,
                kind: e.kind,
            }),
        })
    }

    /// A short human label for logs, plans and error messages (a name, or a person and time).
    pub fn label(&self) -> String {
        match self {
            Record::Person(p) => match &p.email {
                Some(e) => format!("{} <{}>", p.display_name, e),
                None => p.display_name.clone(),
            },
            Record::Client(c) => c.name.clone(),
            Record::Project(p) => p.name.clone(),
            Record::Task(t) => t.name.clone(),
            Record::TimeEntry(e) => {
                let end = e
                    .ended_at
                    .map(|t| t.format("%H:%M").to_string())
                    .unwrap_or_else(|| "running".into());
                format!("{} {}", e.started_at.format("%Y-%m-%d %H:%M"), end)
            }
        }
    }
}

/// Trims text and turns an empty string into `None`.
pub fn clean_opt(s: Option<String>) -> Option<String> {
    s.map(clean).filter(|s| !s.is_empty())
}

/// Text trimmed, and without U+0000: no text means it, and PostgreSQL cannot store it
/// (one such character sent by a provider would fail its whole page there, every cycle).
fn clean(s: String) -> String {
    let s = if s.contains('\0') {
        s.replace('\0', "")
    } else {
        s
    };
    let t = s.trim();
    if t.len() == s.len() {
        s
    } else {
        t.to_owned()
    }
}

/// Truncates an instant to whole seconds: providers differ in sub-second precision
/// (TimeTracker has microseconds on timer entries, TimeTrack milliseconds, TrackingTime none).
pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(0)
}

impl<R> Record<R> {
    /// The normal form every record is stored and hashed in.
    pub fn normalised(self) -> Self {
        match self {
            Record::Person(p) => Record::Person(Person {
                display_name: clean(p.display_name),
                email: clean_opt(p.email).map(|e| e.to_lowercase()),
                username: clean_opt(p.username),
            }),
            Record::Client(c) => Record::Client(Client {
                name: clean(c.name),
                email: clean_opt(c.email).map(|e| e.to_lowercase()),
                notes: clean_opt(c.notes),
                archived: c.archived,
            }),
            Record::Project(p) => Record::Project(Project {
                name: clean(p.name),
                ..p
            }),
            Record::Task(t) => Record::Task(Task {
                name: clean(t.name),
                ..t
            }),
            Record::TimeEntry(e) => Record::TimeEntry(TimeEntry {
                started_at: whole_seconds(e.started_at),
                ended_at: e.ended_at.map(whole_seconds),
                break_seconds: e.break_seconds.max(0),
                source_tz: clean_opt(e.source_tz),
                notes: clean_opt(e.notes),
                tags: e
                    .tags
                    .into_iter()
                    .map(clean)
                    .filter(|t| !t.is_empty())
                    .collect(),
                ..e
            }),
        }
    }
}

impl<R> TimeEntry<R> {
    /// Worked seconds as the canonical model defines them when a provider gives none:
    /// end − start − break, never negative; `None` while running.
    pub fn computed_duration(&self) -> Option<i64> {
        self.ended_at
            .map(|end| ((end - self.started_at).num_seconds() - self.break_seconds.max(0)).max(0))
    }
}
