//! The simulator's HTTP face: routing under the tenancy base path `/api/v2/ext` (with or
//! without trailing slashes), both auth headers, the throttle, fault injection, JSON bodies
//! (a GET's `{}` body is ignored), bare-array lists, and the answers' status codes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use timeweave_simkit::{fault_answers, Fault};

use super::options::{CreateAnswer, UpdateAnswer};
use super::store::{codes, Resource, SimError};
use super::Shared;

/// The tenancy base path every resource lives under.
pub const BASE_PATH: &str = "/api/v2/ext";

/// What one request gets, before faults touch it.
struct Reply {
    status: StatusCode,
    /// A JSON body, already serialized.
    body: Option<Vec<u8>>,
    retry_after: Option<u64>,
}

impl Reply {
    fn json(status: StatusCode, body: Value) -> Self {
        Reply {
            status,
            body: Some(serde_json::to_vec(&body).unwrap_or_default()),
            retry_after: None,
        }
    }
    fn error(e: SimError) -> Self {
        Reply::json(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            e.envelope(),
        )
    }
    fn bytes(&self) -> Vec<u8> {
        self.body.clone().unwrap_or_default()
    }
    fn into_response(self) -> Response {
        let resp = match self.body {
            Some(bytes) => fault_answers::json_body(self.status, bytes),
            None => self.status.into_response(),
        };
        fault_answers::with_retry_after(resp, self.retry_after)
    }
}

pub async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.served.fetch_add(1, Ordering::Relaxed);
    if !matches!(method, Method::GET | Method::HEAD) {
        shared.writes.fetch_add(1, Ordering::Relaxed);
    }
    let fault = shared.next_fault();
    match fault {
        Some(Fault::ServerError) => {
            return Reply::error(SimError::new(
                500,
                codes::SERVER,
                "Internal server error",
                "simulated failure",
            ))
            .into_response()
        }
        Some(Fault::Timeout) => {
            let delay = shared.options().timeout_delay;
            tokio::time::sleep(delay).await;
            return Reply::error(SimError::new(
                504,
                codes::SERVER,
                "Gateway timeout",
                "simulated timeout",
            ))
            .into_response();
        }
        Some(Fault::ConnectionReset) => return fault_answers::cut_off(),
        Some(Fault::MalformedJson) => {
            return fault_answers::json_body(StatusCode::OK, "{\"errors\": oops, <br>")
        }
        Some(Fault::HtmlErrorPage) => {
            return fault_answers::html_page(
                StatusCode::BAD_GATEWAY,
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
        }
        Some(Fault::RateLimited { retry_after_secs }) => {
            shared.throttled.fetch_add(1, Ordering::Relaxed);
            let mut r = Reply::error(SimError::new(
                429,
                codes::THROTTLED,
                "Too many requests",
                "simulated throttle",
            ));
            r.retry_after = retry_after_secs;
            return r.into_response();
        }
        Some(Fault::LoseResponse) => {
            let _ = process(&shared, &method, &uri, &headers, &body);
            return fault_answers::cut_off();
        }
        Some(Fault::TruncatedBody) => {
            let reply = process(&shared, &method, &uri, &headers, &body);
            let mut bytes = reply.bytes();
            bytes.truncate(bytes.len() / 2);
            return fault_answers::json_body(reply.status, bytes);
        }
        None => {}
    }
    process(&shared, &method, &uri, &headers, &body).into_response()
}

