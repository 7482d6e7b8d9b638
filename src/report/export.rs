//! `timeweave export`: time entries streamed from the ledger to CSV or JSON Lines, one row
//! at a time (constant memory whatever the range), with the columns of
//! `report_time_entries` that describe an entry (docs/ledger.md).

use std::io::{self, Write};

use futures::{Stream, StreamExt};
use serde::Serialize;
use thiserror::Error;

use super::csv;
use crate::cli::ExportFormat;
use crate::ledger::{EntryRow, LedgerError};

/// The exported columns, in order (the CSV header; the JSON keys): the view's.
pub use crate::ledger::ENTRY_COLUMNS as COLUMNS;

#[derive(Debug, Error)]
pub enum ExportError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("cannot write the export: {0}")]
    Write(#[from] io::Error),
}

impl ExportError {
    /// The reader went away (`timeweave export | head`): not a failure of the export.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ExportError::Write(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// One entry as a JSON line: tags as an array, providers as an array, flags as booleans.
#[derive(Serialize)]
struct JsonEntry<'a> {
    entry_id: &'a str,
    work_date: &'a str,
    person: &'a str,
    person_email: Option<&'a str>,
    client: Option<&'a str>,
    project: Option<&'a str>,
    task: Option<&'a str>,
    started_at_utc: &'a str,
    ended_at_utc: Option<&'a str>,
    started_at_local: &'a str,
    ended_at_local: Option<&'a str>,
    time_zone: &'a str,
    running: bool,
    break_seconds: i64,
    duration_seconds: i64,
    hours: f64,
    billable: bool,
    kind: &'a str,
    tags: Vec<String>,
    notes: Option<&'a str>,
    providers: Vec<&'a str>,
    origin: &'a str,
    updated_at: &'a str,
    person_id: &'a str,
    client_id: Option<&'a str>,
    project_id: Option<&'a str>,
    task_id: Option<&'a str>,
}

fn tags_of(e: &EntryRow) -> Result<Vec<String>, ExportError> {
    serde_json::from_str(&e.tags).map_err(|err| {
        ExportError::Ledger(LedgerError::Corrupt {
            what: format!("tags of time entry {}", e.entry_id),
            detail: err.to_string(),
        })
    })
}

