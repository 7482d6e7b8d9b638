//! The simulator's data: clients, projects, tasks, users, project time entries and
//! attendances in memory, with TimeTrack's rules: name-based links (rows keep ids, JSON
//! shows current names), required fields and unknown names answered with 422, fields that
//! cannot change on update, soft delete (404 code 15020 afterwards), filters and paging.
//! Reading and rendering live in `query.rs` and `render.rs`, the non-synced resources in
//! `hr.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::options::{ForbiddenField, FromToSemantics, LimitAboveMax, SimOptions};
use timeweave_timetrack::clock::Timestamps;
use timeweave_timetrack::lenient::{self, format_timestamp, Object};

mod hr;
mod query;
mod render;
pub use hr::{AbsenceRow, ExpenseRow, ABSENCE_TYPES};

/// An answer in TimeTrack's error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError {
    pub status: u16,
    pub code: i64,
    pub title: String,
    pub detail: String,
}

/// Error codes other than 15020 are undocumented (§4.17); these are the simulator's (A).
pub mod codes {
    pub const UNAUTHORIZED: i64 = 10401;
    pub const NOT_FOUND: i64 = 10404;
    pub const DELETED: i64 = 15020;
    pub const INVALID: i64 = 10422;
    pub const FORBIDDEN_FIELD: i64 = 10423;
    pub const THROTTLED: i64 = 10429;
    pub const SERVER: i64 = 10500;
    pub const NOT_IMPLEMENTED: i64 = 10501;
}

impl SimError {
    pub fn new(
        status: u16,
        code: i64,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        SimError {
            status,
            code,
            title: title.into(),
            detail: detail.into(),
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        SimError::new(422, codes::INVALID, "Wrong parameters", detail)
    }

    fn not_found(res: Resource, id: i64) -> Self {
        SimError::new(
            404,
            codes::NOT_FOUND,
            format!("{} not found", res.label()),
            format!("{} {id} does not exist.", res.label()),
        )
    }

    fn deleted(res: Resource) -> Self {
        SimError::new(
            404,
            codes::DELETED,
            format!("{} exist but it is deleted", res.label()),
            format!("{} is deleted and can not be used.", res.label()),
        )
    }

    fn forbidden_field(res: Resource, field: &str) -> Self {
        SimError::new(
            422,
            codes::FORBIDDEN_FIELD,
            "Field can not be changed",
            format!("`{field}` of a {} can not be changed.", res.label()),
        )
    }

    pub fn envelope(&self) -> Value {
        json!({"errors": [{
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }]})
    }
}

/// The resources the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Clients,
    Projects,
    Tasks,
    Users,
    Entries,
    Attendances,
    Expenses,
    Absences,
    AbsenceTypes,
    WorkReports,
}

impl Resource {
    pub fn parse(segment: &str) -> Option<Resource> {
        Some(match segment {
            "clients" => Resource::Clients,
            "projects" => Resource::Projects,
            "tasks" => Resource::Tasks,
            "users" => Resource::Users,
            "project_time_entries" => Resource::Entries,
            "attendances" => Resource::Attendances,
            "expenses" => Resource::Expenses,
            "absences" => Resource::Absences,
            "absence_types" => Resource::AbsenceTypes,
            "work_reports" => Resource::WorkReports,
            _ => return None,
        })
    }

    /// The record name used in error titles ("TimeEntry exist but it is deleted").
    pub fn label(self) -> &'static str {
        match self {
            Resource::Clients => "Client",
            Resource::Projects => "Project",
            Resource::Tasks => "Task",
            Resource::Users => "User",
            Resource::Entries => "TimeEntry",
            Resource::Attendances => "Attendance",
            Resource::Expenses => "Expense",
            Resource::Absences => "Absence",
            Resource::AbsenceTypes => "AbsenceType",
            Resource::WorkReports => "WorkReport",
        }
    }

    /// Query parameters this resource's list understands (besides `limit`/`page_number`).
    fn filters(self) -> &'static [&'static str] {
        match self {
            Resource::Clients => &["name"],
            Resource::Projects => &["projectName", "clientName"],
            Resource::Tasks => &["name"],
            Resource::Users => &["username", "user"],
            Resource::Entries => &[
                "username",
                "user",
                "clientName",
                "projectName",
                "from",
                "to",
            ],
            Resource::Attendances => &["username", "user", "from", "to"],
            Resource::Expenses => &[
                "name",
                "projectName",
                "clientName",
                "username",
                "user",
                "from",
                "to",
            ],
            Resource::Absences => &["username", "user", "from", "to", "absenceType"],
            Resource::AbsenceTypes => &[],
            Resource::WorkReports => &["username", "user", "from", "to"],
        }
    }

    /// Computed or fixed resources: no create, update or delete.
    pub fn read_only(self) -> bool {
        matches!(self, Resource::AbsenceTypes | Resource::WorkReports)
    }
}

