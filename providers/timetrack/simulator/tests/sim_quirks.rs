//! The simulator itself, over raw HTTP: what §5 of the spec says it must reproduce (tenancy
//! path, both auth headers, bare arrays and paging, filters, 422s, update restrictions, soft
//! delete, the error envelope) and the documented quirks it must tolerate, each assumption
//! checked in both positions of its switch.

use serde_json::{json, Value};

use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::{records, sample_entry};
use timeweave_timetrack_sim::{
    ForbiddenField, FromToSemantics, LimitAboveMax, SimOptions, SimServer,
};

struct Raw {
    base: String,
    key: String,
    secret: String,
    http: reqwest::Client,
}

impl Raw {
    fn new(sim: &SimServer) -> Self {
        let s = sim.settings();
        Raw {
            base: s.base_url.clone(),
            key: s.api_key.expose().to_owned(),
            secret: s.api_secret.expose().to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-TimeTrack-Api-Key", &self.key)
            .header("X-TimeTrack-Api-Secret", &self.secret);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }
}

fn code(v: &Value) -> i64 {
    v["errors"][0]["code"].as_i64().unwrap_or(-1)
}

async fn sim(opts: SimOptions) -> (SimServer, Raw) {
    let sim = SimServer::start(opts).await;
    let raw = Raw::new(&sim);
    (sim, raw)
}

fn seed_refs(sim: &SimServer) {
    let user = records::person("Test User", Some("test@example.com"), Some("test"));
    records::seed_account(sim, &user, "Test company", "Test project 001", None);
}

#[tokio::test]
async fn both_auth_headers_are_required() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    let only_key = reqwest::Client::new()
        .get(format!("{}/clients", raw.base))
        .header("X-TimeTrack-Api-Key", &raw.key)
        .send()
        .await
        .unwrap();
    assert_eq!(only_key.status(), 401);
    let body: Value = only_key.json().await.unwrap();
    assert_eq!(body["errors"][0]["status"], 401, "error envelope");
    assert_eq!(raw.get("/clients").await.0, 200);
    sim.rotate_secret();
    assert_eq!(
        raw.get("/clients").await.0,
        401,
        "the old secret stops working"
    );
    // (A) switch: rotation keeps the old secret working.
    let (sim2, raw2) = self::sim(SimOptions {
        rotation_revokes_old_secret: false,
        ..SimOptions::unthrottled()
    })
    .await;
    sim2.rotate_secret();
    assert_eq!(raw2.get("/clients").await.0, 200);
}

#[tokio::test]
async fn tenancy_path_trailing_slashes_and_get_with_a_body() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    assert_eq!(raw.get("/clients/").await.1.as_array().unwrap().len(), 1);
    assert_eq!(raw.get("/clients").await.1.as_array().unwrap().len(), 1);
    // The docs' `-d '{}'` on GET.
    let (status, body) = raw
        .call(reqwest::Method::GET, "/clients/", Some(json!({})))
        .await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(1)));
    // Outside the tenancy base path there is nothing.
    let outside = reqwest::Client::new()
        .get(format!("http://{}/api/v1/clients", sim.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 404);
}

#[tokio::test]
async fn paging_is_bare_arrays_with_page_number_and_limit() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    for i in 0..1_205 {
        sim.add_client(&records::client(&format!("C{i:04}")));
    }
    let (_, first) = raw.get("/clients").await;
    assert_eq!(first.as_array().unwrap().len(), 50, "default limit");
    let (_, p0) = raw.get("/clients?limit=1000&page_number=0").await;
    let (_, p1) = raw.get("/clients?limit=1000&page_number=1").await;
    let (_, p9) = raw.get("/clients?limit=1000&page_number=9").await;
    assert_eq!(p0.as_array().unwrap().len(), 1000);
    assert_eq!(p1.as_array().unwrap().len(), 205);
    assert_eq!(p9, json!([]));
    assert_eq!(p0[0]["id"], 1, "ascending id");
    assert_eq!(p1[0]["id"], 1001);
    // `page` is not `page_number`: ignored (A), so it serves page 0.
    let (_, page1) = raw.get("/clients?limit=10&page=1").await;
    assert_eq!(page1[0]["id"], 1);
    let (_, big) = raw.get("/clients?limit=5000").await;
    assert_eq!(
        big.as_array().unwrap().len(),
        1000,
        "clamped to the maximum (A)"
    );
    assert_eq!(raw.get("/clients?limit=abc").await.0, 422);

    let (_sim2, raw2) = self::sim(SimOptions {
        reject_unknown_params: true,
        limit_above_max: LimitAboveMax::Reject,
        ..SimOptions::unthrottled()
    })
    .await;
    assert_eq!(raw2.get("/clients?page=1").await.0, 422);
    assert_eq!(raw2.get("/clients?limit=5000").await.0, 422);
}