fn write_json_line<W: Write + ?Sized>(out: &mut W, e: &EntryRow) -> Result<(), ExportError> {
    let line = JsonEntry {
        entry_id: &e.entry_id,
        work_date: &e.work_date,
        person: &e.person,
        person_email: e.person_email.as_deref(),
        client: e.client.as_deref(),
        project: e.project.as_deref(),
        task: e.task.as_deref(),
        started_at_utc: &e.started_at_utc,
        ended_at_utc: e.ended_at_utc.as_deref(),
        started_at_local: &e.started_at_local,
        ended_at_local: e.ended_at_local.as_deref(),
        time_zone: &e.time_zone,
        running: e.running,
        break_seconds: e.break_seconds,
        duration_seconds: e.duration_seconds,
        hours: e.hours,
        billable: e.billable,
        kind: &e.kind,
        tags: tags_of(e)?,
        notes: e.notes.as_deref(),
        providers: e
            .providers
            .as_deref()
            .map(|p| p.split(',').collect())
            .unwrap_or_default(),
        origin: &e.origin,
        updated_at: &e.updated_at,
        person_id: &e.person_id,
        client_id: e.client_id.as_deref(),
        project_id: e.project_id.as_deref(),
        task_id: e.task_id.as_deref(),
    };
    serde_json::to_writer(&mut *out, &line).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

fn write_csv_line<W: Write + ?Sized>(out: &mut W, e: &EntryRow) -> io::Result<()> {
    let flag = |b: bool| if b { "true" } else { "false" };
    let numbers = [
        e.break_seconds.to_string(),
        e.duration_seconds.to_string(),
        e.hours.to_string(),
    ];
    csv::write_record(
        out,
        [
            e.entry_id.as_str(),
            &e.work_date,
            &e.person,
            opt(&e.person_email),
            opt(&e.client),
            opt(&e.project),
            opt(&e.task),
            &e.started_at_utc,
            opt(&e.ended_at_utc),
            &e.started_at_local,
            opt(&e.ended_at_local),
            &e.time_zone,
            flag(e.running),
            &numbers[0],
            &numbers[1],
            &numbers[2],
            flag(e.billable),
            &e.kind,
            &e.tags,
            opt(&e.notes),
            opt(&e.providers),
            &e.origin,
            &e.updated_at,
            &e.person_id,
            opt(&e.client_id),
            opt(&e.project_id),
            opt(&e.task_id),
        ],
    )
}

/// Writes every entry of `rows` to `out` as it arrives; returns how many were written. CSV
/// starts with a header line (also when there are no entries); JSON Lines has one object per
/// line. `out` is flushed at the end.
pub async fn write_entries<S, W>(
    rows: S,
    format: ExportFormat,
    out: &mut W,
) -> Result<u64, ExportError>
where
    S: Stream<Item = Result<EntryRow, LedgerError>>,
    W: Write + ?Sized,
{
    if format == ExportFormat::Csv {
        csv::write_record(out, COLUMNS)?;
    }
    let mut rows = std::pin::pin!(rows);
    let mut written = 0u64;
    while let Some(row) = rows.next().await {
        let row = row?;
        match format {
            ExportFormat::Csv => write_csv_line(out, &row)?,
            ExportFormat::Jsonl => write_json_line(out, &row)?,
        }
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> EntryRow {
        EntryRow {
            entry_id: "e1".into(),
            work_date: "2026-03-11".into(),
            person: "Smith, \"Jo\"".into(),
            person_email: Some("jo@example.org".into()),
            client: None,
            project: Some("Apollo".into()),
            task: None,
            started_at_utc: "2026-03-10T23:30:00Z".into(),
            ended_at_utc: Some("2026-03-11T00:00:00Z".into()),
            started_at_local: "2026-03-11T00:30:00".into(),
            ended_at_local: Some("2026-03-11T01:00:00".into()),
            time_zone: "Europe/Rome".into(),
            running: false,
            break_seconds: 0,
            duration_seconds: 1800,
            hours: 0.5,
            billable: true,
            kind: "work".into(),
            tags: r#"["a","b c"]"#.into(),
            notes: Some("line one\nline two".into()),
            providers: Some("tm,tt".into()),
            origin: "tt".into(),
            updated_at: "2026-03-11T00:00:00.000Z".into(),
            person_id: "p1".into(),
            client_id: None,
            project_id: Some("pr1".into()),
            task_id: None,
        }
    }

    async fn export(format: ExportFormat, rows: Vec<EntryRow>) -> String {
        let expected = rows.len() as u64;
        let mut out = Vec::new();
        let n = write_entries(
            futures::stream::iter(rows.into_iter().map(Ok)),
            format,
            &mut out,
        )
        .await
        .unwrap();
        assert_eq!(n, expected);
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn csv_has_the_header_and_quoted_fields() {
        assert_eq!(
            export(ExportFormat::Csv, vec![]).await,
            format!("{}\n", COLUMNS.join(","))
        );
        let text = export(ExportFormat::Csv, vec![entry()]).await;
        let body = text.split_once('\n').unwrap().1;
        assert_eq!(
            body,
            "e1,2026-03-11,\"Smith, \"\"Jo\"\"\",jo@example.org,,Apollo,,2026-03-10T23:30:00Z,2026-03-11T00:00:00Z,\
             2026-03-11T00:30:00,2026-03-11T01:00:00,Europe/Rome,false,0,1800,0.5,true,work,\"[\"\"a\"\",\"\"b c\"\"]\",\
             \"line one\nline two\",\"tm,tt\",tt,2026-03-11T00:00:00.000Z,p1,,pr1,\n"
        );
    }

    #[tokio::test]
    async fn json_lines_have_typed_values() {
        let text = export(ExportFormat::Jsonl, vec![entry(), entry()]).await;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["person"], "Smith, \"Jo\"");
        assert_eq!(v["tags"], serde_json::json!(["a", "b c"]));
        assert_eq!(v["providers"], serde_json::json!(["tm", "tt"]));
        assert_eq!(v["running"], false);
        assert_eq!(v["hours"], 0.5);
        assert_eq!(v["client"], serde_json::Value::Null);
        assert_eq!(v["notes"], "line one\nline two");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), COLUMNS.len());
    }

    #[tokio::test]
    async fn corrupt_tags_are_named() {
        let mut bad = entry();
        bad.tags = "not json".into();
        let err = write_entries(
            futures::stream::iter([Ok(bad)]),
            ExportFormat::Jsonl,
            &mut Vec::new(),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("tags of time entry e1"), "{err}");
    }

    #[tokio::test]
    async fn a_closed_pipe_is_recognised() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_entries(
            futures::stream::iter([Ok(entry())]),
            ExportFormat::Csv,
            &mut Closed,
        )
        .await
        .unwrap_err();
        assert!(err.is_broken_pipe());
    }
}
