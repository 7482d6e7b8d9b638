//! Canonical records: read, insert, update and tombstone people, clients, projects, tasks
//! and time entries; natural-key candidates (how two providers' copies of one record are
//! recognised, `records/natural_keys.rs`); and the push scan (records a provider has not got
//! yet, or not this version). One implementation serves both backends (`sql.rs`); only the
//! bulk insert of new time entries is each backend's own ([`RecordDialect`]).

mod natural_keys;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use timeweave_contract::{
    content_hash, CanonicalId, Client, ContentHash, EntryKind, Kind, Person, Project, Record, Task,
    TimeEntry,
};

use super::links::Link;
use super::row::ReadRow;
use super::sql::{Exec, Sql, Value};
use super::store::{RecordStore, VersionStore};
use super::time::{local_wall_time, parse_instant, parse_opt, to_text, to_text_precise};
use super::{LedgerError, Result};

/// A canonical record as the ledger holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRecord {
    pub id: CanonicalId,
    pub record: Record<CanonicalId>,
    pub hash: ContentHash,
    pub origin: String,
    pub changed_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl StoredRecord {
    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }
}

/// A possible match for an unlinked remote record (same natural key).
pub type NaturalKeyCandidate = StoredRecord;

pub(crate) fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::Person => "people",
        Kind::Client => "clients",
        Kind::Project => "projects",
        Kind::Task => "tasks",
        Kind::TimeEntry => "time_entries",
    }
}

const COMMON: &str = "id, content_hash, origin, changed_by, created_at, updated_at, deleted_at";

pub(super) fn select_sql(kind: Kind) -> &'static str {
    match kind {
        Kind::Person => "SELECT id, content_hash, origin, changed_by, created_at, updated_at, deleted_at, display_name, email, username FROM people",
        Kind::Client => "SELECT id, content_hash, origin, changed_by, created_at, updated_at, deleted_at, name, email, notes, archived FROM clients",
        Kind::Project => "SELECT id, content_hash, origin, changed_by, created_at, updated_at, deleted_at, client_id, name, billable, hourly_rate_cents, archived FROM projects",
        Kind::Task => "SELECT id, content_hash, origin, changed_by, created_at, updated_at, deleted_at, project_id, name, archived FROM tasks",
        Kind::TimeEntry => "SELECT id, content_hash, origin, changed_by, created_at, updated_at, deleted_at, person_id, project_id, task_id, client_id, started_at, ended_at, break_seconds, duration_seconds, source_tz, notes, tags, billable, kind FROM time_entries",
    }
}

fn cid(s: Option<String>) -> Option<CanonicalId> {
    s.map(CanonicalId)
}

pub(crate) fn row_to_record(kind: Kind, row: &impl ReadRow) -> Result<StoredRecord> {
    let record = match kind {
        Kind::Person => Record::Person(Person {
            display_name: row.get("display_name")?,
            email: row.get("email")?,
            username: row.get("username")?,
        }),
        Kind::Client => Record::Client(Client {
            name: row.get("name")?,
            email: row.get("email")?,
            notes: row.get("notes")?,
            archived: row.get("archived")?,
        }),
        Kind::Project => Record::Project(Project {
            client: cid(row.get("client_id")?),
            name: row.get("name")?,
            billable: row.get("billable")?,
            hourly_rate_cents: row.get("hourly_rate_cents")?,
            archived: row.get("archived")?,
        }),
        Kind::Task => Record::Task(Task {
            project: CanonicalId(row.get("project_id")?),
            name: row.get("name")?,
            archived: row.get("archived")?,
        }),
        Kind::TimeEntry => {
            let tags: String = row.get("tags")?;
            let tags: BTreeSet<String> = serde_json::from_str(&tags)
                .map_err(|e| LedgerError::corrupt("time_entries.tags", e))?;
            let kind_text: String = row.get("kind")?;
            Record::TimeEntry(TimeEntry {
                person: CanonicalId(row.get("person_id")?),
                project: cid(row.get("project_id")?),
                task: cid(row.get("task_id")?),
                client: cid(row.get("client_id")?),
                started_at: parse_instant(&row.get::<String>("started_at")?)?,
                ended_at: parse_opt(row.get("ended_at")?)?,
                break_seconds: row.get("break_seconds")?,
                duration_seconds: row.get("duration_seconds")?,
                source_tz: row.get("source_tz")?,
                notes: row.get("notes")?,
                tags,
                billable: row.get("billable")?,
                kind: EntryKind::parse(&kind_text)
                    .ok_or_else(|| LedgerError::corrupt("time_entries.kind", &kind_text))?,
            })
        }
    };
    Ok(StoredRecord {
        id: CanonicalId(row.get("id")?),
        record,
        hash: ContentHash(row.get("content_hash")?),
        origin: row.get("origin")?,
        changed_by: row.get("changed_by")?,
        created_at: parse_instant(&row.get::<String>("created_at")?)?,
        updated_at: parse_instant(&row.get::<String>("updated_at")?)?,
        deleted_at: parse_opt(row.get("deleted_at")?)?,
    })
}

