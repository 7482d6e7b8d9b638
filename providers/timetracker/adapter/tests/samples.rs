//! The 78 recorded request/response pairs of a real v5.10.0 server are the contract:
//! (1) every recorded body deserialises into the adapter's JSON types (and maps to the
//! canonical model where it is a record), and (2) replaying every recorded request, in order,
//! against a fresh simulator gives the same status, envelope, field names and JSON types.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;
use timeweave_contract::Record;
use timeweave_timetracker::mapping::{self, Zone};
use timeweave_timetracker::time::parse_naive;
use timeweave_timetracker::wire;
use timeweave_timetracker_sim::{SimOptions, SimServer};

struct Sample {
    name: String,
    method: String,
    path: String,
    headers: HashMap<String, String>,
    json: Option<Value>,
    status: u16,
    resp_headers: HashMap<String, String>,
    body: Value,
}

fn samples() -> Vec<Sample> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recorded-v5.10");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the recorded TimeTracker samples are missing at {} ({e}): they are part of \
             the repository (providers/timetracker/fixtures/)",
            dir.display()
        )
    });
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let out: Vec<Sample> = names
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read sample");
            let v: Value = serde_json::from_str(&text).expect("sample is JSON");
            let req = &v["request"];
            let map = |x: &Value| -> HashMap<String, String> {
                x.as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            Sample {
                name: p.file_name().unwrap().to_string_lossy().into_owned(),
                method: req["method"].as_str().unwrap().to_owned(),
                path: req["path"].as_str().unwrap().to_owned(),
                headers: map(&req["headers"]),
                json: req.get("json").cloned(),
                status: v["status"].as_u64().unwrap() as u16,
                resp_headers: map(&v["headers"]),
                body: v["body"].clone(),
            }
        })
        .collect();
    assert_eq!(
        out.len(),
        78,
        "expected the 78 recorded samples in {}",
        dir.display()
    );
    out
}

fn rome() -> Zone {
    Zone {
        tz: chrono_tz::Europe::Rome,
        name: "Europe/Rome".into(),
    }
}

fn entry_of(v: &Value) -> timeweave_contract::RemoteRecord {
    let e: wire::TimeEntry = mapping::typed(v).expect("entry shape");
    mapping::entry(&e, &rome()).expect("entry maps")
}

/// Deserialises one success body with the adapter's types; returns how many records it held.
fn check_success(s: &Sample) -> usize {
    let b = &s.body;
    let bytes = serde_json::to_vec(b).unwrap();
    let path = s
        .path
        .split('?')
        .next()
        .unwrap()
        .trim_start_matches("/api/v1");
    let segs: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
    match (s.method.as_str(), segs.as_slice()) {
        ("GET", ["info"]) => {
            let i: wire::Info = serde_json::from_value(b.clone()).unwrap();
            assert!(!i.setup_required);
            assert_eq!(i.timezone.as_deref(), Some("Europe/Rome"));
            assert_eq!(i.app_version.as_deref(), Some("5.10.0"));
            0
        }
        ("GET", ["health"]) => {
            let h: wire::Health = serde_json::from_value(b.clone()).unwrap();
            assert!(parse_naive(&h.timestamp).is_some());
            0
        }
        ("POST", ["auth", "login"]) => {
            let l: wire::Login = serde_json::from_value(b.clone()).unwrap();
            assert!(l.token.starts_with("tt_"));
            0
        }
        ("GET", ["users", "me"]) => {
            let me: wire::UserMe = serde_json::from_value(b.clone()).unwrap();
            assert_eq!(me.user.role.as_deref(), Some("admin"));
            let r = mapping::person(&me.user);
            let Record::Person(p) = r.record else {
                panic!()
            };
            assert_eq!(p.email.as_deref(), Some("admin@example.test"));
            1
        }
        (_, ["clients"]) if s.method == "GET" => {
            let list = wire::ListPage::parse(&bytes, "clients").unwrap();
            for c in &list.items {
                let c: wire::Client = mapping::typed(c).unwrap();
                assert!(mapping::client(&c).modified_at.is_some());
            }
            list.items.len()
        }
        ("POST", ["clients"]) => {
            let c: wire::Client = serde_json::from_value(b["client"].clone()).unwrap();
            assert_eq!(c.default_hourly_rate.as_deref(), Some("85.50"));
            mapping::client(&c);
            1
        }
        ("GET", ["projects"]) => {
            let list = wire::ListPage::parse(&bytes, "projects").unwrap();
            for p in &list.items {
                let p: wire::Project = mapping::typed(p).unwrap();
                mapping::project(&p).unwrap();
            }
            list.items.len()
        }
        (_, ["projects", ..]) if b.get("project").is_some() => {
            let p: wire::Project = serde_json::from_value(b["project"].clone()).unwrap();
            let r = mapping::project(&p).unwrap();
            let Record::Project(p) = r.record else {
                panic!()
            };
            assert_eq!(p.client.as_ref().map(|c| c.as_str()), Some("1"));
            1
        }
        ("GET", ["tasks"]) => {
            let list = wire::ListPage::parse(&bytes, "tasks").unwrap();
            for t in &list.items {
                let t: wire::Task = mapping::typed(t).unwrap();
                mapping::task(&t, &rome());
            }
            list.items.len()
        }
        (_, ["tasks", ..]) => {
            let t: wire::Task = serde_json::from_value(b["task"].clone()).unwrap();
            mapping::task(&t, &rome());
            1
        }
        ("GET", ["time-entries"]) => {
            let list = wire::ListPage::parse(&bytes, "time_entries").unwrap();
            for e in &list.items {
                entry_of(e);
            }
            list.items.len()
        }
        (_, ["time-entries", ..]) if b.get("time_entry").is_some() => {
            entry_of(&b["time_entry"]);
            1
        }
        ("GET", ["timer", "status"]) => {
            let t: wire::TimerStatus = serde_json::from_value(b.clone()).unwrap();
            assert_eq!(t.active, t.timer.is_some());
            if let Some(e) = &t.timer {
                let r = mapping::entry(e, &rome()).unwrap();
                let Record::TimeEntry(e) = r.record else {
                    panic!()
                };
                assert!(
                    e.ended_at.is_none() && e.duration_seconds.is_none(),
                    "running"
                );
            }
            usize::from(t.active)
        }
        ("POST", ["timer", "start"]) => {
            entry_of(&b["timer"]);
            1
        }
        ("POST", ["timer", _]) => {
            entry_of(&b["time_entry"]);
            1
        }
        ("GET", ["audit-logs"]) => {
            let a: wire::AuditLogs = serde_json::from_value(b.clone()).unwrap();
            assert!(a
                .audit_logs
                .iter()
                .all(|r| r.action == "deleted" && r.entity_type == "TimeEntry"));
            assert!(a.audit_logs.iter().all(|r| r.full_old_state.is_some()));
            a.audit_logs.len()
        }
        ("GET", ["activities"]) => {
            let a: wire::Activities = serde_json::from_value(b.clone()).unwrap();
            a.activities.len()
        }
        _ => {
            let m: wire::Message = serde_json::from_value(b.clone())
                .unwrap_or_else(|e| panic!("{}: no type for this body: {e}", s.name));
            assert!(!m.message.is_empty());
            0
        }
    }
}

