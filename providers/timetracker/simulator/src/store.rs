//! The simulator's in-memory database: users, tokens, clients, projects, tasks, time entries
//! (with a start-time index for fast listing), the idempotency store, audit logs and
//! activities, and the clock every timestamp comes from.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};
use serde_json::Value;

use super::options::SimOptions;
use timeweave_timetracker::time::utc_to_local;

#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub role: String,
    /// RBAC roles besides `role`; `admin` or `super_admin` makes an admin too (§1).
    pub rbac_roles: Vec<String>,
    pub is_active: bool,
    pub password: Option<String>,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub user_id: i64,
    pub scopes: Vec<String>,
    pub active: bool,
    /// `expires_at` (tokens from `/auth/login` expire after 90 days).
    pub expires_at: Option<DateTime<Utc>>,
}

impl Token {
    /// `ApiToken.has_scope` (`app/models/api_token.py:105-128`): `admin:all`/`*` grant
    /// everything, `family:*` matches its family (`admin:*` too grants `admin:all`, but
    /// nothing beyond `admin:`); `write:*` does not imply `read:*`.
    pub fn has_scope(&self, required: &str) -> bool {
        let family = required.split_once(':').map(|(f, _)| format!("{f}:*"));
        self.scopes
            .iter()
            .map(|s| s.trim())
            .any(|s| s == "admin:all" || s == "*" || s == required || family.as_deref() == Some(s))
    }
}

#[derive(Clone, Debug)]
pub struct ClientRec {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub description: Option<String>,
    pub contact_person: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub default_hourly_rate: Option<String>,
    pub custom_fields: Value,
    pub status: String,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Clone, Debug)]
pub struct ProjectRec {
    pub id: i64,
    pub name: String,
    pub client_id: i64,
    pub description: Option<String>,
    pub billable: bool,
    pub hourly_rate: Option<f64>,
    pub code: Option<String>,
    pub status: String,
    pub estimated_hours: Option<f64>,
    pub budget_amount: Option<f64>,
    pub billing_ref: Option<String>,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub archived_at: Option<NaiveDateTime>,
    pub archived_by: Option<i64>,
    pub archived_reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TaskRec {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub priority: String,
    pub estimated_hours: Option<f64>,
    pub due_date: Option<String>,
    pub assigned_to: Option<i64>,
    pub created_by: i64,
    pub tags: Option<String>,
    /// Naive app-local.
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
}

#[derive(Clone, Debug)]
pub struct EntryRec {
    pub id: i64,
    pub user_id: i64,
    pub project_id: Option<i64>,
    pub client_id: Option<i64>,
    pub task_id: Option<i64>,
    /// Naive app-local.
    pub start: NaiveDateTime,
    pub end: Option<NaiveDateTime>,
    pub break_seconds: i64,
    pub paused_at: Option<NaiveDateTime>,
    pub notes: Option<String>,
    pub tags: Option<String>,
    pub source: &'static str,
    pub billable: bool,
    pub paid: bool,
    pub invoice_number: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Test hook: raw JSON fields that replace the serialised ones (malformed data).
    pub overrides: serde_json::Map<String, Value>,
}

impl EntryRec {
    /// Net seconds (`calculate_duration`, rounding off): end − start − break, never negative.
    pub fn duration_seconds(&self) -> Option<i64> {
        self.end
            .map(|end| ((end - self.start).num_seconds() - self.break_seconds).max(0))
    }
}

#[derive(Clone, Debug)]
pub struct Stored {
    pub status: u16,
    pub body: Value,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct LogRow {
    pub body: Value,
    pub entity_type: String,
    pub action: String,
    pub user_id: Option<i64>,
    /// When it was written (the routes order by it, newest first).
    pub at: DateTime<Utc>,
}

/// One token's fixed windows: (minute index, calls), (hour index, calls).
pub type RateWindows = ((i64, u32), (i64, u32));

/// The cached position after the last page served for one listing (sequential paging in
/// O(page size) instead of O(offset)); dropped whenever an entry changes.
#[derive(Clone, Debug)]
pub struct ListCursor {
    pub generation: u64,
    pub total: i64,
    pub next_page: i64,
    pub after: Option<(NaiveDateTime, i64)>,
}

/// The simulator's clock: real time, or frozen/shifted by tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    pub frozen: Option<DateTime<Utc>>,
    pub offset: Duration,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        let t = self.frozen.unwrap_or_else(|| Utc::now() + self.offset);
        t.trunc_subsecs(6)
    }
}

