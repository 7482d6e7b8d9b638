//! The `Provider` trait every adapter implements, and the shapes that cross it: list scopes
//! and windows, pages streamed one at a time (memory never grows with history), remote
//! records with their provider id, version and modification time, and capabilities.
//!
//! Rules every adapter follows (the engine relies on them):
//! - Pages are fetched one request at a time: `list_page(kind, scope, None)` then with the
//!   returned `next` token until it is `None`. Only a listing followed to `next == None`
//!   without error is *complete*; the engine infers deletions only from complete listings.
//! - A record the adapter cannot map (bad timestamp, end before start, unknown reference)
//!   becomes a [`PageItem::Invalid`] with a reason; the rest of the page is still returned.
//! - A page may carry records of the kinds its records reference (e.g. a task the provider
//!   only knows by name), placed before the records that reference them.
//! - References inside records are the provider's own ids ([`RemoteId`]), never names;
//!   adapters of name-keyed APIs translate names to ids and back themselves.
//! - Writes take a normalised record whose references are this provider's ids, and return
//!   the record as the provider now holds it (what the next listing will show).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ProviderError;
use crate::fields::Field;
use crate::model::{Kind, Record, RemoteId};
use crate::rights::Rights;
use crate::trail::{TrailPosition, TrailRead};

/// A half-open UTC interval `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Window {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Window { from, to }
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }
}

/// What a listing covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListScope {
    /// Every record of the kind, archived ones included (reference kinds).
    All,
    /// Time entries whose start lies in the window. A complete listing of such a window
    /// proves the absence of any linked entry that started in it.
    StartedIn(Window),
    /// Time entries created or modified in the window (a change feed; only when
    /// [`Capabilities::change_feed`] is true). Never used to infer deletions.
    ChangedIn(Window),
}

/// An opaque continuation token an adapter hands back with a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken(pub String);

/// A record as a provider holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRecord {
    pub id: RemoteId,
    /// The provider's own modification time, when it has one (used by the `newest`
    /// conflict policy; observation time is used otherwise).
    pub modified_at: Option<DateTime<Utc>>,
    /// An opaque version the provider wants back on update (e.g. TimeTracker's
    /// `updated_at` string for `if_updated_at`), stored verbatim by the engine.
    pub version: Option<String>,
    /// Tells this record from a later one the provider gives the same id after this one
    /// is deleted (TimeTracker on SQLite reuses ids: its `created_at`), in a form that
    /// sorts in time: a later record's is greater. `None` where ids are never reused; the
    /// engine compares it only when both sides have one.
    pub incarnation: Option<String>,
    pub record: Record<RemoteId>,
}

impl RemoteRecord {
    pub fn kind(&self) -> Kind {
        self.record.kind()
    }
}

/// A listed record the adapter could not map to the canonical model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidRecord {
    pub kind: Kind,
    pub remote_id: Option<RemoteId>,
    /// What was wrong, for the log and the `sync_runs` row ("end before start", ...).
    pub reason: String,
}

// Nearly every item is a record, so boxing it would add an allocation per record and save
// no memory.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageItem {
    Record(RemoteRecord),
    Invalid(InvalidRecord),
}

/// One page of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub items: Vec<PageItem>,
    /// `None` when this was the last page.
    pub next: Option<PageToken>,
}

/// The last known state of the remote record an update is based on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateTarget {
    pub id: RemoteId,
    pub version: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WriteOp {
    Create,
    Update,
    Delete,
}

impl WriteOp {
    /// The verb, for messages: "create", "update", "delete".
    pub fn as_str(self) -> &'static str {
        match self {
            WriteOp::Create => "create",
            WriteOp::Update => "update",
            WriteOp::Delete => "delete",
        }
    }
}

/// What an adapter can do with one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindSupport {
    pub list: bool,
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    /// A delete only archives the record (it stays listed with `archived = true`).
    pub delete_archives: bool,
}

impl KindSupport {
    pub const NONE: KindSupport = KindSupport {
        list: false,
        create: false,
        update: false,
        delete: false,
        delete_archives: false,
    };
    pub const READ_ONLY: KindSupport = KindSupport {
        list: true,
        ..KindSupport::NONE
    };
    pub const FULL: KindSupport = KindSupport {
        list: true,
        create: true,
        update: true,
        delete: true,
        delete_archives: false,
    };

