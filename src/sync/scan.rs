//! Scan planning (pure): which time-entry windows a cycle lists. Every cycle lists the hot
//! window (recent and near-future starts, where edits happen); then the deep scan walks the
//! rest of the account's entries backwards, one slice per scheduled cycle, so all history is
//! re-verified every few cycles; a provider with a change feed also lists what changed since
//! the watermark. The deep scan spans what the provider reports as its oldest and newest
//! entry (however far ahead or back), and nothing before the oldest; a provider that cannot
//! tell falls back to the configured horizon. A cycle never plans more requests than its
//! budget; `--sync-once` runs the deep scan to completion.

use chrono::{DateTime, Duration, Utc};
use timeweave_contract::model::whole_seconds;
use timeweave_contract::{EntrySpan, ListScope, Window};

use crate::ledger::Cursor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanSettings {
    pub hot_back: Duration,
    pub hot_ahead: Duration,
    pub slice: Duration,
    /// The oldest start time scanned when the provider cannot tell its oldest entry.
    pub horizon: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Hot,
    Deep,
    Changes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedWindow {
    pub scope: ListScope,
    pub purpose: Purpose,
    /// Requests this listing is expected to take.
    pub estimated_requests: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanPlan {
    pub windows: Vec<PlannedWindow>,
    /// The cursor to store once every planned window was listed completely.
    pub next_cursor: Cursor,
}

/// How far before the watermark the change feed is read again. The watermark is the local
/// clock at the previous cycle, the feed's `updated_at` the provider's: a provider clock
/// behind ours, or a change committed late, would otherwise fall between two cycles. Re-read
/// changes cost requests only; applying them again changes nothing.
pub const CHANGE_FEED_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What the scan planner needs to know about the provider and this cycle.
pub struct ScanInput<'a> {
    pub now: DateTime<Utc>,
    pub settings: ScanSettings,
    pub cursor: &'a Cursor,
    /// Requests the entry listings may spend this cycle; `None`: unlimited.
    pub budget: Option<u32>,
    pub change_feed: bool,
    /// Run the deep scan to completion (a migration).
    pub to_completion: bool,
    /// The oldest remote start linked so far. Used only when the span is unknown: after a
    /// full pass, the deep scan stops one slice below it, except every tenth pass, which goes
    /// to the horizon.
    pub oldest_known: Option<DateTime<Utc>>,
    /// Where the account's entries lie, as the provider reported it this cycle.
    pub span: EntrySpan,
}

/// The range the deep scan walks, `[floor, top)`, besides the hot window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DeepRange {
    floor: DateTime<Utc>,
    top: DateTime<Utc>,
}

/// From the provider's span when it told one (an empty account: nothing to walk), else from
/// the horizon and what was linked so far.
fn deep_range(input: &ScanInput<'_>, hot: Window) -> DeepRange {
    let s = &input.settings;
    match input.span {
        EntrySpan::Empty => DeepRange {
            floor: hot.from,
            top: hot.from,
        },
        EntrySpan::Between { oldest, newest } => {
            // The window's end is exclusive: one second past the newest start.
            let past_newest = newest
                .checked_add_signed(Duration::seconds(1))
                .unwrap_or(newest);
            DeepRange {
                // Listed starts are whole seconds: a fraction must not push the oldest out.
                floor: whole_seconds(oldest),
                top: if past_newest > hot.to {
                    past_newest
                } else {
                    hot.from
                },
            }
        }
        EntrySpan::Unknown => {
            let passes = input.cursor.deep_scan_passes;
            let full_pass = passes % 10 == 9 || passes == 0;
            let floor = match (input.oldest_known, full_pass) {
                (Some(oldest), false) => (oldest - s.slice).max(s.horizon),
                _ => s.horizon,
            };
            DeepRange {
                floor,
                top: hot.from,
            }
        }
    }
}

/// Requests planned so far against the cycle's budget.
struct Spending {
    budget: Option<u32>,
    spent: u32,
}

impl Spending {
    /// Whether a listing of `cost` requests still fits.
    fn allows(&self, cost: u32) -> bool {
        self.budget
            .is_none_or(|b| self.spent.saturating_add(cost) <= b)
    }

    /// Whether anything at all is left.
    fn any_left(&self) -> bool {
        self.budget.is_none_or(|b| b > self.spent)
    }
}