#[derive(Debug)]
pub struct Store {
    pub opts: SimOptions,
    pub clock: Clock,
    pub users: BTreeMap<i64, User>,
    pub tokens: HashMap<String, Token>,
    pub clients: BTreeMap<i64, ClientRec>,
    pub projects: BTreeMap<i64, ProjectRec>,
    pub tasks: BTreeMap<i64, TaskRec>,
    pub entries: BTreeMap<i64, EntryRec>,
    /// (start, id) of every entry: the list order is start DESC.
    pub by_start: BTreeSet<(NaiveDateTime, i64)>,
    /// Ids of running entries (timers).
    pub running: BTreeSet<i64>,
    pub next_ids: HashMap<&'static str, i64>,
    pub idempotency: HashMap<(String, String), Stored>,
    pub audit_logs: Vec<LogRow>,
    pub activities: Vec<LogRow>,
    pub generation: u64,
    pub cursors: HashMap<String, ListCursor>,
    /// Per-token fixed windows: (minute index, count), (hour index, count).
    pub rate: HashMap<String, RateWindows>,
    pub login_window: (i64, u32),
    pub requests: u64,
    pub token_seq: u64,
    /// The user whose request is being served (audit rows name it); `None` out of band.
    pub actor: Option<i64>,
}

impl Store {
    pub fn new(opts: SimOptions) -> Self {
        Store {
            opts,
            clock: Clock::default(),
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            clients: BTreeMap::new(),
            projects: BTreeMap::new(),
            tasks: BTreeMap::new(),
            entries: BTreeMap::new(),
            by_start: BTreeSet::new(),
            running: BTreeSet::new(),
            next_ids: HashMap::new(),
            idempotency: HashMap::new(),
            audit_logs: Vec::new(),
            activities: Vec::new(),
            generation: 0,
            cursors: HashMap::new(),
            rate: HashMap::new(),
            login_window: (0, 0),
            requests: 0,
            token_seq: 0,
            actor: None,
        }
    }

