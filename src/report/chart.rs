//! Weekly stacked bar charts as inline SVG (no script, no external resource): one bar per
//! week of the range (Monday to Sunday, local work dates), one coloured segment per series
//! (person or project), the largest series first and the rest folded into "Other".

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};

use super::html::escape;
use crate::ledger::{DateRange, WeeklyHours};

/// Series colours (Observable 10), then the colour of "Other".
const PALETTE: [&str; 8] = [
    "#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5",
];
const OTHER_COLOUR: &str = "#9a9a9a";

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub colour: &'static str,
    pub total_seconds: i64,
}

/// The chart's data: `values[s][w]` is the seconds of series `s` in week `w`.
#[derive(Clone, Debug, PartialEq)]
pub struct WeeklyChart {
    pub weeks: Vec<NaiveDate>,
    pub series: Vec<Series>,
    pub values: Vec<Vec<i64>>,
    /// Empty weeks at the start and end of a long range were left out.
    pub clipped: bool,
}

/// Ranges of more weeks than this are drawn from their first to their last week with
/// entries.
pub const CLIP_AFTER_WEEKS: usize = 53;

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.weekday().num_days_from_monday()))
}

/// The Mondays of every week the range touches.
pub fn weeks_of(range: DateRange) -> Vec<NaiveDate> {
    let mut weeks = Vec::new();
    let mut w = monday_of(range.from);
    while w <= range.to {
        weeks.push(w);
        match w.checked_add_days(Days::new(7)) {
            Some(next) => w = next,
            None => break,
        }
    }
    weeks
}

impl WeeklyChart {
    /// Groups `rows` into at most `max_series` series (the largest `max_series - 1` and
    /// "Other" when there are more); `missing` names rows without a key (no project).
    pub fn build(rows: &[WeeklyHours], range: DateRange, missing: &str, max_series: usize) -> Self {
        let weeks = weeks_of(range);
        let week_index: HashMap<String, usize> = weeks
            .iter()
            .enumerate()
            .map(|(i, w)| (w.format("%Y-%m-%d").to_string(), i))
            .collect();
        // Series by key, in first-seen order, with their totals.
        let mut keys: Vec<(Option<&str>, String, i64)> = Vec::new();
        let mut key_index: HashMap<Option<&str>, usize> = HashMap::new();
        for r in rows {
            let i = *key_index.entry(r.key.as_deref()).or_insert_with(|| {
                keys.push((
                    r.key.as_deref(),
                    r.label.clone().unwrap_or_else(|| missing.to_owned()),
                    0,
                ));
                keys.len() - 1
            });
            keys[i].2 += r.seconds;
        }
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| {
            keys[b]
                .2
                .cmp(&keys[a].2)
                .then_with(|| keys[a].1.cmp(&keys[b].1))
        });
        let max_series = max_series.max(2);
        let shown = if order.len() > max_series {
            max_series - 1
        } else {
            order.len()
        };
        let mut slot_of_key = vec![0usize; keys.len()];
        let mut series = Vec::new();
        for (slot, &k) in order.iter().enumerate() {
            if slot < shown {
                slot_of_key[k] = slot;
                series.push(Series {
                    label: keys[k].1.clone(),
                    colour: PALETTE[slot % PALETTE.len()],
                    total_seconds: keys[k].2,
                });
            } else {
                slot_of_key[k] = shown;
            }
        }
        if order.len() > shown {
            let folded = &order[shown..];
            series.push(Series {
                label: format!("Other ({})", folded.len()),
                colour: OTHER_COLOUR,
                total_seconds: folded.iter().map(|&k| keys[k].2).sum(),
            });
        }
        let mut values = vec![vec![0i64; weeks.len()]; series.len()];
        let mut used = vec![false; weeks.len()];
        for r in rows {
            if let (Some(&w), Some(&k)) = (
                week_index.get(&r.week_start),
                key_index.get(&r.key.as_deref()),
            ) {
                values[slot_of_key[k]][w] += r.seconds;
                used[w] = true;
            }
        }
        let mut chart = WeeklyChart {
            weeks,
            series,
            values,
            clipped: false,
        };
        // A long range (a year or more) is drawn from its first to its last week with
        // entries, so the bars stay readable; a shorter one shows its empty weeks too.
        if chart.weeks.len() > CLIP_AFTER_WEEKS {
            if let (Some(first), Some(last)) =
                (used.iter().position(|&u| u), used.iter().rposition(|&u| u))
            {
                if first > 0 || last + 1 < chart.weeks.len() {
                    chart.weeks = chart.weeks[first..=last].to_vec();
                    for v in &mut chart.values {
                        *v = v[first..=last].to_vec();
                    }
                    chart.clipped = true;
                }
            }
        }
        chart
    }

    pub fn week_total(&self, w: usize) -> i64 {
        self.values.iter().map(|v| v[w]).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// The y axis for a largest value of `max` hours: a round step (1, 2, 2.5 or 5 times a
/// power of ten) and the number of steps (at most 4) up to the axis top.
fn y_axis(max: f64) -> (f64, u32) {
    let raw = (max / 4.0).max(0.25);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw - 1e-9)
        .unwrap_or(10.0 * magnitude);
    let steps = ((max / step) - 1e-9).ceil().max(1.0) as u32;
    (step, steps)
}

