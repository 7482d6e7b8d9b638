//! The `report` and `export` commands: open the ledger read-only (safe while the daemon
//! writes), check it has the reporting views, read one consistent snapshot, and write the
//! result. Separate from `commands` so tests can run them on any ledger and any writer.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::export::{write_entries, ExportError};
use super::{html, resolve_export_range, resolve_range, totals};
use crate::cli::{ExportArgs, ReportArgs, ReportFormat};
use crate::ledger::{DateRange, Ledger, LedgerError, TotalsBy, WeeklyBy};

/// Why a report or an export failed: each names the file or the step.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "no ledger at {} yet: run `timeweave sync` (or start the service) first, or set ledger.path",
        .0.display()
    )]
    NoLedger(PathBuf),
    #[error(
        "reading the ledger at {} (read-only: a reader needs read access to the file and to its -wal and -shm files, \
         which exist while the service runs; see docs/ledger.md)",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        #[source]
        source: LedgerError,
    },
    /// `location`: the ledger file, or its database URL without password.
    #[error(
        "the ledger at {location} lacks {missing} (reporting views): it was written by an older timeweave; run `timeweave migrate` (or restart the service) to upgrade it"
    )]
    OldLedger { location: String, missing: String },
    /// `--from`/`--to` that make no range.
    #[error("{0}")]
    Range(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("reading the ledger")]
    ExportReading(#[source] LedgerError),
    #[error("exporting to {}", path.display())]
    Export {
        path: PathBuf,
        #[source]
        source: ExportError,
    },
    #[error(transparent)]
    ExportWriting(ExportError),
    #[error("{} is not a file name", .0.display())]
    NotAFileName(PathBuf),
    /// `what`: the step, e.g. "creating PATH".
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// Wraps an I/O error with the step that failed.
fn io_step(what: String) -> impl FnOnce(io::Error) -> ReportError {
    move |source| ReportError::Io { what, source }
}

/// Fails unless a ledger exists at `path`: commands that only read or settle what a sync
/// left never create one.
pub fn require_ledger(path: &Path) -> Result<(), ReportError> {
    if !path.exists() {
        return Err(ReportError::NoLedger(path.to_owned()));
    }
    Ok(())
}

/// Opens the ledger at `path` read-only for reporting, with a clear error when it does not
/// exist yet or predates the reporting views.
pub async fn open_for_reading(path: &Path) -> Result<Ledger, ReportError> {
    require_ledger(path)?;
    let unreadable = |source| ReportError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let ledger = Ledger::open_read_only(path).await.map_err(unreadable)?;
    let missing = missing_views(&ledger).await.map_err(unreadable)?;
    refuse_old(&ledger, missing)?;
    Ok(ledger)
}

/// Fails when the ledger lacks a reporting view (or view column) this version reads.
pub async fn check_views(ledger: &Ledger) -> Result<(), ReportError> {
    let missing = missing_views(ledger).await?;
    refuse_old(ledger, missing)
}

async fn missing_views(ledger: &Ledger) -> Result<Vec<String>, LedgerError> {
    ledger.read().await?.missing_report_views().await
}

fn refuse_old(ledger: &Ledger, missing: Vec<String>) -> Result<(), ReportError> {
    if !missing.is_empty() {
        return Err(ReportError::OldLedger {
            location: ledger.location(),
            missing: missing.join(", "),
        });
    }
    Ok(())
}

/// `timeweave report`: totals for the range on `out` in the chosen format, and the HTML
/// report to `args.html` when asked (written under a partial name, then renamed into place).
pub async fn report_command(
    ledger_path: &Path,
    args: &ReportArgs,
    today: NaiveDate,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    // A range that cannot be is refused before the ledger is opened.
    resolve_range(args.from, args.to, today).map_err(ReportError::Range)?;
    report_on(open_for_reading(ledger_path).await?, args, today, out).await
}

/// `timeweave report` on an opened ledger (either backend; see [`check_views`]).
pub async fn report_on(
    ledger: Ledger,
    args: &ReportArgs,
    today: NaiveDate,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let range = resolve_range(args.from, args.to, today).map_err(ReportError::Range)?;
    let by = TotalsBy::from(args.by);
    let mut tx = ledger.read().await?;
    let rows = tx.report_totals(by, range).await?;
    if rows.is_empty() {
        match tx.work_date_span().await? {
            Some((first, last)) => eprintln!(
                "no entries between {} and {}; the ledger has entries from {first} to {last} (choose the range with --from and --to)",
                range.from, range.to
            ),
            None => eprintln!("the ledger has no time entries yet: has a sync run?"),
        }
    }
    let html_data = match &args.html {
        Some(_) => Some(html::HtmlData {
            range,
            by,
            totals: rows.clone(),
            weekly_projects: tx.weekly_hours(WeeklyBy::Project, range).await?,
            weekly_people: tx.weekly_hours(WeeklyBy::Person, range).await?,
            weekly_clients: tx.weekly_hours(WeeklyBy::Client, range).await?,
            currency: args.currency.clone(),
            sync_health: tx.sync_health().await?,
            source: ledger.location(),
            generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        }),
        None => None,
    };
    drop(tx);
    ledger.close().await;

    let currency = args.currency.as_deref();
    let written = match args.format {
        ReportFormat::Table => {
            out.write_all(totals::render_table(by, range, &rows, currency).as_bytes())
        }
        ReportFormat::Csv => totals::write_csv(out, by, &rows, currency),
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &totals::to_json(by, range, &rows, currency))
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
        }
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.map_err(io_step("writing the report".to_owned()))?,
    }

    if let (Some(path), Some(data)) = (&args.html, html_data) {
        let mut file = PartialFile::create(path)?;
        file.file()
            .write_all(html::render(&data).as_bytes())
            .map_err(io_step(format!(
                "writing the HTML report to {}",
                path.display()
            )))?;
        file.finish()?;
        eprintln!("wrote the HTML report to {}", path.display());
    }
    Ok(())
}