#[tokio::test]
async fn filters_by_substring_username_and_time() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    let (_, found) = raw.get("/clients?name=company").await;
    assert_eq!(found.as_array().unwrap().len(), 1, "substring");
    let (_, found) = raw
        .get("/projects?projectName=project%20001&clientName=test")
        .await;
    assert_eq!(
        found.as_array().unwrap().len(),
        1,
        "substring, case-insensitive (A)"
    );
    let entry = json!({"username": "test", "clientName": "Test company", "projectName": "Test project 001",
        "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T09:00:00.000Z"});
    assert_eq!(raw.post("/project_time_entries", entry).await.0, 201);
    let (_, by_user) = raw.get("/project_time_entries?username=test").await;
    assert_eq!(by_user.as_array().unwrap().len(), 1);
    let (_, by_alias) = raw.get("/project_time_entries?user=test").await;
    assert_eq!(by_alias.as_array().unwrap().len(), 1, "`user` alias (A)");
    let (_, nobody) = raw.get("/project_time_entries?username=nobody").await;
    assert_eq!(nobody, json!([]));
    let (_, exact) = raw
        .get("/project_time_entries?projectName=Test%20project")
        .await;
    assert_eq!(exact, json!([]), "entry name filters are exact (A)");
    let inside = "/project_time_entries?from=2020-10-23T08:00:00.000Z&to=2020-10-23T08:30:00.000Z";
    assert_eq!(
        raw.get(inside).await.1.as_array().unwrap().len(),
        1,
        "start inclusive (A)"
    );
    assert_eq!(raw.get("/project_time_entries?from=yesterday").await.0, 422);

    for (semantics, expected) in [
        (FromToSemantics::StartHalfOpen, 0),
        (FromToSemantics::Overlap, 1),
        (FromToSemantics::Contained, 0),
    ] {
        sim.configure(|o| o.from_to = semantics);
        let (_, got) = raw
            .get("/project_time_entries?from=2020-10-23T07:00:00.000Z&to=2020-10-23T08:00:00.000Z")
            .await;
        assert_eq!(got.as_array().unwrap().len(), expected, "{semantics:?}");
    }
}

#[tokio::test]
async fn creates_need_their_required_fields_and_known_names() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    let (s, b) = raw.post("/clients", json!({"field1": "VAT ID: 1"})).await;
    assert_eq!((s, code(&b)), (422, 10422));
    assert!(b["errors"][0]["detail"].as_str().unwrap().contains("name"));
    assert_eq!(
        raw.post("/projects", json!({"projectName": "X"})).await.0,
        422
    );
    assert_eq!(
        raw.post(
            "/projects",
            json!({"projectName": "X", "clientName": "Nobody Inc"})
        )
        .await
        .0,
        422,
        "the client must exist (A)"
    );
    assert_eq!(raw.post("/tasks", json!({"hourRate": 30.0})).await.0, 422);
    assert_eq!(
        raw.post("/attendances", json!({"username": "test"}))
            .await
            .0,
        422
    );
    assert_eq!(
        raw.post("/users", json!({"username": "x", "firstName": "X"}))
            .await
            .0,
        422,
        "users need username, firstName, lastName, email, password"
    );
    let ok = json!({"username": "test", "clientName": "Test company", "projectName": "Test project 001",
        "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T09:00:00Z"});
    for missing in ["username", "clientName", "projectName", "from", "to"] {
        let mut body = ok.clone();
        body.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            raw.post("/project_time_entries", body).await.0,
            422,
            "{missing}"
        );
    }
    let mut unknown = ok.clone();
    unknown["username"] = json!("ghost");
    assert_eq!(raw.post("/project_time_entries", unknown).await.0, 422);
    let mut task = ok.clone();
    task["task"] = json!("Nonexistent");
    assert_eq!(raw.post("/project_time_entries", task).await.0, 422);
    let mut backwards = ok.clone();
    backwards["to"] = json!("2020-10-23T07:00:00Z");
    assert_eq!(raw.post("/project_time_entries", backwards).await.0, 422);
    let (s, b) = raw.call(reqwest::Method::POST, "/clients", None).await;
    assert_eq!((s, code(&b)), (422, 10422), "an empty body lacks `name`");
    assert_eq!(sim.count(timeweave_contract::Kind::TimeEntry), 0);
}