fn hours(seconds: i64) -> f64 {
    seconds as f64 / 3600.0
}

/// The chart as an `<svg>` element; `title` labels it for screen readers.
pub fn svg(chart: &WeeklyChart, title: &str) -> String {
    const LEFT: f64 = 56.0;
    const RIGHT: f64 = 36.0;
    const TOP: f64 = 18.0;
    const PLOT_H: f64 = 220.0;
    const BOTTOM: f64 = 34.0;
    let n = chart.weeks.len().max(1);
    let step = (920.0 / n as f64).clamp(3.0, 90.0);
    let bar = (step * 0.72).max(2.0);
    let width = LEFT + RIGHT + step * n as f64;
    let height = TOP + PLOT_H + BOTTOM;
    let max_week = (0..chart.weeks.len())
        .map(|w| chart.week_total(w))
        .max()
        .unwrap_or(0);
    let (tick, ticks) = y_axis(hours(max_week));
    let y_max = tick * f64::from(ticks);
    let y = |h: f64| TOP + PLOT_H - h / y_max * PLOT_H;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = write!(s, "<title>{}</title>", escape(title));
    // Grid and y axis labels.
    for i in 0..=ticks {
        let h = tick * f64::from(i);
        let gy = y(h);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT:.1}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            width - RIGHT,
            LEFT - 6.0,
            gy + 4.0,
            trim_number(h)
        );
    }
    let _ = write!(
        s,
        r#"<text class="axis" x="12" y="{:.1}" transform="rotate(-90 12 {:.1})" text-anchor="middle">hours</text>"#,
        TOP + PLOT_H / 2.0,
        TOP + PLOT_H / 2.0
    );
    // Bars, bottom-up in series order.
    let label_every = (64.0 / step).ceil().max(1.0) as usize;
    for (w, week) in chart.weeks.iter().enumerate() {
        let x = LEFT + step * w as f64 + (step - bar) / 2.0;
        let week_text = week.format("%Y-%m-%d").to_string();
        let _ = write!(s, r#"<g class="week" data-week="{week_text}">"#);
        let mut base = 0.0;
        for (series, values) in chart.series.iter().zip(&chart.values) {
            let v = values[w];
            if v <= 0 {
                continue;
            }
            let top = y(base + hours(v));
            let h = y(base) - top;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{bar:.1}" height="{h:.1}" fill="{}" data-hours="{:.2}"><title>{} · week of {week_text}: {:.2} h</title></rect>"#,
                series.colour,
                hours(v),
                escape(&series.label),
                hours(v)
            );
            base += hours(v);
        }
        let total = chart.week_total(w);
        if total > 0 && chart.weeks.len() <= 26 {
            let _ = write!(
                s,
                r#"<text class="total" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                y(hours(total)) - 4.0,
                trim_number(hours(total))
            );
        }
        if w % label_every == 0 {
            let _ = write!(
                s,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                TOP + PLOT_H + 16.0,
                week.format("%Y-%m-%d")
            );
        }
        s.push_str("</g>");
    }
    let _ = write!(
        s,
        r#"<line class="axis-line" x1="{LEFT:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/></svg>"#,
        TOP + PLOT_H,
        width - RIGHT,
        TOP + PLOT_H
    );
    s
}

