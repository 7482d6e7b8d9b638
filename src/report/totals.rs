//! Report totals (one row per person, client, project or day) rendered for people (a
//! terminal table with a total line) or machines (CSV with a header, or one JSON document).

use std::io::{self, Write};

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde_json::json;

use super::{csv, hours_2, hours_4};
use crate::cli::ReportBy;
use crate::ledger::{DateRange, TotalRow, TotalsBy};

impl From<ReportBy> for TotalsBy {
    fn from(by: ReportBy) -> Self {
        match by {
            ReportBy::Person => TotalsBy::Person,
            ReportBy::Client => TotalsBy::Client,
            ReportBy::Project => TotalsBy::Project,
            ReportBy::Day => TotalsBy::Day,
        }
    }
}

/// The name of the group column and of the optional second column.
pub fn key_columns(by: TotalsBy) -> (&'static str, Option<&'static str>) {
    match by {
        TotalsBy::Person => ("person", Some("email")),
        TotalsBy::Client => ("client", None),
        TotalsBy::Project => ("project", Some("client")),
        TotalsBy::Day => ("date", None),
    }
}

/// How a missing group name reads in tables.
pub fn missing_label(by: TotalsBy) -> &'static str {
    match by {
        TotalsBy::Client => "(no client)",
        TotalsBy::Project => "(no project)",
        TotalsBy::Person | TotalsBy::Day => "(none)",
    }
}

/// The sum of all rows (the rows are disjoint groups of the same entries).
pub fn grand_total(rows: &[TotalRow]) -> TotalRow {
    rows.iter().fold(
        TotalRow {
            label: Some("Total".into()),
            detail: None,
            entries: 0,
            running_entries: 0,
            seconds: 0,
            billable_seconds: 0,
        },
        |mut t, r| {
            t.entries += r.entries;
            t.running_entries += r.running_entries;
            t.seconds += r.seconds;
            t.billable_seconds += r.billable_seconds;
            t
        },
    )
}

/// A terminal table with a title line, one row per group and a total line.
pub fn render_table(by: TotalsBy, range: DateRange, rows: &[TotalRow]) -> String {
    let (key, detail) = key_columns(by);
    let title = format!(
        "Hours by {key}, {} to {} (local work dates; running timers count 0 h until stopped)\n",
        range.from, range.to
    );
    if rows.is_empty() {
        return format!("{title}No entries in this range.\n");
    }
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let mut header = vec![key];
    header.extend(detail);
    header.extend(["entries", "running", "hours", "billable h"]);
    table.set_header(header);
    let mut add = |r: &TotalRow, label: &str| {
        let mut cells = vec![label.to_owned()];
        if detail.is_some() {
            cells.push(r.detail.clone().unwrap_or_default());
        }
        cells.extend([
            r.entries.to_string(),
            r.running_entries.to_string(),
            hours_2(r.seconds),
            hours_2(r.billable_seconds),
        ]);
        table.add_row(cells);
    };
    for r in rows {
        add(r, r.label.as_deref().unwrap_or(missing_label(by)));
    }
    add(&grand_total(rows), "Total");
    let first_number = 1 + usize::from(detail.is_some());
    for i in first_number..first_number + 4 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    format!("{title}{table}\n")
}

/// CSV: a header, then one line per group (no total line, so the file sums and pivots
/// cleanly). Hours have 4 decimals; a missing name is an empty field.
pub fn write_csv<W: Write + ?Sized>(
    out: &mut W,
    by: TotalsBy,
    rows: &[TotalRow],
) -> io::Result<()> {
    let (key, detail) = key_columns(by);
    let mut header = vec![key];
    header.extend(detail);
    header.extend(["entries", "running_entries", "hours", "billable_hours"]);
    csv::write_record(out, header)?;
    for r in rows {
        let mut fields = vec![r.label.clone().unwrap_or_default()];
        if detail.is_some() {
            fields.push(r.detail.clone().unwrap_or_default());
        }
        fields.extend([
            r.entries.to_string(),
            r.running_entries.to_string(),
            hours_4(r.seconds).to_string(),
            hours_4(r.billable_seconds).to_string(),
        ]);
        csv::write_record(out, fields)?;
    }
    Ok(())
}

