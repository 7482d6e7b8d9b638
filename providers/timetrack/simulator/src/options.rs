//! The simulator's switches. Each field documents what the real API does (or what the spec
//! could not establish, marked (A) for an assumption) and the spec section it comes from,
//! so an assumption can be flipped once the real behaviour is known.

use std::time::Duration;

use timeweave_timetrack::clock::Timestamps;

/// How `from`/`to` filter entries (§4.13, A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FromToSemantics {
    /// The entry's start lies in `[from, to]` (both inclusive). Default.
    StartInclusive,
    /// The entry's start lies in `[from, to)`.
    StartHalfOpen,
    /// The entry overlaps `[from, to]` (start ≤ to and end ≥ from).
    Overlap,
    /// The entry lies wholly inside: start ≥ from and end ≤ to.
    Contained,
}

/// What an update that tries to change a field the API forbids changing does (§2, §4.17, A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForbiddenField {
    /// 422 with the error envelope. Default.
    Reject,
    /// The field is silently ignored; the rest of the update applies.
    Ignore,
}

/// What a successful create answers (§4.10: undocumented, A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateAnswer {
    /// 201 with the full object, `id` included. Default.
    FullObject,
    /// 201 with `{"id": N}` only.
    IdOnly,
    /// 204 with an empty body: the client must find the record itself.
    Empty,
}

/// What a successful update answers (§4.10, A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateAnswer {
    /// 200 with the full object. Default.
    FullObject,
    /// 204 with an empty body.
    Empty,
}

/// What `limit` above 1000 does (§1.4 says the range is 0..1000; A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitAboveMax {
    /// Served as 1000. Default.
    Clamp,
    /// 422.
    Reject,
}

/// The request throttle (§1.7: 30 requests per minute per key; over-limit answer undocumented).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    /// Requests admitted per rolling window, per API key. Real: 30.
    pub limit: u32,
    /// The rolling window. Real: one minute (rolling vs fixed is unknown, §4.16; A rolling).
    pub window: Duration,
    /// Whether a 429 carries `Retry-After` (seconds until a slot frees up) (§4.16, A: yes).
    pub retry_after: bool,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            limit: 30,
            window: Duration::from_secs(60),
            retry_after: true,
        }
    }
}

/// Every switch of the simulator. `Default` is the spec's best reading of the real API.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// API key the simulator accepts (`X-TimeTrack-Api-Key`, §1.2).
    pub api_key: String,
    /// API secret the simulator accepts (`X-TimeTrack-Api-Secret`, §1.2).
    pub api_secret: String,
    /// After `SimServer::rotate_secret`, the old secret stops working (§1.2 [?], A: true).
    /// When false, both the old and the new secret are accepted.
    pub rotation_revokes_old_secret: bool,
    /// The request throttle (§1.7, §5.10); `None` turns it off.
    pub throttle: Option<Throttle>,
    /// Whether over-limit requests count towards the window (A: false, only admitted ones).
    pub throttle_counts_refused: bool,
    /// `from`/`to` semantics on entry lists (§4.13, A: start inclusive).
    pub from_to: FromToSemantics,
    /// Soft-deleted records still appear in lists, flagged `"deleted": true` (§4.2, A: false).
    pub deleted_listed: bool,
    /// PUT and DELETE of a soft-deleted record answer 404 code 15020 like GET (§5.8, A: true).
    /// When false they answer as if the record never existed (404, other code).
    pub deleted_answers_15020_on_write: bool,
    /// A forbidden field in an update (§5.7, A: reject).
    pub forbidden_update_field: ForbiddenField,
    /// `user` is accepted as well as `username` as the user filter (§1.5, §4.14, A: true).
    pub accept_user_param_alias: bool,
    /// Unknown query parameters (such as `page`) are rejected with 422 instead of ignored
    /// (§1.4, §4.14, A: false, ignored).
    pub reject_unknown_params: bool,
    /// `clientName`/`projectName` filters on entry lists match by substring instead of
    /// exactly (§1.5, §4.15, A: false, exact).
    pub entry_name_filter_substring: bool,
    /// Name filters are case-sensitive (§4.15, A: false, case-insensitive).
    pub name_filter_case_sensitive: bool,
    /// `limit` above 1000 (§1.4, A: clamp).
    pub limit_above_max: LimitAboveMax,
    /// The server ignores `limit` and always serves the default 50 rows (§1.4 documents that
    /// `limit` works; this reproduces a server or proxy that drops it). Default false.
    pub ignore_limit: bool,
    /// The server ignores `page_number` and always serves page 0 (§1.4; what one real client
    /// sending `page` sees). Default false.
    pub ignore_page_number: bool,
    /// Project create needs an existing client named by `clientName` (§3, A: true). When
    /// false, an unknown client is created on the fly.
    pub project_requires_existing_client: bool,
    /// An entry naming a task that does not exist is refused (A: true). When false the
    /// global task is created on the fly.
    pub entry_unknown_task_rejected: bool,
    /// Entries and attendances get `workedMinutes` computed as duration − break (§4.19, A:
    /// true). When false a given `workedMinutes` is stored as sent.
    pub derive_worked_minutes: bool,
    /// Attendances accept the example spellings `minutesBreak`/`details` as well as
    /// `breakMinutes`/`notes` (§4.18, A: true). When false the aliases are ignored.
    pub attendance_aliases: bool,
    /// What a successful create answers (§4.10).
    pub create_answer: CreateAnswer,
    /// What a successful update answers (§4.10).
    pub update_answer: UpdateAnswer,
    /// How long a `Fault::Timeout` holds the answer (longer than the client's timeout).
    pub timeout_delay: Duration,
    /// What `...Z` in `from`/`to` (bodies, answers and filters) means (evidence K1: most
    /// likely the account's wall-clock time). Default: wall-clock time in Europe/Berlin,
    /// so every test runs the realistic case in a zone with DST. The server keeps the wall
    /// clock as sent and computes `workedMinutes` from it, as a wall-clock server would.
    pub timestamps: Timestamps,
    /// The project timer path prefix (§2.9, A: `project_timer`; the other published form is
    /// `timers/project_timer`). Timer calls answer 501 in this simulator (not synced).
    pub project_timer_prefix: String,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            api_key: "tt-sim-key".into(),
            api_secret: "tt-sim-secret".into(),
            rotation_revokes_old_secret: true,
            throttle: Some(Throttle::default()),
            throttle_counts_refused: false,
            from_to: FromToSemantics::StartInclusive,
            deleted_listed: false,
            deleted_answers_15020_on_write: true,
            forbidden_update_field: ForbiddenField::Reject,
            accept_user_param_alias: true,
            reject_unknown_params: false,
            entry_name_filter_substring: false,
            name_filter_case_sensitive: false,
            limit_above_max: LimitAboveMax::Clamp,
            ignore_limit: false,
            ignore_page_number: false,
            project_requires_existing_client: true,
            entry_unknown_task_rejected: true,
            derive_worked_minutes: true,
            attendance_aliases: true,
            create_answer: CreateAnswer::FullObject,
            update_answer: UpdateAnswer::FullObject,
            timeout_delay: Duration::from_secs(3),
            project_timer_prefix: "project_timer".into(),
            timestamps: Timestamps::Local(chrono_tz::Europe::Berlin),
        }
    }
}

impl SimOptions {
    /// The defaults without the throttle: for tests that are not about throttling.
    pub fn unthrottled() -> Self {
        SimOptions {
            throttle: None,
            ..SimOptions::default()
        }
    }
}
