//! The simulator's own behaviour, over raw HTTP: the quirks of spec §12 that the adapter
//! must never come to depend on being absent.

use serde_json::{json, Value};
use timeweave_contract::{Client, RemoteId};
use timeweave_simkit::SimulatorControl;
use timeweave_testsupport::{records, sample_entry};
use timeweave_trackingtime_sim::{EventForm, SimOptions, SimServer};

async fn start(opts: SimOptions) -> SimServer {
    SimServer::start(opts).await.expect("simulator starts")
}

/// The full event form (`start`, `duration`, `loc_*` twins), for the checks of its keys.
fn full_form() -> SimOptions {
    SimOptions {
        event_form: EventForm::Full,
        ..SimOptions::default()
    }
}

struct Api {
    base: String,
    account: i64,
    http: reqwest::Client,
}

impl Api {
    fn new(sim: &SimServer) -> Api {
        Api {
            base: sim.base_url(),
            account: sim.account_id(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        json: Option<Value>,
    ) -> (u16, String) {
        let url = if path.starts_with("/me") || path.starts_with("/teams") || path.starts_with("!")
        {
            format!("{}{}", self.base, path.trim_start_matches('!'))
        } else {
            format!("{}/{}{}", self.base, self.account, path)
        };
        let mut rb = self
            .http
            .request(method, url)
            .basic_auth("whoever@nowhere.example", Some("sim-app-password"))
            .header("user-agent", "SimTest (tests@example.com)")
            .query(query);
        if let Some(j) = json {
            rb = rb.json(&j);
        }
        let r = rb.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// `method path` with neither query nor body: (status, body).
    async fn send(&self, method: reqwest::Method, path: &str) -> (u16, String) {
        self.call(method, path, &[], None).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, query, None).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// `GET path` over the company's events from `from` to `to` (dates), and `more`.
    async fn company(&self, path: &str, from: &str, to: &str, more: &[(&str, &str)]) -> Value {
        let mut query = vec![("filter", "COMPANY"), ("from", from), ("to", to)];
        query.extend_from_slice(more);
        self.get(path, &query).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, text) = self
            .call(reqwest::Method::POST, path, &[], Some(body))
            .await;
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }
}

fn status(v: &Value) -> i64 {
    v["response"]["status"].as_i64().unwrap()
}

fn seed(sim: &SimServer) -> (RemoteId, RemoteId, RemoteId) {
    let ada = records::person("Ada L", Some("ada@example.com"), None);
    records::seed_account(sim, &ada, "Acme", "P", None).ids()
}

#[tokio::test]
async fn auth_routing_and_envelope() {
    let sim = start(SimOptions::default()).await;
    let api = Api::new(&sim);
    // The username is ignored; a wrong password is a real HTTP 401.
    let me = api.get("/me", &[]).await;
    assert_eq!(status(&me), 200);
    assert_eq!(me["response"]["message"], "ok");
    assert_eq!(me["data"]["account_id"], sim.account_id());
    assert_eq!(me["data"]["teams"].as_array().unwrap().len(), 1);
    let r = api
        .http
        .get(format!("{}/me", api.base))
        .basic_auth("API_TOKEN", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = api
        .http
        .get(format!("{}/me", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Both path forms: without an account id, the default account.
    let with = api.get("/users", &[]).await;
    let without = api.get("!/users", &[]).await;
    assert_eq!(with["data"], without["data"]);
    // An account the user does not belong to: an error envelope under HTTP 200.
    let (code, body) = api.send(reqwest::Method::GET, "!/999/users").await;
    assert_eq!(code, 200);
    assert_eq!(status(&serde_json::from_str(&body).unwrap()), 403);
    // Unknown routes: an error envelope.
    let v = api.get("/users/invite", &[]).await;
    assert_eq!(status(&v), 400);
    // PATCH is not a method TrackingTime routes take: an HTML page.
    let (code, body) = api.send(reqwest::Method::PATCH, "/users").await;
    assert_eq!(code, 405);
    assert!(body.starts_with("<html>"));
}

#[tokio::test]
async fn events_list_semantics() {
    let sim = start(full_form()).await;
    let api = Api::new(&sim);
    let (person, _, project) = seed(&sim);
    for i in 0..5 {
        sim.add_entry(&sample_entry(&person, Some(&project), i * 24 * 60, 30, "e"));
    }
    // from/to required.
    assert_eq!(
        status(&api.get("/events", &[("filter", "COMPANY")]).await),
        500
    );
    // A filter other than COMPANY needs an id; the default is the caller (no events).
    assert_eq!(
        status(
            &api.get(
                "/events",
                &[
                    ("filter", "USER"),
                    ("from", "2026-03-01"),
                    ("to", "2026-03-31")
                ]
            )
            .await
        ),
        500
    );
    let mine = api
        .get("/events", &[("from", "2026-03-01"), ("to", "2026-03-31")])
        .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 0);
    let theirs = api
        .get(
            "/events",
            &[
                ("filter", "USER"),
                ("id", person.as_str()),
                ("from", "2026-03-01"),
                ("to", "2026-03-31"),
            ],
        )
        .await;
    assert_eq!(theirs["data"].as_array().unwrap().len(), 5);
    // Dates are inclusive: the 10th..11th holds two events (09:00 local each day).
    let two = api
        .company("/events", "2026-03-10", "2026-03-11", &[])
        .await;
    let data = two["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let e = &data[0];
    assert_eq!(
        e["start"], "2026-03-10 09:00:00",
        "naive wall-clock in the event's zone"
    );
    assert_eq!(e["timezone"], "GMT+01:00");
    assert_eq!(e["formated_duration"], "00:30:00");
    assert!(e["loc_start"].is_string());
    assert!(e["id"].as_i64().unwrap() > i32::MAX as i64);
    assert!(e["updated_at"].is_null());
    assert!(two.get("available_custom_fields").is_some() && two.get("set_custom_fields").is_some());
    // Paging: 0-based, no totals; desc order by start.
    let p = api
        .company(
            "/events",
            "2026-03-01",
            "2026-03-31",
            &[("page_size", "2"), ("page", "2"), ("order", "desc")],
        )
        .await;
    let d = p["data"].as_array().unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["start"], "2026-03-10 09:00:00");
    assert!(p.get("total").is_none() && p["response"].get("total").is_none());
    // sort_by=updated_at: nothing edited yet.
    let u = api
        .company(
            "/events",
            "2000-01-01",
            "2100-01-01",
            &[("sort_by", "updated_at")],
        )
        .await;
    assert_eq!(u["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn flat_events_stop_at_5000_rows() {
    let sim = start(SimOptions::default()).await;
    let api = Api::new(&sim);
    let (person, _, project) = seed(&sim);
    for i in 0..5_010 {
        sim.add_entry(&sample_entry(&person, Some(&project), i * 10, 5, "f"));
    }
    let page = |page: &'static str| [("page_size", "5000"), ("page", page)];
    let first = api
        .company("/events/flat", "2026-01-01", "2026-12-31", &page("0"))
        .await;
    let rows = first["data"].as_array().unwrap();
    assert_eq!(rows.len(), 5000);
    assert!(rows[0].get("ID").is_some() && rows[0].get("Repeat Rrequency").is_some());
    let second = api
        .company("/events/flat", "2026-01-01", "2026-12-31", &page("1"))
        .await;
    assert_eq!(
        second["data"].as_array().unwrap().len(),
        0,
        "capped at 5,000 rows"
    );
    // The full list pages past 5,000.
    let full = api
        .company(
            "/events",
            "2026-01-01",
            "2026-12-31",
            &[("page_size", "5000"), ("page", "1")],
        )
        .await;
    assert_eq!(full["data"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn writes_timestamps_custom_fields_and_search() {
    let sim = start(full_form()).await;
    let api = Api::new(&sim);
    let (person, _, project) = seed(&sim);
    let base = json!({"start": "2026-03-10T09:00:00Z", "end": "2026-03-10 10:00:00", "timezone": "GMT+3",
                      "user_id": person.as_str(), "project_id": project.as_str()});
    assert_eq!(
        status(&api.post("/events/add", base.clone()).await),
        500,
        "ISO timestamps are rejected"
    );
    let mut ok = base.clone();
    ok["start"] = json!("2026-03-10 09:00:00");
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("timezone");
    assert_eq!(
        status(&api.post("/events/add", missing).await),
        500,
        "timezone is required"
    );
    // The server computes the duration from start and end (T10): a given one is ignored.
    let mut too_long = ok.clone();
    too_long["duration"] = json!(7200);
    let made = api.post("/events/add", too_long.clone()).await;
    assert_eq!(made["data"]["duration"], 3600, "{made}");
    let mut short = ok.clone();
    short["duration"] = json!(600);
    let made = api.post("/events/add", short.clone()).await;
    assert_eq!(
        made["data"]["duration"], 3600,
        "a break is not kept: {made}"
    );
    // The old behaviour, behind its switch: the given duration is stored when it fits.
    let old = start(SimOptions {
        server_computes_duration: false,
        ..full_form()
    })
    .await;
    let (person_old, _, project_old) = seed(&old);
    let old_api = Api::new(&old);
    let mut too_long = too_long.clone();
    too_long["user_id"] = json!(person_old.as_str());
    too_long["project_id"] = json!(project_old.as_str());
    assert_eq!(
        status(&old_api.post("/events/add", too_long).await),
        500,
        "duration must fit"
    );
    short["user_id"] = json!(person_old.as_str());
    short["project_id"] = json!(project_old.as_str());
    let kept = old_api.post("/events/add", short).await;
    assert_eq!(kept["data"]["duration"], 600, "{kept}");
    // custom_fields as a JSON string inside form-style params.
    let cf = r#"[{"slug":"EVENT_THIRD_PARTY_ID","value":"ext-9"},{"slug":"EVENT_THIRD_PARTY_SERVICE","value":"timeweave"}]"#;
    let (_, text) = api
        .call(
            reqwest::Method::GET,
            "/events/add",
            &[
                ("start", "2026-03-10 09:00:00"),
                ("end", "2026-03-10 10:00:00"),
                ("timezone", "GMT+3"),
                ("user_id", person.as_str()),
                ("custom_fields", cf),
            ],
            None,
        )
        .await;
    let made: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status(&made), 200, "{made}");
    assert_eq!(made["data"]["timezone"], "GMT+03:00", "GMT+3 is normalised");
    assert_eq!(
        made["data"]["duration"], 3600,
        "duration computed by the server"
    );
    let id = made["data"]["id"].as_i64().unwrap();
    let found = api
        .get(
            "/search/events",
            &[
                ("type", "ByExternalID"),
                ("entity", "Event"),
                ("external_id", "ext-9"),
            ],
        )
        .await;
    assert_eq!(found["data"][0]["id"], id);
    let none = api
        .get(
            "/search/events",
            &[("type", "ByExternalID"), ("external_id", "nope")],
        )
        .await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    // Partial update via the second path shape; updated_at set on the first edit.
    let up = api
        .post(&format!("/events/{id}/update"), json!({"notes": "edited"}))
        .await;
    assert_eq!(up["data"]["notes"], "edited");
    assert_eq!(up["data"]["start"], "2026-03-10 09:00:00");
    assert!(up["data"]["updated_at"].is_string());
    // Delete, then get: an error envelope; a second delete: 404.
    let (_, t) = api
        .send(reqwest::Method::DELETE, &format!("/events/delete/{id}"))
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&t).unwrap()["data"],
        json!({})
    );
    assert_eq!(status(&api.get(&format!("/events/{id}"), &[]).await), 404);
    assert_eq!(
        status(&api.post(&format!("/events/delete/{id}"), json!({})).await),
        404
    );
}

#[tokio::test]
async fn reference_quirks() {
    let sim = start(SimOptions::default()).await;
    let api = Api::new(&sim);
    let (_, client, project) = seed(&sim);
    sim.add_client(&Client {
        archived: true,
        ..records::client("Archived Co")
    });
    // Default ACTIVE hides archived; filter=ALL shows them; unknown params are ignored.
    assert_eq!(
        api.get("/customers", &[]).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/customers", &[("include_archived", "true")]).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.get("/customers", &[("filter", "ALL")]).await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Customers ignore page; projects answer everything on page 0 and [] after.
    assert_eq!(
        api.get("/customers", &[("filter", "ALL"), ("page", "3")])
            .await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        api.get("/projects", &[("page", "1")]).await["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Unique customer names; update needs the name.
    let dup = api.post("/customers/add", json!({"name": "acme"})).await;
    assert_eq!(status(&dup), 500);
    assert!(dup["response"]["message"]
        .as_str()
        .unwrap()
        .contains("already another customer"));
    assert_eq!(
        status(
            &api.post(
                &format!("/customers/update/{client}"),
                json!({"notes": "x"})
            )
            .await
        ),
        500
    );
    // POST customers/close answers HTML; PUT works.
    let (code, body) = api
        .send(reqwest::Method::POST, &format!("/customers/close/{client}"))
        .await;
    assert!(body.starts_with("<html>") && (code == 200 || code == 500));
    let (code, body) = api
        .send(reqwest::Method::PUT, &format!("/customers/close/{client}"))
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"]["is_archived"],
        true
    );
    // Task delete cascades to its events unless delete_all=false.
    let person = sim.add_person(&records::person("B", None, None));
    let t1 = sim.add_task(&records::task(&project, "t1"));
    let t2 = sim.add_task(&records::task(&project, "t2"));
    let mut e1 = sample_entry(&person, Some(&project), 0, 30, "a");
    e1.task = Some(t1.clone());
    let mut e2 = sample_entry(&person, Some(&project), 60, 30, "b");
    e2.task = Some(t2.clone());
    sim.add_entry(&e1);
    sim.add_entry(&e2);
    let task = api.get(&format!("/tasks/{t1}"), &[]).await;
    assert_eq!(
        task["data"]["accumulated_time"], 1800,
        "kept in step with events"
    );
    assert_eq!(task["data"]["worked_hours"], 0.5);
    let before = sim.count(timeweave_contract::Kind::TimeEntry);
    api.send(reqwest::Method::DELETE, &format!("/tasks/delete/{t1}"))
        .await;
    assert_eq!(
        sim.count(timeweave_contract::Kind::TimeEntry),
        before - 1,
        "cascade by default"
    );
    api.call(
        reqwest::Method::DELETE,
        &format!("/tasks/delete/{t2}"),
        &[("delete_all", "false")],
        None,
    )
    .await;
    assert_eq!(
        sim.count(timeweave_contract::Kind::TimeEntry),
        before - 1,
        "kept with delete_all=false"
    );
}

#[tokio::test]
async fn timer_rules() {
    let sim = start(full_form()).await;
    let api = Api::new(&sim);
    let (_, _, project) = seed(&sim);
    let a = sim.add_task(&records::task(&project, "a"));
    let b = sim.add_task(&records::task(&project, "b"));
    let started = api
        .get(
            &format!("/tasks/track/{a}"),
            &[("date", "2026-03-10 09:00:00"), ("timezone", "GMT+01:00")],
        )
        .await;
    assert_eq!(status(&started), 200);
    assert!(started["data"]["end"].is_null(), "the event runs");
    let conflict = api
        .get(
            &format!("/tasks/track/{b}"),
            &[("date", "2026-03-10 10:00:00")],
        )
        .await;
    assert_eq!(status(&conflict), 502, "one running timer per user");
    let switched = api
        .get(
            &format!("/tasks/track/{b}"),
            &[
                ("date", "2026-03-10 10:00:00"),
                ("stop_running_task", "true"),
                ("return_task", "true"),
            ],
        )
        .await;
    assert_eq!(status(&switched), 200);
    assert_eq!(switched["data"]["tracking"], true);
    let first = api.get(&format!("/tasks/{a}"), &[]).await;
    assert_eq!(
        first["data"]["accumulated_time"], 3600,
        "the first timer was stopped"
    );
    let stopped = api
        .get(
            &format!("/tasks/stop/{b}"),
            &[("date", "2026-03-10 10:30:00")],
        )
        .await;
    assert_eq!(
        stopped["data"]["duration"], 1800,
        "the server computes it at the stop"
    );
    assert_eq!(
        status(&api.get(&format!("/tasks/stop/{b}"), &[]).await),
        500,
        "nothing runs"
    );
}

/// The documented behaviour by default (T1, T2, T3, T5, T8, T10): compact events whose
/// `type` is absent and `tt` the task's type, computed durations and billability,
/// ignored customer and billing parameters, `contact: null`, a city label in `/me`.
#[tokio::test]
async fn documented_defaults_are_the_least_helpful() {
    let sim = start(SimOptions::default()).await;
    let api = Api::new(&sim);
    let (person, client, project) = seed(&sim);
    let made = api
        .post(
            "/events/add",
            json!({"start": "2026-03-10 09:00:00", "end": "2026-03-10 10:00:00",
                   "timezone": "GMT+01:00", "duration": 600, "user_id": person.as_str(),
                   "project_id": project.as_str(), "is_billable": false, "notes": "n"}),
        )
        .await;
    let e = &made["data"];
    assert_eq!(
        (&e["s"], &e["e"], &e["d"], &e["tz"], &e["ety"], &e["n"]),
        (
            &json!("2026-03-10 09:00:00"),
            &json!("2026-03-10 10:00:00"),
            &json!(3600),
            &json!("GMT+01:00"),
            &json!("WORK"),
            &json!("n")
        ),
        "{made}"
    );
    assert_eq!(e["uid"], json!(person.as_str().parse::<i64>().unwrap()));
    assert_eq!(
        e["b"], true,
        "billable as its project, the parameter ignored"
    );
    assert!(
        e.get("start").is_none() && e.get("type").is_none(),
        "{made}"
    );
    let listed = api
        .company("/events", "2026-03-10", "2026-03-10", &[])
        .await;
    assert_eq!(listed["data"][0]["s"], "2026-03-10 09:00:00", "{listed}");
    assert!(listed["data"][0]["cat"].is_string());
    // A customer is not taken on an event (T5).
    let no_project = api
        .post(
            "/events/add",
            json!({"start": "2026-03-11 09:00:00", "end": "2026-03-11 10:00:00",
                   "timezone": "GMT+01:00", "user_id": person.as_str(),
                   "customer_id": client.as_str()}),
        )
        .await;
    assert!(no_project["data"]["cid"].is_null(), "{no_project}");
    // The full form's `type` is the task's type, never the event's (T8).
    let full = start(full_form()).await;
    let (p2, _, pr2) = seed(&full);
    let t = full.add_task(&records::task(&pr2, "T"));
    let made = Api::new(&full)
        .post(
            "/events/add",
            json!({"start": "2026-03-10 09:00:00", "end": "2026-03-10 10:00:00",
                   "timezone": "GMT+01:00", "user_id": p2.as_str(), "task_id": t.as_str()}),
        )
        .await;
    assert_eq!(made["data"]["type"], "EVERYONE", "{made}");
    assert_eq!(made["data"]["event_type"], "WORK");
    // Project billing parameters are ignored: billable, no rate (T6 evidence unclear).
    let pr = api
        .post(
            "/projects/add",
            json!({"name": "Billing", "is_billable": false, "hourly_rate": 80}),
        )
        .await;
    assert_eq!(pr["data"]["billing"]["is_billable"], true, "{pr}");
    assert!(pr["data"]["billing"]["hourly_rate"].is_null(), "{pr}");
    // Customers answer `contact`, null, not the written e-mail (T2).
    let c = api
        .post(
            "/customers/add",
            json!({"name": "Mail Co", "contact_email": "a@b.io"}),
        )
        .await;
    assert!(
        c["data"]["contact"].is_null() && c["data"].get("contact_email").is_none(),
        "{c}"
    );
    // `/me` gives a city label (T3).
    let me = api.get("/me", &[]).await;
    assert_eq!(me["data"]["timezone"], "Madrid", "{me}");
    assert_eq!(me["data"]["settings"]["timezone"], "Madrid");
    assert!(me["data"]["timezone_iana"].is_null());
}

/// How many events of 2026 `filter=COMPANY` answers.
async fn company_events(api: &Api) -> usize {
    let v = api
        .company("/events", "2026-01-01", "2026-12-31", &[])
        .await;
    v["data"].as_array().map_or(0, Vec::len)
}

/// `SimOptions::caller`: `/me` lists the role and the documented permission on the user
/// object (none in `teams[]`; the edit flags and the per-team shape are switches); without
/// `can_view_time_entries_from_others` the company filter answers the caller's own events
/// only, and without an edit permission writes of that kind answer an in-envelope 403.
#[tokio::test]
async fn the_callers_permissions_shape_me_the_company_filter_and_writes() {
    use timeweave_trackingtime_sim::CallerRights;
    let co_worker = CallerRights {
        role: "CO_WORKER".into(),
        view_others: false,
        edit_time_entries: false,
        ..CallerRights::admin()
    };
    let sim = start(SimOptions {
        caller: co_worker,
        ..full_form()
    })
    .await;
    let api = Api::new(&sim);
    let (person, _, project) = seed(&sim);
    sim.add_entry(&sample_entry(&person, Some(&project), 0, 30, "theirs"));
    let me = api.get("!/me", &[]).await;
    let user = &me["data"];
    assert_eq!(user["role"], "CO_WORKER", "{me}");
    assert_eq!(
        user["permissions"]["can_view_time_entries_from_others"],
        false
    );
    assert!(
        user["permissions"].get("can_edit_projects").is_none(),
        "{me}"
    );
    assert!(user["teams"][0].get("permissions").is_none(), "{me}");
    assert_eq!(company_events(&api).await, 0);
    let add = json!({"start": "2026-03-10 09:00:00", "end": "2026-03-10 10:00:00",
                     "timezone": "GMT+01:00", "user_id": person.as_str()});
    assert_eq!(status(&api.post("/events/add", add).await), 403);

    let admin = start(full_form()).await;
    let api = Api::new(&admin);
    let (person, _, project) = seed(&admin);
    admin.add_entry(&sample_entry(&person, Some(&project), 0, 30, "theirs"));
    assert_eq!(company_events(&api).await, 1);

    // The switches: the sample's edit flags, and the permissions per team.
    let switched = start(SimOptions {
        caller: CallerRights {
            lists_edit_flags: true,
            in_teams: true,
            ..CallerRights::admin()
        },
        ..full_form()
    })
    .await;
    let me = Api::new(&switched).get("!/me", &[]).await;
    assert!(me["data"].get("permissions").is_none(), "{me}");
    assert_eq!(
        me["data"]["teams"][0]["permissions"]["can_edit_projects"],
        true
    );
}