impl ScanPlan {
    fn add(&mut self, scope: ListScope, purpose: Purpose, cost: u32, spending: &mut Spending) {
        self.windows.push(PlannedWindow {
            scope,
            purpose,
            estimated_requests: cost,
        });
        spending.spent = spending.spent.saturating_add(cost);
    }
}

/// Plans this cycle's entry windows: the hot window, the change feed, the deep scan's next
/// slice (or every slice, to completion). `estimate(window)` gives the expected requests
/// of a listing (at least 1).
pub fn plan_scan(input: &ScanInput<'_>, estimate: impl Fn(Window) -> u32) -> ScanPlan {
    let s = &input.settings;
    let hot = Window::new(input.now - s.hot_back, input.now + s.hot_ahead);
    let mut plan = ScanPlan {
        windows: Vec::new(),
        next_cursor: input.cursor.clone(),
    };
    let mut spending = Spending {
        budget: input.budget,
        spent: 0,
    };
    let hot_cost = estimate(hot).max(1);
    plan.add(
        ListScope::StartedIn(hot),
        Purpose::Hot,
        hot_cost,
        &mut spending,
    );
    if input.change_feed {
        plan_change_feed(input, &estimate, &mut plan, &mut spending);
    }
    plan_deep_scan(input, hot, &estimate, &mut plan, &mut spending);
    plan
}

/// What changed since the watermark (less `CHANGE_FEED_OVERLAP`), when the budget allows;
/// on a first cycle the deep scan covers history and the feed starts from now.
fn plan_change_feed(
    input: &ScanInput<'_>,
    estimate: &impl Fn(Window) -> u32,
    plan: &mut ScanPlan,
    spending: &mut Spending,
) {
    let Some(mark) = input.cursor.change_watermark else {
        plan.next_cursor.change_watermark = Some(input.now);
        return;
    };
    let changes = Window::new(mark - CHANGE_FEED_OVERLAP, input.now);
    let cost = estimate(changes).max(1);
    if spending.allows(cost) || input.to_completion {
        plan.add(
            ListScope::ChangedIn(changes),
            Purpose::Changes,
            cost,
            spending,
        );
        plan.next_cursor.change_watermark = Some(input.now);
    }
}

/// The deep scan's slices below the cursor's position (past the hot window, which is
/// listed anyway): the next one on a scheduled cycle, every one down to the floor with
/// `to_completion`. The next cursor says where the walk goes on, or that a pass is done.
fn plan_deep_scan(
    input: &ScanInput<'_>,
    hot: Window,
    estimate: &impl Fn(Window) -> u32,
    plan: &mut ScanPlan,
    spending: &mut Spending,
) {
    let DeepRange { floor, top } = deep_range(input, hot);
    // A position inside the hot window (or at its end) goes on below it.
    let past_hot = |p: DateTime<Utc>| {
        if p > hot.from && p <= hot.to {
            hot.from
        } else {
            p
        }
    };
    let passes = input.cursor.deep_scan_passes;
    let next = |plan: &mut ScanPlan, position: DateTime<Utc>| {
        let pass_done = position <= floor;
        plan.next_cursor.deep_scan_position = (!pass_done).then_some(position);
        if pass_done {
            plan.next_cursor.deep_scan_passes = passes + 1;
        }
    };
    let mut position = past_hot(input.cursor.deep_scan_position.unwrap_or(top).min(top));
    let mut first = true;
    loop {
        if position <= floor {
            // A full pass is done: start again from the top next time.
            return next(plan, position);
        }
        let slice = deep_slice(position, floor, hot, input.settings.slice);
        let cost = estimate(slice).max(1);
        // At least one slice per cycle when the budget allows anything beyond the hot window.
        let may_plan =
            input.to_completion || spending.allows(cost) || (first && spending.any_left());
        if !may_plan {
            // Nothing planned this cycle: the cursor stays as it was.
            plan.next_cursor.deep_scan_position = if first {
                input.cursor.deep_scan_position
            } else {
                Some(position)
            };
            return;
        }
        plan.add(ListScope::StartedIn(slice), Purpose::Deep, cost, spending);
        position = past_hot(slice.from);
        first = false;
        if !input.to_completion {
            // A scheduled cycle takes the next slice only: history is re-verified steadily
            // across cycles without spending a quota on what did not change.
            return next(plan, position);
        }
    }
}

