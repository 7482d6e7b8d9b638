//! The simulator's HTTP front: routing (Flask's 404/405 before auth), the setup gate, token
//! auth and scopes, per-token fixed-window rate limits, CORS, and fault injection. Handlers
//! live in `api_entries` and `api_refs`.

use std::collections::HashMap;

use serde_json::json;
use timeweave_simkit::Fault;

use super::api_entries as entries;
use super::api_refs as refs;
use super::json::error;
use super::request::{Body, Caller, Req, Resp};
use super::store::Store;
use super::trail_log;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Info,
    Health,
    Login,
    UsersMe,
    Users,
    Clients,
    ClientCreate,
    ClientGet(i64),
    Projects,
    ProjectCreate,
    ProjectGet(i64),
    ProjectUpdate(i64),
    ProjectDelete(i64),
    Tasks,
    TaskCreate,
    TaskGet(i64),
    TaskUpdate(i64),
    TaskDelete(i64),
    Entries,
    EntryCreate,
    EntryGet(i64),
    EntryUpdate(i64),
    EntryDelete(i64),
    TimerStatus,
    TimerStart,
    TimerAction(&'static str),
    AuditLogs,
    Activities,
}

enum RouteError {
    NotFound,
    MethodNotAllowed,
}

/// Flask routing: an unknown path is 404, a known path with another method is 405, both
/// before any auth check.
fn route(method: &str, segs: &[&str]) -> Result<Route, RouteError> {
    use Route::*;
    let id = |s: &str| s.parse::<i64>().map_err(|_| RouteError::NotFound);
    let pick = |pairs: &[(&str, Route)]| {
        pairs
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, r)| *r)
            .ok_or(RouteError::MethodNotAllowed)
    };
    match segs {
        ["info"] => pick(&[("GET", Info)]),
        ["health"] => pick(&[("GET", Health)]),
        ["auth", "login"] => pick(&[("POST", Login)]),
        ["users", "me"] => pick(&[("GET", UsersMe)]),
        ["users"] => pick(&[("GET", Users)]),
        ["clients"] => pick(&[("GET", Clients), ("POST", ClientCreate)]),
        ["clients", n] => pick(&[("GET", ClientGet(id(n)?))]),
        ["projects"] => pick(&[("GET", Projects), ("POST", ProjectCreate)]),
        ["projects", n] => {
            let n = id(n)?;
            pick(&[
                ("GET", ProjectGet(n)),
                ("PUT", ProjectUpdate(n)),
                ("PATCH", ProjectUpdate(n)),
                ("DELETE", ProjectDelete(n)),
            ])
        }
        ["tasks"] => pick(&[("GET", Tasks), ("POST", TaskCreate)]),
        ["tasks", n] => {
            let n = id(n)?;
            pick(&[
                ("GET", TaskGet(n)),
                ("PUT", TaskUpdate(n)),
                ("PATCH", TaskUpdate(n)),
                ("DELETE", TaskDelete(n)),
            ])
        }
        ["time-entries"] => pick(&[("GET", Entries), ("POST", EntryCreate)]),
        ["time-entries", n] => {
            let n = id(n)?;
            pick(&[
                ("GET", EntryGet(n)),
                ("PUT", EntryUpdate(n)),
                ("PATCH", EntryUpdate(n)),
                ("DELETE", EntryDelete(n)),
            ])
        }
        ["timer", "status"] => pick(&[("GET", TimerStatus)]),
        ["timer", "start"] => pick(&[("POST", TimerStart)]),
        ["timer", "stop"] => pick(&[("POST", TimerAction("stop"))]),
        ["timer", "pause"] => pick(&[("POST", TimerAction("pause"))]),
        ["timer", "resume"] => pick(&[("POST", TimerAction("resume"))]),
        ["audit-logs"] => pick(&[("GET", AuditLogs)]),
        ["activities"] => pick(&[("GET", Activities)]),
        _ => Err(RouteError::NotFound),
    }
}

/// The scope a route needs (`None`: unauthenticated).
fn scope(r: Route) -> Option<&'static str> {
    use Route::*;
    Some(match r {
        Info | Health | Login => return None,
        UsersMe => "read:users",
        Users | AuditLogs => "admin:all",
        Clients | ClientGet(_) => "read:clients",
        ClientCreate => "write:clients",
        Projects | ProjectGet(_) => "read:projects",
        ProjectCreate | ProjectUpdate(_) | ProjectDelete(_) => "write:projects",
        Tasks | TaskGet(_) => "read:tasks",
        TaskCreate | TaskUpdate(_) | TaskDelete(_) => "write:tasks",
        Entries | EntryGet(_) | TimerStatus => "read:time_entries",
        EntryCreate | EntryUpdate(_) | EntryDelete(_) | TimerStart | TimerAction(_) => {
            "write:time_entries"
        }
        Activities => "read:reports",
    })
}