#[tokio::test]
async fn numeric_strings_booleans_and_attendance_aliases_are_tolerated() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    let (s, p) = raw
        .post("/projects", json!({"projectName": "P", "clientName": "Test company", "hourRate": "50", "projectEnabled": 0}))
        .await;
    assert_eq!(s, 201);
    assert_eq!(p["hourRate"], 50, "answered as a number");
    assert_eq!(p["projectEnabled"], false, "answered as a boolean");
    let (_, p) = raw
        .put(
            &format!("/projects/{}", p["id"]),
            json!({"hourRate": "20.5"}),
        )
        .await;
    assert_eq!(p["hourRate"], 20.5);
    let (s, e) = raw
        .post(
            "/project_time_entries",
            json!({"username": "test", "clientName": "Test company", "projectName": "Test project 001",
                "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T10:00:00Z", "breakMinutes": "15",
                "billable": "0", "workedMinutes": 999}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(e["billable"], false);
    assert_eq!(e["workedMinutes"], 105, "derived by the server (A)");
    assert_eq!(
        e["from"], "2020-10-23T08:00:00.000Z",
        "answered with milliseconds"
    );
    let (s, a) = raw
        .post(
            "/attendances",
            json!({"username": "test", "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T16:00:00Z",
                "minutesBreak": 30, "details": "office"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        (a["breakMinutes"].clone(), a["notes"].clone()),
        (json!(30), json!("office"))
    );
    assert_eq!(a["workedMinutes"], 450);
    assert_eq!(a["manual"], true);
    // (A) switches: aliases ignored; workedMinutes stored as sent.
    sim.configure(|o| {
        o.attendance_aliases = false;
        o.derive_worked_minutes = false;
    });
    let (_, a) = raw
        .post(
            "/attendances",
            json!({"username": "test", "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T16:00:00Z",
                "minutesBreak": 30, "workedMinutes": 400}),
        )
        .await;
    assert_eq!(
        (a["breakMinutes"].clone(), a["workedMinutes"].clone()),
        (json!(0), json!(400))
    );
}

#[tokio::test]
async fn update_restrictions_in_both_switch_positions() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    let (s, b) = raw.put("/clients/1", json!({"name": "Renamed"})).await;
    assert_eq!((s, code(&b)), (422, 10423));
    assert_eq!(
        raw.put("/clients/1", json!({"enabled": false})).await.0,
        422
    );
    let (s, c) = raw
        .put(
            "/clients/1",
            json!({"email": "a@b.example", "name": "Test company"}),
        )
        .await;
    assert_eq!(
        (s, c["email"].clone()),
        (200, json!("a@b.example")),
        "an unchanged name is fine"
    );
    let (_, t) = raw.post("/tasks", json!({"name": "Development"})).await;
    assert_eq!(
        raw.put(&format!("/tasks/{}", t["id"]), json!({"name": "Dev"}))
            .await
            .0,
        422
    );
    assert_eq!(
        raw.put("/users/1", json!({"username": "other"})).await.0,
        422
    );
    assert_eq!(
        raw.put("/projects/1", json!({"clientName": "Nobody"}))
            .await
            .0,
        422
    );
    let (s, p) = raw
        .put("/projects/1", json!({"projectName": "Renamed project"}))
        .await;
    assert_eq!(
        (s, p["projectName"].clone()),
        (200, json!("Renamed project")),
        "projects can be renamed"
    );

    sim.configure(|o| o.forbidden_update_field = ForbiddenField::Ignore);
    let (s, c) = raw
        .put("/clients/1", json!({"name": "Renamed", "notes": "n"}))
        .await;
    assert_eq!(
        (s, c["name"].clone(), c["notes"].clone()),
        (200, json!("Test company"), json!("n"))
    );
}

#[tokio::test]
async fn soft_delete_answers_15020_everywhere() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    let e = sim.add_entry(&sample_entry(&"1".into(), Some(&"1".into()), 0, 30, "x"));
    assert_eq!(
        raw.call(
            reqwest::Method::DELETE,
            &format!("/project_time_entries/{e}"),
            None
        )
        .await
        .0,
        204
    );
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let body = (method == reqwest::Method::PUT).then(|| json!({"details": "x"}));
        let (s, b) = raw
            .call(method.clone(), &format!("/project_time_entries/{e}"), body)
            .await;
        assert_eq!((s, code(&b)), (404, 15020), "{method}");
    }
    let (s, b) = raw.get("/project_time_entries/999").await;
    assert_eq!(
        (s, code(&b)),
        (404, 10404),
        "never existed: another code (A)"
    );
    assert_eq!(
        raw.get("/project_time_entries").await.1,
        json!([]),
        "not listed (A)"
    );
    sim.configure(|o| o.deleted_answers_15020_on_write = false);
    let (_, b) = raw
        .call(
            reqwest::Method::DELETE,
            &format!("/project_time_entries/{e}"),
            None,
        )
        .await;
    assert_eq!(code(&b), 10404);
    sim.configure(|o| o.deleted_listed = true);
    let (_, listed) = raw.get("/project_time_entries").await;
    assert_eq!(listed[0]["deleted"], true);
    // Deleting a client keeps the name on its projects (no cascade, A).
    assert_eq!(
        raw.call(reqwest::Method::DELETE, "/clients/1", None)
            .await
            .0,
        204
    );
    assert_eq!(raw.get("/projects/1").await.1["clientName"], "Test company");
}

