//! The answers a router-based simulator gives for an injected [`Fault`](crate::Fault) that
//! look the same whatever the provider: a body that breaks off, JSON that is not JSON, an
//! HTML page, a `Retry-After` in seconds.

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A 200 whose body breaks off: the client sees the connection lost mid-answer.
pub fn cut_off() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection loss",
        ))
    });
    json_body(StatusCode::OK, Body::from_stream(stream))
}

/// `body` as it stands (broken or cut JSON included), labelled `application/json`.
pub fn json_body(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

/// An HTML page (a proxy's error page, or a provider's own).
pub fn html_page(status: StatusCode, page: impl Into<Body>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html")], page.into()).into_response()
}

/// `response` with `Retry-After: <seconds>` when `seconds` is given.
pub fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(s) = seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
    }
    response
}
