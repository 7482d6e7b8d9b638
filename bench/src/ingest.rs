//! Benchmark 1, ledger ingest: N canonical time entries (with their links) applied through
//! the engine from an in-process source (`MemoryProvider`, large pages), against the SQLite
//! ceiling: the same rows (entry + link) inserted by a plain prepared INSERT per row, through
//! SQLite's C API (rusqlite), in one transaction into a fresh ledger file with the same
//! schema and the ledger's own pragmas (`ledger::WRITER_PRAGMAS`). Beside it, the upper
//! bound of any binding: the same rows generated inside SQLite by one `INSERT ... SELECT`
//! per table from a recursive CTE (no row crosses the C API at all). The headline is the
//! engine's rate as a fraction of that bound.
//!
//! This is the one place outside `src/ledger/` with SQL: the ceiling must bypass the engine
//! and the ledger module to measure SQLite itself.

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use timeweave::config::Mode;
use timeweave::ledger::Ledger;
use timeweave::sync::{CycleOptions, Engine, StopFlag, SyncSettings};
use timeweave_contract::Kind;

use crate::support::{self, metric, Layout};

const PAGE_SIZE: usize = 10_000;
const PEOPLE: usize = 100;

pub async fn run(entries: usize) -> anyhow::Result<()> {
    println!("# ingest: {entries} entries through the engine from an in-process source");
    let dir = tempfile::tempdir()?;
    let layout = Layout::new(PEOPLE);
    let ledger = Ledger::open(&dir.path().join("ledger.db")).await?;
    let engine_secs = through_engine(&ledger, &layout, entries).await?;
    let engine_rate = entries as f64 / engine_secs;

    let ceiling_secs = bound(
        &dir.path().join("ceiling.db"),
        &layout,
        ceiling_blocking,
        entries,
    )
    .await?;
    let ceiling_rate = entries as f64 / ceiling_secs;
    let in_sql_secs = bound(
        &dir.path().join("in_sql.db"),
        &layout,
        in_sql_blocking,
        entries,
    )
    .await?;
    let in_sql_rate = entries as f64 / in_sql_secs;

    metric(
        "ingest_to_in_sql_ratio",
        format!("{:.3}", engine_rate / in_sql_rate),
        "of the in-SQL bound (rows SQLite generates itself, the ledger's pragmas)",
    );
    metric("ingest_entries", entries, "entries");
    support::seconds_and_rate("ingest", entries, engine_secs, "");
    support::seconds_and_rate("sqlite_ceiling", entries, ceiling_secs, "");
    support::seconds_and_rate(
        "sqlite_in_sql",
        entries,
        in_sql_secs,
        " (rows generated inside SQLite: no binding, no engine)",
    );
    metric(
        "ingest_to_ceiling_ratio",
        format!("{:.3}", engine_rate / ceiling_rate),
        "",
    );
    if let Some(kb) = support::proc_status_kb("self", "VmHWM:") {
        metric(
            "ingest_peak_rss_bench_process",
            format!("{:.1}", support::mib(kb)),
            "MiB (includes the in-memory source)",
        );
    }
    metric("target_ingest_rate", 100_000, "entries/s");
    metric("target_ingest_to_in_sql_ratio", 0.8, "");
    Ok(())
}

/// Ingests `entries` (the layout's) into `ledger` through the engine, from an in-process
/// source, in one cycle; the seconds it took. Fails unless every entry was stored.
pub async fn through_engine(
    ledger: &Ledger,
    layout: &Layout,
    entries: usize,
) -> anyhow::Result<f64> {
    let source = Arc::new(support::memory_source(layout, entries, PAGE_SIZE));
    let engine = Engine::new(
        ledger.clone(),
        SyncSettings::defaults(layout.oldest(entries) - Duration::days(40)),
        StopFlag::new(),
    );
    let handle = support::memory_handle(
        "memory",
        source.clone(),
        Mode::Pull,
        timeweave::config::DEFAULT_PUSH_CONCURRENCY,
    );
    let started = Instant::now();
    let report = engine
        .run_cycle(
            &handle,
            CycleOptions {
                to_completion: true,
                dry_run: false,
            },
        )
        .await?;
    let engine_secs = started.elapsed().as_secs_f64();
    let stored = ledger.read().await?.count_live(Kind::TimeEntry).await?;
    ledger.close().await;
    if stored as usize != entries || !report.is_clean() {
        anyhow::bail!(
            "ingest stored {stored} of {entries} entries (status {}, errors {:?})",
            report.status.as_str(),
            report.errors.iter().take(3).collect::<Vec<_>>()
        );
    }
    Ok(engine_secs)
}

/// A bound measured on its own ledger file: `measure` runs on a blocking thread, given a
/// connection to a fresh ledger (schema made by the ledger itself) seeded by
/// [`BoundDb::open`].
async fn bound(
    path: &std::path::Path,
    layout: &Layout,
    measure: fn(BoundDb, usize, &Layout) -> anyhow::Result<f64>,
    entries: usize,
) -> anyhow::Result<f64> {
    Ledger::open(path).await?.close().await;
    let path = path.to_owned();
    let layout = *layout;
    tokio::task::spawn_blocking(move || {
        measure(BoundDb::open(&path, layout.people)?, entries, &layout)
    })
    .await?
}

/// A ledger file for a bound: the ledger's own pragmas (`WRITER_PRAGMAS`: WAL, page cache,
/// SQLite's heap limit), the layout's people (`person-000000`
/// ...) and one project (`project`), and the values every row shares.
struct BoundDb {
    conn: rusqlite::Connection,
    hash: String,
    now: String,
}

