//! The copy a dry run works on (`bench dryrun --ledger postgres://USER@HOST:PORT/DB`, by
//! default 50,000 entries): a ledger of N entries and their links, ingested through the
//! engine into a new scratch database on that server, then copied into a new SQLite file
//! as `timeweave sync --dry-run` copies it (`Ledger::copy_to`: one snapshot of every table,
//! written into a SQLite ledger). Beside it, in the same run, the same ledger on SQLite
//! copied as a dry run copies it there (`VACUUM INTO`).

use std::time::Instant;

use timeweave::ledger::postgres::testing::scratch_database;
use timeweave::ledger::Ledger;
use timeweave_contract::Kind;
use url::Url;

use crate::support::{self, metric, Layout};

const PEOPLE: usize = 100;

pub async fn run(entries: usize, server: &Url) -> anyhow::Result<()> {
    println!("# dryrun: the private copy of a {entries}-entry ledger a dry run works on");
    let layout = Layout::new(PEOPLE);
    let url = scratch_database(server).await?;
    let ingest = Ledger::open_postgres(&url, None).await?;
    crate::ingest::through_engine(&ingest, &layout, entries).await?;
    let pg = copy_of(&Ledger::open_postgres(&url, None).await?, entries).await?;

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.db");
    crate::ingest::through_engine(&Ledger::open(&path).await?, &layout, entries).await?;
    let sqlite = copy_of(&Ledger::open(&path).await?, entries).await?;

    metric(
        "dryrun_copy_entries",
        entries,
        "entries (and as many links)",
    );
    support::seconds_and_rate(
        "pg_dryrun_copy",
        entries,
        pg.seconds,
        " (snapshot into SQLite)",
    );
    metric("pg_dryrun_copy_size", format!("{:.1}", pg.mib), "MiB");
    support::seconds_and_rate(
        "sqlite_dryrun_copy",
        entries,
        sqlite.seconds,
        " (VACUUM INTO)",
    );
    metric(
        "sqlite_dryrun_copy_size",
        format!("{:.1}", sqlite.mib),
        "MiB",
    );
    Ok(())
}

struct Copied {
    seconds: f64,
    mib: f64,
}

/// Times `ledger.copy_to` into a new file; fails unless the copy holds every entry.
async fn copy_of(ledger: &Ledger, entries: usize) -> anyhow::Result<Copied> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("copy.db");
    let started = Instant::now();
    ledger.copy_to(&path).await?;
    let seconds = started.elapsed().as_secs_f64();
    ledger.close().await;
    let copy = Ledger::open(&path).await?;
    let held = copy.read().await?.count_live(Kind::TimeEntry).await?;
    copy.close().await;
    if held as usize != entries {
        anyhow::bail!("the copy holds {held} of {entries} entries");
    }
    let mib = std::fs::metadata(&path)?.len() as f64 / (1024.0 * 1024.0);
    Ok(Copied { seconds, mib })
}
