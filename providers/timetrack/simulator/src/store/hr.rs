//! The resources timeweave does not sync but the API has, simulated so the API is whole:
//! expenses (§2.5), absences (§2.7), absence types (§2.8, A: `/absence_types`, a fixed set)
//! and work reports (§2.11, A: a simplified daily report derived from attendances and
//! approved absences, in UTC days, with an 8-hour target on weekdays).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Map, Value};

use super::{
    apply_extras, fmt_ms, int_field, ms_to_time, query::name_matches, render_extras, required,
    text_field, time_field, Object, Resource, SimError, Store, Ty,
};
use crate::options::SimOptions;

/// The absence types the simulator knows: (id, name, short name) (A).
pub const ABSENCE_TYPES: &[(i64, &str, &str)] = &[
    (1, "Vacation", "VAC"),
    (2, "Sick leave", "SICK"),
    (3, "Special leave", "SPEC"),
];

/// The daily target on weekdays, for work reports (A).
const TARGET_SECONDS: i64 = 8 * 3600;

const EXPENSE_EXTRAS: &[(&str, Ty)] = &[
    ("name", Ty::Text),
    ("price", Ty::Number),
    ("quantity", Ty::Number),
    ("billable", Ty::Bool),
    ("payType", Ty::Text),
    ("details", Ty::Text),
    ("tags", Ty::Text),
];

#[derive(Debug, Clone)]
pub struct ExpenseRow {
    pub user: i64,
    pub project: i64,
    pub date: i64,
    pub extra: Object,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct AbsenceRow {
    pub user: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub absence_type: i64,
    pub status: i64,
    pub deleted: bool,
}

fn date_field(body: &Object, field: &str) -> Result<Option<NaiveDate>, SimError> {
    match text_field(body, &[field])? {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                SimError::invalid(format!(
                    "`{field}` must be a date like 2020-10-26, got `{s}`"
                ))
            }),
    }
}

fn filter_date(v: &str, name: &str) -> Result<NaiveDate, SimError> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .or_else(|_| {
            timeweave_timetrack::lenient::parse_timestamp(v)
                .map(|t| t.date_naive())
                .ok_or(())
        })
        .map_err(|_| {
            SimError::invalid(format!(
                "`{name}` must be a date like 2020-10-01, got `{v}`"
            ))
        })
}

fn absence_type(id: i64) -> Option<(i64, &'static str, &'static str)> {
    ABSENCE_TYPES.iter().copied().find(|(i, _, _)| *i == id)
}

impl Store {
    // ----- expenses -----

    pub(super) fn create_expense(&mut self, body: &Object) -> Result<i64, SimError> {
        let res = Resource::Expenses;
        let client_name = required(body, "clientName", res)?;
        let project_name = required(body, "projectName", res)?;
        // Beyond "clien…" the required list is unknown (§2.5); A: name, price, date, username.
        required(body, "name", res)?;
        required(body, "price", res)?;
        let user = self.user_id(body, res, true)?.unwrap_or_default();
        let project = self.project_by_names(&client_name, &project_name)?;
        let date = time_field(body, "date")?
            .ok_or_else(|| SimError::invalid("`date` is required to create a Expense"))?;
        let mut row = ExpenseRow {
            user,
            project,
            date,
            extra: Map::new(),
            deleted: false,
        };
        apply_extras(&mut row.extra, body, EXPENSE_EXTRAS)?;
        row.extra.entry("billable").or_insert(json!(true));
        Ok(self.expenses.insert(row))
    }

    /// Expense updates are undocumented (§4.5); A: any field may change.
    pub(super) fn update_expense(&mut self, id: i64, body: &Object) -> Result<(), SimError> {
        let mut row = self.expenses.rows[&id].clone();
        if let Some(u) = self.user_id(body, Resource::Expenses, false)? {
            row.user = u;
        }
        if let Some(p) = self.moved_project(body, Some(row.project))? {
            row.project = p;
        }
        if let Some(d) = time_field(body, "date")? {
            row.date = d;
        }
        apply_extras(&mut row.extra, body, EXPENSE_EXTRAS)?;
        self.expenses.rows.insert(id, row);
        Ok(())
    }

    pub(super) fn render_expense(&self, id: i64, o: &mut Object) {
        let Some(e) = self.expenses.rows.get(&id) else {
            return;
        };
        self.booking_names(o, e.user, Some(e.project));
        o.insert("date".into(), json!(fmt_ms(e.date)));
        render_extras(o, &e.extra, EXPENSE_EXTRAS);
        self.deleted_flag(o, e.deleted);
    }

