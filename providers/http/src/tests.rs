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

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    drop(listener);
    let err = call(&transport(), &url, Repeat::OnlyIfNotReceived)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_fails_fast() {
    let (url, hits) = scripted(vec![(429, Some("7200"), "")]).await;
    let err = call(&transport(), &url, Repeat::Safe).await.unwrap_err();
    assert!(matches!(err, ProviderError::RateLimited { .. }));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