/// `timeweave export`: the entries of the range, streamed to `args.output` (a partial
/// file renamed into place when complete) or to `stdout`. Returns how many were written.
pub async fn export_command(
    ledger_path: &Path,
    args: &ExportArgs,
    today: NaiveDate,
    stdout: &mut dyn Write,
) -> Result<u64, ReportError> {
    export_on(open_for_reading(ledger_path).await?, args, today, stdout).await
}

/// `timeweave export` on an opened ledger (either backend; see [`check_views`]).
pub async fn export_on(
    ledger: Ledger,
    args: &ExportArgs,
    today: NaiveDate,
    stdout: &mut dyn Write,
) -> Result<u64, ReportError> {
    let mut tx = ledger.read().await?;
    let span = tx.work_date_span().await?;
    let span = span.and_then(|(first, last)| Some((first.parse().ok()?, last.parse().ok()?)));
    let range =
        resolve_export_range(args.from, args.to, span, today).map_err(ReportError::Range)?;
    let covered = describe_export_range(range, args, span);
    let written = match &args.output {
        Some(path) => {
            let mut file = PartialFile::create(path)?;
            let n = {
                let mut buffered = io::BufWriter::with_capacity(256 * 1024, file.file());
                write_entries(tx.export_entries(range), args.format, &mut buffered)
                    .await
                    .map_err(|source| ReportError::Export {
                        path: path.clone(),
                        source,
                    })?
            };
            file.finish()?;
            eprintln!("exported {n} entries ({covered}) to {}", path.display());
            n
        }
        None => {
            let mut buffered = io::BufWriter::with_capacity(64 * 1024, stdout);
            match write_entries(tx.export_entries(range), args.format, &mut buffered).await {
                Ok(n) => {
                    eprintln!("exported {n} entries ({covered})");
                    n
                }
                Err(e) if e.is_broken_pipe() => 0,
                Err(ExportError::Ledger(e)) => return Err(ReportError::ExportReading(e)),
                Err(e) => return Err(ReportError::ExportWriting(e)),
            }
        }
    };
    drop(tx);
    ledger.close().await;
    Ok(written)
}