    pub(super) fn match_expenses(
        &self,
        filters: &[(&str, &str)],
        opts: &SimOptions,
    ) -> Result<Vec<i64>, SimError> {
        let get = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let ts = |name: &str| -> Result<Option<i64>, SimError> {
            get(name)
                .map(|v| {
                    timeweave_timetrack::lenient::parse_timestamp(v)
                        .map(|t| t.timestamp_millis())
                        .ok_or_else(|| {
                            SimError::invalid(format!("`{name}` must be a timestamp, got `{v}`"))
                        })
                })
                .transpose()
        };
        let (from, to) = (ts("from")?, ts("to")?);
        let user = get("username").or(get("user"));
        let cs = opts.name_filter_case_sensitive;
        Ok(self
            .expenses
            .rows
            .iter()
            .filter(|(_, e)| !e.deleted || opts.deleted_listed)
            .filter(|(_, e)| user.is_none_or(|u| self.user_name(e.user) == Some(u)))
            .filter(|(_, e)| from.is_none_or(|f| e.date >= f) && to.is_none_or(|t| e.date <= t))
            .filter(|(_, e)| {
                get("name").is_none_or(|n| {
                    e.extra
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|h| name_matches(h, n, true, cs))
                })
            })
            .filter(|(_, e)| self.under_named_project(Some(e.project), filters, opts))
            .map(|(id, _)| *id)
            .collect())
    }

    // ----- absences -----

    pub(super) fn create_absence(&mut self, body: &Object) -> Result<i64, SimError> {
        let res = Resource::Absences;
        let user = self.user_id(body, res, true)?.unwrap_or_default();
        let from = date_field(body, "from")?
            .ok_or_else(|| SimError::invalid("`from` is required to create a Absence"))?;
        let to = date_field(body, "to")?
            .ok_or_else(|| SimError::invalid("`to` is required to create a Absence"))?;
        if to < from {
            return Err(SimError::invalid("`to` is before `from`"));
        }
        let kind = int_field(body, &["absenceType"])?
            .ok_or_else(|| SimError::invalid("`absenceType` is required to create a Absence"))?;
        if absence_type(kind).is_none() {
            return Err(SimError::invalid(format!("unknown absenceType {kind}")));
        }
        let status = int_field(body, &["status"])?.unwrap_or(0);
        Ok(self.absences.insert(AbsenceRow {
            user,
            from,
            to,
            absence_type: kind,
            status,
            deleted: false,
        }))
    }

    /// Only `status` can change (§2.7 [?]); other fields follow the forbidden-field switch.
    pub(super) fn update_absence(
        &mut self,
        id: i64,
        body: &Object,
        opts: &SimOptions,
    ) -> Result<(), SimError> {
        let mut row = self.absences.rows[&id].clone();
        for field in ["username", "user", "from", "to", "absenceType"] {
            if body.get(field).is_some_and(|v| !v.is_null()) {
                let current = match field {
                    "username" | "user" => json!(self.user_name(row.user)),
                    "from" => json!(row.from.to_string()),
                    "to" => json!(row.to.to_string()),
                    _ => json!(row.absence_type),
                };
                let same = body.get(field) == Some(&current)
                    || (field == "absenceType"
                        && int_field(body, &[field])? == Some(row.absence_type));
                Store::forbidden(Resource::Absences, field, !same, opts)?;
            }
        }
        if let Some(s) = int_field(body, &["status"])? {
            if !(0..=2).contains(&s) {
                return Err(SimError::invalid(
                    "`status` must be 0 (new), 1 (approved) or 2 (disapproved)",
                ));
            }
            row.status = s;
        }
        self.absences.rows.insert(id, row);
        Ok(())
    }

    pub(super) fn render_absence(&self, id: i64, o: &mut Object) {
        let Some(a) = self.absences.rows.get(&id) else {
            return;
        };
        o.insert("user".into(), json!(self.user_name(a.user)));
        o.insert("from".into(), json!(a.from.to_string()));
        o.insert("to".into(), json!(a.to.to_string()));
        o.insert("status".into(), json!(a.status));
        o.insert("absenceType".into(), json!(a.absence_type));
        o.insert(
            "absenceTypeName".into(),
            json!(absence_type(a.absence_type).map(|t| t.2)),
        );
        self.deleted_flag(o, a.deleted);
    }

    /// Absences overlapping `[from, to]` (dates, inclusive, A), by user and type.
    pub(super) fn match_absences(
        &self,
        filters: &[(&str, &str)],
        opts: &SimOptions,
    ) -> Result<Vec<i64>, SimError> {
        let get = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let from = get("from").map(|v| filter_date(v, "from")).transpose()?;
        let to = get("to").map(|v| filter_date(v, "to")).transpose()?;
        let kind = get("absenceType")
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    SimError::invalid(format!("`absenceType` must be an integer, got `{v}`"))
                })
            })
            .transpose()?;
        let user = get("username").or(get("user"));
        Ok(self
            .absences
            .rows
            .iter()
            .filter(|(_, a)| !a.deleted || opts.deleted_listed)
            .filter(|(_, a)| user.is_none_or(|u| self.user_name(a.user) == Some(u)))
            .filter(|(_, a)| kind.is_none_or(|k| a.absence_type == k))
            .filter(|(_, a)| from.is_none_or(|f| a.to >= f) && to.is_none_or(|t| a.from <= t))
            .map(|(id, _)| *id)
            .collect())
    }

    pub(super) fn render_absence_type(id: i64, o: &mut Object) -> bool {
        match absence_type(id) {
            Some((_, name, short)) => {
                o.insert("name".into(), json!(name));
                o.insert("shortName".into(), json!(short));
                true
            }
            None => false,
        }
    }

    // ----- work reports -----

    /// Daily reports per user in `[from, to]` (both required, A), sorted by user and day.
    pub(super) fn work_reports(&self, filters: &[(&str, &str)]) -> Result<Vec<Value>, SimError> {
        let get = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let from = filter_date(
            get("from").ok_or_else(|| SimError::invalid("`from` is required"))?,
            "from",
        )?;
        let to = filter_date(
            get("to").ok_or_else(|| SimError::invalid("`to` is required"))?,
            "to",
        )?;
        if (to - from).num_days() > 366 {
            return Err(SimError::invalid("a work report covers at most one year"));
        }
        let users: Vec<(i64, &str)> = self
            .users
            .rows
            .iter()
            .filter(|(_, u)| !u.deleted)
            .filter(|(_, u)| {
                get("username")
                    .or(get("user"))
                    .is_none_or(|n| u.username == n)
            })
            .map(|(id, u)| (*id, u.username.as_str()))
            .collect();
        #[derive(Default)]
        struct Day {
            start: Option<i64>,
            end: Option<i64>,
            worked: i64,
            breaks: i64,
            absence: Option<&'static str>,
        }
        let mut days: BTreeMap<(i64, NaiveDate), Day> = BTreeMap::new();
        let lo = from
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(i64::MIN);
        let hi = (to + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(i64::MAX);
        for (start, id) in self
            .attendances
            .by_start
            .range((lo, i64::MIN)..(hi, i64::MIN))
        {
            let Some(a) = self.attendances.table.rows.get(id).filter(|a| !a.deleted) else {
                continue;
            };
            let day = ms_to_time(*start).date_naive();
            let d = days.entry((a.user, day)).or_default();
            d.start = Some(d.start.map_or(*start, |s| s.min(*start)));
            if let Some(end) = a.to {
                d.end = Some(d.end.map_or(end, |e| e.max(end)));
            }
            d.worked += a.worked_minutes.unwrap_or(0) * 60;
            d.breaks += a.break_minutes * 60;
        }
        for a in self
            .absences
            .rows
            .values()
            .filter(|a| !a.deleted && a.status == 1)
        {
            let mut day = a.from.max(from);
            while day <= a.to.min(to) {
                days.entry((a.user, day)).or_default().absence =
                    absence_type(a.absence_type).map(|t| t.2);
                day += Duration::days(1);
            }
        }
        let mut out = Vec::new();
        for (uid, username) in users {
            let mut day = from;
            while day <= to {
                let weekday = day.weekday().number_from_monday() as i64;
                let target = if weekday <= 5 { TARGET_SECONDS } else { 0 };
                let d = days.get(&(uid, day));
                let worked = d.map_or(0, |d| d.worked);
                let absence = d.and_then(|d| d.absence);
                out.push(json!({
                    "username": username,
                    "workDate": day.to_string(),
                    "workStart": d.and_then(|d| d.start).map(fmt_ms),
                    "workEnd": d.and_then(|d| d.end).map(fmt_ms),
                    "targetSeconds": target,
                    "workedSeconds": worked,
                    "workTargetDifference": worked + if absence.is_some() { target } else { 0 } - target,
                    "breakSeconds": d.map_or(0, |d| d.breaks),
                    "breakTimes": "",
                    "surchargeSeconds": 0,
                    "holidaySeconds": 0,
                    "absence1Seconds": if absence.is_some() { target } else { 0 },
                    "absence1ShortName": absence,
                    "absence2Seconds": 0, "absence2ShortName": null,
                    "absence3Seconds": 0, "absence3ShortName": null,
                    "weekday": weekday,
                    "holiday": false,
                }));
                day += Duration::days(1);
            }
        }
        Ok(out)
    }
}