#[tokio::test]
async fn names_are_links_not_copies() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    sim.add_entry(&sample_entry(&"1".into(), Some(&"1".into()), 0, 30, "x"));
    assert!(sim.rename(timeweave_contract::Kind::Client, &"1".into(), "New Co"));
    let (_, e) = raw.get("/project_time_entries/1").await;
    assert_eq!(e["clientName"], "New Co");
    assert_eq!(e["user"], "test");
    let (_, p) = raw.get("/projects/1").await;
    assert_eq!(p["clientName"], "New Co");
}

#[tokio::test]
async fn undocumented_resources_answer_501_and_bad_bodies_422() {
    let (_sim, raw) = sim(SimOptions::unthrottled()).await;
    assert_eq!(raw.get("/project_timer?username=test").await.0, 501);
    let resp = raw
        .http
        .post(format!("{}/clients", raw.base))
        .header("X-TimeTrack-Api-Key", &raw.key)
        .header("X-TimeTrack-Api-Secret", &raw.secret)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
}

#[tokio::test]
async fn lists_stay_fast_with_a_hundred_thousand_entries() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    let entries: Vec<_> = (0..100_000i64)
        .map(|i| sample_entry(&"1".into(), Some(&"1".into()), i * 10, 5, "bulk"))
        .collect();
    let ids = sim.add_entries(&entries);
    assert_eq!(ids.len(), 100_000);
    // One query builds the id list once; every further page is a slice of it.
    let (_, p0) = raw
        .get("/project_time_entries?limit=1000&page_number=0&username=test")
        .await;
    let (_, p99) = raw
        .get("/project_time_entries?limit=1000&page_number=99&username=test")
        .await;
    assert_eq!(p0.as_array().unwrap().len(), 1000);
    assert_eq!(p99.as_array().unwrap().len(), 1000);
    assert_eq!(p99[999]["id"], 100_000);
}

