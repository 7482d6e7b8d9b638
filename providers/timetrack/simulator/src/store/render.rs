//! How the simulator shows records: JSON objects with current names (links are ids inside,
//! names outside), every documented field (null when unset), timestamps with milliseconds,
//! and a typed fast path for list pages of entries and attendances.

use serde_json::{json, Map, Value};

use super::*;

impl Store {
    pub fn render(&self, res: Resource, id: i64) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(id));
        match res {
            Resource::Clients => {
                if let Some(c) = self.clients.rows.get(&id) {
                    o.insert("name".into(), json!(c.name));
                    o.insert("enabled".into(), json!(c.enabled));
                    render_extras(&mut o, &c.extra, CLIENT_EXTRAS);
                    self.deleted_flag(&mut o, c.deleted);
                }
            }
            Resource::Projects => {
                if let Some(p) = self.projects.rows.get(&id) {
                    o.insert("projectName".into(), json!(p.name));
                    o.insert("clientName".into(), json!(self.client_name(p.client)));
                    o.insert("projectEnabled".into(), json!(p.enabled));
                    render_extras(&mut o, &p.extra, PROJECT_EXTRAS);
                    self.deleted_flag(&mut o, p.deleted);
                }
            }
            Resource::Tasks => {
                if let Some(t) = self.tasks.rows.get(&id) {
                    o.insert("name".into(), json!(t.name));
                    render_extras(&mut o, &t.extra, TASK_EXTRAS);
                    self.deleted_flag(&mut o, t.deleted);
                }
            }
            Resource::Users => {
                if let Some(u) = self.users.rows.get(&id) {
                    o.insert("username".into(), json!(u.username));
                    o.insert("enabled".into(), json!(u.enabled));
                    render_extras(&mut o, &u.extra, USER_EXTRAS);
                    self.deleted_flag(&mut o, u.deleted);
                }
            }
            Resource::Entries => {
                if let Some(e) = self.entries.table.rows.get(&id) {
                    self.booking_names(&mut o, e.user, e.project);
                    o.insert(
                        "task".into(),
                        json!(e
                            .task
                            .and_then(|t| self.tasks.rows.get(&t))
                            .map(|t| &t.name)),
                    );
                    o.insert("billable".into(), json!(e.billable));
                    self.times(&mut o, e);
                    render_extras(&mut o, &e.extra, ENTRY_EXTRAS);
                    if o.get("flatRate") == Some(&Value::Null) {
                        o.insert("flatRate".into(), json!(false));
                    }
                    self.deleted_flag(&mut o, e.deleted);
                }
            }
            Resource::Attendances => {
                if let Some(e) = self.attendances.table.rows.get(&id) {
                    o.insert("user".into(), json!(self.user_name(e.user)));
                    o.insert("manual".into(), json!(e.manual));
                    self.times(&mut o, e);
                    render_extras(&mut o, &e.extra, ATTENDANCE_EXTRAS);
                    self.deleted_flag(&mut o, e.deleted);
                }
            }
            Resource::Expenses => self.render_expense(id, &mut o),
            Resource::Absences => self.render_absence(id, &mut o),
            Resource::AbsenceTypes => {
                Store::render_absence_type(id, &mut o);
            }
            Resource::WorkReports => {}
        }
        Value::Object(o)
    }

    fn times(&self, o: &mut Object, e: &EntryRow) {
        o.insert("from".into(), json!(fmt_ms(e.from)));
        o.insert("to".into(), json!(e.to.map(fmt_ms)));
        o.insert("workedMinutes".into(), json!(e.worked_minutes));
        o.insert("breakMinutes".into(), json!(e.break_minutes));
    }

    /// Who booked a record (`user`) and on what (`clientName`, `projectName`), by name.
    pub(super) fn booking_names(&self, o: &mut Object, user: i64, project: Option<i64>) {
        let project = project.and_then(|p| self.projects.rows.get(&p));
        o.insert("user".into(), json!(self.user_name(user)));
        o.insert(
            "clientName".into(),
            json!(project.and_then(|p| self.client_name(p.client))),
        );
        o.insert("projectName".into(), json!(project.map(|p| &p.name)));
    }

    pub(super) fn deleted_flag(&self, o: &mut Object, deleted: bool) {
        if deleted {
            o.insert("deleted".into(), json!(true));
        }
    }
}