    pub fn allows(&self, op: WriteOp) -> bool {
        match op {
            WriteOp::Create => self.create,
            WriteOp::Update => self.update,
            WriteOp::Delete => self.delete,
        }
    }

    /// Any write (create, update or delete) is allowed.
    pub fn writes(&self) -> bool {
        self.create || self.update || self.delete
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub person: KindSupport,
    pub client: KindSupport,
    pub project: KindSupport,
    pub task: KindSupport,
    pub time_entry: KindSupport,
    /// `ListScope::ChangedIn` is supported (TrackingTime `sort_by=updated_at`).
    pub change_feed: bool,
    /// Records per page of a time-entry listing (for request budgeting).
    pub entry_page_size: u32,
    /// Creates carry an idempotency key the provider honours (a replay cannot duplicate).
    pub idempotent_create: bool,
    /// Canonical fields this provider has no place for: it reads them back as a constant
    /// and drops them on write. The engine keeps the ledger's value for them (see
    /// `fields.rs`).
    pub unheld: Vec<Field>,
    /// Canonical fields this provider holds and lists (they can be edited in its own app)
    /// but its API cannot write. Edits made there are real and are taken in; a write is
    /// not expected to carry them.
    pub read_only: Vec<Field>,
}

impl Capabilities {
    /// Every field a write to this provider cannot set: unheld and read-only ones. What a
    /// write's answer is compared against is the payload with these forgotten.
    pub fn not_writable(&self) -> Vec<Field> {
        self.unheld.iter().chain(&self.read_only).copied().collect()
    }

    pub fn support(&self, kind: Kind) -> KindSupport {
        match kind {
            Kind::Person => self.person,
            Kind::Client => self.client,
            Kind::Project => self.project,
            Kind::Task => self.task,
            Kind::TimeEntry => self.time_entry,
        }
    }
}

/// Where an account's time entries lie: the start of its oldest and of its newest entry, as
/// the provider itself reports them (not a configured horizon). The scan lists no window
/// before `oldest` and reaches up to `newest`, however far ahead it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntrySpan {
    /// The adapter cannot tell (no sorted listing, no count): the scan falls back to the
    /// configured horizon and hot window.
    Unknown,
    /// The account holds no time entries.
    Empty,
    /// Both bounds inclusive.
    Between {
        oldest: DateTime<Utc>,
        newest: DateTime<Utc>,
    },
}

/// What an adapter learned when it connected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// e.g. "TimeTracker 5.10.0".
    pub server: String,
    /// The zone the provider reads and writes naive times in, when it has one.
    pub timezone: Option<String>,
    /// The account or user the credentials act as (never a secret).
    pub account: Option<String>,
}

/// Something an adapter learned about its account that an operator should see before the
/// first sync (`timeweave doctor`): its rights, and what it answers for conventions no
/// documentation settles. Provider-neutral words, never a secret, never provider JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// A short, stable name, e.g. `"sees_all_users"`, `"event_form"`.
    pub key: String,
    /// What the account answered, e.g. `"yes (admin)"`, `"compact"`.
    pub value: String,
    /// What it means for timeweave, or a question the operator can answer in the web app.
    pub note: String,
    /// It limits what timeweave can read (e.g. only the token user's own entries).
    pub limits_reading: bool,
    /// It limits what timeweave can write (e.g. entries of other users are refused).
    pub limits_writing: bool,
}

impl Observation {
    /// An observation that limits nothing.
    pub fn new(key: &str, value: impl Into<String>, note: impl Into<String>) -> Self {
        Observation {
            key: key.to_owned(),
            value: value.into(),
            note: note.into(),
            limits_reading: false,
            limits_writing: false,
        }
    }
}