fn unauthorized(error: &str, message: &str) -> Resp {
    Resp::json(
        401,
        json!({"error": error, "message": message, "error_code": "unauthorized"}),
    )
}

/// `extract_token_from_request`: Authorization (Bearer/Token, any case) first, then X-API-Key.
fn extract_token(req: &Req) -> Option<String> {
    if let Some(auth) = req.header("authorization") {
        let mut parts = auth.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or_default().to_ascii_lowercase();
        if let (true, Some(tok)) = (scheme == "bearer" || scheme == "token", parts.next()) {
            return Some(tok.trim().to_owned());
        }
    }
    req.header("x-api-key").map(|k| k.trim().to_owned())
}

fn authenticate(store: &Store, req: &Req) -> Result<Caller, Resp> {
    let Some(token) = extract_token(req).filter(|t| !t.is_empty()) else {
        return Err(unauthorized(
            "Authentication required",
            "API token must be provided in Authorization header or X-API-Key header",
        ));
    };
    if !token.starts_with("tt_") {
        return Err(unauthorized("Invalid token", "Invalid token format"));
    }
    let Some(t) = store.tokens.get(&token).filter(|t| t.active) else {
        return Err(unauthorized("Invalid token", "Token not found"));
    };
    if t.expires_at.is_some_and(|at| at <= store.now_utc()) {
        return Err(unauthorized("Invalid token", "Token has expired"));
    }
    match store.users.get(&t.user_id) {
        Some(u) if u.is_active => Ok(Caller {
            token,
            user_id: u.id,
            admin: store.is_admin(u.id),
        }),
        _ => Err(unauthorized("Invalid token", "User account is inactive")),
    }
}

/// Fixed calendar-minute and calendar-hour windows per token; rejected calls count too.
fn rate_limit(store: &mut Store, token: &str) -> Option<Resp> {
    if !store.opts.rate_limiting {
        return None;
    }
    let now = store.now_utc().timestamp();
    let (minute, hour) = (now.div_euclid(60), now.div_euclid(3600));
    let (per_min, per_hour) = (
        store.opts.rate_limit_per_minute,
        store.opts.rate_limit_per_hour,
    );
    let counters = store
        .rate
        .entry(token.to_owned())
        .or_insert(((minute, 0), (hour, 0)));
    if counters.0 .0 != minute {
        counters.0 = (minute, 0);
    }
    if counters.1 .0 != hour {
        counters.1 = (hour, 0);
    }
    counters.0 .1 += 1;
    counters.1 .1 += 1;
    let (m, h) = (counters.0 .1, counters.1 .1);
    if m <= per_min && h <= per_hour {
        return None;
    }
    let retry_after = if h > per_hour {
        3600 - now.rem_euclid(3600)
    } else {
        60 - now.rem_euclid(60)
    };
    Some(rate_limited_body(
        per_min,
        per_hour,
        m,
        h,
        Some(retry_after.max(1) as u64),
    ))
}

fn rate_limited_body(
    per_min: u32,
    per_hour: u32,
    m: u32,
    h: u32,
    retry_after: Option<u64>,
) -> Resp {
    let resp = Resp::json(
        429,
        json!({
            "error": "Rate limit exceeded",
            "error_code": "rate_limited",
            "limit_per_hour": per_hour,
            "limit_per_minute": per_min,
            "message": "Too many requests for this API token. Try again later.",
            "remaining_per_hour": per_hour.saturating_sub(h),
            "remaining_per_minute": per_min.saturating_sub(m),
        }),
    );
    match retry_after {
        Some(s) => resp.with_header("Retry-After", s.to_string()),
        None => resp,
    }
}

