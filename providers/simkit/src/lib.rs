//! What every provider simulator offers to tests, the demo and the benchmarks: seeding and
//! out-of-band changes (as a person in the provider's web app would make them), fault
//! injection, counters, and the request a person would send to the simulator's own API.
//!
//! The simulators themselves live in `providers/<name>/simulator`; this is only their shared
//! face (their control trait, faults, [`Serving`], how a router-based simulator runs, and
//! [`fault_answers`], what it answers for a fault whatever the provider).
//! The binary's `demo` uses it at run time, so it is a normal (not dev-only) crate; the
//! conformance suite and the other test helpers are in `timeweave-testsupport`.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod fault_answers;
mod serve;

pub use serve::Serving;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use timeweave_contract::{
    Client, EntryKind, Kind, Person, Project, Record, RemoteId, Task, TimeEntry,
};
/// A failure a simulator can be told to produce for its next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with the provider's error body.
    ServerError,
    /// The answer comes after the client's timeout.
    Timeout,
    /// The connection is closed without an answer.
    ConnectionReset,
    /// A 200 whose body is not JSON at all.
    MalformedJson,
    /// A 502 gateway page in HTML.
    HtmlErrorPage,
    /// 429, with or without `Retry-After` (seconds).
    RateLimited { retry_after_secs: Option<u64> },
    /// A 200 whose JSON body is cut off half-way.
    TruncatedBody,
    /// The request is carried out, then the answer is lost (connection closed): the
    /// "did my create land?" case.
    LoseResponse,
}

/// Credentials a simulator accepts, in the terms of the config file.
#[derive(Clone, Debug, Default)]
pub struct SimCredentials {
    pub api_key: Option<String>,
    pub api_secret: String,
    pub account_id: Option<String>,
}

/// Control of a running simulator, uniform across providers.
pub trait SimulatorControl: Send + Sync {
    /// The provider kind, e.g. `"timetracker"`.
    fn kind_name(&self) -> &'static str;
    /// The base URL an adapter is configured with (what the config's `base_url` would be).
    fn base_url(&self) -> String;
    fn credentials(&self) -> SimCredentials;
    /// Config lines (`key = value\n`) an instance of this simulator needs beyond its URL and
    /// credentials, such as the time zone its wall-clock times are in. None by default.
    fn config_lines(&self) -> String {
        String::new()
    }

    /// Seeding and out-of-band creation. References are this simulator's ids.
    fn add_person(&self, person: &Person) -> RemoteId;
    fn add_client(&self, client: &Client) -> RemoteId;
    fn add_project(&self, project: &Project<RemoteId>) -> RemoteId;
    fn add_task(&self, task: &Task<RemoteId>) -> RemoteId;
    fn add_entry(&self, entry: &TimeEntry<RemoteId>) -> RemoteId;

    /// Out-of-band edit: the record's synced fields become `record`'s (as far as the
    /// provider can hold them), and its modification time moves. `false` if unknown.
    fn edit(&self, id: &RemoteId, record: &Record<RemoteId>) -> bool;
    /// Out-of-band delete, with the provider's own delete semantics (hard, soft, archive).
    fn remove(&self, kind: Kind, id: &RemoteId) -> bool;
    /// Out-of-band rename of a client, project or task (which the web app may allow even
    /// where the API does not).
    fn rename(&self, kind: Kind, id: &RemoteId, name: &str) -> bool;

    /// The next `count` requests fail with `fault`.
    fn inject_faults(&self, fault: Fault, count: u32);
    fn clear_faults(&self);
    /// Injected faults not yet served.
    fn pending_faults(&self) -> u32;
    /// Turns the simulated provider's own rate limiting on or off.
    fn set_rate_limiting(&self, on: bool);
    /// Requests served so far (every request that reached the simulator).
    fn requests_served(&self) -> u64;
    /// Requests served so far that asked to change the account: a write method (POST,
    /// PUT, PATCH, DELETE), or a route that writes whatever the method (TrackingTime's
    /// `…/add`, `…/update/{id}`, `…/delete/{id}`).
    fn write_requests(&self) -> u64;
    /// Live (not deleted) records of a kind.
    fn count(&self, kind: Kind) -> usize;

    /// The request that reads time entry `id` through the simulator's own HTTP API, with its
    /// real credentials (what `timeweave demo --serve` prints as a `curl`).
    fn read_entry_request(&self, id: &RemoteId) -> Option<SimRequest> {
        let _ = id;
        None
    }
    /// The request that sets the notes of time entry `id` through the simulator's own HTTP
    /// API, as a person's script would. `None` where the simulator offers no such request.
    fn edit_notes_request(&self, id: &RemoteId, notes: &str) -> Option<SimRequest> {
        let _ = (id, notes);
        None
    }
}

/// One request to a simulator's own HTTP API: what a person would send with `curl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRequest {
    pub method: &'static str,
    pub url: String,
    /// `(name, value)`, credentials included.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl SimRequest {
    /// A copy-pasteable POSIX shell command: every argument single-quoted (`-X` only when
    /// the method is not GET).
    pub fn to_curl(&self) -> String {
        let mut out = String::from("curl -sS");
        if self.method != "GET" {
            out.push_str(&format!(" -X {}", self.method));
        }
        out.push_str(&format!(" {}", shell_quote(&self.url)));
        for (name, value) in &self.headers {
            out.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
        }
        if let Some(body) = &self.body {
            out.push_str(&format!(" -d {}", shell_quote(body)));
        }
        out
    }
}

/// `text` as one single-quoted shell word (a `'` inside becomes `'\''`).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// A finished, billable work entry of `minutes` from `started_at`, no break, no tags.
pub fn work_entry(
    person: &RemoteId,
    project: Option<&RemoteId>,
    started_at: DateTime<Utc>,
    minutes: i64,
    notes: &str,
) -> TimeEntry<RemoteId> {
    TimeEntry {
        person: person.clone(),
        project: project.cloned(),
        task: None,
        client: None,
        started_at,
        ended_at: Some(started_at + Duration::minutes(minutes)),
        break_seconds: 0,
        duration_seconds: Some(minutes * 60),
        source_tz: None,
        notes: Some(notes.to_owned()),
        tags: BTreeSet::new(),
        billable: true,
        kind: EntryKind::Work,
    }
}

#[cfg(test)]
mod tests {
    use super::SimRequest;

    #[test]
    fn a_request_prints_as_one_quoted_curl_command() {
        let request = SimRequest {
            method: "PATCH",
            url: "http://127.0.0.1:7872/api/v1/time-entries/7".into(),
            headers: vec![("Authorization".into(), "Bearer tt_x".into())],
            body: Some(r#"{"notes":"Ada's call"}"#.into()),
        };
        assert_eq!(
            request.to_curl(),
            r#"curl -sS -X PATCH 'http://127.0.0.1:7872/api/v1/time-entries/7' -H 'Authorization: Bearer tt_x' -d '{"notes":"Ada'\''s call"}'"#
        );
        let read = SimRequest {
            method: "GET",
            body: None,
            ..request
        };
        assert_eq!(
            read.to_curl(),
            "curl -sS 'http://127.0.0.1:7872/api/v1/time-entries/7' -H 'Authorization: Bearer tt_x'"
        );
    }
}