#[test]
fn every_recorded_body_deserialises_with_the_adapter_types() {
    let mut records = 0;
    let mut errors = 0;
    for s in samples() {
        if (200..300).contains(&s.status) {
            records += check_success(&s);
        } else {
            let e: wire::ErrorBody = serde_json::from_value(s.body.clone())
                .unwrap_or_else(|e| panic!("{}: error body: {e}", s.name));
            assert!(!e.text().is_empty(), "{}: error text", s.name);
            errors += 1;
        }
    }
    assert_eq!(errors, 30, "error samples");
    assert!(records > 40, "records read: {records}");
}

#[test]
fn recorded_entries_map_to_the_right_instants() {
    let all = samples();
    let by_name = |n: &str| all.iter().find(|s| s.name.starts_with(n)).unwrap();
    // Sample 28 was sent with Z but SQLite stored the naive part: 09:00 Rome = 08:00 UTC.
    let r = entry_of(&by_name("28_").body["time_entry"]);
    let Record::TimeEntry(e) = r.record else {
        panic!()
    };
    assert_eq!(
        e.started_at,
        Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
    );
    assert_eq!(e.duration_seconds, Some(5400));
    assert_eq!(r.version.as_deref(), Some("2026-11-22T07:13:05.277334"));
    // `created_at` tells this entry from a later one given the same id (SQLite reuse, §6).
    assert_eq!(r.incarnation.as_deref(), Some("2026-11-22T07:13:05.276906"));
    // Sample 30: client-only booking with a break; duration is net.
    let Record::TimeEntry(e) = entry_of(&by_name("30_").body["time_entry"]).record else {
        panic!()
    };
    assert_eq!(e.client.as_ref().map(|c| c.as_str()), Some("1"));
    assert!(e.project.is_none());
    assert_eq!((e.break_seconds, e.duration_seconds), (600, Some(3000)));
    assert!(!e.billable);
    // Sample 34: the task set by PATCH.
    let Record::TimeEntry(e) = entry_of(&by_name("34_").body["time_entry"]).record else {
        panic!()
    };
    assert_eq!(e.task.as_ref().map(|t| t.as_str()), Some("1"));
    // Sample 45: tags CSV to a set.
    let Record::TimeEntry(e) = entry_of(&by_name("45_").body["time_entry"]).record else {
        panic!()
    };
    assert_eq!(
        e.tags.into_iter().collect::<Vec<_>>(),
        vec!["dev", "review"]
    );
}

