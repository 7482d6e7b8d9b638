//! Report totals (one row per person, client, project, day, week or month) rendered for
//! people (a terminal table with a total line) or machines (CSV with a header, or one JSON
//! document), with hours and the billable amount (billable hours × each project's rate).

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
            ReportBy::Week => TotalsBy::Week,
            ReportBy::Month => TotalsBy::Month,
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
        TotalsBy::Week => ("week", None),
        TotalsBy::Month => ("month", None),
    }
}

/// How a missing group name reads in tables.
pub fn missing_label(by: TotalsBy) -> &'static str {
    match by {
        TotalsBy::Client => "(no client)",
        TotalsBy::Project => "(no project)",
        TotalsBy::Person | TotalsBy::Day | TotalsBy::Week | TotalsBy::Month => "(none)",
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
            amount_cents: None,
            unpriced_billable_seconds: 0,
        },
        |mut t, r| {
            t.entries += r.entries;
            t.running_entries += r.running_entries;
            t.seconds += r.seconds;
            t.billable_seconds += r.billable_seconds;
            t.amount_cents = match (t.amount_cents, r.amount_cents) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            t.unpriced_billable_seconds += r.unpriced_billable_seconds;
            t
        },
    )
}

/// Cents as an amount with two decimals (`1234.50`); `-` for none.
pub fn amount_text(cents: Option<i64>) -> String {
    match cents {
        Some(c) => format!(
            "{}{}.{:02}",
            if c < 0 { "-" } else { "" },
            c.unsigned_abs() / 100,
            c.unsigned_abs() % 100
        ),
        None => "-".to_owned(),
    }
}

/// The amount column's heading: `amount EUR`, or `amount` without a configured currency.
pub fn amount_heading(currency: Option<&str>) -> String {
    match currency {
        Some(code) => format!("amount {code}"),
        None => "amount".to_owned(),
    }
}

/// The line under a table when billable time has no rate to price it.
pub fn unpriced_note(total: &TotalRow) -> String {
    if total.unpriced_billable_seconds == 0 {
        return String::new();
    }
    format!(
        "{} billable hours are on projects without an hourly rate and not in the amounts.\n",
        hours_2(total.unpriced_billable_seconds)
    )
}

/// A terminal table with a title line, one row per group and a total line.
pub fn render_table(
    by: TotalsBy,
    range: DateRange,
    rows: &[TotalRow],
    currency: Option<&str>,
) -> String {
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
    let amount = amount_heading(currency);
    header.extend(["entries", "running", "hours", "billable h", &amount]);
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
            amount_text(r.amount_cents),
        ]);
        table.add_row(cells);
    };
    for r in rows {
        add(r, r.label.as_deref().unwrap_or(missing_label(by)));
    }
    let total = grand_total(rows);
    add(&total, "Total");
    let first_number = 1 + usize::from(detail.is_some());
    for i in first_number..first_number + 5 {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    format!("{title}{table}\n{}", unpriced_note(&total))
}

/// CSV: a header, then one line per group (no total line, so the file sums and pivots
/// cleanly). Hours have 4 decimals, amounts 2; a missing name or amount is an empty field.
pub fn write_csv<W: Write + ?Sized>(
    out: &mut W,
    by: TotalsBy,
    rows: &[TotalRow],
    currency: Option<&str>,
) -> io::Result<()> {
    let (key, detail) = key_columns(by);
    let mut header = vec![key];
    header.extend(detail);
    header.extend([
        "entries",
        "running_entries",
        "hours",
        "billable_hours",
        "billable_amount",
        "currency",
    ]);
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
            r.amount_cents
                .map(|c| amount_text(Some(c)))
                .unwrap_or_default(),
            currency.unwrap_or_default().to_owned(),
        ]);
        csv::write_record(out, fields)?;
    }
    Ok(())
}