#[derive(Clone, Copy)]
enum Ty {
    Text,
    Number,
    Bool,
}

const CLIENT_EXTRAS: &[(&str, Ty)] = &[
    ("color", Ty::Text),
    ("notes", Ty::Text),
    ("email", Ty::Text),
    ("phone", Ty::Text),
    ("address", Ty::Text),
    ("address2", Ty::Text),
    ("addressZipCode", Ty::Text),
    ("addressCity", Ty::Text),
    ("addressCountry", Ty::Text),
    ("contactPerson", Ty::Text),
    ("field1", Ty::Text),
    ("field2", Ty::Text),
    ("field3", Ty::Text),
];
const PROJECT_EXTRAS: &[(&str, Ty)] = &[
    ("notes", Ty::Text),
    ("hourRate", Ty::Number),
    ("timeEstimated", Ty::Number),
    ("budgetEstimated", Ty::Number),
];
const TASK_EXTRAS: &[(&str, Ty)] = &[("notes", Ty::Text), ("hourRate", Ty::Number)];
const USER_EXTRAS: &[(&str, Ty)] = &[
    ("firstName", Ty::Text),
    ("lastName", Ty::Text),
    ("email", Ty::Text),
    ("teamLead", Ty::Bool),
    ("admin", Ty::Bool),
    ("language", Ty::Text),
    ("personalNumber", Ty::Number),
];
const ENTRY_EXTRAS: &[(&str, Ty)] = &[
    ("hourRate", Ty::Number),
    ("latitude", Ty::Text),
    ("longitude", Ty::Text),
    ("latitude1", Ty::Text),
    ("longitude1", Ty::Text),
    ("flatRate", Ty::Bool),
    ("details", Ty::Text),
    ("tags", Ty::Text),
];
const ATTENDANCE_EXTRAS: &[(&str, Ty)] = &[
    ("notes", Ty::Text),
    ("latitudeStart", Ty::Number),
    ("longitudeStart", Ty::Text),
    ("latitudeEnd", Ty::Text),
    ("longitudeEnd", Ty::Text),
];

/// Copies the documented optional fields from a request body, converting numeric strings
/// and `1`/`0` booleans to the types TimeTrack answers with.
fn apply_extras(extra: &mut Object, body: &Object, spec: &[(&str, Ty)]) -> Result<(), SimError> {
    for (field, ty) in spec {
        let Some(v) = body.get(*field) else { continue };
        let value = match (ty, v) {
            (_, Value::Null) => Value::Null,
            (Ty::Text, Value::String(s)) => json!(s),
            (Ty::Text, Value::Number(n)) => json!(n.to_string()),
            (Ty::Number, v) => match lenient::value_number(v) {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
                Some(f) => json!(f),
                None => return Err(SimError::invalid(format!("`{field}` must be a number"))),
            },
            (Ty::Bool, v) => match lenient::value_bool(v) {
                Some(b) => json!(b),
                None => {
                    return Err(SimError::invalid(format!(
                        "`{field}` must be true/false/1/0"
                    )))
                }
            },
            (Ty::Text, _) => return Err(SimError::invalid(format!("`{field}` must be text"))),
        };
        extra.insert((*field).to_owned(), value);
    }
    Ok(())
}

