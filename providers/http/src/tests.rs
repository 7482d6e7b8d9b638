//! Transport behaviour against a scripted loopback server: which failures are retried,
//! how long Retry-After makes it wait, and what is never retried.

use super::*;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

/// Serves `script[i]` for the i-th request (the last one repeats).
async fn scripted(
    script: Vec<(u16, Option<&'static str>, &'static str)>,
) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let script = Arc::new(script);
    let app = axum::Router::new().route(
        "/x",
        get(move || {
            let h = h.clone();
            let script = script.clone();
            async move {
                let i = h.fetch_add(1, Ordering::SeqCst).min(script.len() - 1);
                let (status, retry_after, body) = script[i];
                if status == 999 {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    return (StatusCode::OK, "late").into_response();
                }
                let mut resp = (StatusCode::from_u16(status).unwrap(), body).into_response();
                if let Some(ra) = retry_after {
                    resp.headers_mut()
                        .insert("retry-after", ra.parse().unwrap());
                }
                resp
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/x"), hits)
}

fn transport() -> Transport {
    let mut cfg = TransportConfig::new("test");
    cfg.min_backoff = Duration::from_millis(10);
    cfg.max_backoff = Duration::from_millis(50);
    cfg.max_retries = 3;
    cfg.timeout = Duration::from_millis(500);
    Transport::new(cfg).unwrap()
}

async fn call(t: &Transport, url: &str, repeat: Repeat) -> Result<String, ProviderError> {
    t.execute(
        "GET /x",
        repeat,
        |c| c.get(url),
        |raw| match raw.status_error() {
            Some(e) => Err(e),
            None => Ok(String::from_utf8_lossy(&raw.body).into_owned()),
        },
    )
    .await
}

#[tokio::test]
async fn retry_after_is_honoured_and_nothing_is_lost() {
    let (url, hits) = scripted(vec![(429, Some("1"), "slow down"), (200, None, "ok")]).await;
    let t = transport();
    let start = Instant::now();
    assert_eq!(call(&t, &url, Repeat::Safe).await.unwrap(), "ok");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let s = t.stats().snapshot();
    assert_eq!(
        (s.requests, s.rate_limited, s.retries, s.failures),
        (2, 1, 1, 0)
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (url, hits) = scripted(vec![(503, None, "down")]).await;
    let t = transport();
    let err = call(&t, &url, Repeat::Safe).await.unwrap_err();
    assert!(matches!(err, ProviderError::Retryable { .. }), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 4, "first try and 3 retries");
    assert_eq!(t.stats().snapshot().failures, 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for (status, check) in [
        (400u16, "rejected"),
        (401, "auth"),
        (403, "forbidden"),
        (404, "not_found"),
        (422, "rejected"),
    ] {
        let (url, hits) = scripted(vec![(status, None, "no")]).await;
        let err = call(&transport(), &url, Repeat::Safe).await.unwrap_err();
        assert_eq!(err.class(), check, "status {status}");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "status {status}");
    }
}

#[tokio::test]
async fn timeouts_are_retried() {
    let (url, hits) = scripted(vec![(999, None, ""), (200, None, "ok")]).await;
    assert_eq!(call(&transport(), &url, Repeat::Safe).await.unwrap(), "ok");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unsafe_creates_retry_only_what_never_reached_the_provider() {
    // A 500 may have created the record: not re-sent.
    let (url, hits) = scripted(vec![(500, None, "oops"), (201, None, "created")]).await;
    assert!(call(&transport(), &url, Repeat::OnlyIfNotReceived)
        .await
        .is_err());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // A timeout may have created it too.
    let (url, hits) = scripted(vec![(999, None, ""), (201, None, "created")]).await;
    assert!(call(&transport(), &url, Repeat::OnlyIfNotReceived)
        .await
        .is_err());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // A 429 certainly did not.
    let (url, hits) = scripted(vec![(429, Some("0"), ""), (201, None, "created")]).await;
    assert_eq!(
        call(&transport(), &url, Repeat::OnlyIfNotReceived)
            .await
            .unwrap(),
        "created"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// A URL on a loopback port nothing listens on (bound, then let go).
fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// The first of five retries, for `cause`.
fn first_retry(cause: &str) -> WaitReason {
    WaitReason::Retry {
        attempt: 1,
        max: 5,
        cause: cause.into(),
    }
}

/// The error a call to `url` ends in when no request ever reaches a server, as text.
async fn unanswered_error(url: &str) -> String {
    call(&transport(), url, Repeat::OnlyIfNotReceived)
        .await
        .unwrap_err()
        .to_string()
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let url = refused_url();
    let text = unanswered_error(&url).await;
    let addr = url.trim_start_matches("http://").trim_end_matches("/x");
    assert!(
        text.contains(&format!("connection refused by {addr}")),
        "{text}"
    );
}

#[tokio::test]
async fn an_unresolvable_host_is_named_as_a_dns_failure_not_a_refusal() {
    // `.invalid` never resolves (RFC 2606).
    let text = unanswered_error("https://no-such-host.invalid/x").await;
    assert!(
        text.contains("DNS resolution failed for no-such-host.invalid"),
        "{text}"
    );
    assert!(!text.contains("refused"), "{text}");
}

#[tokio::test]
async fn a_server_that_does_not_speak_tls_is_named_as_a_tls_failure() {
    let (url, _hits) = scripted(vec![(200, None, "ok")]).await;
    let https = url.replace("http://", "https://");
    let text = unanswered_error(&https).await;
    assert!(
        text.contains("TLS handshake with 127.0.0.1 failed"),
        "{text}"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_fails_fast() {
    let (url, hits) = scripted(vec![(429, Some("7200"), "")]).await;
    let err = call(&transport(), &url, Repeat::Safe).await.unwrap_err();
    assert!(matches!(err, ProviderError::LimitExceeded { .. }), "{err}");
    assert!(err.is_fatal_for_cycle());
    let text = err.to_string();
    assert!(
        text.contains("7200 s") && text.contains("max_pause_seconds = 900 s"),
        "{text}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn hostile_retry_after_values_fail_the_request_without_a_panic() {
    for hostile in [
        "1e30",
        "18446744073709551615",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let (url, hits) = scripted(vec![(429, Some(hostile), ""), (200, None, "ok")]).await;
        let t = transport();
        let err = call(&t, &url, Repeat::Safe).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::LimitExceeded { .. }),
            "{hostile}: {err}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1, "{hostile}");
    }
    // Unreadable or negative: ignored, the backoff applies.
    for ignored in ["NaN", "-5", "soon"] {
        let (url, hits) = scripted(vec![(429, Some(ignored), ""), (200, None, "ok")]).await;
        assert_eq!(call(&transport(), &url, Repeat::Safe).await.unwrap(), "ok");
        assert_eq!(hits.load(Ordering::SeqCst), 2, "{ignored}");
    }
}

/// Starts a call, triggers shutdown 300 ms later, and returns how the call ended (it must
/// end within 5 s).
async fn call_then_shut_down(t: Transport, url: String) -> Result<String, ProviderError> {
    let shutdown = t.config().shutdown.clone();
    let call = tokio::spawn(async move { call(&t, &url, Repeat::Safe).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call ended on shutdown")
        .unwrap()
}

#[tokio::test]
async fn shutdown_ends_a_retry_after_wait_at_once() {
    let (url, hits) = scripted(vec![(503, Some("600"), ""), (200, None, "ok")]).await;
    let outcome = call_then_shut_down(transport(), url).await;
    assert_eq!(outcome.unwrap_err(), ProviderError::Stopped);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "nothing sent after the trigger"
    );
}

#[tokio::test]
async fn shutdown_ends_a_limiter_pause_at_once() {
    let (url, hits) = scripted(vec![(200, None, "ok")]).await;
    let t = transport();
    t.limiter().throttled(Some(Duration::from_secs(600)));
    let outcome = call_then_shut_down(t, url).await;
    assert_eq!(outcome.unwrap_err(), ProviderError::Stopped);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

/// A loopback server that answers every request with `head` and then `body_bytes` bytes
/// of `x` (chunked when `head` says so).
async fn hostile(head: &'static str, body_bytes: usize, chunked: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = sock.write_all(head.as_bytes()).await;
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = body_bytes;
                while left > 0 {
                    let n = left.min(chunk.len());
                    let written = if chunked {
                        let mut framed = format!("{n:x}\r\n").into_bytes();
                        framed.extend_from_slice(&chunk[..n]);
                        framed.extend_from_slice(b"\r\n");
                        sock.write_all(&framed).await
                    } else {
                        sock.write_all(&chunk[..n]).await
                    };
                    if written.is_err() {
                        return;
                    }
                    left -= n;
                }
                if chunked {
                    let _ = sock.write_all(b"0\r\n\r\n").await;
                }
            });
        }
    });
    format!("http://{addr}/x")
}

fn transport_with_body_limit(bytes: u64) -> Transport {
    let mut cfg = TransportConfig::new("test");
    cfg.max_response_bytes = bytes;
    cfg.max_retries = 3;
    cfg.min_backoff = Duration::from_millis(10);
    Transport::new(cfg).unwrap()
}

#[tokio::test]
async fn an_answer_larger_than_the_bound_fails_the_request_and_is_not_retried() {
    const MIB: u64 = 1024 * 1024;
    // Declared too large: refused before reading.
    let declared = hostile(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1610612736\r\n\r\n",
        256 * 1024,
        false,
    )
    .await;
    // Undeclared (chunked): refused once past the bound.
    let streamed = hostile(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        8 * MIB as usize,
        true,
    )
    .await;
    for url in [declared, streamed] {
        let t = transport_with_body_limit(MIB);
        let err = call(&t, &url, Repeat::Safe).await.unwrap_err();
        assert!(matches!(err, ProviderError::LimitExceeded { .. }), "{err}");
        assert!(
            err.to_string().contains("max_response_mib = 1 MiB"),
            "{err}"
        );
        assert_eq!(t.stats().snapshot().requests, 1, "not retried");
    }
    // Within the bound: read in full.
    let fits = hostile(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        MIB as usize / 2,
        true,
    )
    .await;
    let body = call(&transport_with_body_limit(MIB), &fits, Repeat::Safe)
        .await
        .unwrap();
    assert_eq!(body.len(), MIB as usize / 2);
}

/// Starts a call with backoffs long enough to watch, returns the first wait it shows on
/// the board, then shuts it down and checks the board is clear again.
async fn first_wait_shown(url: String) -> Wait {
    let mut cfg = TransportConfig::new("test");
    cfg.min_backoff = Duration::from_secs(4);
    cfg.max_backoff = Duration::from_secs(4);
    cfg.max_retries = 5;
    let t = Transport::new(cfg).unwrap();
    let board = t.stats().wait.clone();
    let shutdown = t.config().shutdown.clone();
    let call = tokio::spawn(async move { call(&t, &url, Repeat::Safe).await });
    let wait = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(w) = board.current() {
                return w;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("a wait is shown while the call backs off");
    shutdown.trigger();
    let outcome = call.await.unwrap();
    assert_eq!(outcome.unwrap_err(), ProviderError::Stopped);
    assert_eq!(board.current(), None, "the wait ended with the call");
    wait
}

#[tokio::test]
async fn a_refused_connection_shows_the_retry_and_its_cause() {
    let url = refused_url();
    let before = tokio::time::Instant::now();
    let wait = first_wait_shown(url).await;
    assert_eq!(wait.reason, first_retry("connection refused"));
    // The backoff (4 s, jittered up to twice that) from when it began.
    assert!(wait.until >= before + Duration::from_secs(4));
}

#[tokio::test]
async fn a_429_with_retry_after_shows_the_providers_pause() {
    let (url, _hits) = scripted(vec![(429, Some("30"), "")]).await;
    let before = tokio::time::Instant::now();
    let wait = first_wait_shown(url).await;
    assert_eq!(wait.reason, WaitReason::RetryAfter { attempt: 1, max: 5 });
    assert!(wait.until >= before + Duration::from_secs(30));
}

#[tokio::test]
async fn a_server_error_shows_its_status_as_the_cause() {
    let (url, _hits) = scripted(vec![(503, None, "")]).await;
    let wait = first_wait_shown(url).await;
    assert_eq!(wait.reason, first_retry("HTTP 503"));
}

#[tokio::test]
async fn the_latest_rate_limit_headers_are_kept_for_doctor() {
    let (url, _hits) = scripted(vec![(429, Some("1"), "slow down"), (200, None, "ok")]).await;
    let t = transport();
    assert!(t.stats().rate_limit_headers().is_empty());
    call(&t, &url, Repeat::Safe).await.unwrap();
    assert_eq!(
        t.stats().rate_limit_headers(),
        vec![("retry-after".to_owned(), "1".to_owned())],
        "the 200 without such headers does not clear what the 429 said"
    );
    for name in ["x-ratelimit-remaining", "ratelimit-reset", "retry-after"] {
        assert!(is_rate_limit_header(name), "{name}");
    }
    assert!(!is_rate_limit_header("content-type"));
}

#[tokio::test]
async fn the_instances_secrets_never_leave_in_an_error() {
    const TOKEN: &str = "tt_live_8f3a9c";
    let mut cfg = TransportConfig::new("test");
    cfg.max_retries = 1;
    cfg.min_backoff = Duration::from_millis(10);
    cfg.max_backoff = Duration::from_millis(20);
    cfg.secrets = vec![timeweave_contract::Secret::new(TOKEN)];
    let t = Transport::new(cfg).unwrap();
    // A provider that quotes the credential back in its error answers.
    for status in [401u16, 503] {
        let (url, _) = scripted(vec![(status, None, "invalid token tt_live_8f3a9c")]).await;
        let err = call(&t, &url, Repeat::Safe).await.unwrap_err().to_string();
        assert!(!err.contains(TOKEN), "status {status}: {err}");
        assert!(
            err.contains("invalid token [redacted]"),
            "status {status}: {err}"
        );
    }
    // A URL that carries it, to a port nobody listens on: reqwest quotes the URL.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("http://127.0.0.1:{port}/x?token={TOKEN}");
    let err = call(&t, &url, Repeat::Safe).await.unwrap_err().to_string();
    assert!(!err.contains(TOKEN), "{err}");
}