#[tokio::test]
async fn expenses_absences_and_work_reports() {
    let (sim, raw) = sim(SimOptions::unthrottled()).await;
    seed_refs(&sim);
    // Expenses: linked by names, date as a timestamp, numbers as strings tolerated.
    let (s, b) = raw
        .post("/expenses", json!({"clientName": "Test company"}))
        .await;
    assert_eq!((s, code(&b)), (422, 10422));
    let (s, e) = raw
        .post(
            "/expenses",
            json!({"username": "test", "clientName": "Test company", "projectName": "Test project 001",
                "name": "Train", "price": "49.90", "quantity": 1, "date": "2020-10-05T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        (e["price"].clone(), e["billable"].clone()),
        (json!(49.9), json!(true))
    );
    assert_eq!(e["date"], "2020-10-05T00:00:00.000Z");
    let (_, found) = raw
        .get("/expenses?username=test&from=2020-10-01T00:00:00.000Z&to=2020-10-23T23:59:59.999Z&name=rain")
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);

    // Absences: dates, a known type, only `status` may change.
    let (s, _) = raw
        .post(
            "/absences",
            json!({"username": "test", "from": "2020-10-26", "to": "2020-10-28"}),
        )
        .await;
    assert_eq!(s, 422, "absenceType is required");
    let (s, _) = raw
        .post("/absences", json!({"username": "test", "absenceType": 99, "from": "2020-10-26", "to": "2020-10-28"}))
        .await;
    assert_eq!(s, 422, "unknown absence type (A)");
    let (s, a) = raw
        .post(
            "/absences",
            json!({"username": "test", "absenceType": 1, "from": "2020-10-26", "to": "2020-10-28"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        (a["status"].clone(), a["absenceTypeName"].clone()),
        (json!(0), json!("VAC"))
    );
    let id = a["id"].clone();
    assert_eq!(
        raw.put(&format!("/absences/{id}"), json!({"to": "2020-10-30"}))
            .await
            .0,
        422
    );
    let (s, a) = raw
        .put(&format!("/absences/{id}"), json!({"status": "1"}))
        .await;
    assert_eq!((s, a["status"].clone()), (200, json!(1)));
    let (_, by_type) = raw
        .get("/absences?username=test&from=2020-10-01&to=2020-10-31&absenceType=1")
        .await;
    assert_eq!(by_type.as_array().unwrap().len(), 1);
    let (_, types) = raw.get("/absence_types").await;
    assert_eq!(types.as_array().unwrap().len(), 3);
    assert_eq!(
        raw.post("/absence_types", json!({"name": "x"})).await.0,
        405
    );

    // Work reports: one per user and day, from attendances and approved absences.
    raw.post(
        "/attendances",
        json!({"username": "test", "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T17:00:00Z", "breakMinutes": 60}),
    )
    .await;
    let (_, days) = raw
        .get("/work_reports?username=test&from=2020-10-23T00:00:00Z&to=2020-10-27T00:00:00Z")
        .await;
    let days = days.as_array().unwrap().clone();
    assert_eq!(days.len(), 5);
    assert_eq!(days[0]["workDate"], "2020-10-23");
    assert_eq!(days[0]["workedSeconds"], 8 * 3600);
    assert_eq!(days[0]["breakSeconds"], 3600);
    assert_eq!(days[0]["weekday"], 5);
    assert_eq!(days[1]["targetSeconds"], 0, "Saturday");
    assert_eq!(
        days[3]["absence1ShortName"], "VAC",
        "Monday 26th is approved vacation"
    );
    assert_eq!(
        raw.get("/work_reports?username=test").await.0,
        422,
        "from/to required (A)"
    );
    assert_eq!(
        raw.call(reqwest::Method::DELETE, "/work_reports/1", None)
            .await
            .0,
        405
    );
}

#[tokio::test]
async fn listed_rows_are_exactly_what_a_get_shows() {
    let (sim, raw) = sim(SimOptions {
        deleted_listed: true,
        ..SimOptions::unthrottled()
    })
    .await;
    seed_refs(&sim);
    let (_, t) = raw.post("/tasks", json!({"name": "Development"})).await;
    assert_eq!(t["id"], 1);
    raw.post(
        "/project_time_entries",
        json!({"username": "test", "clientName": "Test company", "projectName": "Test project 001",
            "task": "Development", "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T09:00:00Z",
            "tags": "#a", "latitude": "48.1", "hourRate": "30"}),
    )
    .await;
    raw.post(
        "/attendances",
        json!({"username": "test", "from": "2020-10-23T08:00:00Z", "to": "2020-10-23T17:00:00Z",
            "latitudeStart": 48.1, "longitudeStart": "11.5"}),
    )
    .await;
    for path in ["/project_time_entries", "/attendances"] {
        let (_, listed) = raw.get(path).await;
        let (_, got) = raw.get(&format!("{path}/1")).await;
        assert_eq!(listed[0], got, "{path}");
    }
    // Deleted rows (listed under this switch) carry the flag in both forms.
    raw.call(reqwest::Method::DELETE, "/project_time_entries/1", None)
        .await;
    let (_, listed) = raw.get("/project_time_entries").await;
    assert_eq!(listed[0]["deleted"], true);
    assert_eq!(listed[0]["task"], "Development");
}
