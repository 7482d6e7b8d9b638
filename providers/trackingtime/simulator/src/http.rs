//! The simulator's HTTP face: one fallback handler that counts the request, applies
//! injected faults and rate limiting, checks Basic auth (username ignored), resolves the
//! account from the path (`/api/v4/{account_id}/...` or the default account), merges the
//! parameters, runs the endpoint and wraps its answer in TrackingTime's envelope.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};
use timeweave_simkit::{fault_answers, Fault};

use super::params::Params;
use super::routes::{self, Reply};
use super::{LoggedRequest, Shared, World};

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

fn envelope(
    status: i64,
    message: &str,
    data: Value,
    siblings: Vec<(&'static str, Value)>,
) -> Value {
    let mut m = Map::new();
    m.insert(
        "response".into(),
        json!({"status": status, "version": "4.0", "message": message, "note": null, "note_type": null}),
    );
    m.insert("data".into(), data);
    for (k, v) in siblings {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// The envelope around `data` already serialised (large lists skip the JSON tree).
fn envelope_text(data: &str, siblings: Vec<(&'static str, Value)>) -> String {
    let mut out = String::with_capacity(data.len() + 256);
    out.push_str(r#"{"response":{"status":200,"version":"4.0","message":"ok","note":null,"note_type":null},"data":"#);
    out.push_str(data);
    for (k, v) in siblings {
        out.push_str(&format!(",{}:{}", Value::String(k.into()), v));
    }
    out.push('}');
    out
}

fn json_response(http: StatusCode, body: &Value) -> Response {
    text_response(http, body.to_string())
}

fn text_response(http: StatusCode, body: String) -> Response {
    (
        http,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response()
}

fn html(status: u16, text: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    fault_answers::html_page(status, text.to_owned())
}

fn gateway_page() -> Response {
    html(502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (the `Authorization: Basic` value a client sends).
pub(super) fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.trim().bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// (username, password) from `Authorization: Basic ...`.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let text = String::from_utf8(decode_base64(b64)?).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

enum Before {
    Go(Option<Fault>),
    Answer(Response),
}

fn before(w: &mut World) -> Before {
    w.requests += 1;
    if let Some(n) = w.opts.html_502_every.filter(|&n| n > 0) {
        if w.requests % n == 0 {
            return Before::Answer(gateway_page());
        }
    }
    if w.rate_limiting {
        let now = std::time::Instant::now();
        let (start, count) = w.rate_window;
        let fresh = start.is_none_or(|s| now.duration_since(s).as_secs_f64() >= 1.0);
        w.rate_window = if fresh {
            (Some(now), 1)
        } else {
            (start, count + 1)
        };
        if w.rate_window.1 > w.opts.rate_limit_per_second {
            return Before::Answer(too_many(w.opts.rate_limit_retry_after));
        }
    }
    Before::Go(w.faults.pop_front())
}

fn too_many(retry_after: Option<u64>) -> Response {
    let r = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        &envelope(429, "Too many requests", json!({}), vec![]),
    );
    fault_answers::with_retry_after(r, retry_after)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fault, slow, timeout_delay) = {
        let mut w = shared.lock();
        match before(&mut w) {
            Before::Answer(r) => return r,
            Before::Go(f) => (f, w.opts.slow_responses, w.opts.timeout_delay),
        }
    };
    if let Some(d) = slow {
        tokio::time::sleep(d).await;
    }
    match fault {
        Some(Fault::ServerError) => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &envelope(500, "Internal server error", json!({}), vec![]),
            )
        }
        Some(Fault::ConnectionReset) => return fault_answers::cut_off(),
        Some(Fault::MalformedJson) => {
            return fault_answers::json_body(StatusCode::OK, "{\"response\": oops, not json")
        }
        Some(Fault::HtmlErrorPage) => return gateway_page(),
        Some(Fault::RateLimited { retry_after_secs }) => return too_many(retry_after_secs),
        _ => {}
    }
    let (response, outbox) = {
        let mut w = shared.lock();
        let r = serve(&mut w, &method, &uri, &headers, &body);
        (r, std::mem::take(&mut w.outbox))
    };
    if !outbox.is_empty() {
        let delay = shared.lock().opts.webhook_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let client = reqwest::Client::new();
            for (url, payload) in outbox {
                if let Err(e) = client.post(&url).json(&payload).send().await {
                    tracing::debug!(error = %e, "simulated webhook delivery failed");
                }
            }
        });
    }
    let (status, text) = match response {
        Served::Json(status, value) => (status, value.to_string()),
        Served::Text(status, text) => (status, text),
        Served::Raw(r) => return r,
    };
    if fault == Some(Fault::Timeout) {
        // The request is carried out, then the answer comes too late: the client gives up
        // without knowing whether its write landed.
        tokio::time::sleep(timeout_delay).await;
    }
    match fault {
        Some(Fault::LoseResponse) => fault_answers::cut_off(),
        Some(Fault::TruncatedBody) => {
            let cut = text.len() / 2;
            let half = text.get(..cut).unwrap_or("{").to_owned();
            fault_answers::json_body(status, half)
        }
        _ => text_response(status, text),
    }
}

enum Served {
    Json(StatusCode, Value),
    Text(StatusCode, String),
    Raw(Response),
}

fn serve(w: &mut World, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Served {
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/api/v4") else {
        return Served::Raw(html(
            404,
            "<html><body><h1>404 Not Found</h1></body></html>",
        ));
    };
    let auth = basic_auth(headers);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let is_json = content_type.is_some_and(|c| c.contains("json"));
    let body = if is_json && !w.opts.accept_json_body {
        &[][..]
    } else {
        body
    };
    let params = match Params::read(uri.query(), content_type, body) {
        Ok(p) => p,
        Err(e) => return Served::Json(StatusCode::OK, envelope(500, &e, json!({}), vec![])),
    };
    if w.log.len() >= 2000 {
        w.log.pop_front();
    }
    w.log.push_back(LoggedRequest {
        method: method.to_string(),
        path: rest.to_owned(),
        params: params.as_json(),
        username: auth.as_ref().map(|(u, _)| u.clone()),
        user_agent: user_agent.clone(),
    });
    let authorised = match &auth {
        // With an App Password the username is ignored.
        Some((user, pass)) => {
            *pass == w.opts.app_password
                || w.opts
                    .login
                    .as_ref()
                    .is_some_and(|(e, p)| e.eq_ignore_ascii_case(user) && p == pass)
        }
        None => false,
    };
    if !authorised {
        return Served::Json(
            StatusCode::UNAUTHORIZED,
            envelope(401, "Unauthorized", json!({}), vec![]),
        );
    }
    let ua_ok = user_agent
        .as_deref()
        .is_some_and(|ua| ua.contains('(') && ua.contains(')'));
    if !ua_ok {
        if w.opts.require_user_agent {
            return Served::Json(
                StatusCode::OK,
                envelope(
                    403,
                    "Identify your app with a User-Agent such as MyApp (email@example.com)",
                    json!({}),
                    vec![],
                ),
            );
        }
        tracing::warn!(user_agent = ?user_agent, "request without an identifying User-Agent");
    }
    if let Some((status, message)) = w.envelope_errors.pop_front() {
        return Served::Json(
            StatusCode::OK,
            envelope(status, &message, json!({}), vec![]),
        );
    }
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (account, segs) = match segs.first().map(|s| s.parse::<i64>()) {
        Some(Ok(a)) => {
            if !w.accounts.contains_key(&a) {
                return Served::Json(
                    StatusCode::OK,
                    envelope(403, "You don't belong to this account", json!({}), vec![]),
                );
            }
            (a, &segs[1..])
        }
        _ => match segs.as_slice() {
            ["me"] => return Served::Json(StatusCode::OK, envelope(200, "ok", me(w), vec![])),
            ["teams"] => {
                return Served::Json(StatusCode::OK, envelope(200, "ok", teams(w), vec![]))
            }
            // No account in the path: the user's default account.
            _ => (w.primary, &segs[..]),
        },
    };
    match routes::route(w, account, method, segs, &params) {
        Reply::Data(data, siblings) => {
            Served::Json(StatusCode::OK, envelope(200, "ok", data, siblings))
        }
        Reply::DataJson(data, siblings) => {
            Served::Text(StatusCode::OK, envelope_text(&data, siblings))
        }
        Reply::Error(status, message) => Served::Json(
            StatusCode::OK,
            envelope(status, &message, json!({}), vec![]),
        ),
        Reply::Html(status, text) => Served::Raw(html(status, &text)),
    }
}

fn teams(w: &World) -> Value {
    Value::Array(
        w.accounts
            .values()
            .filter(|a| !(w.opts.teams_omit_account && a.id == w.primary))
            .map(|a| {
                let mut team = json!({"account_id": a.id, "company": a.company,
                       "role": w.opts.caller.role,
                       "is_selected": a.id == w.primary, "is_default": a.id == w.primary});
                if w.opts.caller.listed && w.opts.caller.in_teams {
                    team["permissions"] = permissions(&w.opts.caller);
                }
                team
            })
            .collect(),
    )
}

/// The caller's `permissions` object: the documented flag, and the sample's edit flags
/// only when `lists_edit_flags`.
fn permissions(c: &crate::CallerRights) -> Value {
    let mut flags = json!({"can_view_time_entries_from_others": c.view_others});
    if c.lists_edit_flags {
        flags["can_edit_time_entries"] = json!(c.edit_time_entries);
        flags["can_edit_projects_and_tasks"] = json!(c.edit_projects && c.edit_tasks);
        flags["can_edit_projects"] = json!(c.edit_projects);
        flags["can_edit_tasks"] = json!(c.edit_tasks);
    }
    flags
}

/// `GET /me`; the account zone as a city label unless `me_timezone_iana` (T3).
fn me(w: &World) -> Value {
    let name = w.opts.account_timezone.as_str();
    let (zone, iana) = if w.opts.me_timezone_iana {
        (name, Some(name))
    } else {
        (name.rsplit('/').next().unwrap_or(name), None)
    };
    let user = w
        .accounts
        .get(&w.primary)
        .and_then(|a| a.users.get(&w.caller));
    let c = &w.opts.caller;
    let mut me = json!({
        "id": w.caller,
        "account_id": w.primary,
        "role": c.role,
        "name": user.map(|u| u.name.clone()),
        "surname": user.map(|u| u.surname.clone()),
        "email": user.map(|u| u.email.clone()),
        "timezone": zone,
        "timezone_iana": iana,
        "settings": {"timezone": zone},
        "locale": "en",
        "teams": teams(w),
    });
    if c.listed && !c.in_teams {
        me["permissions"] = permissions(c);
    }
    me
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64() {
        assert_eq!(
            super::encode_base64(b"API_TOKEN:secret"),
            "QVBJX1RPS0VOOnNlY3JldA=="
        );
        assert_eq!(super::encode_base64(b"ab"), "YWI=");
        assert_eq!(
            super::decode_base64(&super::encode_base64(b"a")).unwrap(),
            b"a"
        );
        assert_eq!(
            super::decode_base64("QVBJX1RPS0VOOnNlY3JldA==").unwrap(),
            b"API_TOKEN:secret"
        );
        assert!(super::decode_base64("!!").is_none());
    }
}