fn process(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Reply {
    let Some(rest) = uri.path().strip_prefix(BASE_PATH) else {
        return Reply {
            status: StatusCode::NOT_FOUND,
            body: None,
            retry_after: None,
        };
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let opts = shared.options();

    // Authentication: both headers, or 401 (§1.2).
    let key = headers
        .get("x-timetrack-api-key")
        .and_then(|v| v.to_str().ok());
    let secret = headers
        .get("x-timetrack-api-secret")
        .and_then(|v| v.to_str().ok());
    let authorised =
        key == Some(opts.api_key.as_str()) && secret.is_some_and(|s| shared.secret_ok(s));
    if !authorised {
        return Reply::error(SimError::new(
            401,
            codes::UNAUTHORIZED,
            "Unauthorized",
            "API key or API secret missing or wrong.",
        ));
    }

    // Throttle per key (§1.7).
    if let Some(rule) = opts
        .throttle
        .filter(|_| shared.rate_limiting.load(Ordering::Relaxed))
    {
        let verdict = shared.window().admit(
            &opts.api_key,
            Instant::now(),
            &rule,
            opts.throttle_counts_refused,
        );
        if let Err(wait) = verdict {
            shared.throttled.fetch_add(1, Ordering::Relaxed);
            let mut r = Reply::error(SimError::new(
                429,
                codes::THROTTLED,
                "Too many requests",
                format!(
                    "At most {} requests per {} s.",
                    rule.limit,
                    rule.window.as_secs_f64()
                ),
            ));
            if rule.retry_after {
                r.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
            }
            return r;
        }
    }

    let timer_prefix: Vec<&str> = opts
        .project_timer_prefix
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if !segments.is_empty() && segments.starts_with(&timer_prefix) {
        return not_simulated("the project timer");
    }
    let (res, id) = match segments.as_slice() {
        [r] => (Resource::parse(r), None),
        [r, id] => (Resource::parse(r), Some(*id)),
        _ => (None, None),
    };
    let Some(res) = res else {
        return match segments.first() {
            Some(&("attendance_timer" | "timers")) => not_simulated(segments[0]),
            _ => Reply::error(SimError::new(
                404,
                codes::NOT_FOUND,
                "Not found",
                format!("no route {}", uri.path()),
            )),
        };
    };
    let id = match id.map(|s| s.parse::<i64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Reply::error(SimError::new(
                404,
                codes::NOT_FOUND,
                format!("{} not found", res.label()),
                format!("`{}` is not an id", id.unwrap_or_default()),
            ))
        }
    };
    let params: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let object = || -> Result<serde_json::Map<String, Value>, SimError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => Ok(o),
            Ok(_) => Err(SimError::invalid("the body must be a JSON object")),
            Err(e) => Err(SimError::invalid(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
    };
    let mut store = shared.store();
    let result: Result<Reply, SimError> = (|| match (method.clone(), id) {
        // A GET's body (the docs' `-d '{}'`) is ignored.
        (Method::GET, None) => Ok(Reply {
            status: StatusCode::OK,
            body: Some(store.list(res, &params, &opts)?),
            retry_after: None,
        }),
        (Method::GET, Some(id)) => Ok(Reply::json(StatusCode::OK, store.get(res, id, &opts)?)),
        (Method::POST, None) => {
            let body = object()?;
            let id = store.create(res, &body, &opts)?;
            Ok(match opts.create_answer {
                CreateAnswer::FullObject => Reply::json(StatusCode::CREATED, store.render(res, id)),
                CreateAnswer::IdOnly => {
                    Reply::json(StatusCode::CREATED, serde_json::json!({ "id": id }))
                }
                CreateAnswer::Empty => Reply {
                    status: StatusCode::NO_CONTENT,
                    body: None,
                    retry_after: None,
                },
            })
        }
        (Method::PUT, Some(id)) => {
            let body = object()?;
            store.update(res, id, &body, &opts)?;
            Ok(match opts.update_answer {
                UpdateAnswer::FullObject => Reply::json(StatusCode::OK, store.render(res, id)),
                UpdateAnswer::Empty => Reply {
                    status: StatusCode::NO_CONTENT,
                    body: None,
                    retry_after: None,
                },
            })
        }
        (Method::DELETE, Some(id)) => {
            store.delete(res, id, &opts)?;
            Ok(Reply {
                status: StatusCode::NO_CONTENT,
                body: None,
                retry_after: None,
            })
        }
        (m, _) => Err(SimError::new(
            405,
            codes::NOT_FOUND,
            "Method not allowed",
            format!("{m} is not allowed on {}", uri.path()),
        )),
    })();
    result.unwrap_or_else(Reply::error)
}

fn not_simulated(what: &str) -> Reply {
    Reply::error(SimError::new(
        501,
        codes::NOT_IMPLEMENTED,
        "Not simulated",
        format!("{what} is documented by TimeTrack but not simulated (timeweave does not sync it)"),
    ))
}