/// `12`, `12.5`, `0.25`: no trailing zeros.
fn trim_number(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn wh(week: &str, key: Option<&str>, seconds: i64) -> WeeklyHours {
        WeeklyHours {
            week_start: week.into(),
            key: key.map(Into::into),
            label: key.map(|k| format!("P {k}")),
            seconds,
        }
    }

    #[test]
    fn weeks_cover_the_range_from_its_monday() {
        let weeks = weeks_of(DateRange {
            from: d("2026-03-04"),
            to: d("2026-03-16"),
        });
        assert_eq!(
            weeks,
            vec![d("2026-03-02"), d("2026-03-09"), d("2026-03-16")]
        );
    }

    #[test]
    fn series_are_ordered_by_size_and_the_tail_folded() {
        let range = DateRange {
            from: d("2026-03-02"),
            to: d("2026-03-15"),
        };
        let rows = [
            wh("2026-03-02", Some("a"), 3600),
            wh("2026-03-02", Some("b"), 7200),
            wh("2026-03-09", Some("c"), 1800),
            wh("2026-03-09", None, 900),
        ];
        let chart = WeeklyChart::build(&rows, range, "(no project)", 3);
        let labels: Vec<&str> = chart.series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["P b", "P a", "Other (2)"]);
        assert_eq!(
            chart.values,
            vec![vec![7200, 0], vec![3600, 0], vec![0, 2700]]
        );
        assert_eq!(chart.week_total(0), 10800);
        assert_eq!(chart.series[2].total_seconds, 2700);
        let all = WeeklyChart::build(&rows, range, "(no project)", 8);
        assert!(all.series.iter().any(|s| s.label == "(no project)"));
    }

    #[test]
    fn long_ranges_are_drawn_from_the_first_to_the_last_busy_week() {
        let year = DateRange {
            from: d("2025-01-01"),
            to: d("2026-12-31"),
        };
        let rows = [
            wh("2026-03-02", Some("a"), 3600),
            wh("2026-03-16", Some("a"), 0),
        ];
        let chart = WeeklyChart::build(&rows, year, "-", 8);
        assert!(chart.clipped);
        assert_eq!(
            chart.weeks,
            vec![d("2026-03-02"), d("2026-03-09"), d("2026-03-16")]
        );
        assert_eq!(chart.values, vec![vec![3600, 0, 0]]);
        let quarter = DateRange {
            from: d("2026-01-01"),
            to: d("2026-03-31"),
        };
        let chart = WeeklyChart::build(&rows, quarter, "-", 8);
        assert!(!chart.clipped);
        assert_eq!(chart.weeks.len(), 14);
        assert!(!WeeklyChart::build(&[], year, "-", 8).clipped);
    }

    #[test]
    fn svg_has_a_segment_per_value_and_nice_axes() {
        let range = DateRange {
            from: d("2026-03-02"),
            to: d("2026-03-15"),
        };
        let chart = WeeklyChart::build(&[wh("2026-03-02", Some("<a&b>"), 5400)], range, "-", 8);
        let svg = svg(&chart, "Weekly \"hours\"");
        assert_eq!(svg.matches("<rect").count(), 1);
        assert!(svg.contains("data-hours=\"1.50\""));
        assert!(svg.contains("P &lt;a&amp;b&gt; · week of 2026-03-02: 1.50 h"));
        assert!(svg.contains("aria-label=\"Weekly &quot;hours&quot;\""));
        assert!(svg.contains(">1.5</text>"), "y axis goes to 1.5 h: {svg}");
        assert_eq!(y_axis(1.5), (0.5, 3));
        assert_eq!(y_axis(4.75), (2.0, 3));
        assert_eq!(y_axis(40.0), (10.0, 4));
        assert_eq!(y_axis(41.0), (20.0, 3));
        assert_eq!(y_axis(0.0), (0.25, 1));
        assert_eq!(y_axis(160.0), (50.0, 4));
        assert_eq!(trim_number(12.5), "12.5");
        assert_eq!(trim_number(4.75), "4.75");
    }
}
