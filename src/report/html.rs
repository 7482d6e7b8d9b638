//! The HTML report: one self-contained file (inline CSS and SVG, no script, no external
//! resource, readable offline and printable) with the range's summary, weekly hours charts
//! per project and per person, the totals table and the sync health of each provider. All
//! text from the ledger is escaped.

use std::fmt::Write as _;

use super::chart::{svg, WeeklyChart};
use super::hours_2;
use super::totals::{
    amount_heading, amount_text, grand_total, key_columns, missing_label, unpriced_note,
};
use crate::ledger::{DateRange, SyncHealthRow, TotalRow, TotalsBy, WeeklyHours};

/// Series shown per chart before the rest is folded into "Other".
const MAX_SERIES: usize = 8;

/// Everything the report shows, read from one ledger snapshot.
#[derive(Clone, Debug)]
pub struct HtmlData {
    pub range: DateRange,
    pub by: TotalsBy,
    pub totals: Vec<TotalRow>,
    pub weekly_projects: Vec<WeeklyHours>,
    pub weekly_people: Vec<WeeklyHours>,
    pub weekly_clients: Vec<WeeklyHours>,
    /// The amounts' currency code, if configured.
    pub currency: Option<String>,
    pub sync_health: Vec<SyncHealthRow>,
    /// Where the data came from (the ledger path), shown in the header.
    pub source: String,
    pub generated_at: String,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #dde1e8; --band: #f5f7fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1080px; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.15em; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta, .note { color: var(--muted); font-size: .9em; margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 20px 0 0; }
.card { background: var(--band); border-radius: 8px; padding: 10px 16px; min-width: 140px; }
.card .num { display: block; font-size: 1.6em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .what { color: var(--muted); font-size: .85em; }
.chart-box { overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis-line { stroke: var(--muted); stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 10px; }
svg .total { fill: var(--ink); font-size: 10px; }
svg rect:hover { opacity: .8; }
ul.legend { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: .9em; }
ul.legend .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
ul.legend .h { color: var(--muted); font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 600; border-top: 2px solid var(--ink); }
.missing { color: var(--muted); font-style: italic; }
.bad { color: #b42318; font-weight: 600; }
.ok { color: #067647; }
.empty { color: var(--muted); font-style: italic; }
@media print { body { padding: 0; } h2 { break-after: avoid; } .chart-box, table { break-inside: avoid; } }
"#;

fn card(out: &mut String, id: &str, value: &str, what: &str) {
    let _ = write!(
        out,
        r#"<div class="card" id="{id}"><span class="num">{}</span><span class="what">{}</span></div>"#,
        escape(value),
        escape(what)
    );
}

fn chart_section(out: &mut String, id: &str, heading: &str, chart: &WeeklyChart) {
    let _ = write!(out, r#"<section id="{id}"><h2>{}</h2>"#, escape(heading));
    if chart.is_empty() {
        out.push_str(r#"<p class="empty">No entries in this range.</p></section>"#);
        return;
    }
    if chart.clipped {
        let (first, last) = (chart.weeks[0], chart.weeks[chart.weeks.len() - 1]);
        let _ = write!(
            out,
            r#"<p class="note">From the first to the last week with entries: {first} to {last}.</p>"#
        );
    }
    let _ = write!(
        out,
        r#"<div class="chart-box">{}</div><ul class="legend">"#,
        svg(chart, heading)
    );
    for s in &chart.series {
        let _ = write!(
            out,
            r#"<li><span class="swatch" style="background:{}"></span>{} <span class="h">{} h</span></li>"#,
            s.colour,
            escape(&s.label),
            hours_2(s.total_seconds)
        );
    }
    out.push_str("</ul></section>");
}

fn totals_section(out: &mut String, data: &HtmlData) {
    let (key, detail) = key_columns(data.by);
    let _ = write!(out, r#"<section id="totals"><h2>Totals by {key}</h2>"#);
    if data.totals.is_empty() {
        out.push_str(r#"<p class="empty">No entries in this range.</p></section>"#);
        return;
    }
    let _ = write!(out, "<table><thead><tr><th>{key}</th>");
    if let Some(detail) = detail {
        let _ = write!(out, "<th>{detail}</th>");
    }
    let _ = write!(
        out,
        r#"<th class="n">entries</th><th class="n">running</th><th class="n">hours</th><th class="n">billable h</th><th class="n">{}</th><th class="n">share</th></tr></thead><tbody>"#,
        escape(&amount_heading(data.currency.as_deref()))
    );
    let total = grand_total(&data.totals);
    let row = |out: &mut String, r: &TotalRow, label_html: String| {
        let _ = write!(out, "<td>{label_html}</td>");
        if detail.is_some() {
            let _ = write!(
                out,
                "<td>{}</td>",
                escape(r.detail.as_deref().unwrap_or(""))
            );
        }
        let share = if total.seconds > 0 {
            format!("{:.1}%", r.seconds as f64 * 100.0 / total.seconds as f64)
        } else {
            "-".into()
        };
        let _ = write!(
            out,
            r#"<td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{share}</td>"#,
            r.entries,
            r.running_entries,
            hours_2(r.seconds),
            hours_2(r.billable_seconds),
            amount_text(r.amount_cents)
        );
    };
    for r in &data.totals {
        out.push_str("<tr>");
        let label = match &r.label {
            Some(l) => escape(l),
            None => format!(r#"<span class="missing">{}</span>"#, missing_label(data.by)),
        };
        row(out, r, label);
        out.push_str("</tr>");
    }
    out.push_str("</tbody><tfoot><tr>");
    row(out, &total, "Total".into());
    out.push_str("</tr></tfoot></table>");
    let note = unpriced_note(&total);
    if !note.is_empty() {
        let _ = write!(out, r#"<p class="note">{}</p>"#, escape(note.trim_end()));
    }
    out.push_str("</section>");
}

fn lag_text(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// `2026-03-20T11:05:00.000Z` as `2026-03-20 11:05`.
fn short_time(t: Option<&str>) -> String {
    match t {
        Some(t) if t.len() >= 16 => t[..16].replacen('T', " ", 1),
        Some(t) => t.to_owned(),
        None => "-".into(),
    }
}

fn health_section(out: &mut String, rows: &[SyncHealthRow]) {
    out.push_str(r#"<section id="sync-health"><h2>Sync health</h2>"#);
    if rows.is_empty() {
        out.push_str(
            r#"<p class="empty">No provider has synced into this ledger yet.</p></section>"#,
        );
        return;
    }
    out.push_str(r#"<table><thead><tr><th>provider</th><th>last cycle</th><th>finished (UTC)</th><th class="n">since last success</th><th class="n">open conflicts</th><th class="n">pending pushes</th><th class="n">record issues</th><th class="n">linked entries</th><th>last error</th></tr></thead><tbody>"#);
    for r in rows {
        let status = r.last_run_status.as_deref().unwrap_or("never ran");
        let class = match status {
            "ok" => "ok",
            "partial" | "running" => "",
            _ => "bad",
        };
        let flag = |n: i64| {
            if n > 0 {
                format!(r#"<td class="n bad">{n}</td>"#)
            } else {
                format!(r#"<td class="n">{n}</td>"#)
            }
        };
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="{class}">{}</td><td>{}</td><td class="n">{}</td>{}{}{}<td class="n">{}</td><td>{}</td></tr>"#,
            escape(&r.provider),
            escape(status),
            escape(&short_time(r.last_run_finished_at.as_deref())),
            r.lag_seconds
                .map(lag_text)
                .unwrap_or_else(|| "never".into()),
            flag(r.open_conflicts),
            flag(r.pending_pushes),
            flag(r.record_issues),
            r.linked_entries,
            escape(r.last_run_last_error.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table></section>");
}

/// The whole document.
pub fn render(data: &HtmlData) -> String {
    let range = data.range;
    let projects = WeeklyChart::build(&data.weekly_projects, range, "(no project)", MAX_SERIES);
    let people = WeeklyChart::build(&data.weekly_people, range, "(unknown person)", MAX_SERIES);
    let clients = WeeklyChart::build(&data.weekly_clients, range, "(no client)", MAX_SERIES);
    let total = grand_total(&data.totals);
    let title = format!("timeweave: hours {} to {}", range.from, range.to);

    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="timeweave"><title>{}</title><style>{STYLE}</style></head><body>"#,
        escape(&title)
    );
    let _ = write!(
        out,
        r#"<header><h1>Hours {} to {}</h1><p class="meta">Local work dates (each entry's own time zone), Monday-to-Sunday weeks. Running timers count 0 hours until stopped. Generated {} from {}.</p></header>"#,
        range.from,
        range.to,
        escape(&data.generated_at),
        escape(&data.source)
    );
    out.push_str(r#"<div class="cards">"#);
    card(&mut out, "total-hours", &hours_2(total.seconds), "hours");
    card(
        &mut out,
        "billable-hours",
        &hours_2(total.billable_seconds),
        "billable hours",
    );
    card(
        &mut out,
        "billable-amount",
        &amount_text(total.amount_cents),
        &match &data.currency {
            Some(code) => format!("billable amount ({code})"),
            None => "billable amount".to_owned(),
        },
    );
    card(
        &mut out,
        "entry-count",
        &total.entries.to_string(),
        "entries",
    );
    card(
        &mut out,
        "running-count",
        &total.running_entries.to_string(),
        "running timers",
    );
    out.push_str("</div>");
    chart_section(
        &mut out,
        "weekly-projects",
        "Weekly hours per project",
        &projects,
    );
    chart_section(
        &mut out,
        "weekly-clients",
        "Weekly hours per client",
        &clients,
    );
    chart_section(
        &mut out,
        "weekly-people",
        "Weekly hours per person",
        &people,
    );
    totals_section(&mut out, data);
    health_section(&mut out, &data.sync_health);
    out.push_str(r#"<footer><p class="note">The numbers come from the ledger's reporting views (report_time_entries, report_daily_hours, report_sync_health); see docs/ledger.md.</p></footer></body></html>"#);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(escape("Zoë"), "Zoë");
    }

    #[test]
    fn lag_reads_naturally() {
        assert_eq!(lag_text(59), "59 s");
        assert_eq!(lag_text(600), "10 min");
        assert_eq!(lag_text(36_000), "10 h");
        assert_eq!(lag_text(864_000), "10 days");
        assert_eq!(
            short_time(Some("2026-03-20T11:05:00.000Z")),
            "2026-03-20 11:05"
        );
        assert_eq!(short_time(None), "-");
    }
}