pub(super) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, SimError> {
    serde_json::to_vec(v)
        .map_err(|e| SimError::new(500, codes::SERVER, "Internal server error", e.to_string()))
}

static NULL: Value = Value::Null;

fn extra<'a>(o: &'a Object, key: &str) -> &'a Value {
    o.get(key).unwrap_or(&NULL)
}

/// A project time entry as listed: the same JSON as `Store::render`, serialized without
/// building a map per row (pages of 1000 stay well under a millisecond).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryOut<'a> {
    id: i64,
    user: Option<&'a str>,
    client_name: Option<&'a str>,
    project_name: Option<&'a str>,
    task: Option<&'a str>,
    billable: bool,
    from: String,
    to: Option<String>,
    worked_minutes: Option<i64>,
    break_minutes: i64,
    hour_rate: &'a Value,
    latitude: &'a Value,
    longitude: &'a Value,
    latitude1: &'a Value,
    longitude1: &'a Value,
    flat_rate: &'a Value,
    details: &'a Value,
    tags: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
}

/// An attendance as listed (see `EntryOut`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AttendanceOut<'a> {
    id: i64,
    user: Option<&'a str>,
    manual: bool,
    from: String,
    to: Option<String>,
    worked_minutes: Option<i64>,
    break_minutes: i64,
    notes: &'a Value,
    latitude_start: &'a Value,
    longitude_start: &'a Value,
    latitude_end: &'a Value,
    longitude_end: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
}

static FALSE: Value = Value::Bool(false);

impl Store {
    pub(super) fn entries_json(&self, res: Resource, ids: &[i64]) -> Result<Vec<u8>, SimError> {
        let user = |id: i64| self.user_name(id);
        if res == Resource::Attendances {
            let rows: Vec<AttendanceOut<'_>> = ids
                .iter()
                .filter_map(|id| self.attendances.table.rows.get(id).map(|e| (*id, e)))
                .map(|(id, e)| AttendanceOut {
                    id,
                    user: user(e.user),
                    manual: e.manual,
                    from: fmt_ms(e.from),
                    to: e.to.map(fmt_ms),
                    worked_minutes: e.worked_minutes,
                    break_minutes: e.break_minutes,
                    notes: extra(&e.extra, "notes"),
                    latitude_start: extra(&e.extra, "latitudeStart"),
                    longitude_start: extra(&e.extra, "longitudeStart"),
                    latitude_end: extra(&e.extra, "latitudeEnd"),
                    longitude_end: extra(&e.extra, "longitudeEnd"),
                    deleted: e.deleted.then_some(true),
                })
                .collect();
            return to_json(&rows);
        }
        let rows: Vec<EntryOut<'_>> = ids
            .iter()
            .filter_map(|id| self.entries.table.rows.get(id).map(|e| (*id, e)))
            .map(|(id, e)| {
                let project = e.project.and_then(|p| self.projects.rows.get(&p));
                let flat = extra(&e.extra, "flatRate");
                EntryOut {
                    id,
                    user: user(e.user),
                    client_name: project.and_then(|p| self.client_name(p.client)),
                    project_name: project.map(|p| p.name.as_str()),
                    task: e
                        .task
                        .and_then(|t| self.tasks.rows.get(&t))
                        .map(|t| t.name.as_str()),
                    billable: e.billable,
                    from: fmt_ms(e.from),
                    to: e.to.map(fmt_ms),
                    worked_minutes: e.worked_minutes,
                    break_minutes: e.break_minutes,
                    hour_rate: extra(&e.extra, "hourRate"),
                    latitude: extra(&e.extra, "latitude"),
                    longitude: extra(&e.extra, "longitude"),
                    latitude1: extra(&e.extra, "latitude1"),
                    longitude1: extra(&e.extra, "longitude1"),
                    flat_rate: if flat.is_null() { &FALSE } else { flat },
                    details: extra(&e.extra, "details"),
                    tags: extra(&e.extra, "tags"),
                    deleted: e.deleted.then_some(true),
                }
            })
            .collect();
        to_json(&rows)
    }
}