impl BoundDb {
    fn open(path: &std::path::Path, people: usize) -> anyhow::Result<BoundDb> {
        let conn = rusqlite::Connection::open(path)?;
        let pragmas: String = timeweave::ledger::WRITER_PRAGMAS
            .iter()
            .map(|(name, value)| format!("PRAGMA {name} = {value};"))
            .collect();
        conn.execute_batch(&pragmas)?;
        let hash = "0".repeat(64);
        let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        conn.execute(
            "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k + 1 < ?1) \
             INSERT INTO people (id, display_name, email, content_hash, origin, changed_by, created_at, updated_at) \
             SELECT printf('person-%06d', k), 'p', printf('p%d@x', k), ?2, 'memory', 'memory', ?3, ?3 FROM n",
            rusqlite::params![people as i64, hash, now],
        )?;
        conn.execute(
            "INSERT INTO projects (id, name, content_hash, origin, changed_by, created_at, updated_at) \
             VALUES ('project', 'pr', ?1, 'memory', 'memory', ?2, ?2)",
            rusqlite::params![hash, now],
        )?;
        Ok(BoundDb { conn, hash, now })
    }
}

/// The same rows as the ceiling, generated inside SQLite: one `INSERT ... SELECT` from a
/// recursive CTE for the entries, one from the entries for their links, in one transaction.
/// No value crosses the C API, so this bounds what any binding (and any engine) could reach
/// with this schema here.
fn in_sql_blocking(db: BoundDb, entries: usize, layout: &Layout) -> anyhow::Result<f64> {
    let BoundDb {
        mut conn,
        hash,
        now,
    } = db;
    let people = layout.people;
    let newest = layout.newest.format("%Y-%m-%dT%H:%M:%S").to_string();
    let started = Instant::now();
    let tx = conn.transaction()?;
    // Entry u: person u % people, slot k = u / people, day k / SLOTS back, hour k % SLOTS:
    // the layout `Layout::start` gives. Ids ascend like UUIDv7s.
    tx.execute(
        "WITH RECURSIVE n(u) AS (SELECT 0 UNION ALL SELECT u + 1 FROM n WHERE u + 1 < ?1), \
         t(u, s) AS (SELECT u, datetime(?3, printf('-%d days', (u / ?2) / ?4), printf('+%d hours', (u / ?2) % ?4)) FROM n) \
         INSERT INTO time_entries (id, person_id, project_id, started_at, ended_at, break_seconds, \
         duration_seconds, local_started_at, local_ended_at, local_date, notes, tags, billable, kind, \
         content_hash, origin, changed_by, created_at, updated_at) \
         SELECT printf('0192%04x-%04x-7000-8000-%012x', u / 65536, u % 65536, u), printf('person-%06d', u % ?2), \
         'project', strftime('%Y-%m-%dT%H:%M:%SZ', s), strftime('%Y-%m-%dT%H:%M:%SZ', s, ?5), 0, ?6, \
         strftime('%Y-%m-%dT%H:%M:%S', s), strftime('%Y-%m-%dT%H:%M:%S', s, ?5), date(s), \
         'bench entry ' || u, '[]', 1, 'work', ?7, 'memory', 'memory', ?8, ?8 FROM t",
        rusqlite::params![
            entries as i64,
            people as i64,
            newest,
            support::SLOTS_PER_DAY as i64,
            format!("+{} minutes", support::ENTRY_MINUTES),
            support::ENTRY_MINUTES * 60,
            hash,
            now,
        ],
    )?;
    tx.execute(
        "INSERT INTO links (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, \
         remote_version, remote_updated_at, remote_started_at, synced_at) \
         SELECT 'memory', 'time_entry', id, substr(notes, 13), content_hash, content_hash, \
         created_at, created_at, started_at, created_at FROM time_entries",
        [],
    )?;
    tx.commit()?;
    let secs = started.elapsed().as_secs_f64();
    let stored: i64 = conn.query_row("SELECT count(*) FROM links", [], |r| r.get(0))?;
    anyhow::ensure!(
        stored as usize == entries,
        "the in-SQL ceiling stored {stored} of {entries} links"
    );
    Ok(secs)
}

/// The same rows the engine writes for an entry (the canonical row and its link), by a
/// plain prepared INSERT per row through SQLite's C API (rusqlite), in one transaction:
/// what SQLite itself does on this machine.
fn ceiling_blocking(db: BoundDb, entries: usize, layout: &Layout) -> anyhow::Result<f64> {
    let BoundDb {
        mut conn,
        hash,
        now,
    } = db;
    let started = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut entry = tx.prepare(
            "INSERT INTO time_entries (id, person_id, project_id, started_at, ended_at, break_seconds, \
             duration_seconds, local_started_at, local_ended_at, local_date, notes, tags, billable, kind, \
             content_hash, origin, changed_by, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0, 1200, ?6, ?7, ?8, ?9, '[]', 1, 'work', ?10, 'memory', 'memory', ?11, ?11)",
        )?;
        let mut link = tx.prepare(
            "INSERT INTO links (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, \
             remote_version, remote_updated_at, remote_started_at, synced_at) \
             VALUES ('memory', 'time_entry', ?1, ?2, ?3, ?3, ?4, ?4, ?5, ?4)",
        )?;
        for k in 0..entries {
            let id = uuid::Uuid::now_v7().to_string();
            let (s, e) = layout.stored_span(k);
            entry.execute(rusqlite::params![
                id,
                format!("person-{:06}", layout.person(k)),
                "project",
                s,
                e,
                &s[..19],
                &e[..19],
                &s[..10],
                format!("bench entry {k}"),
                hash,
                now,
            ])?;
            link.execute(rusqlite::params![id, k.to_string(), hash, now, s])?;
        }
    }
    tx.commit()?;
    Ok(started.elapsed().as_secs_f64())
}