/// What an export covered, for the closing line on stderr: the work dates, and whether that
/// is every entry of the ledger.
fn describe_export_range(
    range: DateRange,
    args: &ExportArgs,
    span: Option<(NaiveDate, NaiveDate)>,
) -> String {
    let whole = args.from.is_none() && args.to.is_none();
    match span {
        None => "the ledger has no time entries yet".to_owned(),
        Some(_) if whole => format!(
            "work dates {} to {}: every entry in the ledger",
            range.from, range.to
        ),
        Some((first, last)) => format!(
            "work dates {} to {}; the ledger's entries run from {first} to {last}",
            range.from, range.to
        ),
    }
}

/// A file written under a temporary name next to its final path (created like any new file,
/// so the umask applies) and renamed into place when complete: a reader never sees half a
/// file, and a failure removes the partial file and leaves any previous one in place. A path
/// that exists and is not a regular file (`/dev/stdout`, a named pipe) is written directly.
struct PartialFile {
    path: PathBuf,
    /// `None` when writing to `path` directly.
    partial: Option<PathBuf>,
    file: Option<File>,
}

impl PartialFile {
    fn create(path: &Path) -> Result<PartialFile, ReportError> {
        if path.exists() && !path.is_file() {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io_step(format!("opening {}", path.display())))?;
            return Ok(PartialFile {
                path: path.to_owned(),
                partial: None,
                file: Some(file),
            });
        }
        let name = path
            .file_name()
            .ok_or_else(|| ReportError::NotAFileName(path.to_owned()))?;
        let mut partial_name = OsString::from(".");
        partial_name.push(name);
        partial_name.push(format!(".{}.partial", std::process::id()));
        let partial = path.with_file_name(partial_name);
        let file =
            File::create(&partial).map_err(io_step(format!("creating {}", partial.display())))?;
        Ok(PartialFile {
            path: path.to_owned(),
            partial: Some(partial),
            file: Some(file),
        })
    }

    fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until finished")
    }

    fn finish(mut self) -> Result<(), ReportError> {
        let file = self.file.take().expect("open until finished");
        let Some(partial) = self.partial.take() else {
            return Ok(());
        };
        let renamed = file
            .sync_all()
            .map_err(io_step(format!("writing {}", partial.display())))
            .and_then(|()| {
                std::fs::rename(&partial, &self.path).map_err(io_step(format!(
                    "renaming {} to {}",
                    partial.display(),
                    self.path.display()
                )))
            });
        if renamed.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        renamed
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let (Some(_), Some(partial)) = (&self.file, &self.partial) {
            let _ = std::fs::remove_file(partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_partial_file_appears_only_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();

        let mut abandoned = PartialFile::create(&path).unwrap();
        abandoned.file().write_all(b"half").unwrap();
        assert_eq!(
            names(dir.path()).len(),
            2,
            "the partial file sits beside the target"
        );
        drop(abandoned);
        assert_eq!(names(dir.path()), ["out.csv"]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "old",
            "a failed write keeps the old file"
        );

        let mut done = PartialFile::create(&path).unwrap();
        done.file().write_all(b"new").unwrap();
        done.finish().unwrap();
        assert_eq!(names(dir.path()), ["out.csv"]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[cfg(unix)]
    #[test]
    fn device_paths_are_written_directly() {
        let mut null = PartialFile::create(Path::new("/dev/null")).unwrap();
        null.file().write_all(b"gone").unwrap();
        null.finish().unwrap();
        assert!(Path::new("/dev/null").exists());
    }
}
