//! The simulator's switches and quirks, exercised over HTTP the way a real client sees them
//! (spec §1-§7). The recorded samples cover the common paths (`samples.rs`); these cover the
//! rest: auth forms, scopes, rate windows, idempotency scope and expiry, paging quirks, id
//! reuse, PostgreSQL-style aware times, and the switches that turn bugs off.

use chrono::{Duration, TimeZone, Utc};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use timeweave_simkit::SimulatorControl;
use timeweave_timetracker_sim::{AwareBodyTimes, SimOptions, SimServer};

async fn call(
    sim: &SimServer,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Option<Value>,
) -> (u16, HeaderMap, Value) {
    let client = reqwest::Client::new();
    let mut rb = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}/api/v1{path}", sim.url()),
    );
    if let Some((k, v)) = auth {
        rb = rb.header(k, v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// `GET path` with `authorization` as the `Authorization` header.
async fn get_with(sim: &SimServer, path: &str, authorization: &str) -> (u16, HeaderMap, Value) {
    call(
        sim,
        "GET",
        path,
        Some(("Authorization", authorization)),
        None,
    )
    .await
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

async fn seed_project(sim: &SimServer, token: &str) -> i64 {
    let a = bearer(token);
    let (s, _, c) = call(
        sim,
        "POST",
        "/clients",
        Some(("Authorization", &a)),
        Some(json!({"name": "C"})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _, p) = call(
        sim,
        "POST",
        "/projects",
        Some(("Authorization", &a)),
        Some(json!({"name": "P", "client_id": c["client"]["id"]})),
    )
    .await;
    assert_eq!(s, 201);
    p["project"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn token_forms_and_scopes() {
    let sim = SimServer::start(SimOptions::default()).await;
    let t = sim.admin_token();
    assert!(
        t.contains('-') && t.contains('_'),
        "tokens may hold - and _"
    );
    for (k, v) in [
        ("Authorization", format!("Bearer {t}")),
        ("Authorization", format!("token {t}")),
        ("X-API-Key", t.clone()),
    ] {
        assert_eq!(
            call(&sim, "GET", "/timer/status", Some((k, &v)), None)
                .await
                .0,
            200,
            "{k}: {v}"
        );
    }
    let (s, _, b) = get_with(&sim, "/timer/status", "Bearer abc").await;
    assert_eq!(
        (s, b["message"].as_str()),
        (401, Some("Invalid token format"))
    );
    // write:* does not imply read:*.
    let w = sim.add_token(1, &["write:*"]);
    let (s, _, b) = get_with(&sim, "/clients", &bearer(&w)).await;
    assert_eq!(
        (s, b["required_scope"].as_str()),
        (403, Some("read:clients"))
    );
    // read:* covers reads but not /users (admin:all only).
    let r = sim.add_token(1, &["read:*"]);
    assert_eq!(get_with(&sim, "/clients", &bearer(&r)).await.0, 200);
    assert_eq!(get_with(&sim, "/users", &bearer(&r)).await.0, 403);
    // 404 and 405 come before auth.
    assert_eq!(call(&sim, "GET", "/nope", None, None).await.0, 404);
    let (s, _, b) = call(&sim, "DELETE", "/clients/1", None, None).await;
    assert_eq!((s, b["error_code"].clone()), (405, json!(405)));
}

#[tokio::test]
async fn fixed_windows_count_rejected_calls_and_say_when_to_come_back() {
    let sim = SimServer::start(SimOptions {
        rate_limit_per_minute: 100,
        rate_limit_per_hour: 5,
        ..SimOptions::default()
    })
    .await;
    sim.freeze_clock(Utc.with_ymd_and_hms(2026, 5, 4, 10, 59, 30).unwrap());
    let a = bearer(&sim.admin_token());
    for _ in 0..5 {
        assert_eq!(get_with(&sim, "/timer/status", &a).await.0, 200);
    }
    let (s, h, b) = get_with(&sim, "/timer/status", &a).await;
    assert_eq!(s, 429);
    assert_eq!(
        h["retry-after"], "30",
        "seconds to the end of the calendar hour"
    );
    assert_eq!(b["remaining_per_hour"], 0);
    // The unauthenticated endpoints are not limited.
    assert_eq!(call(&sim, "GET", "/info", None, None).await.0, 200);
    sim.advance_clock(Duration::seconds(30));
    assert_eq!(get_with(&sim, "/timer/status", &a).await.0, 200);

    let sim = SimServer::start(SimOptions {
        rate_limit_per_minute: 2,
        ..SimOptions::default()
    })
    .await;
    sim.freeze_clock(Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 13).unwrap());
    let a = bearer(&sim.admin_token());
    for _ in 0..2 {
        get_with(&sim, "/timer/status", &a).await;
    }
    let (s, h, _) = get_with(&sim, "/timer/status", &a).await;
    assert_eq!((s, h["retry-after"].to_str().unwrap()), (429, "47"));
    sim.set_rate_limiting(false);
    assert_eq!(get_with(&sim, "/timer/status", &a).await.0, 200);
}

#[tokio::test]
async fn idempotency_is_per_token_kept_24h_and_blind() {
    let sim = SimServer::start(SimOptions::default()).await;
    sim.freeze_clock(Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap());
    let admin = sim.admin_token();
    let p = seed_project(&sim, &admin).await;
    let post = |token: String, key: &'static str, day: u32| {
        let sim = &sim;
        async move {
            let client = reqwest::Client::new();
            let r = client
                .post(format!("{}/api/v1/time-entries", sim.url()))
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&json!({
                    "project_id": p,
                    "start_time": format!("2026-05-{day:02}T09:00:00"),
                    "end_time": format!("2026-05-{day:02}T09:30:00"),
                }))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (s1, b1) = post(admin.clone(), "k-1", 1).await;
    assert_eq!(s1, 201, "{b1}");
    // Same key, different body: the stored answer is replayed, nothing is created.
    let (s2, b2) = post(admin.clone(), "k-1", 2).await;
    assert_eq!((s2, &b2), (201, &b1));
    assert_eq!(sim.count(timeweave_contract::Kind::TimeEntry), 1);
    // Another token with the same key creates.
    let other = sim.add_token(1, &["admin:all"]);
    let (s3, b3) = post(other, "k-1", 3).await;
    assert_eq!(s3, 201);
    assert_ne!(b3["time_entry"]["id"], b1["time_entry"]["id"]);
    // After 24 h the key is forgotten.
    sim.advance_clock(Duration::hours(25));
    let (s4, b4) = post(admin, "k-1", 4).await;
    assert_eq!(s4, 201);
    assert_ne!(b4["time_entry"]["id"], b1["time_entry"]["id"]);
    assert_eq!(sim.count(timeweave_contract::Kind::TimeEntry), 3);
}

#[tokio::test]
async fn entry_write_rules() {
    let sim = SimServer::start(SimOptions::default()).await;
    let admin = sim.admin_token();
    let a = bearer(&admin);
    let auth = Some(("Authorization", a.as_str()));
    let p = seed_project(&sim, &admin).await;
    let (s, _, b) = call(&sim, "POST", "/time-entries", auth, Some(json!({"project_id": p, "start_time": "2026-05-01T09:00:00", "end_time": "2026-05-01T10:00:00", "duration_seconds": 1, "id": 3}))).await;
    assert_eq!(s, 400);
    assert!(b["errors"]["duration_seconds"].is_array() && b["errors"]["id"].is_array());
    let (s, _, e) = call(&sim, "POST", "/time-entries", auth, Some(json!({"project_id": p, "start_time": "2026-05-01T09:00:00", "end_time": "2026-05-01T10:00:00", "notes": "n", "tags": "a,b"}))).await;
    assert_eq!(s, 201);
    let id = e["time_entry"]["id"].as_i64().unwrap();
    let path = format!("/time-entries/{id}");
    // An aware if_updated_at crashes the server.
    let (s, _, _) = call(
        &sim,
        "PATCH",
        &path,
        auth,
        Some(json!({"notes": "x", "if_updated_at": "2026-05-01T09:00:00Z"})),
    )
    .await;
    assert_eq!(s, 500);
    // Empty strings clear; null is a no-op.
    let (_, _, b) = call(
        &sim,
        "PATCH",
        &path,
        auth,
        Some(json!({"tags": "", "notes": null})),
    )
    .await;
    assert_eq!(
        (
            b["time_entry"]["tags"].clone(),
            b["time_entry"]["notes"].clone()
        ),
        (json!(""), json!("n"))
    );
    // Setting client_id clears the project (and task).
    let c = sim.add_client(&timeweave_contract::Client {
        name: "Other".into(),
        email: None,
        notes: None,
        archived: false,
    });
    let (_, _, b) = call(
        &sim,
        "PATCH",
        &path,
        auth,
        Some(json!({"client_id": c.as_str().parse::<i64>().unwrap()})),
    )
    .await;
    assert!(b["time_entry"]["project_id"].is_null());
    // Non-admins cannot book for others (403) and cannot delete others' entries (400).
    let u = sim.add_user("u", None, None, "user");
    let ut = bearer(&sim.add_token(u, &["read:*", "write:*"]));
    let uauth = Some(("Authorization", ut.as_str()));
    let (s, _, _) = call(&sim, "POST", "/time-entries", uauth, Some(json!({"project_id": p, "start_time": "2026-05-02T09:00:00", "end_time": "2026-05-02T10:00:00", "user_id": 1}))).await;
    assert_eq!(s, 403);
    let (s, _, b) = call(&sim, "DELETE", &path, uauth, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("Access denied")));
    let (s, _, _) = call(&sim, "GET", &path, uauth, None).await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn list_paging_rules() {
    let sim = SimServer::start(SimOptions::default()).await;
    let admin = sim.admin_token();
    let a = bearer(&admin);
    let auth = Some(("Authorization", a.as_str()));
    let p = seed_project(&sim, &admin).await;
    for d in 1..=3 {
        let t = format!("2026-05-0{d}T09:00:00");
        call(
            &sim,
            "POST",
            "/time-entries",
            auth,
            Some(
                json!({"project_id": p, "start_time": t, "end_time": t.replace("09:00", "10:00")}),
            ),
        )
        .await;
    }
    let (_, _, b) = call(&sim, "GET", "/time-entries?per_page=500", auth, None).await;
    assert_eq!(b["pagination"]["per_page"], 100, "per_page is capped");
    let (_, _, b) = call(&sim, "GET", "/time-entries?page=9", auth, None).await;
    assert_eq!(
        (
            b["time_entries"].as_array().unwrap().len(),
            b["pagination"]["prev_page"].clone()
        ),
        (0, json!(8))
    );
    let (_, _, b) = call(&sim, "GET", "/time-entries?billable=1", auth, None).await;
    assert_eq!(b["pagination"]["total"], 0, "billable=1 means non-billable");
    let (_, _, b) = call(&sim, "GET", "/time-entries?end_date=2026-05-02", auth, None).await;
    assert_eq!(
        b["pagination"]["total"], 2,
        "a date-only end_date is the end of that day"
    );
    // Tasks: uncapped per_page, 500 on per_page=0, nonsense totals on page=0.
    call(
        &sim,
        "POST",
        "/tasks",
        auth,
        Some(json!({"name": "T", "project_id": p})),
    )
    .await;
    let (_, _, b) = call(&sim, "GET", "/tasks?per_page=500", auth, None).await;
    assert_eq!(b["pagination"]["per_page"], 500);
    assert_eq!(
        call(&sim, "GET", "/tasks?per_page=0", auth, None).await.0,
        500
    );
    let (_, _, b) = call(&sim, "GET", "/tasks?page=0", auth, None).await;
    assert_eq!(b["pagination"]["total"], -49);
    // Projects default to status=active.
    call(&sim, "DELETE", &format!("/projects/{p}"), auth, None).await;
    let (_, _, b) = call(&sim, "GET", "/projects", auth, None).await;
    assert_eq!(b["pagination"]["total"], 0);
    let (_, _, b) = call(&sim, "GET", "/projects?status=all", auth, None).await;
    assert_eq!(b["projects"][0]["status"], "archived");
}

/// A project (through `seed_project`) with a task `T`, created by the admin: their ids.
async fn project_with_task(sim: &SimServer) -> (i64, i64) {
    let admin = sim.admin_token();
    let p = seed_project(sim, &admin).await;
    let a = bearer(&admin);
    let body = json!({"name": "T", "project_id": p});
    let auth = Some(("Authorization", a.as_str()));
    let (_, _, t) = call(sim, "POST", "/tasks", auth, Some(body)).await;
    (p, t["task"]["id"].as_i64().unwrap())
}

#[tokio::test]
async fn sqlite_reuses_ids_postgres_does_not() {
    for (reuse, expect_same) in [(true, true), (false, false)] {
        let sim = SimServer::start(SimOptions {
            sqlite_id_reuse: reuse,
            ..SimOptions::default()
        })
        .await;
        let a = bearer(&sim.admin_token());
        let auth = Some(("Authorization", a.as_str()));
        let (p, id) = project_with_task(&sim).await;
        call(&sim, "DELETE", &format!("/tasks/{id}"), auth, None).await;
        let (_, _, t2) = call(
            &sim,
            "POST",
            "/tasks",
            auth,
            Some(json!({"name": "T2", "project_id": p})),
        )
        .await;
        assert_eq!(t2["task"]["id"] == id, expect_same, "reuse={reuse}");
    }
}

#[tokio::test]
async fn switches_turn_the_bugs_off() {
    let sim = SimServer::start(SimOptions {
        aware_body_times: AwareBodyTimes::ConvertToAppZone,
        bug_task_due_date_sqlite: false,
        bug_aware_if_updated_at_500: false,
        ..SimOptions::default()
    })
    .await;
    let admin = sim.admin_token();
    let a = bearer(&admin);
    let auth = Some(("Authorization", a.as_str()));
    let p = seed_project(&sim, &admin).await;
    let (s, _, e) = call(&sim, "POST", "/time-entries", auth, Some(json!({"project_id": p, "start_time": "2026-11-20T09:00:00Z", "end_time": "2026-11-20T10:00:00Z"}))).await;
    assert_eq!(s, 201);
    assert_eq!(
        e["time_entry"]["start_time"], "2026-11-20T10:00:00",
        "PostgreSQL converts Z to local"
    );
    let (s, _, _) = call(
        &sim,
        "POST",
        "/tasks",
        auth,
        Some(json!({"name": "Due", "project_id": p, "due_date": "2026-12-01"})),
    )
    .await;
    assert_eq!(s, 201);
    let id = e["time_entry"]["id"].as_i64().unwrap();
    let (s, _, _) = call(
        &sim,
        "PATCH",
        &format!("/time-entries/{id}"),
        auth,
        Some(json!({"notes": "x", "if_updated_at": "2000-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(s, 409, "an aware stale value is a conflict, not a crash");
}

#[tokio::test]
async fn setup_gate_redirects_everything_but_info_health_and_login() {
    let sim = SimServer::start(SimOptions {
        setup_required: true,
        ..SimOptions::default()
    })
    .await;
    let (s, _, b) = call(&sim, "GET", "/info", None, None).await;
    assert_eq!((s, b["setup_required"].clone()), (200, json!(true)));
    assert_eq!(call(&sim, "GET", "/health", None, None).await.0, 200);
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/api/v1/clients", sim.url()))
        .bearer_auth(sim.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let (s, _, b) = call(
        &sim,
        "POST",
        "/auth/login",
        None,
        Some(json!({"username": "admin", "password": "admin-password-123"})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(b["token"].as_str().unwrap().starts_with("tt_"));
}

/// Deleting a task nullifies its entries' `task_id` and, on the real server, gives them a new
/// `updated_at` (so a client's `if_updated_at` from before the delete is stale).
#[tokio::test]
async fn a_task_delete_bumps_its_entries_unless_switched_off() {
    for bumps in [true, false] {
        let sim = SimServer::start(SimOptions {
            task_delete_bumps_entries: bumps,
            ..SimOptions::default()
        })
        .await;
        sim.freeze_clock(Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap());
        let a = bearer(&sim.admin_token());
        let auth = Some(("Authorization", a.as_str()));
        let (p, task) = project_with_task(&sim).await;
        let (_, _, e) = call(&sim, "POST", "/time-entries", auth, Some(json!({"project_id": p, "start_time": "2026-05-01T09:00:00", "end_time": "2026-05-01T10:00:00"}))).await;
        let path = format!("/time-entries/{}", e["time_entry"]["id"]);
        let (_, _, e) = call(&sim, "PATCH", &path, auth, Some(json!({"task_id": task}))).await;
        let before = e["time_entry"]["updated_at"].clone();
        sim.advance_clock(Duration::seconds(10));
        let (s, _, _) = call(&sim, "DELETE", &format!("/tasks/{task}"), auth, None).await;
        assert_eq!(s, 200);
        let (_, _, e) = call(&sim, "GET", &path, auth, None).await;
        assert!(e["time_entry"]["task_id"].is_null());
        assert_eq!(
            e["time_entry"]["updated_at"] != before,
            bumps,
            "bumps={bumps}"
        );
        // The version from before the delete is stale on the real server.
        let (s, _, _) = call(
            &sim,
            "PATCH",
            &path,
            auth,
            Some(json!({"notes": "x", "if_updated_at": before})),
        )
        .await;
        assert_eq!(s, if bumps { 409 } else { 200 }, "bumps={bumps}");
    }
}