/// Handles one request against the store (the fault decided by the caller is applied here).
pub fn handle(store: &mut Store, req: &Req, fault: Option<Fault>) -> Resp {
    store.requests += 1;
    if req.method == "GET" && req.segments.first().map(String::as_str) == Some("setup") {
        return Resp {
            status: 200,
            body: Body::Html(
                "<!DOCTYPE html><html><head><title>TimeTracker setup</title></head><body>\
                 <h1>Welcome to TimeTracker</h1><form method=\"post\"></form></body></html>"
                    .into(),
            ),
            headers: Vec::new(),
            drop_connection: false,
        };
    }
    if req.segments.first().map(String::as_str) != Some("api")
        || req.segments.get(1).map(String::as_str) != Some("v1")
    {
        return Resp::json(404, error("not_found", "Resource not found"));
    }
    let segs: Vec<&str> = req.segments[2..].iter().map(String::as_str).collect();
    match fault {
        Some(Fault::ServerError) => {
            return Resp::json(500, error("internal_error", "An internal error occurred"))
        }
        Some(Fault::MalformedJson) => {
            return Resp {
                status: 200,
                body: Body::RawJson(b"Internal Server Error: <unprintable>".to_vec()),
                headers: Vec::new(),
                drop_connection: false,
            }
        }
        Some(Fault::HtmlErrorPage) => {
            return Resp {
                status: 502,
                body: Body::Html(
                    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad \
                     Gateway</h1></center><hr><center>nginx</center></body></html>"
                        .into(),
                ),
                headers: Vec::new(),
                drop_connection: false,
            }
        }
        Some(Fault::RateLimited { retry_after_secs }) => {
            let (m, h) = (
                store.opts.rate_limit_per_minute,
                store.opts.rate_limit_per_hour,
            );
            return rate_limited_body(m, h, m + 1, 0, retry_after_secs);
        }
        Some(Fault::ConnectionReset) => {
            return Resp {
                status: 500,
                body: Body::Empty,
                headers: Vec::new(),
                drop_connection: true,
            }
        }
        _ => {}
    }
    if req.method == "OPTIONS" {
        return Resp {
            status: 204,
            body: Body::Empty,
            headers: Vec::new(),
            drop_connection: false,
        };
    }
    let exempt = matches!(
        (req.method.as_str(), segs.as_slice()),
        ("GET", ["info"]) | ("GET", ["health"]) | ("POST", ["auth", "login"])
    );
    if store.opts.setup_required && !exempt {
        return Resp {
            status: 302,
            body: Body::Html(
                "<!doctype html><title>Redirecting...</title><h1>Redirecting...</h1><p>You \
                 should be redirected to <a href=\"/setup\">/setup</a>.</p>"
                    .into(),
            ),
            headers: vec![("Location".into(), "/setup".into())],
            drop_connection: false,
        };
    }
    let r = match route(&req.method, &segs) {
        Ok(r) => r,
        Err(RouteError::NotFound) => {
            return Resp::json(404, error("not_found", "Resource not found"))
        }
        Err(RouteError::MethodNotAllowed) => {
            let msg = "The method is not allowed for the requested URL.";
            return Resp::json(
                405,
                json!({"success": false, "error": msg, "message": msg, "error_code": 405}),
            );
        }
    };
    let Some(required) = scope(r) else {
        return match r {
            Route::Info => refs::info(store),
            Route::Health => refs::health(store),
            _ => refs::login(store, req),
        };
    };
    let caller = match authenticate(store, req) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let token = store.tokens.get(&caller.token).cloned();
    if let Some(t) = token {
        if !t.has_scope(required) {
            return Resp::json(
                403,
                json!({
                    "error": "Insufficient permissions",
                    "message": format!("This endpoint requires one of: \"{required}\""),
                    "error_code": "forbidden",
                    "required_scope": required,
                    "available_scopes": t.scopes,
                }),
            );
        }
    }
    if let Some(limited) = rate_limit(store, &caller.token) {
        return limited;
    }
    store.actor = Some(caller.user_id);
    let resp = dispatch(store, &caller, req, r);
    store.actor = None;
    resp
}

fn dispatch(store: &mut Store, caller: &Caller, req: &Req, r: Route) -> Resp {
    use Route::*;
    match r {
        Info | Health | Login => Resp::json(500, error("internal_error", "unreachable")),
        UsersMe => refs::users_me(store, caller),
        Users => refs::users(store, req),
        Clients => refs::clients(store, caller, req),
        ClientCreate => refs::client_create(store, caller, req),
        ClientGet(id) => refs::client_get(store, caller, id),
        Projects => refs::projects(store, caller, req),
        ProjectCreate => refs::project_create(store, caller, req),
        ProjectGet(id) => refs::project_get(store, caller, id),
        ProjectUpdate(id) => refs::project_update(store, caller, req, id),
        ProjectDelete(id) => refs::project_delete(store, caller, id),
        Tasks => refs::tasks(store, req),
        TaskCreate => refs::task_create(store, caller, req),
        TaskGet(id) => refs::task_get(store, id),
        TaskUpdate(id) => refs::task_update(store, req, id),
        TaskDelete(id) => refs::task_delete(store, id),
        Entries => entries::list(store, caller, req),
        EntryCreate => entries::create(store, caller, req),
        EntryGet(id) => entries::get(store, caller, id),
        EntryUpdate(id) => entries::update(store, caller, req, id),
        EntryDelete(id) => entries::delete(store, caller, req, id),
        TimerStatus => entries::timer_status(store, caller),
        TimerStart => entries::timer_start(store, caller, req),
        TimerAction(a) => entries::timer_action(store, caller, a),
        AuditLogs => trail_log::audit_logs(store, req),
        Activities => trail_log::activities(store, req),
    }
}

/// Splits a request target into path segments and a query map (first value wins).
pub fn split_target(path: &str, query: Option<&str>) -> (Vec<String>, HashMap<String, String>) {
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let mut q = HashMap::new();
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            q.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    (segments, q)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}
