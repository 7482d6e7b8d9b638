//! A reporting reader opened read-only (`Ledger::open_read_only`, as `timeweave report`
//! does) beside a writer that keeps inserting, tombstoning and recording runs, as a sync
//! does: every read succeeds, sees a consistent snapshot (the views agree with each other
//! within one read transaction), and counts only ever grow.

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