/// The slice of the deep scan that ends at `position`: one `slice` long, never below the
/// floor, and above the hot window when it starts above it.
fn deep_slice(
    position: DateTime<Utc>,
    floor: DateTime<Utc>,
    hot: Window,
    slice: Duration,
) -> Window {
    // Checked: the floor comes from provider data, however odd its year.
    let mut from = position
        .checked_sub_signed(slice)
        .unwrap_or(floor)
        .max(floor);
    if position > hot.to {
        from = from.max(hot.to);
    }
    Window::new(from, position)
}

/// Requests a provider instance may make per cycle: what its tightest quota allows over
/// the schedule interval, less a fifth kept for pushes and retries.
pub fn cycle_budget(
    quotas: &[timeweave_http::Quota],
    interval: std::time::Duration,
) -> Option<u32> {
    quotas
        .iter()
        .map(|q| {
            let per_cycle = q.requests as f64 * interval.as_secs_f64() / q.per.as_secs_f64();
            (per_cycle * 0.8).floor() as u32
        })
        .min()
        .map(|b| b.max(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings() -> ScanSettings {
        ScanSettings {
            hot_back: Duration::days(35),
            hot_ahead: Duration::days(7),
            slice: Duration::days(30),
            horizon: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn input<'a>(cursor: &'a Cursor, budget: Option<u32>) -> ScanInput<'a> {
        ScanInput {
            now: now(),
            settings: settings(),
            cursor,
            budget,
            change_feed: false,
            to_completion: false,
            oldest_known: None,
            span: EntrySpan::Unknown,
        }
    }

    fn deep(plan: &ScanPlan) -> Vec<Window> {
        plan.windows
            .iter()
            .filter(|w| w.purpose == Purpose::Deep)
            .map(|w| match w.scope {
                ListScope::StartedIn(w) => w,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn hot_window_every_cycle_then_one_slice_back() {
        let cursor = Cursor::default();
        let plan = plan_scan(&input(&cursor, Some(2)), |_| 1);
        assert_eq!(
            plan.windows[0].scope,
            ListScope::StartedIn(Window::new(
                now() - Duration::days(35),
                now() + Duration::days(7)
            ))
        );
        let slices = deep(&plan);
        assert_eq!(slices.len(), 1);
        assert_eq!(slices[0].to, now() - Duration::days(35));
        assert_eq!(slices[0].from, now() - Duration::days(65));
        assert_eq!(plan.next_cursor.deep_scan_position, Some(slices[0].from));
    }

    #[test]
    fn deep_scan_continues_where_it_stopped_and_wraps_at_the_horizon() {
        let mut cursor = Cursor::default();
        let mut covered = Vec::new();
        for cycle in 0..100 {
            let plan = plan_scan(&input(&cursor, Some(3)), |_| 1);
            covered.extend(deep(&plan));
            cursor = plan.next_cursor.clone();
            if cursor.deep_scan_passes == 1 {
                assert!(cycle > 3, "took several cycles");
                break;
            }
        }
        assert_eq!(cursor.deep_scan_passes, 1, "a full pass completes");
        assert_eq!(cursor.deep_scan_position, None, "and restarts from the top");
        // The slices tile history from the hot window back to the horizon without gaps.
        covered.sort_by_key(|w| w.from);
        assert_eq!(covered.first().unwrap().from, settings().horizon);
        assert_eq!(covered.last().unwrap().to, now() - Duration::days(35));
        for pair in covered.windows(2) {
            assert_eq!(pair[0].to, pair[1].from, "no gap, no overlap");
        }
    }

    #[test]
    fn a_scheduled_cycle_takes_one_slice_even_with_budget_to_spare() {
        let cursor = Cursor::default();
        let plan = plan_scan(&input(&cursor, None), |_| 1);
        assert_eq!(deep(&plan).len(), 1);
        let plan = plan_scan(&input(&cursor, Some(1000)), |_| 1);
        assert_eq!(deep(&plan).len(), 1);
    }

    #[test]
    fn never_plans_beyond_the_budget() {
        let cursor = Cursor::default();
        for budget in 2..20u32 {
            let plan = plan_scan(&input(&cursor, Some(budget)), |_| 2);
            let total: u32 = plan.windows.iter().map(|w| w.estimated_requests).sum();
            assert!(total <= budget.max(4), "budget {budget}: planned {total}");
        }
        // A budget that only covers the hot window plans no slice.
        let plan = plan_scan(&input(&cursor, Some(2)), |_| 2);
        assert_eq!(deep(&plan).len(), 0);
        assert_eq!(
            plan.next_cursor.deep_scan_position, None,
            "position unchanged"
        );
    }

    #[test]
    fn to_completion_scans_all_history_in_one_cycle() {
        let cursor = Cursor::default();
        let mut i = input(&cursor, Some(1));
        i.to_completion = true;
        let plan = plan_scan(&i, |_| 5);
        let slices = deep(&plan);
        assert_eq!(slices.last().unwrap().from, settings().horizon);
        assert_eq!(plan.next_cursor.deep_scan_passes, 1);
    }

    #[test]
    fn change_feed_from_the_watermark() {
        let mark = now() - Duration::minutes(5);
        let cursor = Cursor {
            change_watermark: Some(mark),
            ..Cursor::default()
        };
        let mut i = input(&cursor, None);
        i.change_feed = true;
        let plan = plan_scan(&i, |_| 1);
        assert!(plan.windows.iter().any(
            |w| w.scope == ListScope::ChangedIn(Window::new(mark - CHANGE_FEED_OVERLAP, now()))
        ));
        assert_eq!(plan.next_cursor.change_watermark, Some(now()));
        // First cycle: no feed yet, the watermark starts now.
        let fresh = Cursor::default();
        let mut i = input(&fresh, None);
        i.change_feed = true;
        let plan = plan_scan(&i, |_| 1);
        assert!(plan.windows.iter().all(|w| w.purpose != Purpose::Changes));
        assert_eq!(plan.next_cursor.change_watermark, Some(now()));
    }

    #[test]
    fn after_a_full_pass_the_scan_stops_below_the_oldest_record() {
        let cursor = Cursor {
            deep_scan_passes: 1,
            ..Cursor::default()
        };
        let mut i = input(&cursor, None);
        i.oldest_known = Some(now() - Duration::days(100));
        i.to_completion = true;
        let plan = plan_scan(&i, |_| 1);
        let slices = deep(&plan);
        assert_eq!(slices.last().unwrap().from, now() - Duration::days(130));
        assert_eq!(plan.next_cursor.deep_scan_passes, 2);
    }

    fn between(oldest_days: i64, newest_days: i64) -> EntrySpan {
        EntrySpan::Between {
            oldest: now() + Duration::days(oldest_days),
            newest: now() + Duration::days(newest_days),
        }
    }

    /// The deep windows of a migration (`to_completion`) over `span`, newest first, and the
    /// cursor it leaves.
    fn migration(span: EntrySpan, cursor: &Cursor) -> (Vec<Window>, Cursor) {
        let mut i = input(cursor, Some(1));
        i.to_completion = true;
        i.span = span;
        // A linked start far older than anything in the span: the span wins.
        i.oldest_known = Some(now() - Duration::days(3000));
        let plan = plan_scan(&i, |_| 1);
        (deep(&plan), plan.next_cursor)
    }

    /// Asserts `slices` tile `[from, to)` exactly: no gap, no overlap, nothing outside.
    fn assert_tiles(slices: &[Window], from: DateTime<Utc>, to: DateTime<Utc>) {
        let mut sorted = slices.to_vec();
        sorted.sort_by_key(|w| w.from);
        assert_eq!(sorted.first().map(|w| w.from), Some(from), "{sorted:?}");
        assert_eq!(sorted.last().map(|w| w.to), Some(to), "{sorted:?}");
        for pair in sorted.windows(2) {
            assert_eq!(pair[0].to, pair[1].from, "no gap, no overlap: {sorted:?}");
        }
    }

    #[test]
    fn a_migration_covers_the_span_the_provider_reports_and_nothing_before_it() {
        let hot_from = now() - Duration::days(35);
        let hot_to = now() + Duration::days(7);
        let second = Duration::seconds(1);
        let fresh = Cursor::default();
        // (what, span, expected ranges besides the hot window: (from, to))
        type Ranges = Vec<(DateTime<Utc>, DateTime<Utc>)>;
        let cases: Vec<(&str, EntrySpan, Ranges)> = vec![
            ("all entries in the hot window", between(-20, 3), vec![]),
            ("an empty account", EntrySpan::Empty, vec![]),
            (
                "entries 100 days back: no slice below the oldest",
                between(-100, -1),
                vec![(now() - Duration::days(100), hot_from)],
            ),
            (
                "entries planned 14 months ahead",
                between(-10, 425),
                vec![(hot_to, now() + Duration::days(425) + second)],
            ),
            (
                "back-filled years before the horizon, and far ahead",
                between(-4000, 60),
                vec![
                    (now() - Duration::days(4000), hot_from),
                    (hot_to, now() + Duration::days(60) + second),
                ],
            ),
            (
                "only future entries, beyond the hot window",
                between(100, 200),
                vec![(
                    now() + Duration::days(100),
                    now() + Duration::days(200) + second,
                )],
            ),
        ];
        for (what, span, expected) in cases {
            let (slices, next) = migration(span, &fresh);
            assert_eq!(next.deep_scan_passes, 1, "{what}: a full pass");
            assert_eq!(next.deep_scan_position, None, "{what}");
            for w in &slices {
                assert!(
                    w.to <= hot_from || w.from >= hot_to,
                    "{what}: {w:?} overlaps the hot window"
                );
                assert!(w.to - w.from <= Duration::days(30), "{what}: {w:?}");
            }
            let mut rest = slices.clone();
            for (from, to) in &expected {
                let (inside, outside): (Vec<Window>, Vec<Window>) =
                    rest.iter().partition(|w| w.from >= *from && w.to <= *to);
                assert_tiles(&inside, *from, *to);
                rest = outside;
            }
            assert!(
                rest.is_empty(),
                "{what}: windows outside the span: {rest:?}"
            );
        }
    }

    #[test]
    fn scheduled_cycles_walk_the_same_span_slice_by_slice() {
        let span = between(-200, 300);
        let mut cursor = Cursor::default();
        let mut covered = Vec::new();
        for _ in 0..100 {
            let mut i = input(&cursor, Some(3));
            i.span = span;
            let plan = plan_scan(&i, |_| 1);
            let slices = deep(&plan);
            assert!(slices.len() <= 1, "one slice per scheduled cycle");
            covered.extend(slices);
            cursor = plan.next_cursor.clone();
            if cursor.deep_scan_passes == 1 {
                break;
            }
        }
        assert_eq!(cursor.deep_scan_passes, 1, "a full pass completes");
        let hot_from = now() - Duration::days(35);
        let hot_to = now() + Duration::days(7);
        let (past, ahead): (Vec<Window>, Vec<Window>) =
            covered.iter().partition(|w| w.to <= hot_from);
        assert_tiles(&past, now() - Duration::days(200), hot_from);
        assert_tiles(
            &ahead,
            hot_to,
            now() + Duration::days(300) + Duration::seconds(1),
        );
    }

    #[test]
    fn a_position_left_inside_the_hot_window_goes_on_below_it() {
        // The hot window moved forward since the cursor was stored.
        let cursor = Cursor {
            deep_scan_position: Some(now() - Duration::days(10)),
            deep_scan_passes: 1,
            ..Cursor::default()
        };
        let mut i = input(&cursor, None);
        i.span = between(-400, 100);
        let plan = plan_scan(&i, |_| 1);
        let slices = deep(&plan);
        assert_eq!(slices.len(), 1);
        assert_eq!(slices[0].to, now() - Duration::days(35));
    }

    #[test]
    fn an_oldest_entry_at_the_end_of_time_plans_without_overflow() {
        // A provider's bytes can name any year chrono can hold.
        let oldest = DateTime::<Utc>::MIN_UTC;
        let cursor = Cursor {
            deep_scan_position: Some(oldest + Duration::days(10)),
            deep_scan_passes: 1,
            ..Cursor::default()
        };
        let mut i = input(&cursor, None);
        i.span = EntrySpan::Between {
            oldest,
            newest: now(),
        };
        let slices = deep(&plan_scan(&i, |_| 1));
        assert_eq!(
            slices,
            vec![Window::new(oldest, oldest + Duration::days(10))]
        );
    }

    #[test]
    fn an_unknown_span_falls_back_to_the_horizon() {
        let (slices, _) = migration(EntrySpan::Unknown, &Cursor::default());
        assert_eq!(slices.last().unwrap().from, settings().horizon);
        assert!(slices.iter().all(|w| w.to <= now() - Duration::days(35)));
    }

    #[test]
    fn budget_from_quotas_and_interval() {
        use timeweave_http::Quota;
        let five_min = std::time::Duration::from_secs(300);
        assert_eq!(cycle_budget(&[Quota::per_minute(30)], five_min), Some(120));
        assert_eq!(
            cycle_budget(&[Quota::per_minute(100), Quota::per_hour(1000)], five_min),
            Some(66)
        );
        assert_eq!(cycle_budget(&[], five_min), None);
    }
}