/// One JSON document: the range, the grouping, the rows and their total.
pub fn to_json(by: TotalsBy, range: DateRange, rows: &[TotalRow]) -> serde_json::Value {
    let (key, detail) = key_columns(by);
    let numbers = |r: &TotalRow| {
        json!({
            "entries": r.entries,
            "running_entries": r.running_entries,
            "hours": hours_4(r.seconds),
            "billable_hours": hours_4(r.billable_seconds),
        })
    };
    let total = numbers(&grand_total(rows));
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = numbers(r);
            v[key] = json!(r.label);
            if let Some(detail) = detail {
                v[detail] = json!(r.detail);
            }
            v
        })
        .collect();
    json!({
        "from": range.from.to_string(),
        "to": range.to.to_string(),
        "by": key,
        "rows": rows,
        "total": total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: Option<&str>, detail: Option<&str>, seconds: i64, billable: i64) -> TotalRow {
        TotalRow {
            label: label.map(Into::into),
            detail: detail.map(Into::into),
            entries: 2,
            running_entries: 1,
            seconds,
            billable_seconds: billable,
        }
    }

    fn range() -> DateRange {
        DateRange {
            from: "2026-03-01".parse().unwrap(),
            to: "2026-03-31".parse().unwrap(),
        }
    }

    #[test]
    fn table_has_a_row_per_group_and_a_total() {
        let rows = [
            row(Some("Apollo"), Some("Acme, Inc."), 5400, 3600),
            row(None, None, 1800, 0),
        ];
        let text = render_table(TotalsBy::Project, range(), &rows);
        assert!(
            text.starts_with("Hours by project, 2026-03-01 to 2026-03-31"),
            "{text}"
        );
        for needle in [
            "project",
            "client",
            "Apollo",
            "Acme, Inc.",
            "(no project)",
            "1.50",
            "0.50",
            "2.00",
            "Total",
        ] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
        let total_line = text.lines().find(|l| l.contains("Total")).unwrap();
        assert!(
            total_line.contains(" 4 ")
                && total_line.contains("2.00")
                && total_line.contains("1.00"),
            "{total_line}"
        );
        assert!(render_table(TotalsBy::Day, range(), &[]).contains("No entries in this range."));
    }

    #[test]
    fn csv_has_a_header_and_quotes_names() {
        let mut out = Vec::new();
        write_csv(
            &mut out,
            TotalsBy::Person,
            &[row(Some("Smith, Jo"), Some("jo@x.org"), 5400, 5400)],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "person,email,entries,running_entries,hours,billable_hours\n\"Smith, Jo\",jo@x.org,2,1,1.5,1.5\n"
        );
        let mut out = Vec::new();
        write_csv(&mut out, TotalsBy::Client, &[row(None, None, 3600, 0)]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "client,entries,running_entries,hours,billable_hours\n,2,1,1,0\n"
        );
    }

    #[test]
    fn json_names_the_key_and_totals_exactly() {
        let rows = [
            row(Some("2026-03-02"), None, 1, 0),
            row(Some("2026-03-03"), None, 1, 1),
        ];
        let v = to_json(TotalsBy::Day, range(), &rows);
        assert_eq!(v["by"], "date");
        assert_eq!(v["from"], "2026-03-01");
        assert_eq!(v["rows"][1]["date"], "2026-03-03");
        assert_eq!(v["rows"][0]["hours"], 0.0003);
        assert_eq!(v["total"]["hours"], 0.0006);
        assert_eq!(v["total"]["entries"], 4);
        assert!(v["rows"][0].get("email").is_none());
    }
}