/// One JSON document: the range, the grouping, the currency, the rows and their total.
/// Amounts are numbers with 2 decimals, `null` where no billable entry has a rate.
pub fn to_json(
    by: TotalsBy,
    range: DateRange,
    rows: &[TotalRow],
    currency: Option<&str>,
) -> serde_json::Value {
    let (key, detail) = key_columns(by);
    let numbers = |r: &TotalRow| {
        json!({
            "entries": r.entries,
            "running_entries": r.running_entries,
            "hours": hours_4(r.seconds),
            "billable_hours": hours_4(r.billable_seconds),
            "billable_amount": r.amount_cents.map(|c| c as f64 / 100.0),
            "unpriced_billable_hours": hours_4(r.unpriced_billable_seconds),
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
        "currency": currency,
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
            amount_cents: None,
            unpriced_billable_seconds: billable,
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
        let text = render_table(TotalsBy::Project, range(), &rows, None);
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
        assert!(
            render_table(TotalsBy::Day, range(), &[], None).contains("No entries in this range.")
        );
    }

    #[test]
    fn csv_has_a_header_and_quotes_names() {
        let mut out = Vec::new();
        write_csv(
            &mut out,
            TotalsBy::Person,
            &[row(Some("Smith, Jo"), Some("jo@x.org"), 5400, 5400)],
            None,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "person,email,entries,running_entries,hours,billable_hours,billable_amount,currency\n\"Smith, Jo\",jo@x.org,2,1,1.5,1.5,,\n"
        );
        let mut out = Vec::new();
        write_csv(
            &mut out,
            TotalsBy::Client,
            &[row(None, None, 3600, 0)],
            None,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "client,entries,running_entries,hours,billable_hours,billable_amount,currency\n,2,1,1,0,,\n"
        );
    }

    #[test]
    fn json_names_the_key_and_totals_exactly() {
        let rows = [
            row(Some("2026-03-02"), None, 1, 0),
            row(Some("2026-03-03"), None, 1, 1),
        ];
        let v = to_json(TotalsBy::Day, range(), &rows, None);
        assert_eq!(v["by"], "date");
        assert_eq!(v["from"], "2026-03-01");
        assert_eq!(v["rows"][1]["date"], "2026-03-03");
        assert_eq!(v["rows"][0]["hours"], 0.0003);
        assert_eq!(v["total"]["hours"], 0.0006);
        assert_eq!(v["total"]["entries"], 4);
        assert!(v["rows"][0].get("email").is_none());
        assert!(v["currency"].is_null() && v["total"]["billable_amount"].is_null());
    }

    fn priced(label: &str, billable: i64, cents: Option<i64>, unpriced: i64) -> TotalRow {
        TotalRow {
            amount_cents: cents,
            unpriced_billable_seconds: unpriced,
            ..row(Some(label), None, billable, billable)
        }
    }

    #[test]
    fn amounts_sum_priced_rows_and_name_the_currency() {
        let rows = [
            priced("2026-03", 9000, Some(30_000), 0),
            priced("2026-04", 3600, Some(12_050), 1800),
            priced("2026-05", 1800, None, 1800),
        ];
        let total = grand_total(&rows);
        assert_eq!(total.amount_cents, Some(42_050));
        assert_eq!(total.unpriced_billable_seconds, 3600);
        assert_eq!(grand_total(&rows[2..]).amount_cents, None);

        let text = render_table(TotalsBy::Month, range(), &rows, Some("EUR"));
        assert!(text.starts_with("Hours by month,"), "{text}");
        assert!(text.contains("amount EUR"), "{text}");
        let total_line = text.lines().find(|l| l.contains("Total")).unwrap();
        assert!(total_line.contains("420.50"), "{total_line}");
        let may = text.lines().find(|l| l.contains("2026-05")).unwrap();
        assert!(
            may.trim_end()
                .trim_end_matches('│')
                .trim_end()
                .ends_with('-'),
            "{may}"
        );
        assert!(
            text.contains("1.00 billable hours are on projects without an hourly rate"),
            "{text}"
        );

        let mut out = Vec::new();
        write_csv(&mut out, TotalsBy::Month, &rows, Some("EUR")).unwrap();
        let csv = String::from_utf8(out).unwrap();
        assert!(csv.starts_with("month,entries,"), "{csv}");
        assert!(csv.contains("\n2026-04,2,1,1,1,120.50,EUR\n"), "{csv}");
        assert!(csv.ends_with("\n2026-05,2,1,0.5,0.5,,EUR\n"), "{csv}");

        let v = to_json(TotalsBy::Week, range(), &rows, Some("EUR"));
        assert_eq!(v["by"], "week");
        assert_eq!(v["currency"], "EUR");
        assert_eq!(v["total"]["billable_amount"], 420.5);
        assert_eq!(v["total"]["unpriced_billable_hours"], 1.0);
        assert!(v["rows"][2]["billable_amount"].is_null());
    }

    #[test]
    fn amounts_read_as_money() {
        assert_eq!(amount_text(Some(0)), "0.00");
        assert_eq!(amount_text(Some(5)), "0.05");
        assert_eq!(amount_text(Some(123_456)), "1234.56");
        assert_eq!(amount_text(Some(-150)), "-1.50");
        assert_eq!(amount_text(None), "-");
    }
}