/// New records as they will be stored: fresh ids, normalised content, the caller's hashes
/// (of the same content: hashing normalises first).
fn fresh_records(
    records: &[(Record<CanonicalId>, ContentHash)],
    origin: &str,
    now: DateTime<Utc>,
) -> Vec<StoredRecord> {
    records
        .iter()
        .map(|(r, hash)| StoredRecord {
            id: new_id(),
            record: r.clone().normalised(),
            hash: hash.clone(),
            origin: origin.to_owned(),
            changed_by: origin.to_owned(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
        })
        .collect()
}

fn new_id() -> CanonicalId {
    CanonicalId(uuid::Uuid::now_v7().to_string())
}

/// The columns a new time entry is inserted with, in the order of both bulk paths.
pub(super) const ENTRY_INSERT_COLUMNS: &str = "id, content_hash, origin, changed_by, created_at, updated_at, \
     person_id, project_id, task_id, client_id, started_at, ended_at, break_seconds, duration_seconds, \
     source_tz, local_started_at, local_ended_at, local_date, notes, tags, billable, kind";

/// What the backends do differently with records (`sqlite/records.rs`, `pg/records.rs`):
/// the bulk insert of new time entries, the hot path of an import (SQLite: one prepared
/// statement through the C API; PostgreSQL: one `COPY ... FROM STDIN`, `copy_in.rs`), and how
/// far SQL can match names by natural key.
pub(crate) trait RecordDialect: Exec {
    /// SQL keeping the rows whose `column` has the natural key bound as parameter `n`, as
    /// far as the backend can say it in SQL: the names that pass are matched again with
    /// `name_key` in Rust (`records/natural_keys.rs`), so a backend may let all through.
    fn name_key_is(column: &str, n: usize) -> String;

    /// Inserts these new time entries, made by `fresh_records(_, origin, now)`.
    async fn insert_entry_rows(
        &mut self,
        stored: &[StoredRecord],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
}

impl<B: RecordDialect + VersionStore> RecordStore for B {
    async fn get_record(&mut self, kind: Kind, id: &CanonicalId) -> Result<Option<StoredRecord>> {
        let sql = Sql::new(format!("{} WHERE id = $1", select_sql(kind))).bind(id.as_str());
        let row = self.fetch_optional(sql).await?;
        row.map(|r| row_to_record(kind, &r)).transpose()
    }

    /// Inserts a new canonical record (normalised first) and returns its new id.
    async fn insert_record(
        &mut self,
        record: &Record<CanonicalId>,
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredRecord> {
        let hash = content_hash(record);
        self.insert_records(&[(record.clone(), hash)], origin, now)
            .await?
            .pop()
            .ok_or_else(|| {
                LedgerError::corrupt(record.kind().to_string(), "the insert stored nothing")
            })
    }

    /// Replaces a record's content (normalised first); returns the new hash. A tombstoned
    /// record comes back to life (an edit beats a delete), and is sent again to the
    /// providers whose copy is gone.
    async fn update_record(
        &mut self,
        id: &CanonicalId,
        record: &Record<CanonicalId>,
        changed_by: &str,
        now: DateTime<Utc>,
    ) -> Result<ContentHash> {
        let record = record.clone().normalised();
        let hash = content_hash(&record);
        let old = self.get_record(record.kind(), id).await?;
        // The version links still name is kept for three-way merges.
        if let Some(old) = old.as_ref().filter(|old| old.hash != hash) {
            self.keep_version_if_linked(id, &old.record, &old.hash, now)
                .await?;
        }
        let was_deleted = old.as_ref().is_some_and(|old| !old.is_live());
        let sql = update_sql(id, &record, &hash, changed_by, now);
        if self.execute(sql).await? != 1 {
            return Err(LedgerError::corrupt(
                format!("{} {id}", record.kind()),
                "no such record to update",
            ));
        }
        if was_deleted {
            // Back to life (an edit beat a delete): providers whose copy is gone get it
            // again, so their dead links go.
            let sql = Sql::new(
                "DELETE FROM links WHERE kind = $1 AND canonical_id = $2 AND remote_deleted_at IS NOT NULL",
            );
            self.execute(sql.bind(record.kind().as_str()).bind(id.as_str()))
                .await?;
        }
        Ok(hash)
    }

    /// Marks a record deleted (it stays, with its links, as a tombstone).
    async fn tombstone(
        &mut self,
        kind: Kind,
        id: &CanonicalId,
        changed_by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = Sql::new(format!(
            "UPDATE {} SET deleted_at = $2, updated_at = $2, changed_by = $3 WHERE id = $1 AND deleted_at IS NULL",
            table(kind)
        ));
        self.execute(
            sql.bind(id.as_str())
                .bind(to_text_precise(now))
                .bind(changed_by),
        )
        .await?;
        Ok(())
    }

    /// Live records that could be `record` under another provider's id: the natural key
    /// (people: e-mail, then username; clients: name; projects: name and client; tasks: name
    /// and project; entries: person, start and end within 60 s, same project name), not yet
    /// linked to `provider`. Best match first (see `natural_keys.rs`).
    async fn natural_key_candidates(
        &mut self,
        record: &Record<CanonicalId>,
        provider: &str,
    ) -> Result<Vec<StoredRecord>> {
        natural_keys::candidates(self, record, provider).await
    }

    /// Records of `kind` that `provider` should be sent: live and unlinked, linked with a
    /// newer ledger version, or tombstoned with a live link. Records with an open conflict
    /// for this provider, or a standing push issue for this content, are left out (except
    /// `waiting:` issues, a missing reference, which are tried again every cycle). Oldest
    /// change first; at most `limit`.
    async fn push_candidates(
        &mut self,
        provider: &str,
        kind: Kind,
        limit: i64,
        after: Option<(DateTime<Utc>, &CanonicalId)>,
        include_deletes: bool,
    ) -> Result<Vec<(StoredRecord, Option<Link>)>> {
        let sql = Sql::new(push_candidates_sql(kind))
            .bind(provider)
            .bind(limit)
            .bind(include_deletes)
            .bind(after.map(|(t, _)| to_text_precise(t)))
            .bind(after.map(|(_, id)| id.as_str().to_owned()));
        let rows = self.fetch_all(sql).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let rec = row_to_record(kind, row)?;
            let link = pushed_link(row, provider, kind, &rec.id)?;
            out.push((rec, link));
        }
        Ok(out)
    }

    /// Many records of one kind by id (missing ids are simply absent), in one query.
    async fn get_records(
        &mut self,
        kind: Kind,
        ids: &[&CanonicalId],
    ) -> Result<HashMap<CanonicalId, StoredRecord>> {
        let sql = Sql::new(format!(
            "{} WHERE {}",
            select_sql(kind),
            B::in_list("id", 1)
        ));
        let found = fetch_records(self, kind, sql.bind(id_list(ids))).await?;
        Ok(found.into_iter().map(|r| (r.id.clone(), r)).collect())
    }

    /// Live entries of these people starting in `[from, to]`, not linked to `provider`:
    /// the natural-key candidates of a whole page at once.
    async fn entry_candidates(
        &mut self,
        provider: &str,
        people: &[&CanonicalId],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        let sql = Sql::new(format!(
            "{} t WHERE t.deleted_at IS NULL AND t.started_at BETWEEN $1 AND $2 \
             AND NOT EXISTS (SELECT 1 FROM links l WHERE l.provider = $3 AND l.kind = 'time_entry' AND l.canonical_id = t.id) \
             AND {}",
            select_sql(Kind::TimeEntry),
            B::in_list("t.person_id", 4)
        ))
        .bind(to_text(from))
        .bind(to_text(to))
        .bind(provider)
        .bind(id_list(people));
        fetch_records(self, Kind::TimeEntry, sql).await
    }

    /// Names of clients, projects or tasks by id.
    async fn names(
        &mut self,
        kind: Kind,
        ids: &[&CanonicalId],
    ) -> Result<HashMap<CanonicalId, String>> {
        if matches!(kind, Kind::Person | Kind::TimeEntry) {
            return Ok(HashMap::new());
        }
        let sql = Sql::new(format!(
            "SELECT id, name FROM {} WHERE {}",
            table(kind),
            B::in_list("id", 1)
        ));
        let rows = self.fetch_all(sql.bind(id_list(ids))).await?;
        rows.iter()
            .map(|row| Ok((CanonicalId(row.get("id")?), row.get("name")?)))
            .collect()
    }

    /// Inserts many new records (of one kind) with their content hashes; entries take the
    /// backend's bulk path (the hot path of an import). Returns them as stored, in order.
    async fn insert_records(
        &mut self,
        records: &[(Record<CanonicalId>, ContentHash)],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        if records.is_empty() {
            // Most pages of a steady-state cycle import nothing: no round trip for that.
            return Ok(Vec::new());
        }
        let stored = fresh_records(records, origin, now);
        if stored
            .iter()
            .all(|s| matches!(s.record, Record::TimeEntry(_)))
        {
            self.insert_entry_rows(&stored, origin, now).await?;
            return Ok(stored);
        }
        for s in &stored {
            self.execute(insert_sql(s)).await?;
        }
        Ok(stored)
    }

    /// Live records per kind (for status output and tests).
    async fn count_live(&mut self, kind: Kind) -> Result<i64> {
        let sql = Sql::new(format!(
            "SELECT count(*) AS n FROM {} WHERE deleted_at IS NULL",
            table(kind)
        ));
        self.fetch_one(sql, "count of live records").await?.get("n")
    }

    /// Every live record of a kind (tests, small kinds only).
    async fn all_live(&mut self, kind: Kind) -> Result<Vec<StoredRecord>> {
        let sql = format!("{} WHERE deleted_at IS NULL ORDER BY id", select_sql(kind));
        fetch_records(self, kind, Sql::new(sql)).await
    }

    async fn live_person_with_email(&mut self, email: &str) -> Result<Option<CanonicalId>> {
        let sql = Sql::new("SELECT id FROM people WHERE email = $1 AND deleted_at IS NULL");
        let row = self.fetch_optional(sql.bind(email)).await?;
        row.map(|r| r.get("id").map(CanonicalId)).transpose()
    }
}

/// The records a statement selects (with `select_sql`'s columns).
async fn fetch_records<B: Exec>(tx: &mut B, kind: Kind, sql: Sql) -> Result<Vec<StoredRecord>> {
    let rows = tx.fetch_all(sql).await?;
    rows.iter().map(|r| row_to_record(kind, r)).collect()
}

/// Ids as one bound list (`Exec::in_list`).
fn id_list(ids: &[&CanonicalId]) -> Vec<String> {
    ids.iter().map(|id| id.0.clone()).collect()
}

/// A record's own columns (beside the bookkeeping ones every table has) and their values.
fn content_columns(record: &Record<CanonicalId>) -> Vec<(&'static str, Value)> {
    let id = |c: &Option<CanonicalId>| Value::from(c.as_ref().map(CanonicalId::as_str));
    match record {
        Record::Person(p) => vec![
            ("display_name", (&p.display_name).into()),
            ("email", (&p.email).into()),
            ("username", (&p.username).into()),
        ],
        Record::Client(c) => vec![
            ("name", (&c.name).into()),
            ("email", (&c.email).into()),
            ("notes", (&c.notes).into()),
            ("archived", c.archived.into()),
        ],
        Record::Project(p) => vec![
            ("client_id", id(&p.client)),
            ("name", (&p.name).into()),
            ("billable", p.billable.into()),
            ("hourly_rate_cents", p.hourly_rate_cents.into()),
            ("archived", p.archived.into()),
        ],
        Record::Task(t) => vec![
            ("project_id", t.project.as_str().into()),
            ("name", (&t.name).into()),
            ("archived", t.archived.into()),
        ],
        Record::TimeEntry(e) => {
            let cols = EntryColumns::of(e);
            vec![
                ("person_id", e.person.as_str().into()),
                ("project_id", id(&e.project)),
                ("task_id", id(&e.task)),
                ("client_id", id(&e.client)),
                ("started_at", cols.started_at.into()),
                ("ended_at", cols.ended_at.into()),
                ("break_seconds", e.break_seconds.into()),
                ("duration_seconds", e.duration_seconds.into()),
                ("source_tz", (&e.source_tz).into()),
                ("local_started_at", cols.local_started_at.into()),
                ("local_ended_at", cols.local_ended_at.into()),
                ("local_date", cols.local_date.into()),
                ("notes", (&e.notes).into()),
                ("tags", cols.tags.into()),
                ("billable", e.billable.into()),
                ("kind", e.kind.as_str().into()),
            ]
        }
    }
}

/// The INSERT of one new record (not the entries' bulk path).
fn insert_sql(s: &StoredRecord) -> Sql {
    let columns = content_columns(&s.record);
    let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    let marks: Vec<String> = (5..5 + columns.len()).map(|n| format!("${n}")).collect();
    let sql = Sql::new(format!(
        "INSERT INTO {} (id, content_hash, origin, changed_by, created_at, updated_at, {}) \
         VALUES ($1, $2, $3, $3, $4, $4, {})",
        table(s.record.kind()),
        names.join(", "),
        marks.join(", ")
    ))
    .bind(s.id.as_str())
    .bind(s.hash.as_str())
    .bind(&s.origin)
    .bind(to_text_precise(s.created_at));
    columns.into_iter().fold(sql, |sql, (_, v)| sql.bind(v))
}

/// The UPDATE that replaces a record's content (and revives it if tombstoned).
fn update_sql(
    id: &CanonicalId,
    record: &Record<CanonicalId>,
    hash: &ContentHash,
    changed_by: &str,
    now: DateTime<Utc>,
) -> Sql {
    let columns = content_columns(record);
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ${}", i + 5))
        .collect();
    let sql = Sql::new(format!(
        "UPDATE {} SET content_hash = $2, changed_by = $3, updated_at = $4, deleted_at = NULL, {} \
         WHERE id = $1",
        table(record.kind()),
        sets.join(", ")
    ))
    .bind(id.as_str())
    .bind(hash.as_str())
    .bind(changed_by)
    .bind(to_text_precise(now));
    columns.into_iter().fold(sql, |sql, (_, v)| sql.bind(v))
}

/// `2026-03-10T08:00:00` (written directly: a hot path of imports).
fn wall(t: chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Derived column values of a time entry.
pub(super) struct EntryColumns {
    pub(super) started_at: String,
    pub(super) ended_at: Option<String>,
    pub(super) local_started_at: String,
    pub(super) local_ended_at: Option<String>,
    pub(super) local_date: String,
    pub(super) tags: String,
}

impl EntryColumns {
    pub(super) fn of(e: &TimeEntry<CanonicalId>) -> Self {
        let zone = e.source_tz.as_deref();
        let local_start = local_wall_time(e.started_at, zone);
        EntryColumns {
            started_at: to_text(e.started_at),
            ended_at: e.ended_at.map(to_text),
            local_started_at: wall(local_start),
            local_ended_at: e.ended_at.map(|t| wall(local_wall_time(t, zone))),
            local_date: wall(local_start)[..10].to_owned(),
            tags: serde_json::to_string(&e.tags).unwrap_or_else(|_| "[]".into()),
        }
    }
}

/// The link columns (`l_*`) of a push-candidate row: `None` when the record is not linked.
fn pushed_link(
    row: &impl ReadRow,
    provider: &str,
    kind: Kind,
    canonical_id: &CanonicalId,
) -> Result<Option<Link>> {
    let remote_id: Option<String> = row.get("l_remote_id")?;
    Ok(match remote_id {
        None => None,
        Some(remote_id) => Some(Link {
            provider: provider.to_owned(),
            kind,
            canonical_id: canonical_id.clone(),
            remote_id: remote_id.into(),
            remote_hash: ContentHash(row.get("l_remote_hash")?),
            canonical_hash: ContentHash(row.get("l_canonical_hash")?),
            remote_version: row.get("l_remote_version")?,
            remote_updated_at: parse_opt(row.get("l_remote_updated_at")?)?,
            remote_started_at: parse_opt(row.get("l_remote_started_at")?)?,
            remote_deleted_at: parse_opt(row.get("l_remote_deleted_at")?)?,
            remote_incarnation: row.get("l_remote_incarnation")?,
            synced_at: parse_instant(&row.get::<String>("l_synced_at")?)?,
        }),
    })
}

/// The push scan of one kind, with numbered parameters: $1 provider, $2 limit, $3 include
/// deletes, $4 and $5 the (updated_at, id) to start after.
fn push_candidates_sql(kind: Kind) -> String {
    let k = kind.as_str();
    let cols: String = select_sql(kind)
        .trim_start_matches("SELECT ")
        .split(" FROM ")
        .next()
        .unwrap_or(COMMON)
        .split(", ")
        .map(|c| format!("t.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {cols}, l.remote_id AS l_remote_id, l.remote_hash AS l_remote_hash, l.canonical_hash AS l_canonical_hash, \
                l.remote_version AS l_remote_version, l.remote_updated_at AS l_remote_updated_at, \
                l.remote_started_at AS l_remote_started_at, l.remote_deleted_at AS l_remote_deleted_at, \
                l.remote_incarnation AS l_remote_incarnation, l.synced_at AS l_synced_at \
         FROM {table} t LEFT JOIN links l ON l.provider = $1 AND l.kind = '{k}' AND l.canonical_id = t.id \
         WHERE ((l.canonical_id IS NULL AND t.deleted_at IS NULL) \
             OR (l.canonical_id IS NOT NULL AND l.remote_deleted_at IS NULL \
                 AND ((l.canonical_hash != t.content_hash AND t.deleted_at IS NULL) OR ($3 AND t.deleted_at IS NOT NULL)))) \
           AND ($4 IS NULL OR (t.updated_at, t.id) > ($4, $5)) \
           AND NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.provider = $1 AND c.kind = '{k}' AND c.canonical_id = t.id AND c.resolved_at IS NULL) \
           AND NOT EXISTS (SELECT 1 FROM record_issues i WHERE i.provider = $1 AND i.direction = 'push' AND i.kind = '{k}' AND i.record_id = t.id AND i.content_hash = t.content_hash AND i.reason NOT LIKE 'waiting:%') \
         ORDER BY t.updated_at, t.id LIMIT $2",
        table = table(kind),
    )
}
