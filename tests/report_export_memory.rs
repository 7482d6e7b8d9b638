//! `timeweave export` runs in constant memory: a ledger of entries exported to CSV and to
//! JSON Lines grows the process's peak resident memory by far less than the rows would take
//! if they were collected. Linux only (reads /proc/self/status). Always on: 100,000 entries
//! (about 30 and 60 MiB of output, +16 MiB allowed). Ignored by default because it takes
//! over a minute in a debug build: 1,000,000 entries (+64 MiB allowed), run with
//! `cargo test -p timeweave --release --test report_export_memory -- --ignored --nocapture`.
//! The tests take turns (one lock), so neither disturbs the other's measurement. Figures are
//! printed (--nocapture), never asserted against a clock.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timeweave::cli::{ExportArgs, ExportFormat};
use timeweave::ledger::Ledger;
use timeweave_contract::{CanonicalId, Person, Project, Record};

/// One measurement at a time.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS; false where not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Counts bytes and lines, keeps nothing.
#[derive(Default)]
struct Counter {
    bytes: u64,
    lines: u64,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len() as u64;
        self.lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Samples VmRSS every few milliseconds until stopped; returns the highest value seen.
fn sample_rss(stop: Arc<AtomicBool>, peak: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            peak.fetch_max(status_kib("VmRSS:"), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// Exports every entry of the ledger at `path` once, checks the output's size and that
/// peak RSS grew by less than `max_growth_kib`.
async fn export_once(
    path: &std::path::Path,
    entries: i64,
    format: ExportFormat,
    label: &str,
    max_growth_kib: u64,
) {
    let baseline = status_kib("VmRSS:");
    let reset = reset_peak();
    let stop = Arc::new(AtomicBool::new(false));
    let sampled = Arc::new(AtomicU64::new(baseline));
    let sampler = sample_rss(stop.clone(), sampled.clone());
    let args = ExportArgs {
        from: Some("1990-01-01".parse().unwrap()),
        to: Some("2099-12-31".parse().unwrap()),
        format,
        output: None,
    };
    let mut counter = Counter::default();
    let started = Instant::now();
    let written =
        timeweave::report::export_command(path, &args, "2026-01-01".parse().unwrap(), &mut counter)
            .await
            .unwrap();
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = if reset {
        status_kib("VmHWM:").max(sampled.load(Ordering::Relaxed))
    } else {
        sampled.load(Ordering::Relaxed)
    };
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "export {label}: {written} entries, {} MiB in {:.1} s ({:.0} entries/s); RSS before {} MiB, peak {} MiB (+{} MiB; peak mark reset: {reset})",
        counter.bytes / (1024 * 1024),
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64(),
        baseline / 1024,
        peak / 1024,
        growth / 1024,
    );
    assert_eq!(written, entries as u64);
    let header = u64::from(format == ExportFormat::Csv);
    assert_eq!(counter.lines, entries as u64 + header);
    assert!(
        counter.bytes > max_growth_kib * 1024,
        "the export ({} bytes) is larger than the allowed growth",
        counter.bytes
    );
    assert!(
        growth < max_growth_kib,
        "export {label} grew peak RSS by {} MiB (limit {} MiB)",
        growth / 1024,
        max_growth_kib / 1024
    );
}

/// A ledger of `entries` synthetic entries (one statement), in a new temporary directory.
async fn seeded_ledger(entries: i64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::open(&path).await.unwrap();
    let mut tx = ledger.write().await.unwrap();
    let now = chrono::Utc::now();
    let person = tx
        .insert_record(
            &Record::Person(Person {
                display_name: "Synthetic, \"Sam\"".into(),
                email: Some("sam@example.com".into()),
                username: None,
            }),
            "tt",
            now,
        )
        .await
        .unwrap()
        .id;
    let project = tx
        .insert_record(
            &Record::<CanonicalId>::Project(Project {
                client: None,
                name: "Bulk".into(),
                billable: true,
                hourly_rate_cents: None,
                archived: false,
            }),
            "tt",
            now,
        )
        .await
        .unwrap()
        .id;
    let started = Instant::now();
    let n = tx
        .seed_synthetic_entries(
            &person,
            Some(&project),
            "1990-01-01".parse().unwrap(),
            entries,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, entries as u64);
    eprintln!(
        "seeded {n} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ledger.close().await;
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporting_100k_entries_runs_in_constant_memory() {
    let _turn = MEASURING.lock().await;
    let entries = 100_000;
    let (_dir, path) = seeded_ledger(entries).await;
    export_once(&path, entries, ExportFormat::Csv, "csv", 16 * 1024).await;
    export_once(&path, entries, ExportFormat::Jsonl, "jsonl", 16 * 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a minute or more in a debug build; run with --release --ignored"]
async fn exporting_a_million_entries_runs_in_constant_memory() {
    let _turn = MEASURING.lock().await;
    let entries = 1_000_000;
    let (_dir, path) = seeded_ledger(entries).await;
    export_once(&path, entries, ExportFormat::Csv, "csv", 64 * 1024).await;
    export_once(&path, entries, ExportFormat::Jsonl, "jsonl", 64 * 1024).await;
}