// ----- replay --------------------------------------------------------------------------

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Same shape: same keys, same JSON types, recursively (values may differ).
fn same_shape(path: &str, want: &Value, got: &Value, problems: &mut Vec<String>) {
    if type_name(want) != type_name(got) {
        problems.push(format!(
            "{path}: type {} recorded, {} simulated ({got})",
            type_name(want),
            type_name(got)
        ));
        return;
    }
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys() {
                match b.get(k) {
                    Some(v) => same_shape(&format!("{path}.{k}"), &a[k], v, problems),
                    None => problems.push(format!("{path}.{k}: missing in the simulator")),
                }
            }
            for k in b.keys() {
                if !a.contains_key(k) {
                    problems.push(format!("{path}.{k}: not in the recording"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                problems.push(format!(
                    "{path}: {} items recorded, {} simulated",
                    a.len(),
                    b.len()
                ));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same_shape(&format!("{path}[{i}]"), x, y, problems);
            }
        }
        _ => {}
    }
}

/// Learns which simulated timestamp stands for which recorded one (to rewrite later
/// `if_updated_at` values that were copied from earlier responses).
fn learn(want: &Value, got: &Value, subst: &mut HashMap<String, String>) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    learn(v, w, subst);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (x, y) in a.iter().zip(b) {
                learn(x, y, subst);
            }
        }
        (Value::String(a), Value::String(b)) if parse_naive(a).is_some() && a != b => {
            subst.entry(a.clone()).or_insert_with(|| b.clone());
        }
        _ => {}
    }
}

fn rewrite(v: &mut Value, subst: &HashMap<String, String>) {
    match v {
        Value::Object(o) => o.values_mut().for_each(|x| rewrite(x, subst)),
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, subst)),
        Value::String(s) => {
            if let Some(n) = subst.get(s.as_str()) {
                *s = n.clone();
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn replaying_every_recorded_request_gives_the_recorded_shapes() {
    let all = samples();
    let sim = SimServer::start(SimOptions::default()).await;
    // The recording ran at 2026-11-22 06:13:03 UTC, about 75 ms between requests.
    sim.freeze_clock(Utc.with_ymd_and_hms(2026, 11, 22, 6, 13, 3).unwrap());
    let admin = sim.admin_token();
    let scoped = sim.add_token(1, &["read:projects", "read:time_entries"]);
    let user = sim.add_user("jane", Some("jane@example.test"), Some("Jane"), "user");
    let non_admin = sim.add_token(user, &["read:*", "write:*"]);
    let throttled = sim.add_token(1, &["admin:all"]);
    let token_for = |name: &str| -> String {
        match &name[..2] {
            "69" => "tt_unknownunknownunknownunknown00".into(),
            "72" | "73" => scoped.clone(),
            "74" => non_admin.clone(),
            "78" => throttled.clone(),
            _ => admin.clone(),
        }
    };
    let http = reqwest::Client::new();
    let mut subst: HashMap<String, String> = HashMap::new();
    let mut problems = Vec::new();
    for s in &all {
        sim.advance_clock(Duration::milliseconds(75));
        if s.name.starts_with("47_") {
            // The recording waited ~2.6 s here, which is what makes sample 48 a 409.
            sim.advance_clock(Duration::milliseconds(2600));
        }
        if s.name.starts_with("78_") {
            // Spend the token's minute quota first.
            for _ in 0..100 {
                http.get(format!("{}{}", sim.url(), s.path))
                    .bearer_auth(&throttled)
                    .send()
                    .await
                    .unwrap();
            }
        }
        let method = reqwest::Method::from_bytes(s.method.as_bytes()).unwrap();
        let mut rb = http.request(method, format!("{}{}", sim.url(), s.path));
        for (k, v) in &s.headers {
            let v = if v.contains("redacted") {
                let tok = token_for(&s.name);
                if k.eq_ignore_ascii_case("authorization") {
                    format!("Bearer {tok}")
                } else {
                    tok
                }
            } else {
                v.clone()
            };
            rb = rb.header(k.as_str(), v);
        }
        if let Some(j) = &s.json {
            let mut j = j.clone();
            rewrite(&mut j, &subst);
            rb = rb.json(&j);
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let got: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: simulator body is not JSON ({e}): {text}", s.name));
        if status != s.status {
            problems.push(format!(
                "{}: status {} recorded, {status} simulated: {text}",
                s.name, s.status
            ));
            continue;
        }
        for k in s.resp_headers.keys() {
            if headers.get(k.as_str()).is_none() {
                problems.push(format!("{}: header {k} missing", s.name));
            }
        }
        let mut p = Vec::new();
        same_shape("body", &s.body, &got, &mut p);
        problems.extend(p.into_iter().map(|x| format!("{}: {x}", s.name)));
        learn(&s.body, &got, &mut subst);
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