/// A provider instance (one account of one provider kind), as the engine drives it.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider kind, e.g. `"timetracker"`.
    fn kind_name(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Connects and checks the account is usable (e.g. TimeTracker's `setup_required`,
    /// TrackingTime's account discovery). Called once at the start of every cycle.
    async fn connect(&self) -> Result<ProviderInfo, ProviderError>;

    /// Who the account behind this instance is, for the engine's account binding: stable
    /// for the account's life, different for any other account (another workspace, a
    /// reinstalled server at the same URL), in words an operator recognises, and never a
    /// secret. Called right after `connect`, before anything is listed or written.
    async fn account_identity(&self) -> Result<String, ProviderError>;

    /// One page of a listing. `token` is `None` for the first page.
    async fn list_page(
        &self,
        kind: Kind,
        scope: ListScope,
        token: Option<PageToken>,
    ) -> Result<Page, ProviderError>;

    /// One record by id; `Ok(None)` when the provider confirms it no longer exists.
    async fn get(&self, kind: Kind, id: &RemoteId) -> Result<Option<RemoteRecord>, ProviderError>;

    /// Creates a record. `idempotency_key` is stable for one intended create: sending it
    /// again (after a lost response) must not produce a second record where the provider
    /// offers a mechanism for that.
    async fn create(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<RemoteRecord, ProviderError>;

    /// Replaces the synced fields of a record.
    async fn update(
        &self,
        target: &UpdateTarget,
        record: &Record<RemoteId>,
    ) -> Result<RemoteRecord, ProviderError>;

    /// Deletes (or, where the provider only archives, archives) a record. A record that is
    /// already gone is `Err(NotFound)`, which the engine treats as done.
    async fn delete(&self, kind: Kind, id: &RemoteId) -> Result<(), ProviderError>;

    /// After a create whose outcome is unknown (crash, lost response): finds the record that
    /// create would have made, by the provider's idempotency mechanism or natural key, so
    /// the engine never re-sends a create that already landed.
    async fn find_created(
        &self,
        record: &Record<RemoteId>,
        idempotency_key: &str,
    ) -> Result<Option<RemoteRecord>, ProviderError>;

    /// The start of the oldest and of the newest time entry the credentials can see (e.g.
    /// one-record pages of a listing sorted by start), so a migration lists every date that
    /// holds entries and none before the first. A few requests at most; `Unknown` (the
    /// default) when the provider offers no cheap way to tell.
    async fn entry_span(&self) -> Result<EntrySpan, ProviderError> {
        Ok(EntrySpan::Unknown)
    }

    /// What changed since `since` by the provider's own change trail (`None`: no position
    /// yet: the read only establishes one, and says it proves nothing). A few requests at
    /// most, never paged further: when more changed than one read returns, the answer says
    /// so in `gap` and the engine falls back to its windowed scans. The default is
    /// `Err(Unsupported)`: the provider has no trail, and windows are all there is.
    async fn read_trail(&self, since: Option<&TrailPosition>) -> Result<TrailRead, ProviderError> {
        let _ = since;
        Err(ProviderError::unsupported(format!(
            "{} has no change trail",
            self.kind_name()
        )))
    }

    /// What this account answers for its rights and undocumented conventions, after
    /// `connect` (a few read-only requests at most; never a write). None by default.
    async fn observations(&self) -> Result<Vec<Observation>, ProviderError> {
        Ok(Vec::new())
    }

    /// What the credentials may read and write, where the provider tells it without a
    /// write (after `connect`; a request or two at most). The default: it cannot.
    async fn rights(&self) -> Result<Rights, ProviderError> {
        Ok(Rights::Unknown(format!(
            "{} tells no client what its credentials may write",
            self.kind_name()
        )))
    }

    /// The person the credentials act as, where the provider tells (after `connect`; no
    /// request beyond it): whom `doctor --write-probe` books its entry on. `None` (the
    /// default) when the provider does not say.
    async fn own_person(&self) -> Result<Option<RemoteId>, ProviderError> {
        Ok(None)
    }

    /// Whether this provider can hold `record` for `op`, without any I/O; `Err(Unsupported)`
    /// says why not (e.g. TimeTrack needs a project on work entries). The default checks
    /// the capabilities only.
    fn check_writable(&self, op: WriteOp, record: &Record<RemoteId>) -> Result<(), ProviderError> {
        let kind = record.kind();
        if self.capabilities().support(kind).allows(op) {
            Ok(())
        } else {
            Err(ProviderError::unsupported(format!(
                "{} cannot {} a {}",
                self.kind_name(),
                op.as_str(),
                kind
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KindSupport, WriteOp};

    #[test]
    fn a_kind_writes_when_any_write_is_allowed() {
        assert!(!KindSupport::NONE.writes());
        assert!(!KindSupport::READ_ONLY.writes());
        assert!(KindSupport::FULL.writes());
        let delete_only = KindSupport {
            delete: true,
            ..KindSupport::READ_ONLY
        };
        assert!(delete_only.writes());
        assert!(delete_only.allows(WriteOp::Delete) && !delete_only.allows(WriteOp::Create));
    }
}
