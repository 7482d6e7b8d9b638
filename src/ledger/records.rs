//! Canonical records: read, insert, update and tombstone people, clients, projects, tasks
//! and time entries; natural-key candidates (how two providers' copies of one record are
//! recognised); and the push scan (records a provider has not got yet, or not this version).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use timeweave_contract::{
    content_hash, CanonicalId, Client, ContentHash, EntryKind, Kind, Person, Project, Record, Task,
    TimeEntry,
};

use super::links::Link;
use super::row::ReadRow;
use super::sqlite::SqliteTx;
use super::store::{RecordStore, VersionStore};
use super::time::{local_wall_time, parse_instant, parse_opt, to_text, to_text_precise};
use super::{LedgerError, Result};
use timeweave_contract::natural_key::name_key;

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
pub(super) fn fresh_records(
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

pub(super) fn new_id() -> CanonicalId {
    CanonicalId(uuid::Uuid::now_v7().to_string())
}

impl RecordStore for SqliteTx {
    async fn get_record(&mut self, kind: Kind, id: &CanonicalId) -> Result<Option<StoredRecord>> {
        let sql = format!("{} WHERE id = ?", select_sql(kind));
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| row_to_record(kind, &r)).transpose()
    }

    /// Inserts a new canonical record (normalised first) and returns its new id.
    async fn insert_record(
        &mut self,
        record: &Record<CanonicalId>,
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredRecord> {
        if let Record::TimeEntry(_) = record {
            let hash = content_hash(record);
            return self
                .insert_entries(&[(record.clone(), hash)], origin, now)
                .await?
                .pop()
                .ok_or_else(|| LedgerError::corrupt("time entry", "the insert stored nothing"));
        }
        let id = new_id();
        let record = record.clone().normalised();
        let hash = content_hash(&record);
        let now_text = to_text_precise(now);
        let common = (id.as_str(), hash.as_str(), origin, now_text.as_str());
        match &record {
            Record::Person(p) => {
                sqlx::query("INSERT INTO people (id, content_hash, origin, changed_by, created_at, updated_at, display_name, email, username) VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5, ?6, ?7)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(&p.display_name).bind(&p.email).bind(&p.username)
                    .execute(self.conn()).await?;
            }
            Record::Client(c) => {
                sqlx::query("INSERT INTO clients (id, content_hash, origin, changed_by, created_at, updated_at, name, email, notes, archived) VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5, ?6, ?7, ?8)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(&c.name).bind(&c.email).bind(&c.notes).bind(c.archived)
                    .execute(self.conn()).await?;
            }
            Record::Project(p) => {
                sqlx::query("INSERT INTO projects (id, content_hash, origin, changed_by, created_at, updated_at, client_id, name, billable, hourly_rate_cents, archived) VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(p.client.as_ref().map(CanonicalId::as_str)).bind(&p.name).bind(p.billable).bind(p.hourly_rate_cents).bind(p.archived)
                    .execute(self.conn()).await?;
            }
            Record::Task(t) => {
                sqlx::query("INSERT INTO tasks (id, content_hash, origin, changed_by, created_at, updated_at, project_id, name, archived) VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5, ?6, ?7)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(t.project.as_str()).bind(&t.name).bind(t.archived)
                    .execute(self.conn()).await?;
            }
            // Entries take the multi-row path (see above).
            Record::TimeEntry(_) => {}
        }
        Ok(StoredRecord {
            id,
            record,
            hash,
            origin: origin.to_owned(),
            changed_by: origin.to_owned(),
            created_at: now,
            updated_at: now,
            deleted_at: None,
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
        let now_text = to_text_precise(now);
        let done = match &record {
            Record::Person(p) => sqlx::query("UPDATE people SET content_hash = ?2, changed_by = ?3, updated_at = ?4, deleted_at = NULL, display_name = ?5, email = ?6, username = ?7 WHERE id = ?1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(&p.display_name).bind(&p.email).bind(&p.username)
                .execute(self.conn()).await?,
            Record::Client(c) => sqlx::query("UPDATE clients SET content_hash = ?2, changed_by = ?3, updated_at = ?4, deleted_at = NULL, name = ?5, email = ?6, notes = ?7, archived = ?8 WHERE id = ?1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(&c.name).bind(&c.email).bind(&c.notes).bind(c.archived)
                .execute(self.conn()).await?,
            Record::Project(p) => sqlx::query("UPDATE projects SET content_hash = ?2, changed_by = ?3, updated_at = ?4, deleted_at = NULL, client_id = ?5, name = ?6, billable = ?7, hourly_rate_cents = ?8, archived = ?9 WHERE id = ?1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(p.client.as_ref().map(CanonicalId::as_str)).bind(&p.name).bind(p.billable).bind(p.hourly_rate_cents).bind(p.archived)
                .execute(self.conn()).await?,
            Record::Task(t) => sqlx::query("UPDATE tasks SET content_hash = ?2, changed_by = ?3, updated_at = ?4, deleted_at = NULL, project_id = ?5, name = ?6, archived = ?7 WHERE id = ?1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(t.project.as_str()).bind(&t.name).bind(t.archived)
                .execute(self.conn()).await?,
            Record::TimeEntry(e) => {
                let cols = EntryColumns::of(e);
                sqlx::query("UPDATE time_entries SET content_hash = ?2, changed_by = ?3, updated_at = ?4, deleted_at = NULL, person_id = ?5, project_id = ?6, task_id = ?7, client_id = ?8, started_at = ?9, ended_at = ?10, break_seconds = ?11, duration_seconds = ?12, source_tz = ?13, local_started_at = ?14, local_ended_at = ?15, local_date = ?16, notes = ?17, tags = ?18, billable = ?19, kind = ?20 WHERE id = ?1")
                    .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                    .bind(e.person.as_str())
                    .bind(e.project.as_ref().map(CanonicalId::as_str))
                    .bind(e.task.as_ref().map(CanonicalId::as_str))
                    .bind(e.client.as_ref().map(CanonicalId::as_str))
                    .bind(&cols.started_at).bind(&cols.ended_at)
                    .bind(e.break_seconds).bind(e.duration_seconds).bind(&e.source_tz)
                    .bind(&cols.local_started_at).bind(&cols.local_ended_at).bind(&cols.local_date)
                    .bind(&e.notes).bind(&cols.tags).bind(e.billable).bind(e.kind.as_str())
                    .execute(self.conn()).await?
            }
        };
        if done.rows_affected() != 1 {
            return Err(LedgerError::corrupt(
                format!("{} {id}", record.kind()),
                "no such record to update",
            ));
        }
        if was_deleted {
            // Back to life (an edit beat a delete): providers whose copy is gone get it
            // again, so their dead links go.
            sqlx::query("DELETE FROM links WHERE kind = ? AND canonical_id = ? AND remote_deleted_at IS NOT NULL")
                .bind(record.kind().as_str())
                .bind(id.as_str())
                .execute(self.conn())
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
        let sql = format!(
            "UPDATE {} SET deleted_at = ?2, updated_at = ?2, changed_by = ?3 WHERE id = ?1 AND deleted_at IS NULL",
            table(kind)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .bind(to_text_precise(now))
            .bind(changed_by)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Live records that could be `record` under another provider's id: the natural key
    /// (people: e-mail, then username; clients: name; projects: name and client; tasks: name
    /// and project; entries: person, start and end within 60 s, same project name), not yet
    /// linked to `provider`. Best match first.
    async fn natural_key_candidates(
        &mut self,
        record: &Record<CanonicalId>,
        provider: &str,
    ) -> Result<Vec<StoredRecord>> {
        let kind = record.kind();
        let unlinked = format!(
            "AND NOT EXISTS (SELECT 1 FROM links l WHERE l.provider = ?1 AND l.kind = '{}' AND l.canonical_id = t.id)",
            kind.as_str()
        );
        let base = select_sql(kind);
        let (sql, binds): (String, Vec<Option<String>>) = match record {
            Record::Person(p) => {
                let mut out = Vec::new();
                if let Some(email) = &p.email {
                    out.push((format!("{base} t WHERE t.deleted_at IS NULL AND t.email = ?2 {unlinked}"), vec![Some(email.to_lowercase())]));
                }
                if let Some(username) = &p.username {
                    out.push((format!("{base} t WHERE t.deleted_at IS NULL AND natural_key(t.username) = ?2 AND (t.email IS NULL OR ?3 IS NULL) {unlinked}"), vec![Some(name_key(username)), p.email.clone()]));
                }
                let mut found = Vec::new();
                for (sql, binds) in out {
                    found.extend(self.query_records(kind, sql, provider, binds).await?);
                    if !found.is_empty() {
                        break;
                    }
                }
                return Ok(found);
            }
            Record::Client(c) => (
                format!("{base} t WHERE t.deleted_at IS NULL AND natural_key(t.name) = ?2 {unlinked}"),
                vec![Some(name_key(&c.name))],
            ),
            Record::Project(p) => (
                format!("{base} t WHERE t.deleted_at IS NULL AND natural_key(t.name) = ?2 AND t.client_id IS ?3 {unlinked}"),
                vec![Some(name_key(&p.name)), p.client.as_ref().map(|c| c.0.clone())],
            ),
            Record::Task(tk) => (
                format!("{base} t WHERE t.deleted_at IS NULL AND natural_key(t.name) = ?2 AND t.project_id = ?3 {unlinked}"),
                vec![Some(name_key(&tk.name)), Some(tk.project.0.clone())],
            ),
            Record::TimeEntry(e) => {
                let lo = to_text(e.started_at - chrono::Duration::seconds(60));
                let hi = to_text(e.started_at + chrono::Duration::seconds(60));
                let (end_lo, end_hi) = match e.ended_at {
                    Some(end) => (
                        Some(to_text(end - chrono::Duration::seconds(60))),
                        Some(to_text(end + chrono::Duration::seconds(60))),
                    ),
                    None => (None, None),
                };
                (
                    format!(
                        "{base} t WHERE t.deleted_at IS NULL AND t.person_id = ?2 AND t.started_at BETWEEN ?3 AND ?4 \
                         AND ((?5 IS NULL AND t.ended_at IS NULL) OR t.ended_at BETWEEN ?5 AND ?6) \
                         AND ((?7 IS NULL AND t.project_id IS NULL) OR t.project_id = ?7 OR \
                              natural_key((SELECT name FROM projects WHERE id = t.project_id)) = natural_key((SELECT name FROM projects WHERE id = ?7))) \
                         {unlinked} ORDER BY abs(julianday(t.started_at) - julianday(?8))"
                    ),
                    vec![
                        Some(e.person.0.clone()),
                        Some(lo),
                        Some(hi),
                        end_lo,
                        end_hi,
                        e.project.as_ref().map(|p| p.0.clone()),
                        Some(to_text(e.started_at)),
                    ],
                )
            }
        };
        self.query_records(kind, sql, provider, binds).await
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
        let sql = push_candidates_sql(kind);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(provider)
            .bind(limit)
            .bind(include_deletes)
            .bind(after.map(|(t, _)| to_text_precise(t)))
            .bind(after.map(|(_, id)| id.as_str().to_owned()))
            .fetch_all(self.conn())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let rec = row_to_record(kind, row)?;
            let link = pushed_link(row, provider, kind, &rec.id)?;
            out.push((rec, link));
        }
        Ok(out)
    }

    /// Many records of one kind by id (missing ids are simply absent), one query per 500.
    async fn get_records(
        &mut self,
        kind: Kind,
        ids: &[&CanonicalId],
    ) -> Result<std::collections::HashMap<CanonicalId, StoredRecord>> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("{} WHERE id IN ({marks})", select_sql(kind));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(self.conn()).await? {
                let rec = row_to_record(kind, &row)?;
                out.insert(rec.id.clone(), rec);
            }
        }
        Ok(out)
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
        let mut out = Vec::new();
        for chunk in people.chunks(400) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                // Anonymous parameters only, bound in order: sqlx numbers an anonymous `?`
                // by its own count, so mixing it with `?N` would misbind.
                "{} t WHERE t.deleted_at IS NULL AND t.started_at BETWEEN ? AND ? \
                 AND NOT EXISTS (SELECT 1 FROM links l WHERE l.provider = ? AND l.kind = 'time_entry' AND l.canonical_id = t.id) \
                 AND t.person_id IN ({marks})",
                select_sql(Kind::TimeEntry)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to_text(from))
                .bind(to_text(to))
                .bind(provider);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(self.conn()).await? {
                out.push(row_to_record(Kind::TimeEntry, &row)?);
            }
        }
        Ok(out)
    }

    /// Names of clients, projects or tasks by id.
    async fn names(
        &mut self,
        kind: Kind,
        ids: &[&CanonicalId],
    ) -> Result<std::collections::HashMap<CanonicalId, String>> {
        let mut out = std::collections::HashMap::new();
        if matches!(kind, Kind::Person | Kind::TimeEntry) {
            return Ok(out);
        }
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!("SELECT id, name FROM {} WHERE id IN ({marks})", table(kind));
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for (id, name) in q.fetch_all(self.conn()).await? {
                out.insert(CanonicalId(id), name);
            }
        }
        Ok(out)
    }

    /// Inserts many new records (of one kind) with their content hashes; entries go in
    /// multi-row statements (the hot path of an import). Returns them as stored, in order.
    async fn insert_records(
        &mut self,
        records: &[(Record<CanonicalId>, ContentHash)],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::with_capacity(records.len());
        if !records
            .iter()
            .all(|(r, _)| matches!(r, Record::TimeEntry(_)))
        {
            for (r, _) in records {
                out.push(self.insert_record(r, origin, now).await?);
            }
            return Ok(out);
        }
        self.insert_entries(records, origin, now).await
    }

    /// Live records per kind (for status output and tests).
    async fn count_live(&mut self, kind: Kind) -> Result<i64> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE deleted_at IS NULL",
            table(kind)
        );
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.conn())
            .await?;
        Ok(n)
    }

    /// Every live record of a kind (tests, small kinds only).
    async fn all_live(&mut self, kind: Kind) -> Result<Vec<StoredRecord>> {
        let sql = format!("{} WHERE deleted_at IS NULL ORDER BY id", select_sql(kind));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(|r| row_to_record(kind, r)).collect()
    }
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

impl SqliteTx {
    async fn query_records(
        &mut self,
        kind: Kind,
        sql: String,
        provider: &str,
        binds: Vec<Option<String>>,
    ) -> Result<Vec<StoredRecord>> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider.to_owned());
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.conn()).await?;
        rows.iter().map(|r| row_to_record(kind, r)).collect()
    }
    /// Inserts time entries (with their content hashes) through one prepared statement on
    /// the connection itself (see `direct.rs`): the import hot path.
    async fn insert_entries(
        &mut self,
        records: &[(Record<CanonicalId>, ContentHash)],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        if records.is_empty() {
            // Most pages of a steady-state cycle import nothing: no hand-over for that.
            return Ok(Vec::new());
        }
        let now_text = to_text_precise(now);
        let stored = fresh_records(records, origin, now);
        self.direct(|conn| {
            let mut insert = conn.prepare(
                "INSERT INTO time_entries (id, content_hash, origin, changed_by, created_at, updated_at, person_id, project_id, task_id, client_id, started_at, ended_at, break_seconds, duration_seconds, source_tz, local_started_at, local_ended_at, local_date, notes, tags, billable, kind) \
                 VALUES (?1, ?2, ?3, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            )?;
            for s in &stored {
                let Record::TimeEntry(e) = &s.record else {
                    continue;
                };
                let cols = EntryColumns::of(e);
                insert.execute(rusqlite::params![
                    s.id.as_str(),
                    s.hash.0.as_str(),
                    origin,
                    now_text.as_str(),
                    e.person.as_str(),
                    e.project.as_ref().map(CanonicalId::as_str),
                    e.task.as_ref().map(CanonicalId::as_str),
                    e.client.as_ref().map(CanonicalId::as_str),
                    cols.started_at,
                    cols.ended_at,
                    e.break_seconds,
                    e.duration_seconds,
                    e.source_tz.as_deref(),
                    cols.local_started_at,
                    cols.local_ended_at,
                    cols.local_date,
                    e.notes.as_deref(),
                    cols.tags,
                    e.billable,
                    e.kind.as_str(),
                ])?;
            }
            Ok(())
        })
        .await?;
        Ok(stored)
    }
}

/// The link columns (`l_*`) of a push-candidate row: `None` when the record is not linked.
pub(super) fn pushed_link(
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

/// The push scan of one kind, with numbered parameters: ?1 provider, ?2 limit, ?3 include
/// deletes, ?4 and ?5 the (updated_at, id) to start after (both backends run this text;
/// PostgreSQL's parameters are the same numbers as `$N`).
pub(super) fn push_candidates_sql(kind: Kind) -> String {
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
         FROM {table} t LEFT JOIN links l ON l.provider = ?1 AND l.kind = '{k}' AND l.canonical_id = t.id \
         WHERE ((l.canonical_id IS NULL AND t.deleted_at IS NULL) \
             OR (l.canonical_id IS NOT NULL AND l.remote_deleted_at IS NULL \
                 AND ((l.canonical_hash != t.content_hash AND t.deleted_at IS NULL) OR (?3 AND t.deleted_at IS NOT NULL)))) \
           AND (?4 IS NULL OR (t.updated_at, t.id) > (?4, ?5)) \
           AND NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.provider = ?1 AND c.kind = '{k}' AND c.canonical_id = t.id AND c.resolved_at IS NULL) \
           AND NOT EXISTS (SELECT 1 FROM record_issues i WHERE i.provider = ?1 AND i.direction = 'push' AND i.kind = '{k}' AND i.record_id = t.id AND i.content_hash = t.content_hash AND i.reason NOT LIKE 'waiting:%') \
         ORDER BY t.updated_at, t.id LIMIT ?2",
        table = table(kind),
    )
}