    pub fn now_utc(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Naive UTC now (clients, projects, users, activities).
    pub fn utc_naive(&self) -> NaiveDateTime {
        self.now_utc().naive_utc()
    }

    /// Naive app-local now (entries, tasks, audit logs): `local_now()`.
    pub fn local_naive(&self) -> NaiveDateTime {
        utc_to_local(self.opts.timezone, self.now_utc())
    }

    /// The next id of a table. With `sqlite_id_reuse`, max(id)+1 (a deleted highest id comes
    /// back); otherwise a sequence that never goes back.
    pub fn next_id(&mut self, table: &'static str) -> i64 {
        let max_live = match table {
            "users" => self.users.keys().next_back().copied(),
            "clients" => self.clients.keys().next_back().copied(),
            "projects" => self.projects.keys().next_back().copied(),
            "tasks" => self.tasks.keys().next_back().copied(),
            "entries" => self.entries.keys().next_back().copied(),
            _ => None,
        }
        .unwrap_or(0);
        let seq = self.next_ids.entry(table).or_insert(0);
        let id = if self.opts.sqlite_id_reuse {
            max_live + 1
        } else {
            (*seq).max(max_live) + 1
        };
        *seq = (*seq).max(id);
        id
    }

    pub fn new_token(&mut self, user_id: i64, scopes: &[&str]) -> String {
        use sha2::{Digest, Sha256};
        self.token_seq += 1;
        let digest = hex::encode(Sha256::digest(
            format!("timeweave-sim-{}-{}", self.token_seq, self.now_utc()).as_bytes(),
        ));
        // 32 URL-safe characters, with the `-` and `_` real tokens can contain.
        let token = format!("tt_{}-_{}", &digest[..15], &digest[15..30]);
        self.tokens.insert(
            token.clone(),
            Token {
                user_id,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                active: true,
                expires_at: None,
            },
        );
        token
    }

    pub fn is_admin(&self, user_id: i64) -> bool {
        self.users.get(&user_id).is_some_and(|u| {
            u.role == "admin"
                || u.rbac_roles
                    .iter()
                    .any(|r| r == "admin" || r == "super_admin")
        })
    }

    // ----- entries (kept in step with the start index) ---------------------------------

    /// A new entry: an audit `created` row, as the server's ORM listener writes.
    pub fn insert_entry(&mut self, e: EntryRec) {
        self.audit_entry(None, &e);
        self.put_entry(e);
    }

    /// A changed entry: `updated` audit rows (one per changed field).
    pub fn replace_entry(&mut self, e: EntryRec) {
        let old = self.entries.get(&e.id).cloned();
        self.audit_entry(old.as_ref(), &e);
        if let Some(old) = old {
            self.by_start.remove(&(old.start, old.id));
        }
        self.put_entry(e);
    }

    /// An entry stored with no trail row, as if it came with a restored database (benches
    /// seeding a large account).
    pub fn seed_entry(&mut self, e: EntryRec) {
        self.put_entry(e);
    }

    fn put_entry(&mut self, e: EntryRec) {
        self.by_start.insert((e.start, e.id));
        if e.end.is_none() {
            self.running.insert(e.id);
        } else {
            self.running.remove(&e.id);
        }
        self.entries.insert(e.id, e);
        self.touch();
    }

    pub fn remove_entry(&mut self, id: i64) -> Option<EntryRec> {
        let e = self.entries.remove(&id)?;
        self.by_start.remove(&(e.start, e.id));
        self.running.remove(&id);
        self.touch();
        Some(e)
    }

    /// Any change to entries invalidates the cached list cursors.
    pub fn touch(&mut self) {
        self.generation += 1;
        self.cursors.clear();
    }

    /// The server's overlap check: a completed entry of the same user that overlaps.
    pub fn overlaps(
        &self,
        user_id: i64,
        start: NaiveDateTime,
        end: NaiveDateTime,
        except: Option<i64>,
    ) -> bool {
        // Entries starting before `end`, scanned back to a week before `start` (entries longer
        // than a week are not checked).
        let horizon = start
            .checked_sub_signed(Duration::days(7))
            .unwrap_or(NaiveDateTime::MIN);
        self.by_start
            .range(..(end, i64::MIN))
            .rev()
            .take_while(|(s, _)| *s >= horizon)
            .filter_map(|(_, id)| self.entries.get(id))
            .any(|e| {
                Some(e.id) != except
                    && e.user_id == user_id
                    && e.end.is_some_and(|e_end| e_end > start && e.start < end)
            })
    }

    pub fn active_timer(&self, user_id: i64) -> Option<&EntryRec> {
        self.running
            .iter()
            .filter_map(|id| self.entries.get(id))
            .filter(|e| e.user_id == user_id && e.end.is_none())
            .max_by_key(|e| e.start)
    }

    pub fn remember_idempotent(&mut self, token: &str, key: &str, status: u16, body: &Value) {
        let at = self.now_utc();
        self.idempotency.insert(
            (token.to_owned(), key.to_owned()),
            Stored {
                status,
                body: body.clone(),
                at,
            },
        );
    }

    pub fn replay_idempotent(&self, token: &str, key: &str) -> Option<(u16, Value)> {
        let stored = self.idempotency.get(&(token.to_owned(), key.to_owned()))?;
        let fresh = self.now_utc() - stored.at < Duration::seconds(self.opts.idempotency_ttl_secs);
        fresh.then(|| (stored.status, stored.body.clone()))
    }

    pub fn log_activity(
        &mut self,
        user_id: i64,
        action: &str,
        entity_id: i64,
        name: &str,
        description: String,
        extra: Value,
    ) {
        let id = self.activities.len() as i64 + 1;
        let user = self.users.get(&user_id).cloned();
        let at = self.now_utc();
        let body = serde_json::json!({
            "action": action,
            "created_at": timeweave_timetracker::time::format_naive(self.utc_naive()),
            "description": description,
            "display_name": user.as_ref().map(|u| u.full_name.clone().unwrap_or_else(|| u.username.clone())),
            "entity_id": entity_id,
            "entity_name": name,
            "entity_type": "time_entry",
            "extra_data": extra.clone(),
            "id": id,
            "metadata": extra,
            "user_id": user_id,
            "username": user.map(|u| u.username),
        });
        self.activities.push(LogRow {
            body,
            entity_type: "time_entry".into(),
            action: action.into(),
            user_id: Some(user_id),
            at,
        });
    }
}