fn render_extras(out: &mut Object, extra: &Object, spec: &[(&str, Ty)]) {
    for (field, _) in spec {
        out.insert(
            (*field).to_owned(),
            extra.get(*field).cloned().unwrap_or(Value::Null),
        );
    }
}

fn text_field(body: &Object, names: &[&str]) -> Result<Option<String>, SimError> {
    lenient::text(body, names)
        .map(|t| t.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
        .map_err(|b| SimError::invalid(b.to_string()))
}

fn required(body: &Object, field: &str, res: Resource) -> Result<String, SimError> {
    text_field(body, &[field])?.ok_or_else(|| {
        SimError::invalid(format!("`{field}` is required to create a {}", res.label()))
    })
}

fn bool_field(body: &Object, field: &str) -> Result<Option<bool>, SimError> {
    lenient::boolean(body, &[field]).map_err(|b| SimError::invalid(b.to_string()))
}

fn int_field(body: &Object, names: &[&str]) -> Result<Option<i64>, SimError> {
    lenient::int(body, names).map_err(|b| SimError::invalid(b.to_string()))
}

/// An entry's `from`/`to` as the wall-clock milliseconds the server keeps (the naive time
/// under local time; the instant under UTC).
fn entry_time(body: &Object, field: &str, clock: &Timestamps) -> Result<Option<i64>, SimError> {
    let Some(stamp) =
        lenient::stamp(body, &[field]).map_err(|b| SimError::invalid(b.to_string()))?
    else {
        return Ok(None);
    };
    clock.wall_millis(stamp).map(Some).ok_or_else(|| {
        SimError::invalid(format!(
            "`{field}` needs a zone, like 2020-10-23T14:30:00.000Z"
        ))
    })
}

fn time_field(body: &Object, field: &str) -> Result<Option<i64>, SimError> {
    lenient::timestamp(body, &[field])
        .map(|t| t.map(|t| t.timestamp_millis()))
        .map_err(|b| SimError::invalid(b.to_string()))
}

pub fn ms_to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// `YYYY-MM-DDTHH:MM:SS.fffZ` of epoch milliseconds, written digit by digit (list pages
/// format two per row; chrono's general formatter is several times slower). Years outside
/// 0000–9999 fall back to chrono.
fn fmt_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return format_timestamp(ms_to_time(ms));
    }
    let (h, m, sec, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let mut b = [0u8; 24];
    let mut put = |at: usize, v: i64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, h, 2);
    put(14, m, 2);
    put(17, sec, 2);
    put(20, milli, 3);
    b[4] = b'-';
    b[7] = b'-';
    b[10] = b'T';
    b[13] = b':';
    b[16] = b':';
    b[19] = b'.';
    b[23] = b'Z';
    String::from_utf8_lossy(&b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_timestamps_match_chrono() {
        let samples = [
            0i64,
            -1,
            951_782_400_000,     // 2000-02-29
            1_773_129_600_123,   // 2026-03-10
            4_102_444_799_999,   // 2099-12-31T23:59:59.999
            -62_135_596_800_000, // 0001-01-01
            253_402_300_799_999, // 9999-12-31T23:59:59.999
        ];
        for ms in samples
            .into_iter()
            .chain((0..2000).map(|i| i * 7_919_000_001))
        {
            assert_eq!(fmt_ms(ms), format_timestamp(ms_to_time(ms)), "{ms}");
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientRow {
    pub name: String,
    pub enabled: bool,
    pub extra: Object,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct ProjectRow {
    pub name: String,
    pub client: Option<i64>,
    pub enabled: bool,
    pub extra: Object,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct TaskRow {
    pub name: String,
    pub extra: Object,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub username: String,
    pub enabled: bool,
    pub password: String,
    pub extra: Object,
    pub deleted: bool,
}

/// A project time entry or an attendance (`project` is `None` for attendances).
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub user: i64,
    pub project: Option<i64>,
    pub task: Option<i64>,
    pub from: i64,
    pub to: Option<i64>,
    pub break_minutes: i64,
    pub worked_minutes: Option<i64>,
    pub billable: bool,
    pub manual: bool,
    pub extra: Object,
    pub deleted: bool,
}

impl EntryRow {
    /// `workedMinutes` as the server derives it: duration − break, in whole minutes (A).
    pub fn derive_worked(&mut self) {
        self.worked_minutes = self
            .to
            .map(|to| ((to - self.from) / 60_000 - self.break_minutes).max(0));
    }
}

/// Rows of one resource with their id sequence.
#[derive(Debug)]
pub struct Table<T> {
    pub rows: BTreeMap<i64, T>,
    next: i64,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: BTreeMap::new(),
            next: 1,
        }
    }
}

impl<T> Table<T> {
    fn insert(&mut self, row: T) -> i64 {
        let id = self.next;
        self.next += 1;
        self.rows.insert(id, row);
        id
    }
}

/// Entries of one kind, with a (start, id) index for time filters.
#[derive(Debug, Default)]
pub struct EntryTable {
    pub table: Table<EntryRow>,
    by_start: BTreeSet<(i64, i64)>,
}

impl EntryTable {
    fn insert(&mut self, row: EntryRow) -> i64 {
        let from = row.from;
        let id = self.table.insert(row);
        self.by_start.insert((from, id));
        id
    }

    /// Applies `f` to a row, keeping the index right.
    fn modify(&mut self, id: i64, f: impl FnOnce(&mut EntryRow)) -> bool {
        let Some(row) = self.table.rows.get_mut(&id) else {
            return false;
        };
        let before = row.from;
        f(row);
        if row.from != before {
            self.by_start.remove(&(before, id));
            self.by_start.insert((row.from, id));
        }
        true
    }
}

/// All simulated data, plus the list cache.
#[derive(Debug, Default)]
pub struct Store {
    pub clients: Table<ClientRow>,
    pub projects: Table<ProjectRow>,
    pub tasks: Table<TaskRow>,
    pub users: Table<UserRow>,
    pub entries: EntryTable,
    pub attendances: EntryTable,
    pub expenses: Table<ExpenseRow>,
    pub absences: Table<AbsenceRow>,
    /// Bumped by every change; list caches are valid for one version.
    version: u64,
    cache: HashMap<(Resource, String), Arc<Vec<i64>>>,
    cache_version: u64,
}

impl Store {
    pub fn touch(&mut self) {
        self.version += 1;
    }

    /// Whether the record exists and is live; `Err` is the answer TimeTrack gives otherwise.
    fn check_live(
        &self,
        res: Resource,
        id: i64,
        write: bool,
        opts: &SimOptions,
    ) -> Result<(), SimError> {
        let deleted = match res {
            Resource::Clients => self.clients.rows.get(&id).map(|r| r.deleted),
            Resource::Projects => self.projects.rows.get(&id).map(|r| r.deleted),
            Resource::Tasks => self.tasks.rows.get(&id).map(|r| r.deleted),
            Resource::Users => self.users.rows.get(&id).map(|r| r.deleted),
            Resource::Entries => self.entries.table.rows.get(&id).map(|r| r.deleted),
            Resource::Attendances => self.attendances.table.rows.get(&id).map(|r| r.deleted),
            Resource::Expenses => self.expenses.rows.get(&id).map(|r| r.deleted),
            Resource::Absences => self.absences.rows.get(&id).map(|r| r.deleted),
            Resource::AbsenceTypes => ABSENCE_TYPES.iter().any(|t| t.0 == id).then_some(false),
            Resource::WorkReports => None,
        };
        match deleted {
            None => Err(SimError::not_found(res, id)),
            Some(true) if !write || opts.deleted_answers_15020_on_write => {
                Err(SimError::deleted(res))
            }
            Some(true) => Err(SimError::not_found(res, id)),
            Some(false) => Ok(()),
        }
    }

    // ----- names -----

    pub fn user_name(&self, id: i64) -> Option<&str> {
        self.users.rows.get(&id).map(|u| u.username.as_str())
    }

    pub fn client_name(&self, id: Option<i64>) -> Option<&str> {
        id.and_then(|id| self.clients.rows.get(&id))
            .map(|c| c.name.as_str())
    }

    fn live_client_by_name(&self, name: &str) -> Option<i64> {
        self.clients
            .rows
            .iter()
            .find(|(_, c)| !c.deleted && c.name == name)
            .map(|(id, _)| *id)
    }

    fn live_user_by_name(&self, name: &str) -> Option<i64> {
        self.users
            .rows
            .iter()
            .find(|(_, u)| !u.deleted && u.username == name)
            .map(|(id, _)| *id)
    }

    pub fn live_task_by_name(&self, name: &str) -> Option<i64> {
        self.tasks
            .rows
            .iter()
            .find(|(_, t)| !t.deleted && t.name == name)
            .map(|(id, _)| *id)
    }

    /// The live project `project` of client `client`; a request naming another is invalid.
    fn project_by_names(&self, client: &str, project: &str) -> Result<i64, SimError> {
        self.projects
            .rows
            .iter()
            .find(|(_, p)| {
                !p.deleted && p.name == project && self.client_name(p.client) == Some(client)
            })
            .map(|(id, _)| *id)
            .ok_or_else(|| {
                SimError::invalid(format!("unknown project `{project}` of client `{client}`"))
            })
    }

    /// The project a body's `clientName`/`projectName` move a record to, each name falling
    /// back to that of the `current` project; `None` when the body names neither.
    fn moved_project(&self, body: &Object, current: Option<i64>) -> Result<Option<i64>, SimError> {
        let client_name = text_field(body, &["clientName"])?;
        let project_name = text_field(body, &["projectName"])?;
        if client_name.is_none() && project_name.is_none() {
            return Ok(None);
        }
        let current = current.and_then(|p| self.projects.rows.get(&p));
        let c = client_name
            .or_else(|| {
                current
                    .and_then(|p| self.client_name(p.client))
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let p = project_name
            .or_else(|| current.map(|p| p.name.clone()))
            .unwrap_or_default();
        self.project_by_names(&c, &p).map(Some)
    }

    fn user_id(
        &self,
        body: &Object,
        res: Resource,
        required_on_create: bool,
    ) -> Result<Option<i64>, SimError> {
        match text_field(body, &["username", "user"])? {
            None if required_on_create => Err(SimError::invalid(format!(
                "`username` is required to create a {}",
                res.label()
            ))),
            None => Ok(None),
            Some(name) => self
                .live_user_by_name(&name)
                .map(Some)
                .ok_or_else(|| SimError::invalid(format!("unknown username `{name}`"))),
        }
    }

    // ----- writes through the API -----

    pub fn create(
        &mut self,
        res: Resource,
        body: &Object,
        opts: &SimOptions,
    ) -> Result<i64, SimError> {
        let id = match res {
            Resource::Expenses => self.create_expense(body)?,
            Resource::Absences => self.create_absence(body)?,
            Resource::AbsenceTypes | Resource::WorkReports => return Err(read_only(res)),
            Resource::Clients => {
                let mut row = ClientRow {
                    name: required(body, "name", res)?,
                    enabled: bool_field(body, "enabled")?.unwrap_or(true),
                    extra: Map::new(),
                    deleted: false,
                };
                apply_extras(&mut row.extra, body, CLIENT_EXTRAS)?;
                self.clients.insert(row)
            }
            Resource::Projects => {
                let client_name = required(body, "clientName", res)?;
                let name = required(body, "projectName", res)?;
                let client = match self.live_client_by_name(&client_name) {
                    Some(c) => c,
                    None if opts.project_requires_existing_client => {
                        return Err(SimError::invalid(format!("unknown client `{client_name}`")))
                    }
                    None => self.clients.insert(ClientRow {
                        name: client_name,
                        enabled: true,
                        extra: Map::new(),
                        deleted: false,
                    }),
                };
                let mut row = ProjectRow {
                    name,
                    client: Some(client),
                    enabled: bool_field(body, "projectEnabled")?.unwrap_or(true),
                    extra: Map::new(),
                    deleted: false,
                };
                apply_extras(&mut row.extra, body, PROJECT_EXTRAS)?;
                self.projects.insert(row)
            }
            Resource::Tasks => {
                let mut row = TaskRow {
                    name: required(body, "name", res)?,
                    extra: Map::new(),
                    deleted: false,
                };
                apply_extras(&mut row.extra, body, TASK_EXTRAS)?;
                self.tasks.insert(row)
            }
            Resource::Users => {
                let username = required(body, "username", res)?;
                for f in ["firstName", "lastName", "email", "password"] {
                    required(body, f, res)?;
                }
                if self.live_user_by_name(&username).is_some() {
                    return Err(SimError::invalid(format!(
                        "username `{username}` already exists"
                    )));
                }
                let mut row = UserRow {
                    username,
                    enabled: true,
                    password: required(body, "password", res)?,
                    extra: Map::new(),
                    deleted: false,
                };
                apply_extras(&mut row.extra, body, USER_EXTRAS)?;
                self.users.insert(row)
            }
            Resource::Entries => {
                let user = self.user_id(body, res, true)?.unwrap_or_default();
                let client_name = required(body, "clientName", res)?;
                let project_name = required(body, "projectName", res)?;
                let project = self.project_by_names(&client_name, &project_name)?;
                let mut row = EntryRow {
                    user,
                    project: Some(project),
                    task: self.task_id(body, opts)?,
                    from: 0,
                    to: None,
                    break_minutes: 0,
                    worked_minutes: None,
                    billable: bool_field(body, "billable")?.unwrap_or(true),
                    manual: true,
                    extra: Map::new(),
                    deleted: false,
                };
                self.entry_times(&mut row, body, res, true, opts, &["breakMinutes"])?;
                apply_extras(&mut row.extra, body, ENTRY_EXTRAS)?;
                self.entries.insert(row)
            }
            Resource::Attendances => {
                let user = self.user_id(body, res, true)?.unwrap_or_default();
                let mut row = EntryRow {
                    user,
                    project: None,
                    task: None,
                    from: 0,
                    to: None,
                    break_minutes: 0,
                    worked_minutes: None,
                    billable: false,
                    manual: true,
                    extra: Map::new(),
                    deleted: false,
                };
                let aliases: &[&str] = if opts.attendance_aliases {
                    &["breakMinutes", "minutesBreak"]
                } else {
                    &["breakMinutes"]
                };
                self.entry_times(&mut row, body, res, true, opts, aliases)?;
                apply_extras(
                    &mut row.extra,
                    &attendance_body(body, opts),
                    ATTENDANCE_EXTRAS,
                )?;
                self.attendances.insert(row)
            }
        };
        self.touch();
        Ok(id)
    }

    fn task_id(&mut self, body: &Object, opts: &SimOptions) -> Result<Option<i64>, SimError> {
        match text_field(body, &["task"])? {
            None => Ok(None),
            Some(name) => match self.live_task_by_name(&name) {
                Some(t) => Ok(Some(t)),
                None if opts.entry_unknown_task_rejected => {
                    Err(SimError::invalid(format!("unknown task `{name}`")))
                }
                None => Ok(Some(self.tasks.insert(TaskRow {
                    name,
                    extra: Map::new(),
                    deleted: false,
                }))),
            },
        }
    }

    /// Reads `from`/`to`/break/worked minutes into a row (all required on create, A).
    fn entry_times(
        &self,
        row: &mut EntryRow,
        body: &Object,
        res: Resource,
        create: bool,
        opts: &SimOptions,
        break_names: &[&str],
    ) -> Result<(), SimError> {
        let from = entry_time(body, "from", &opts.timestamps)?;
        let to = entry_time(body, "to", &opts.timestamps)?;
        if create {
            row.from = from.ok_or_else(|| {
                SimError::invalid(format!("`from` is required to create a {}", res.label()))
            })?;
            row.to = Some(to.ok_or_else(|| {
                SimError::invalid(format!("`to` is required to create a {}", res.label()))
            })?);
        } else {
            if let Some(f) = from {
                row.from = f;
            }
            if let Some(t) = to {
                row.to = Some(t);
            }
        }
        if row.to.is_some_and(|t| t < row.from) {
            return Err(SimError::invalid("`to` is before `from`"));
        }
        if let Some(b) = int_field(body, break_names)? {
            if b < 0 {
                return Err(SimError::invalid("`breakMinutes` must not be negative"));
            }
            row.break_minutes = b;
        }
        let given = int_field(body, &["workedMinutes"])?;
        if opts.derive_worked_minutes || (given.is_none() && row.worked_minutes.is_none()) {
            row.derive_worked();
        } else if let Some(w) = given {
            row.worked_minutes = Some(w);
        }
        Ok(())
    }

    /// Applies a forbidden-field rule: `Ok(true)` = the change may go ahead.
    fn forbidden(
        res: Resource,
        field: &str,
        changes: bool,
        opts: &SimOptions,
    ) -> Result<bool, SimError> {
        if !changes {
            return Ok(true);
        }
        match opts.forbidden_update_field {
            ForbiddenField::Reject => Err(SimError::forbidden_field(res, field)),
            ForbiddenField::Ignore => Ok(false),
        }
    }

    pub fn update(
        &mut self,
        res: Resource,
        id: i64,
        body: &Object,
        opts: &SimOptions,
    ) -> Result<(), SimError> {
        if res.read_only() {
            return Err(read_only(res));
        }
        self.check_live(res, id, true, opts)?;
        match res {
            Resource::Expenses => self.update_expense(id, body)?,
            Resource::Absences => self.update_absence(id, body, opts)?,
            Resource::AbsenceTypes | Resource::WorkReports => return Err(read_only(res)),
            Resource::Clients => {
                let mut row = self.clients.rows[&id].clone();
                if let Some(n) = text_field(body, &["name"])? {
                    Self::forbidden(res, "name", n != row.name, opts)?;
                }
                if let Some(e) = bool_field(body, "enabled")? {
                    Self::forbidden(res, "enabled", e != row.enabled, opts)?;
                }
                apply_extras(&mut row.extra, body, CLIENT_EXTRAS)?;
                self.clients.rows.insert(id, row);
            }
            Resource::Projects => {
                let mut row = self.projects.rows[&id].clone();
                if let Some(c) = text_field(body, &["clientName"])? {
                    row.client = Some(
                        self.live_client_by_name(&c)
                            .ok_or_else(|| SimError::invalid(format!("unknown client `{c}`")))?,
                    );
                }
                if let Some(n) = text_field(body, &["projectName"])? {
                    row.name = n;
                }
                if let Some(e) = bool_field(body, "projectEnabled")? {
                    row.enabled = e;
                }
                apply_extras(&mut row.extra, body, PROJECT_EXTRAS)?;
                self.projects.rows.insert(id, row);
            }
            Resource::Tasks => {
                let mut row = self.tasks.rows[&id].clone();
                if let Some(n) = text_field(body, &["name"])? {
                    Self::forbidden(res, "name", n != row.name, opts)?;
                }
                apply_extras(&mut row.extra, body, TASK_EXTRAS)?;
                self.tasks.rows.insert(id, row);
            }
            Resource::Users => {
                let mut row = self.users.rows[&id].clone();
                if let Some(n) = text_field(body, &["username"])? {
                    Self::forbidden(res, "username", n != row.username, opts)?;
                }
                if let Some(e) = bool_field(body, "enabled")? {
                    Self::forbidden(res, "enabled", e != row.enabled, opts)?;
                }
                if let Some(p) = text_field(body, &["password"])? {
                    row.password = p;
                }
                apply_extras(&mut row.extra, body, USER_EXTRAS)?;
                self.users.rows.insert(id, row);
            }
            Resource::Entries => {
                let mut row = self.entries.table.rows[&id].clone();
                if let Some(u) = self.user_id(body, res, false)? {
                    row.user = u;
                }
                if let Some(p) = self.moved_project(body, row.project)? {
                    row.project = Some(p);
                }
                if body.contains_key("task") {
                    row.task = self.task_id(body, opts)?;
                }
                if let Some(b) = bool_field(body, "billable")? {
                    row.billable = b;
                }
                self.entry_times(&mut row, body, res, false, opts, &["breakMinutes"])?;
                apply_extras(&mut row.extra, body, ENTRY_EXTRAS)?;
                self.entries.modify(id, |r| *r = row);
            }
            Resource::Attendances => {
                let mut row = self.attendances.table.rows[&id].clone();
                if let Some(u) = text_field(body, &["username", "user"])? {
                    let current = self.users.rows.get(&row.user).map(|u| u.username.as_str());
                    Self::forbidden(res, "username", Some(u.as_str()) != current, opts)?;
                }
                let aliases: &[&str] = if opts.attendance_aliases {
                    &["breakMinutes", "minutesBreak"]
                } else {
                    &["breakMinutes"]
                };
                self.entry_times(&mut row, body, res, false, opts, aliases)?;
                apply_extras(
                    &mut row.extra,
                    &attendance_body(body, opts),
                    ATTENDANCE_EXTRAS,
                )?;
                self.attendances.modify(id, |r| *r = row);
            }
        }
        self.touch();
        Ok(())
    }

    /// Soft delete (§1.8, §5.8): the record stays, marked deleted.
    pub fn delete(&mut self, res: Resource, id: i64, opts: &SimOptions) -> Result<(), SimError> {
        if res.read_only() {
            return Err(read_only(res));
        }
        self.check_live(res, id, true, opts)?;
        self.mark_deleted(res, id);
        Ok(())
    }

    pub fn mark_deleted(&mut self, res: Resource, id: i64) -> bool {
        let hit = match res {
            Resource::Clients => self.clients.rows.get_mut(&id).map(|r| r.deleted = true),
            Resource::Projects => self.projects.rows.get_mut(&id).map(|r| r.deleted = true),
            Resource::Tasks => self.tasks.rows.get_mut(&id).map(|r| r.deleted = true),
            Resource::Users => self.users.rows.get_mut(&id).map(|r| r.deleted = true),
            Resource::Entries => self
                .entries
                .table
                .rows
                .get_mut(&id)
                .map(|r| r.deleted = true),
            Resource::Attendances => self
                .attendances
                .table
                .rows
                .get_mut(&id)
                .map(|r| r.deleted = true),
            Resource::Expenses => self.expenses.rows.get_mut(&id).map(|r| r.deleted = true),
            Resource::Absences => self.absences.rows.get_mut(&id).map(|r| r.deleted = true),
            Resource::AbsenceTypes | Resource::WorkReports => None,
        }
        .is_some();
        self.touch();
        hit
    }

    // ----- seeding and out-of-band changes (the web app) -----

    pub fn insert_client(&mut self, row: ClientRow) -> i64 {
        self.touch();
        self.clients.insert(row)
    }
    pub fn insert_project(&mut self, row: ProjectRow) -> i64 {
        self.touch();
        self.projects.insert(row)
    }
    pub fn insert_task(&mut self, row: TaskRow) -> i64 {
        self.touch();
        self.tasks.insert(row)
    }
    pub fn insert_user(&mut self, row: UserRow) -> i64 {
        self.touch();
        self.users.insert(row)
    }
    pub fn insert_entry(&mut self, row: EntryRow) -> i64 {
        self.touch();
        self.entries.insert(row)
    }
    pub fn insert_attendance(&mut self, row: EntryRow) -> i64 {
        self.touch();
        self.attendances.insert(row)
    }
    pub fn modify_entry(
        &mut self,
        attendance: bool,
        id: i64,
        f: impl FnOnce(&mut EntryRow),
    ) -> bool {
        self.touch();
        let t = if attendance {
            &mut self.attendances
        } else {
            &mut self.entries
        };
        t.modify(id, f)
    }
}

fn read_only(res: Resource) -> SimError {
    SimError::new(
        405,
        codes::NOT_FOUND,
        "Method not allowed",
        format!("{} records are read-only", res.label()),
    )
}

/// An attendance body with the example spellings mapped to the table's (§4.18).
fn attendance_body(body: &Object, opts: &SimOptions) -> Object {
    let mut b = body.clone();
    if opts.attendance_aliases && !b.contains_key("notes") {
        if let Some(d) = body.get("details") {
            b.insert("notes".into(), d.clone());
        }
    }
    b
}
