//! Natural-key candidates: the unlinked ledger records a remote record may be a copy of.
//! One way on both backends: the SQL narrows by liveness, no link to the provider, e-mail,
//! client, project, person and times, and by name as far as the backend can
//! (`RecordDialect::name_key_is`: SQLite's `natural_key()`; PostgreSQL cannot); names are
//! then matched with the contract's `name_key` here, the very key the engine and the
//! adapters use. Entries match by person and times in SQL, by project name in Rust.

use timeweave_contract::natural_key::name_key;
use timeweave_contract::{CanonicalId, Kind, Person, Record, TimeEntry};

use super::{fetch_records, select_sql, RecordDialect, StoredRecord};
use crate::ledger::sql::Sql;
use crate::ledger::store::RecordStore;
use crate::ledger::time::to_text;
use crate::ledger::Result;

/// The oldest first, for kinds matched by name.
const ORDER: &str = "ORDER BY t.created_at, t.id";

/// Live records not linked to `provider` that have `record`'s natural key, best first.
pub(super) async fn candidates<B: RecordDialect + RecordStore>(
    tx: &mut B,
    record: &Record<CanonicalId>,
    provider: &str,
) -> Result<Vec<StoredRecord>> {
    let kind = record.kind();
    let live = format!(
        "{} t WHERE t.deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM links l WHERE l.provider = $1 AND l.kind = '{}' AND l.canonical_id = t.id)",
        select_sql(kind),
        kind.as_str()
    );
    // By name ($2), and projects by client, tasks by project ($3).
    let named = |name: &str, narrow: &str| {
        let key = name_key(name);
        let sql = format!(
            "{live} AND {} {narrow} {ORDER}",
            B::name_key_is("t.name", 2)
        );
        (Sql::new(sql).bind(provider).bind(&key), key)
    };
    let (sql, key) = match record {
        Record::Person(p) => return person_candidates(tx, p, provider, &live).await,
        Record::TimeEntry(e) => return entry_candidates(tx, e, provider, &live).await,
        Record::Client(c) => named(&c.name, ""),
        Record::Project(p) => {
            let (sql, key) = named(&p.name, "AND t.client_id IS NOT DISTINCT FROM $3");
            (sql.bind(p.client.as_ref().map(CanonicalId::as_str)), key)
        }
        Record::Task(t) => {
            let (sql, key) = named(&t.name, "AND t.project_id = $3");
            (sql.bind(t.project.as_str()), key)
        }
    };
    let found = fetch_records(tx, kind, sql).await?;
    Ok(keep_named(found, &key))
}

/// People: the same e-mail (lower-cased); failing that, the same username among those
/// without an e-mail (or all, when `p` has none).
async fn person_candidates<B: RecordDialect>(
    tx: &mut B,
    p: &Person,
    provider: &str,
    live: &str,
) -> Result<Vec<StoredRecord>> {
    if let Some(email) = &p.email {
        let sql = Sql::new(format!("{live} AND t.email = $2 {ORDER}"))
            .bind(provider)
            .bind(email.trim().to_lowercase());
        let found = fetch_records(tx, Kind::Person, sql).await?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    let Some(username) = &p.username else {
        return Ok(Vec::new());
    };
    let key = name_key(username);
    let sql = Sql::new(format!(
        "{live} AND t.username IS NOT NULL AND {} \
         AND (t.email IS NULL OR CAST($3 AS TEXT) IS NULL) {ORDER}",
        B::name_key_is("t.username", 2)
    ))
    .bind(provider)
    .bind(&key)
    .bind(&p.email);
    let found = fetch_records(tx, Kind::Person, sql).await?;
    Ok(keep_named(found, &key))
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

/// Entries of the same person starting and ending within 60 s of `e`'s, on the same
/// project or one of the same name, nearest start first.
async fn entry_candidates<B: RecordDialect + RecordStore>(
    tx: &mut B,
    e: &TimeEntry<CanonicalId>,
    provider: &str,
    live: &str,
) -> Result<Vec<StoredRecord>> {
    let minute = chrono::Duration::seconds(60);
    let (end_lo, end_hi) = match e.ended_at {
        Some(end) => (Some(to_text(end - minute)), Some(to_text(end + minute))),
        None => (None, None),
    };
    let sql = Sql::new(format!(
        "{live} AND t.person_id = $2 AND t.started_at BETWEEN $3 AND $4 \
         AND ((CAST($5 AS TEXT) IS NULL AND t.ended_at IS NULL) OR t.ended_at BETWEEN $5 AND $6) \
         ORDER BY t.id"
    ))
    .bind(provider)
    .bind(e.person.as_str())
    .bind(to_text(e.started_at - minute))
    .bind(to_text(e.started_at + minute))
    .bind(end_lo)
    .bind(end_hi);
    let found = fetch_records(tx, Kind::TimeEntry, sql).await?;
    let project_of = |s: &StoredRecord| match &s.record {
        Record::TimeEntry(t) => t.project.clone(),
        _ => None,
    };
    let mut projects: Vec<CanonicalId> = found.iter().filter_map(project_of).collect();
    projects.extend(e.project.clone());
    let names = tx
        .names(Kind::Project, &projects.iter().collect::<Vec<_>>())
        .await?;
    let key_of =
        |p: &Option<CanonicalId>| p.as_ref().and_then(|p| names.get(p)).map(|n| name_key(n));
    let ours = key_of(&e.project);
    let mut found: Vec<StoredRecord> = found
        .into_iter()
        .filter(|s| {
            let theirs = project_of(s);
            theirs == e.project || (ours.is_some() && key_of(&theirs) == ours)
        })
        .collect();
    // Nearest start first (ties by id, as selected).
    found.sort_by_key(|s| match &s.record {
        Record::TimeEntry(t) => (t.started_at - e.started_at).abs(),
        _ => chrono::TimeDelta::MAX,
    });
    Ok(found)
}
