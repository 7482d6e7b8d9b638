//! Canonical records on PostgreSQL (see `ledger/records.rs` for what each method means).
//! Natural keys are compared in Rust with the contract's `name_key` (no SQL function can
//! promise the same Unicode lower case): the SQL narrows the candidates by everything else,
//! the names are matched here. New time entries go in one multi-row `INSERT ... SELECT FROM
//! UNNEST` per batch: the import's bulk path.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use timeweave_contract::natural_key::name_key;
use timeweave_contract::{content_hash, CanonicalId, ContentHash, Kind, Record};

use super::PgTx;
use crate::ledger::records::{
    fresh_records, new_id, push_candidates_sql, pushed_link, row_to_record, select_sql, table,
    EntryColumns,
};
use crate::ledger::store::{RecordStore, VersionStore};
use crate::ledger::time::{to_text, to_text_precise};
use crate::ledger::{LedgerError, Link, Result, StoredRecord};

/// `?N` parameters (SQLite's numbered form) as PostgreSQL's `$N`.
pub(super) fn dollar_params(sql: &str) -> String {
    sql.replace('?', "$")
}

impl RecordStore for PgTx {
    async fn get_record(&mut self, kind: Kind, id: &CanonicalId) -> Result<Option<StoredRecord>> {
        let sql = format!("{} WHERE id = $1", select_sql(kind));
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| row_to_record(kind, &r)).transpose()
    }

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
                sqlx::query("INSERT INTO people (id, content_hash, origin, changed_by, created_at, updated_at, display_name, email, username) VALUES ($1, $2, $3, $3, $4, $4, $5, $6, $7)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(&p.display_name).bind(&p.email).bind(&p.username)
                    .execute(self.conn()).await?;
            }
            Record::Client(c) => {
                sqlx::query("INSERT INTO clients (id, content_hash, origin, changed_by, created_at, updated_at, name, email, notes, archived) VALUES ($1, $2, $3, $3, $4, $4, $5, $6, $7, $8)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(&c.name).bind(&c.email).bind(&c.notes).bind(c.archived)
                    .execute(self.conn()).await?;
            }
            Record::Project(p) => {
                sqlx::query("INSERT INTO projects (id, content_hash, origin, changed_by, created_at, updated_at, client_id, name, billable, hourly_rate_cents, archived) VALUES ($1, $2, $3, $3, $4, $4, $5, $6, $7, $8, $9)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(p.client.as_ref().map(CanonicalId::as_str)).bind(&p.name).bind(p.billable).bind(p.hourly_rate_cents).bind(p.archived)
                    .execute(self.conn()).await?;
            }
            Record::Task(t) => {
                sqlx::query("INSERT INTO tasks (id, content_hash, origin, changed_by, created_at, updated_at, project_id, name, archived) VALUES ($1, $2, $3, $3, $4, $4, $5, $6, $7)")
                    .bind(common.0).bind(common.1).bind(common.2).bind(common.3)
                    .bind(t.project.as_str()).bind(&t.name).bind(t.archived)
                    .execute(self.conn()).await?;
            }
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
        if let Some(old) = old.as_ref().filter(|old| old.hash != hash) {
            self.keep_version_if_linked(id, &old.record, &old.hash, now)
                .await?;
        }
        let was_deleted = old.as_ref().is_some_and(|old| !old.is_live());
        let now_text = to_text_precise(now);
        let done = match &record {
            Record::Person(p) => sqlx::query("UPDATE people SET content_hash = $2, changed_by = $3, updated_at = $4, deleted_at = NULL, display_name = $5, email = $6, username = $7 WHERE id = $1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(&p.display_name).bind(&p.email).bind(&p.username)
                .execute(self.conn()).await?,
            Record::Client(c) => sqlx::query("UPDATE clients SET content_hash = $2, changed_by = $3, updated_at = $4, deleted_at = NULL, name = $5, email = $6, notes = $7, archived = $8 WHERE id = $1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(&c.name).bind(&c.email).bind(&c.notes).bind(c.archived)
                .execute(self.conn()).await?,
            Record::Project(p) => sqlx::query("UPDATE projects SET content_hash = $2, changed_by = $3, updated_at = $4, deleted_at = NULL, client_id = $5, name = $6, billable = $7, hourly_rate_cents = $8, archived = $9 WHERE id = $1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(p.client.as_ref().map(CanonicalId::as_str)).bind(&p.name).bind(p.billable).bind(p.hourly_rate_cents).bind(p.archived)
                .execute(self.conn()).await?,
            Record::Task(t) => sqlx::query("UPDATE tasks SET content_hash = $2, changed_by = $3, updated_at = $4, deleted_at = NULL, project_id = $5, name = $6, archived = $7 WHERE id = $1")
                .bind(id.as_str()).bind(hash.as_str()).bind(changed_by).bind(&now_text)
                .bind(t.project.as_str()).bind(&t.name).bind(t.archived)
                .execute(self.conn()).await?,
            Record::TimeEntry(e) => {
                let cols = EntryColumns::of(e);
                sqlx::query("UPDATE time_entries SET content_hash = $2, changed_by = $3, updated_at = $4, deleted_at = NULL, person_id = $5, project_id = $6, task_id = $7, client_id = $8, started_at = $9, ended_at = $10, break_seconds = $11, duration_seconds = $12, source_tz = $13, local_started_at = $14, local_ended_at = $15, local_date = $16, notes = $17, tags = $18, billable = $19, kind = $20 WHERE id = $1")
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
            sqlx::query("DELETE FROM links WHERE kind = $1 AND canonical_id = $2 AND remote_deleted_at IS NOT NULL")
                .bind(record.kind().as_str())
                .bind(id.as_str())
                .execute(self.conn())
                .await?;
        }
        Ok(hash)
    }

    async fn tombstone(
        &mut self,
        kind: Kind,
        id: &CanonicalId,
        changed_by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET deleted_at = $2, updated_at = $2, changed_by = $3 WHERE id = $1 AND deleted_at IS NULL",
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

    async fn natural_key_candidates(
        &mut self,
        record: &Record<CanonicalId>,
        provider: &str,
    ) -> Result<Vec<StoredRecord>> {
        let kind = record.kind();
        let unlinked = format!(
            "AND NOT EXISTS (SELECT 1 FROM links l WHERE l.provider = $1 AND l.kind = '{}' AND l.canonical_id = t.id)",
            kind.as_str()
        );
        let base = select_sql(kind);
        let live = format!("{base} t WHERE t.deleted_at IS NULL {unlinked}");
        let order = "ORDER BY t.created_at, t.id";
        match record {
            Record::Person(p) => {
                if let Some(email) = &p.email {
                    let sql = format!("{live} AND t.email = $2 {order}");
                    let found = self
                        .query_records(kind, sql, provider, vec![Some(email.to_lowercase())])
                        .await?;
                    if !found.is_empty() {
                        return Ok(found);
                    }
                }
                let Some(username) = &p.username else {
                    return Ok(Vec::new());
                };
                let sql = format!(
                    "{live} AND t.username IS NOT NULL AND (t.email IS NULL OR $2::text IS NULL) {order}"
                );
                let found = self
                    .query_records(kind, sql, provider, vec![p.email.clone()])
                    .await?;
                let key = name_key(username);
                Ok(keep_named(found, &key))
            }
            Record::Client(c) => {
                let found = self
                    .query_records(kind, format!("{live} {order}"), provider, vec![])
                    .await?;
                Ok(keep_named(found, &name_key(&c.name)))
            }
            Record::Project(p) => {
                let sql = format!("{live} AND t.client_id IS NOT DISTINCT FROM $2 {order}");
                let client = p.client.as_ref().map(|c| c.0.clone());
                let found = self
                    .query_records(kind, sql, provider, vec![client])
                    .await?;
                Ok(keep_named(found, &name_key(&p.name)))
            }
            Record::Task(tk) => {
                let sql = format!("{live} AND t.project_id = $2 {order}");
                let project = Some(tk.project.0.clone());
                let found = self
                    .query_records(kind, sql, provider, vec![project])
                    .await?;
                Ok(keep_named(found, &name_key(&tk.name)))
            }
            Record::TimeEntry(e) => self.entry_matches(e, provider, &live).await,
        }
    }

    async fn push_candidates(
        &mut self,
        provider: &str,
        kind: Kind,
        limit: i64,
        after: Option<(DateTime<Utc>, &CanonicalId)>,
        include_deletes: bool,
    ) -> Result<Vec<(StoredRecord, Option<Link>)>> {
        let sql = dollar_params(&push_candidates_sql(kind));
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

    async fn get_records(
        &mut self,
        kind: Kind,
        ids: &[&CanonicalId],
    ) -> Result<HashMap<CanonicalId, StoredRecord>> {
        let sql = format!(
            "{} WHERE id IN (SELECT unnest($1::text[]))",
            select_sql(kind)
        );
        let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(self.conn())
            .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            let rec = row_to_record(kind, row)?;
            out.insert(rec.id.clone(), rec);
        }
        Ok(out)
    }

    async fn entry_candidates(
        &mut self,
        provider: &str,
        people: &[&CanonicalId],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        let sql = format!(
            "{} t WHERE t.deleted_at IS NULL AND t.started_at BETWEEN $1 AND $2 \
             AND NOT EXISTS (SELECT 1 FROM links l WHERE l.provider = $3 AND l.kind = 'time_entry' AND l.canonical_id = t.id) \
             AND t.person_id IN (SELECT unnest($4::text[]))",
            select_sql(Kind::TimeEntry)
        );
        let people: Vec<&str> = people.iter().map(|id| id.as_str()).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_text(from))
            .bind(to_text(to))
            .bind(provider)
            .bind(people)
            .fetch_all(self.conn())
            .await?;
        rows.iter()
            .map(|r| row_to_record(Kind::TimeEntry, r))
            .collect()
    }

    async fn names(
        &mut self,
        kind: Kind,
        ids: &[&CanonicalId],
    ) -> Result<HashMap<CanonicalId, String>> {
        if matches!(kind, Kind::Person | Kind::TimeEntry) {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, name FROM {} WHERE id IN (SELECT unnest($1::text[]))",
            table(kind)
        );
        let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
        let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(self.conn())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| (CanonicalId(id), name))
            .collect())
    }

    async fn insert_records(
        &mut self,
        records: &[(Record<CanonicalId>, ContentHash)],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        if !records
            .iter()
            .all(|(r, _)| matches!(r, Record::TimeEntry(_)))
        {
            let mut out = Vec::with_capacity(records.len());
            for (r, _) in records {
                out.push(self.insert_record(r, origin, now).await?);
            }
            return Ok(out);
        }
        self.insert_entries(records, origin, now).await
    }

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

    async fn all_live(&mut self, kind: Kind) -> Result<Vec<StoredRecord>> {
        let sql = format!("{} WHERE deleted_at IS NULL ORDER BY id", select_sql(kind));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(|r| row_to_record(kind, r)).collect()
    }
}

/// The candidates whose name (people: username) has the natural key `key`.
fn keep_named(found: Vec<StoredRecord>, key: &str) -> Vec<StoredRecord> {
    found
        .into_iter()
        .filter(|s| {
            let name = match &s.record {
                Record::Person(p) => p.username.as_deref(),
                Record::Client(c) => Some(c.name.as_str()),
                Record::Project(p) => Some(p.name.as_str()),
                Record::Task(t) => Some(t.name.as_str()),
                Record::TimeEntry(_) => None,
            };
            name.is_some_and(|n| name_key(n) == key)
        })
        .collect()
}

impl PgTx {
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

    /// Entries of the same person starting and ending within 60 s of `e`'s, on the same
    /// project or one of the same name, nearest start first.
    async fn entry_matches(
        &mut self,
        e: &timeweave_contract::TimeEntry<CanonicalId>,
        provider: &str,
        live: &str,
    ) -> Result<Vec<StoredRecord>> {
        let minute = chrono::Duration::seconds(60);
        let (end_lo, end_hi) = match e.ended_at {
            Some(end) => (Some(to_text(end - minute)), Some(to_text(end + minute))),
            None => (None, None),
        };
        let sql = format!(
            "{live} AND t.person_id = $2 AND t.started_at BETWEEN $3 AND $4 \
             AND (($5::text IS NULL AND t.ended_at IS NULL) OR t.ended_at BETWEEN $5 AND $6) \
             ORDER BY abs(extract(epoch FROM t.started_at::timestamptz - $7::timestamptz)), t.id"
        );
        let binds = vec![
            Some(e.person.0.clone()),
            Some(to_text(e.started_at - minute)),
            Some(to_text(e.started_at + minute)),
            end_lo,
            end_hi,
            Some(to_text(e.started_at)),
        ];
        let found = self
            .query_records(Kind::TimeEntry, sql, provider, binds)
            .await?;
        let project_of = |s: &StoredRecord| match &s.record {
            Record::TimeEntry(t) => t.project.clone(),
            _ => None,
        };
        let mut projects: Vec<&CanonicalId> = found
            .iter()
            .filter_map(|s| match &s.record {
                Record::TimeEntry(t) => t.project.as_ref(),
                _ => None,
            })
            .collect();
        projects.extend(e.project.as_ref());
        let names = self.names(Kind::Project, &projects).await?;
        let key_of =
            |p: &Option<CanonicalId>| p.as_ref().and_then(|p| names.get(p)).map(|n| name_key(n));
        let ours = key_of(&e.project);
        Ok(found
            .into_iter()
            .filter(|s| {
                let theirs = project_of(s);
                theirs == e.project || (ours.is_some() && key_of(&theirs) == ours)
            })
            .collect())
    }

    /// Inserts time entries in one `INSERT ... SELECT FROM UNNEST` (the import's bulk path:
    /// one round trip per batch, whatever its size).
    async fn insert_entries(
        &mut self,
        records: &[(Record<CanonicalId>, ContentHash)],
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredRecord>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let stored = fresh_records(records, origin, now);
        let columns = EntryArrays::of(&stored);
        sqlx::query(
            "INSERT INTO time_entries (id, content_hash, origin, changed_by, created_at, updated_at, person_id, project_id, task_id, client_id, started_at, ended_at, break_seconds, duration_seconds, source_tz, local_started_at, local_ended_at, local_date, notes, tags, billable, kind) \
             SELECT u.id, u.hash, $3, $3, $4, $4, u.person, u.project, u.task, u.client, u.started, u.ended, u.brk, u.dur, u.tz, u.lstart, u.lend, u.ldate, u.notes, u.tags, u.billable, u.kind \
             FROM UNNEST($1::text[], $2::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], \
                         $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::boolean[], $20::text[]) \
                  AS u(id, hash, person, project, task, client, started, ended, brk, dur, tz, lstart, lend, ldate, notes, tags, billable, kind)",
        )
        .bind(columns.id)
        .bind(columns.hash)
        .bind(origin)
        .bind(to_text_precise(now))
        .bind(columns.person)
        .bind(columns.project)
        .bind(columns.task)
        .bind(columns.client)
        .bind(columns.started)
        .bind(columns.ended)
        .bind(columns.break_seconds)
        .bind(columns.duration)
        .bind(columns.zone)
        .bind(columns.local_start)
        .bind(columns.local_end)
        .bind(columns.local_date)
        .bind(columns.notes)
        .bind(columns.tags)
        .bind(columns.billable)
        .bind(columns.kind)
        .execute(self.conn())
        .await?;
        Ok(stored)
    }
}

/// New entries as one array per column (what `UNNEST` takes).
#[derive(Default)]
struct EntryArrays {
    id: Vec<String>,
    hash: Vec<String>,
    person: Vec<String>,
    project: Vec<Option<String>>,
    task: Vec<Option<String>>,
    client: Vec<Option<String>>,
    started: Vec<String>,
    ended: Vec<Option<String>>,
    break_seconds: Vec<i64>,
    duration: Vec<Option<i64>>,
    zone: Vec<Option<String>>,
    local_start: Vec<String>,
    local_end: Vec<Option<String>>,
    local_date: Vec<String>,
    notes: Vec<Option<String>>,
    tags: Vec<String>,
    billable: Vec<bool>,
    kind: Vec<&'static str>,
}

impl EntryArrays {
    fn of(stored: &[StoredRecord]) -> EntryArrays {
        let mut a = EntryArrays::default();
        let cid = |c: &Option<CanonicalId>| c.as_ref().map(|c| c.0.clone());
        for s in stored {
            let Record::TimeEntry(e) = &s.record else {
                continue;
            };
            let cols = EntryColumns::of(e);
            a.id.push(s.id.0.clone());
            a.hash.push(s.hash.0.clone());
            a.person.push(e.person.0.clone());
            a.project.push(cid(&e.project));
            a.task.push(cid(&e.task));
            a.client.push(cid(&e.client));
            a.started.push(cols.started_at);
            a.ended.push(cols.ended_at);
            a.break_seconds.push(e.break_seconds);
            a.duration.push(e.duration_seconds);
            a.zone.push(e.source_tz.clone());
            a.local_start.push(cols.local_started_at);
            a.local_end.push(cols.local_ended_at);
            a.local_date.push(cols.local_date);
            a.notes.push(e.notes.clone());
            a.tags.push(cols.tags);
            a.billable.push(e.billable);
            a.kind.push(e.kind.as_str());
        }
        a
    }
}
