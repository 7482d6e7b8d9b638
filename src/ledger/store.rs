//! The storage boundary: what the engine, the reports and the commands need of a ledger,
//! as one small trait per table group (records, links, cursors, intents, conflicts,
//! issues, versions, runs, bindings, reports). Each is implemented once, beside its table
//! group, for both SQLite (`SqliteTx`) and PostgreSQL (`PgTx`) over `sql::Exec`; [`Tx`]
//! hands each call to the backend it was begun on, so the engine holds one `Tx` type
//! whatever the backend.
//!
//! Each method is declared once, in `stores!` below, which writes both the trait and the
//! `Tx` method of the same name and documentation: a backend that lacks a method, or has it
//! with another signature, does not compile.

use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use timeweave_contract::{CanonicalId, ContentHash, Kind, Record, RemoteId};

use super::Tx;
use super::{
    Binding, ConflictRow, Cursor, DateRange, Direction, Link, LinkUpdate, NewConflict, NewIntent,
    NewIssue, PendingPush, RecordIssue, Result, RunCounts, RunStatus, RunTotals, StoredRecord,
    SyncHealthRow, SyncRun, TotalRow, TotalsBy, TrailMark, TxBackend, WeeklyBy, WeeklyHours,
};

/// Declares the store traits and the `Tx` methods that dispatch to them.
macro_rules! stores {
    ($(
        $(#[$trait_meta:meta])*
        trait $store:ident {
            $(
                $(#[$meta:meta])*
                fn $name:ident(&mut self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty;
            )*
        }
    )*) => {
        $(
            $(#[$trait_meta])*
            #[allow(clippy::too_many_arguments)]
            pub(crate) trait $store {
                $(
                    $(#[$meta])*
                    async fn $name(&mut self $(, $arg: $ty)*) -> $ret;
                )*
            }
        )*

        impl Tx {
            $($(
                $(#[$meta])*
                #[allow(clippy::too_many_arguments)]
                pub async fn $name(&mut self $(, $arg: $ty)*) -> $ret {
                    match &mut self.backend {
                        TxBackend::Sqlite(tx) => $store::$name(tx $(, $arg)*).await,
                        TxBackend::Postgres(tx) => $store::$name(tx $(, $arg)*).await,
                    }
                }
            )*)*
        }
    };
}

stores! {
    /// Canonical records: people, clients, projects, tasks and time entries.
    trait RecordStore {
        fn get_record(&mut self, kind: Kind, id: &CanonicalId) -> Result<Option<StoredRecord>>;
        /// Inserts a new canonical record (normalised first) and returns it as stored.
        fn insert_record(
            &mut self,
            record: &Record<CanonicalId>,
            origin: &str,
            now: DateTime<Utc>,
        ) -> Result<StoredRecord>;
        /// Replaces a record's content (normalised first); returns the new hash. A tombstoned
        /// record comes back to life (an edit beats a delete), and is sent again to the
        /// providers whose copy is gone.
        fn update_record(
            &mut self,
            id: &CanonicalId,
            record: &Record<CanonicalId>,
            changed_by: &str,
            now: DateTime<Utc>,
        ) -> Result<ContentHash>;
        /// Marks a record deleted (it stays, with its links, as a tombstone).
        fn tombstone(
            &mut self,
            kind: Kind,
            id: &CanonicalId,
            changed_by: &str,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// Live records that could be `record` under another provider's id: the natural key
        /// (people: e-mail, then username; clients: name; projects: name and client; tasks:
        /// name and project; entries: person, start and end within 60 s, same project name),
        /// not yet linked to `provider`. Best match first.
        fn natural_key_candidates(
            &mut self,
            record: &Record<CanonicalId>,
            provider: &str,
        ) -> Result<Vec<StoredRecord>>;
        /// Records of `kind` that `provider` should be sent: live and unlinked, linked with a
        /// newer ledger version, or tombstoned with a live link. Records with an open
        /// conflict for this provider, or a standing push issue for this content, are left
        /// out (except `waiting:` issues, a missing reference, which are tried again every
        /// cycle). Oldest change first; at most `limit`.
        fn push_candidates(
            &mut self,
            provider: &str,
            kind: Kind,
            limit: i64,
            after: Option<(DateTime<Utc>, &CanonicalId)>,
            include_deletes: bool,
        ) -> Result<Vec<(StoredRecord, Option<Link>)>>;
        /// Many records of one kind by id (missing ids are simply absent).
        fn get_records(
            &mut self,
            kind: Kind,
            ids: &[&CanonicalId],
        ) -> Result<HashMap<CanonicalId, StoredRecord>>;
        /// Live entries of these people starting in `[from, to]`, not linked to `provider`:
        /// the natural-key candidates of a whole page at once.
        fn entry_candidates(
            &mut self,
            provider: &str,
            people: &[&CanonicalId],
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<StoredRecord>>;
        /// Names of clients, projects or tasks by id.
        fn names(&mut self, kind: Kind, ids: &[&CanonicalId]) -> Result<HashMap<CanonicalId, String>>;
        /// Inserts many new records (of one kind) with their content hashes; entries take the
        /// backend's bulk path (the hot path of an import). Returns them as stored, in order.
        fn insert_records(
            &mut self,
            records: &[(Record<CanonicalId>, ContentHash)],
            origin: &str,
            now: DateTime<Utc>,
        ) -> Result<Vec<StoredRecord>>;
        /// Live records per kind (for status output and tests).
        fn count_live(&mut self, kind: Kind) -> Result<i64>;
        /// Every live record of a kind (tests, small kinds only).
        fn all_live(&mut self, kind: Kind) -> Result<Vec<StoredRecord>>;
        /// The live person holding an e-mail address (stored lower case: pass it so); the
        /// ledger holds at most one.
        fn live_person_with_email(&mut self, email: &str) -> Result<Option<CanonicalId>>;
    }

    /// Links: which remote record is which canonical record, with both sides' hashes.
    trait LinkStore {
        fn link_by_remote(
            &mut self,
            provider: &str,
            kind: Kind,
            remote_id: &RemoteId,
        ) -> Result<Option<Link>>;
        /// Links for many remote ids of one kind at once.
        fn links_by_remote(
            &mut self,
            provider: &str,
            kind: Kind,
            remote_ids: &[&RemoteId],
        ) -> Result<HashMap<RemoteId, Link>>;
        fn link_by_canonical(
            &mut self,
            provider: &str,
            kind: Kind,
            canonical_id: &CanonicalId,
        ) -> Result<Option<Link>>;
        /// Every link of a canonical record, across providers.
        fn links_of(&mut self, canonical_id: &CanonicalId) -> Result<Vec<Link>>;
        /// Inserts or refreshes links after a successful sync of their records (the hot path
        /// of an import). Fails (unique constraint) rather than ever linking one remote
        /// record to two canonical records or the reverse.
        fn upsert_links(&mut self, links: &[LinkUpdate<'_>], now: DateTime<Utc>) -> Result<()>;
        /// Sets the incarnation of links that had none (written before they were kept).
        fn learn_incarnations(
            &mut self,
            provider: &str,
            kind: Kind,
            learned: &[(&RemoteId, &str)],
        ) -> Result<()>;
        /// Records that the remote side was seen again with this hash (ledger side unchanged).
        fn set_link_remote_hash(
            &mut self,
            provider: &str,
            kind: Kind,
            remote_id: &RemoteId,
            remote_hash: &ContentHash,
            remote_version: Option<&str>,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// Sets the canonical hash a link remembers (e.g. `unsynced`, so the ledger version
        /// is sent on the next push; or the new hash after taking the provider's version).
        fn set_link_canonical_hash(
            &mut self,
            provider: &str,
            kind: Kind,
            canonical_id: &CanonicalId,
            canonical_hash: &ContentHash,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// The remote record is gone (deleted remotely, or deleted/archived by our push). The
        /// link stays, so the record is never re-created there nor re-imported from there.
        fn mark_link_remote_deleted(
            &mut self,
            provider: &str,
            kind: Kind,
            remote_id: &RemoteId,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// The remote ids of a provider's live links of one kind, those started in `window`
        /// when given: what a complete listing must have shown.
        fn live_link_ids_in(
            &mut self,
            provider: &str,
            kind: Kind,
            window: Option<(DateTime<Utc>, DateTime<Utc>)>,
        ) -> Result<Vec<RemoteId>>;
        /// Forgets a link (the record will be matched or sent again as new).
        fn delete_link(&mut self, provider: &str, kind: Kind, remote_id: &RemoteId) -> Result<()>;
        /// Live entry links of a provider whose remote start lies in `[from, to)`.
        fn count_links_in_window(
            &mut self,
            provider: &str,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<i64>;
        /// How many live links a provider has per kind.
        fn count_live_links(&mut self, provider: &str, kind: Kind) -> Result<i64>;
        /// The earliest remote start among a provider's live entry links (deep-scan hint).
        fn oldest_linked_start(&mut self, provider: &str) -> Result<Option<DateTime<Utc>>>;
    }

    /// Cursors: where each instance's deep scan and change feed stand.
    trait CursorStore {
        fn cursor(&mut self, provider: &str, kind: Kind) -> Result<Cursor>;
        fn save_cursor(
            &mut self,
            provider: &str,
            kind: Kind,
            cursor: &Cursor,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// Where `provider`'s change trail was read up to (`None`: never read).
        fn trail_mark(&mut self, provider: &str) -> Result<Option<TrailMark>>;
        /// Stores where the trail was read up to (`saved_at` is `now`, whatever `mark` says).
        fn save_trail_mark(
            &mut self,
            provider: &str,
            mark: &TrailMark,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// When a cycle last listed `kind`'s planned windows completely (its cursor was saved).
        fn last_windowed_scan(
            &mut self,
            provider: &str,
            kind: Kind,
        ) -> Result<Option<DateTime<Utc>>>;
    }

    /// Push intents, written before a remote write and removed with its outcome.
    trait IntentStore {
        /// The claimant of the open intent for a record (`Some(None)`: an intent from before
        /// claimants were named), `None` when there is none.
        fn intent_claimant(
            &mut self,
            provider: &str,
            kind: Kind,
            canonical_id: &CanonicalId,
        ) -> Result<Option<Option<String>>>;
        /// Writes (or replaces) the intent for a record; returns its id.
        fn insert_intent(&mut self, i: &NewIntent<'_>, now: DateTime<Utc>) -> Result<i64>;
        fn clear_intent(&mut self, id: i64) -> Result<()>;
        /// Open intents of a provider, oldest first.
        fn open_intents(&mut self, provider: &str) -> Result<Vec<PendingPush>>;
        fn count_intents(&mut self, provider: Option<&str>) -> Result<i64>;
    }

    /// Conflicts: both versions of a record changed on both sides, with the outcome.
    trait ConflictStore {
        /// Records a conflict; an open one for the same record is refreshed instead of
        /// repeated. Returns its id.
        fn record_conflict(&mut self, c: &NewConflict<'_>, now: DateTime<Utc>) -> Result<i64>;
        fn conflicts(&mut self, open_only: bool) -> Result<Vec<ConflictRow>>;
        fn conflict(&mut self, id: i64) -> Result<Option<ConflictRow>>;
        /// Settles an open conflict (no effect on a settled one).
        fn resolve_conflict(
            &mut self,
            id: i64,
            winner: &str,
            by: &str,
            now: DateTime<Utc>,
        ) -> Result<()>;
        fn has_open_conflict(
            &mut self,
            provider: &str,
            kind: Kind,
            canonical_id: &CanonicalId,
        ) -> Result<bool>;
        fn count_open_conflicts(&mut self, provider: Option<&str>) -> Result<i64>;
        /// Deletes conflicts settled before `before` (ledger time text); returns how many.
        fn prune_resolved_conflicts(&mut self, before: &str) -> Result<u64>;
    }

    /// Record issues: records a provider could not take or give, once per content.
    trait IssueStore {
        /// Records an issue; returns true when it is new (or the content or reason changed),
        /// i.e. when it is worth reporting.
        fn record_issue(&mut self, issue: &NewIssue<'_>, now: DateTime<Utc>) -> Result<bool>;
        /// Removes an issue once the record went through.
        fn clear_issue(
            &mut self,
            provider: &str,
            direction: Direction,
            kind: Kind,
            record_id: &str,
        ) -> Result<()>;
        /// Removes the issues of many records at once (they went through).
        fn clear_issues(
            &mut self,
            provider: &str,
            direction: Direction,
            kind: Kind,
            record_ids: &[&str],
        ) -> Result<()>;
        /// Issues on record, by provider, newest first.
        fn issues(&mut self, provider: Option<&str>) -> Result<Vec<RecordIssue>>;
        /// Recorded issues of a provider.
        fn count_issues(&mut self, provider: &str) -> Result<i64>;
    }

    /// Record versions links still name: the bases of three-way merges.
    trait VersionStore {
        /// Keeps a version of a record (a merge base).
        fn keep_version(
            &mut self,
            id: &CanonicalId,
            record: &Record<CanonicalId>,
            hash: &ContentHash,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// Keeps the version a record had before a change, if a link still names it.
        fn keep_version_if_linked(
            &mut self,
            id: &CanonicalId,
            old: &Record<CanonicalId>,
            old_hash: &ContentHash,
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// A kept version of a record (`None` when not kept, or no longer readable).
        fn record_version(
            &mut self,
            kind: Kind,
            id: &CanonicalId,
            hash: &ContentHash,
        ) -> Result<Option<Record<CanonicalId>>>;
        /// Drops the versions no live link names any more; returns how many.
        fn prune_versions(&mut self) -> Result<u64>;
        fn count_versions(&mut self) -> Result<i64>;
    }

    /// Sync runs: one row per cycle, and the totals kept as runs finish.
    trait RunStore {
        /// Opens a run row (status `running`); returns its id.
        fn start_run(&mut self, provider: &str, mode: &str, now: DateTime<Utc>) -> Result<i64>;
        /// Closes a run with its status, counts and (at most 50) errors.
        fn finish_run(
            &mut self,
            id: i64,
            status: RunStatus,
            counts: &RunCounts,
            errors: &[String],
            now: DateTime<Utc>,
        ) -> Result<()>;
        /// Marks runs left `running` by a killed process as interrupted: every provider's,
        /// or only `provider`'s (a lease taken over on a shared ledger).
        fn mark_interrupted_runs(&mut self, provider: Option<&str>, now: DateTime<Utc>) -> Result<u64>;
        /// The latest runs, newest first.
        fn recent_runs(&mut self, provider: Option<&str>, limit: i64) -> Result<Vec<SyncRun>>;
        /// Every cycle a provider ever finished, per status, and their summed counts.
        fn run_totals(&mut self, provider: &str) -> Result<RunTotals>;
        /// Deletes finished runs and settled conflicts older than `before`.
        fn prune_history(&mut self, before: DateTime<Utc>) -> Result<u64>;
    }

    /// Account bindings: the account each instance was first synced with.
    trait BindingStore {
        fn account_binding(&mut self, provider: &str) -> Result<Option<Binding>>;
        /// Binds an instance to an account unless it is bound already.
        fn bind_account(&mut self, provider: &str, identity: &str, now: DateTime<Utc>) -> Result<()>;
        /// Starts an instance over: its links, cursors, intents, issues and binding go.
        /// Returns how many links were dropped.
        fn forget_account(&mut self, provider: &str) -> Result<u64>;
    }

    /// Reads of the reporting views (the same names, columns and meaning on every backend).
    trait ReportStore {
        /// The reporting views (and later view columns, as `view.column`) this version reads
        /// that the ledger lacks.
        fn missing_report_views(&mut self) -> Result<Vec<String>>;
        /// Totals over the live entries whose work date is in `range`, grouped `by`.
        fn report_totals(&mut self, by: TotalsBy, range: DateRange) -> Result<Vec<TotalRow>>;
        /// The first and last work date with a live entry (`None` for an empty ledger).
        fn work_date_span(&mut self) -> Result<Option<(String, String)>>;
        /// Hours per week (Monday to Sunday, local work dates) and person, project or client,
        /// over `range`; weeks without entries are left out. Oldest week first.
        fn weekly_hours(&mut self, by: WeeklyBy, range: DateRange) -> Result<Vec<WeeklyHours>>;
        /// Every row of `report_sync_health`, by provider name.
        fn sync_health(&mut self) -> Result<Vec<SyncHealthRow>>;
        /// Hours per person and client over every live entry (client "-" for none).
        fn hours_by_person_and_client(&mut self) -> Result<Vec<(String, String, f64)>>;
        /// Test and benchmark support: inserts `count` finished 25-minute entries of
        /// `person` (on `project`, if given), 40 a day from `first_day` on (UTC), with a
        /// note that needs CSV quoting. Returns the count.
        #[doc(hidden)]
        fn seed_synthetic_entries(
            &mut self,
            person: &CanonicalId,
            project: Option<&CanonicalId>,
            first_day: NaiveDate,
            count: i64,
        ) -> Result<u64>;
    }
}
