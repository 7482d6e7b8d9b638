//! Benchmark 1 on PostgreSQL (`bench ingest --ledger postgres://USER@HOST:PORT/DB`): the same
//! ingest as `ingest.rs` through the engine into a new scratch database on that server,
//! against a plain `COPY` of the same rows (each entry and its link, the layout's people and
//! project first) into another scratch database with the same schema, in the same run and on
//! the same server. Target: the engine at least half the `COPY` rate.
//!
//! Like `ingest.rs`, the one place outside `src/ledger/` with SQL: the `COPY` must bypass
//! the engine and the ledger module to measure the server itself.

use std::time::Instant;

use chrono::Utc;
use sqlx::{Connection, PgConnection};
use timeweave::ledger::postgres::testing::scratch_database;
use timeweave::ledger::Ledger;
use url::Url;

use crate::support::{self, metric, Layout};

const PEOPLE: usize = 100;

pub async fn run(entries: usize, server: &Url) -> anyhow::Result<()> {
    println!("# ingest on PostgreSQL: {entries} entries through the engine, against COPY");
    let layout = Layout::new(PEOPLE);
    let engine_secs = through_engine(server, &layout, entries).await?;
    let copy_secs = by_copy(server, &layout, entries).await?;
    let engine_rate = entries as f64 / engine_secs;
    let copy_rate = entries as f64 / copy_secs;
    metric("pg_ingest_entries", entries, "entries");
    support::seconds_and_rate("pg_ingest", entries, engine_secs, "");
    support::seconds_and_rate(
        "pg_copy",
        entries,
        copy_secs,
        " (entry + link rows by COPY)",
    );
    metric(
        "pg_ingest_to_copy_ratio",
        format!("{:.3}", engine_rate / copy_rate),
        "",
    );
    metric("target_pg_ingest_to_copy_ratio", 0.5, "");
    Ok(())
}

/// Seconds for one engine cycle importing every entry into a new ledger on `server`.
async fn through_engine(server: &Url, layout: &Layout, entries: usize) -> anyhow::Result<f64> {
    let ledger = Ledger::open_postgres(&scratch_database(server).await?, None).await?;
    crate::ingest::through_engine(&ledger, layout, entries).await
}

/// Seconds for `COPY`ing the same entries and links, in one transaction, into a new ledger.
async fn by_copy(server: &Url, layout: &Layout, entries: usize) -> anyhow::Result<f64> {
    let url = scratch_database(server).await?;
    Ledger::open_postgres(&url, None).await?.close().await;
    let mut conn = PgConnection::connect(url.as_str()).await?;
    let hash = "0".repeat(64);
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    sqlx::query(
        "INSERT INTO people (id, display_name, email, content_hash, origin, changed_by, created_at, updated_at) \
         SELECT 'person-' || lpad(k::text, 6, '0'), 'p', 'p' || k || '@x', $2, 'memory', 'memory', $3, $3 \
         FROM generate_series(0, $1 - 1) AS k",
    )
    .bind(layout.people as i32)
    .bind(&hash)
    .bind(&now)
    .execute(&mut conn)
    .await?;
    sqlx::query(
        "INSERT INTO projects (id, name, content_hash, origin, changed_by, created_at, updated_at) \
         VALUES ('project', 'pr', $1, 'memory', 'memory', $2, $2)",
    )
    .bind(&hash)
    .bind(&now)
    .execute(&mut conn)
    .await?;
    let (entry_rows, link_rows) = copy_rows(layout, entries, &hash, &now);
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    let mut copy = tx
        .copy_in_raw(
            "COPY time_entries (id, person_id, project_id, started_at, ended_at, break_seconds, \
             duration_seconds, local_started_at, local_ended_at, local_date, notes, tags, billable, kind, \
             content_hash, origin, changed_by, created_at, updated_at) FROM STDIN",
        )
        .await?;
    copy.send(entry_rows.as_bytes()).await?;
    copy.finish().await?;
    let mut copy = tx
        .copy_in_raw(
            "COPY links (provider, kind, canonical_id, remote_id, remote_hash, canonical_hash, \
             remote_version, remote_updated_at, remote_started_at, synced_at) FROM STDIN",
        )
        .await?;
    copy.send(link_rows.as_bytes()).await?;
    copy.finish().await?;
    tx.commit().await?;
    let secs = started.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(secs)
}

/// The rows (COPY's text format) of `entries` entries and their links, as `ingest.rs`'s
/// ceiling writes them.
fn copy_rows(layout: &Layout, entries: usize, hash: &str, now: &str) -> (String, String) {
    let mut entry_rows = String::with_capacity(entries * 300);
    let mut link_rows = String::with_capacity(entries * 250);
    for k in 0..entries {
        let id = uuid::Uuid::now_v7().to_string();
        let (s, e) = layout.stored_span(k);
        let person = layout.person(k);
        let seconds = support::ENTRY_MINUTES * 60;
        entry_rows.push_str(&format!(
            "{id}\tperson-{person:06}\tproject\t{s}\t{e}\t0\t{seconds}\t{}\t{}\t{}\tbench entry {k}\t[]\tt\twork\t{hash}\tmemory\tmemory\t{now}\t{now}\n",
            &s[..19],
            &e[..19],
            &s[..10],
        ));
        link_rows.push_str(&format!(
            "memory\ttime_entry\t{id}\t{k}\t{hash}\t{hash}\t{now}\t{now}\t{s}\t{now}\n"
        ));
    }
    (entry_rows, link_rows)
}
