//! A reporting reader opened read-only (`Ledger::open_read_only`, as `timeweave report`
//! does) beside writers: one that keeps inserting, tombstoning and recording runs, and a
//! real sync cycle pulling thousands of entries page by page. Every read succeeds, sees a
//! consistent snapshot (the views agree with each other within one read transaction), and
//! counts only ever grow.

mod report_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Duration;
use report_support::{at, date, insert, known_ledger, EntrySpec};
use timeweave::ledger::{DateRange, Ledger, RunCounts, RunStatus, TotalsBy};
use timeweave_contract::Kind;

const WRITES: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_reader_reads_consistently_while_a_sync_writes() {
    let f = known_ledger().await;
    let writer = f.ledger.clone();
    let ada = f.ada.clone();
    let apollo = f.apollo.clone();
    let done = Arc::new(AtomicBool::new(false));
    let writer_done = done.clone();
    let (first_read_done, start_writing) = tokio::sync::oneshot::channel::<()>();
    let write_task = tokio::spawn(async move {
        // Start once the reader has read once, so reads and writes surely overlap.
        start_writing.await.unwrap();
        for i in 0..WRITES {
            let mut tx = writer.write().await.unwrap();
            let start = at(2026, 3, 1, 0, 0) + Duration::minutes(i as i64 * 7);
            let id = insert(
                &mut tx,
                EntrySpec::new(&ada, Some(&apollo), start, 30).record(),
            )
            .await;
            // Every third write also deletes what it just added: live counts still grow by
            // two per three writes; tombstoned entries must never show.
            if i % 3 == 2 {
                tx.tombstone(Kind::TimeEntry, &id, "tt", start)
                    .await
                    .unwrap();
            }
            let run = tx.start_run("tt", "sync", start).await.unwrap();
            tx.finish_run(run, RunStatus::Ok, &RunCounts::default(), &[], start)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            if i % 16 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        writer_done.store(true, Ordering::SeqCst);
    });

    let reader = Ledger::open_read_only(&f.path).await.unwrap();
    let range = DateRange {
        from: date("2026-01-01"),
        to: date("2026-12-31"),
    };
    let mut last = (0i64, 0i64, 0i64);
    let mut reads = 0;
    let mut first_read_done = Some(first_read_done);
    loop {
        let finished = done.load(Ordering::SeqCst);
        let mut tx = reader.read().await.unwrap();
        let totals = tx.report_totals(TotalsBy::Day, range).await.unwrap();
        let entries: i64 = totals.iter().map(|r| r.entries).sum();
        let seconds: i64 = totals.iter().map(|r| r.seconds).sum();
        let mut exported = 0i64;
        {
            use futures::StreamExt;
            let mut stream = std::pin::pin!(tx.export_entries(range));
            while let Some(row) = stream.next().await {
                row.unwrap();
                exported += 1;
            }
        }
        let health = tx.sync_health().await.unwrap();
        let runs = health.iter().find(|h| h.provider == "tt").unwrap().runs;
        drop(tx);
        assert_eq!(exported, entries, "export and totals see the same snapshot");
        assert!(
            entries >= last.0 && seconds >= last.1 && runs >= last.2,
            "counts never go back: {last:?} -> {:?}",
            (entries, seconds, runs)
        );
        last = (entries, seconds, runs);
        reads += 1;
        if let Some(signal) = first_read_done.take() {
            signal.send(()).unwrap();
        }
        if finished {
            break;
        }
    }
    write_task.await.unwrap();
    // The fixture holds 6 live entries; the writer added two of every three.
    assert_eq!(last.0, 6 + (WRITES as i64 / 3) * 2);
    assert_eq!(last.2, 2 + WRITES as i64);
    // At least the read before the writes and the one after them; usually many between.
    assert!(
        reads >= 2,
        "the reader ran alongside the writer ({reads} reads)"
    );
    eprintln!("{reads} consistent reads while the writer committed {WRITES} transactions");
    // The reader cannot write.
    let refused = match reader.write().await {
        Err(e) => e.to_string(),
        Ok(mut tx) => {
            let spec = EntrySpec::new(&f.ada, None, at(2026, 3, 1, 0, 0), 30);
            tx.insert_record(&spec.record(), "tt", at(2026, 3, 1, 0, 0))
                .await
                .unwrap_err()
                .to_string()
        }
    };
    assert!(refused.contains("readonly"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_reader_reads_consistently_during_a_sync_cycle() {
    use std::collections::BTreeSet;
    use timeweave::config::Mode;
    use timeweave::sync::{CycleOptions, Engine, ProviderHandle, StopFlag, SyncSettings};
    use timeweave_contract::{EntryKind, Person, Project, Record, TimeEntry};
    use timeweave_testsupport::memory::MemoryProvider;

    const ENTRIES: i64 = 2000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).await.unwrap();
    let provider = Arc::new(MemoryProvider::new(50));
    let person = provider.put(Record::Person(Person {
        display_name: "Ada Lovelace".into(),
        email: Some("ada@example.com".into()),
        username: None,
    }));
    let project = provider.put(Record::Project(Project {
        client: None,
        name: "Apollo".into(),
        billable: true,
        hourly_rate_cents: None,
        archived: false,
    }));
    let today = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    for i in 0..ENTRIES {
        let start = today - Duration::days(1 + i % 20) + Duration::minutes(i / 20 * 10);
        provider.put(Record::TimeEntry(TimeEntry {
            person: person.clone(),
            project: Some(project.clone()),
            task: None,
            client: None,
            started_at: start,
            ended_at: Some(start + Duration::minutes(6)),
            break_seconds: 0,
            duration_seconds: Some(360),
            source_tz: None,
            notes: None,
            tags: BTreeSet::new(),
            billable: true,
            kind: EntryKind::Work,
        }));
    }
    let settings = SyncSettings::defaults(chrono::Utc::now() - Duration::days(400));
    let engine = Engine::new(ledger.clone(), settings, StopFlag::new());
    let handle = ProviderHandle::new("mem", provider.clone(), Mode::Pull);
    let done = Arc::new(AtomicBool::new(false));
    let sync_done = done.clone();
    let sync = tokio::spawn(async move {
        let report = engine
            .run_cycle(&handle, CycleOptions::default())
            .await
            .unwrap();
        sync_done.store(true, Ordering::SeqCst);
        report
    });

    let reader = Ledger::open_read_only(&path).await.unwrap();
    let range = DateRange {
        from: (today - Duration::days(60)).date_naive(),
        to: today.date_naive(),
    };
    let (mut last, mut reads, mut partial_reads) = (0i64, 0, 0);
    loop {
        let finished = done.load(Ordering::SeqCst);
        let mut tx = reader.read().await.unwrap();
        let entries: i64 = tx
            .report_totals(TotalsBy::Person, range)
            .await
            .unwrap()
            .iter()
            .map(|r| r.entries)
            .sum();
        let exported = {
            use futures::StreamExt;
            tx.export_entries(range).count().await as i64
        };
        drop(tx);
        assert_eq!(exported, entries, "one snapshot per read transaction");
        assert!(entries >= last, "counts never go back: {last} -> {entries}");
        if entries > 0 && entries < ENTRIES {
            partial_reads += 1;
        }
        last = entries;
        reads += 1;
        if finished {
            break;
        }
    }
    let report = sync.await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(last, ENTRIES);
    let mut tx = reader.read().await.unwrap();
    let health = tx.sync_health().await.unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].last_run_status.as_deref(), Some("ok"));
    assert_eq!(health[0].linked_entries, ENTRIES);
    eprintln!("{reads} reads during the cycle, {partial_reads} of them mid-way");
}
