//! Benchmark 1 on PostgreSQL (`bench ingest --ledger postgres://...`): the same engine ingest
//! as on SQLite, into a scratch database of that server, against the PostgreSQL ceiling
//! measured in the same run: the same rows (entry + link) sent by a plain `COPY ... FROM
//! STDIN` per table, in one transaction, into another scratch database with the same schema
//! (made by the ledger's own migrations). As in `ingest.rs`, SQL outside `src/ledger/` is
//! only the ceiling's: it must bypass the engine and the ledger to measure the server.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, Utc};
use sqlx::Acquire;
use timeweave::ledger::postgres::{connect, testing};
use timeweave::ledger::Ledger;
use url::Url;

use crate::support::{self, metric, Layout};

const PEOPLE: usize = 100;

pub async fn run(entries: usize, cluster: &Url) -> anyhow::Result<()> {
    println!(
        "# ingest on PostgreSQL ({}): {entries} entries through the engine, against COPY",
        timeweave::ledger::postgres::describe_url(cluster)
    );
    let layout = Layout::new(PEOPLE);
    let db = testing::scratch_database(cluster).await?;
    let ledger = Ledger::open_postgres(&db, None).await?;
    let engine_secs = crate::ingest::through_engine(&ledger, &layout, entries).await?;
    let engine_rate = entries as f64 / engine_secs;
    let copy_secs = copy_ceiling(cluster, &layout, entries).await?;
    let copy_rate = entries as f64 / copy_secs;
    metric("pg_ingest_entries", entries, "entries");
    metric("pg_ingest_seconds", format!("{engine_secs:.2}"), "s");
    metric("pg_ingest_rate", format!("{engine_rate:.0}"), "entries/s");
    metric("pg_copy_seconds", format!("{copy_secs:.2}"), "s");
    metric("pg_copy_rate", format!("{copy_rate:.0}"), "entries/s");
    metric(
        "pg_ingest_to_copy_ratio",
        format!("{:.3}", engine_rate / copy_rate),
        "",
    );
    metric("target_pg_ingest_to_copy_ratio", 0.5, "");
    Ok(())
}

/// The layout's people and one project in a fresh ledger database at `db`, then the
/// entries and their links by COPY, timed (row text made inside the timing, as the SQLite
/// ceiling binds its rows inside its own).
async fn copy_ceiling(cluster: &Url, layout: &Layout, entries: usize) -> anyhow::Result<f64> {
    let db = testing::scratch_database(cluster).await?;
    Ledger::open_postgres(&db, None).await?.close().await;
    let pool = connect(&db, None).await?;
    let mut conn = pool.acquire().await?;
    let hash = "0".repeat(64);
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    sqlx::query(
        "INSERT INTO people (id, display_name, email, content_hash, origin, changed_by, created_at, updated_at) \
         SELECT 'person-' || lpad(k::text, 6, '0'), 'p', 'p' || k || '@x', $2, 'memory', 'memory', $3, $3 \
         FROM generate_series(0, $1 - 1) AS k",
    )
    .bind(layout.people as i64)
    .bind(&hash)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO projects (id, name, content_hash, origin, changed_by, created_at, updated_at) \
         VALUES ('project', 'pr', $1, 'memory', 'memory', $2, $2)",
    )
    .bind(&hash)
    .bind(&now)
    .execute(&mut *conn)
    .await?;

    let started = Instant::now();
    let (entry_rows, link_rows) = copy_text(layout, entries, &hash, &now);
    let mut tx = conn.begin().await?;
    let conn = tx.acquire().await?;
    for (sql, rows) in [
        (
            "COPY time_entries (id, person_id, project_id, started_at, ended_at, break_seconds, \
             duration_seconds, local_started_at, local_ended_at, local_date, notes, tags, billable, \
             kind, content_hash, origin, changed_by, created_at, updated_at) FROM STDIN",
            entry_rows,
        ),
        (
            "COPY links (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, \
             remote_version, remote_updated_at, remote_started_at, synced_at) FROM STDIN",
            link_rows,
        ),
    ] {
        let mut copy = conn.copy_in_raw(sql).await?;
        copy.send(rows.into_bytes()).await?;
        copy.finish().await?;
    }
    tx.commit().await?;
    let secs = started.elapsed().as_secs_f64();
    pool.close().await;
    Ok(secs)
}

/// COPY's text format of the entries and of their links: the same values as the SQLite
/// ceiling's rows.
fn copy_text(layout: &Layout, entries: usize, hash: &str, now: &str) -> (String, String) {
    let mut entry_rows = String::new();
    let mut link_rows = String::new();
    for k in 0..entries {
        let start = layout.start(k);
        let end = start + Duration::minutes(support::ENTRY_MINUTES);
        let id = uuid::Uuid::now_v7().to_string();
        let s = start.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let e = end.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let person = format!("person-{:06}", layout.person(k));
        let _ = writeln!(
            entry_rows,
            "{id}\t{person}\tproject\t{s}\t{e}\t0\t1200\t{}\t{}\t{}\tbench entry {k}\t[]\tt\twork\t{hash}\tmemory\tmemory\t{now}\t{now}",
            &s[..19],
            &e[..19],
            &s[..10]
        );
        let _ = writeln!(
            link_rows,
            "memory\ttime_entry\t{id}\t{k}\t{hash}\t{hash}\t{now}\t{now}\t{s}\t{now}"
        );
    }
    (entry_rows, link_rows)
}
