//! The optional HTTP listener of the daemon (`[server] listen`): `/healthz` (200 only when
//! every provider is healthy, 503 otherwise, with a JSON body saying which is not),
//! Prometheus `/metrics`, and `POST /webhooks/{instance}` for TrackingTime's
//! `event.created`/`event.updated` callbacks, which only make that provider's next cycle
//! start now (a hint, never a source of data). Callbacks pass the [`WebhookGate`] first:
//! configured instances, their token, a bounded rate; each is logged at debug only, so a
//! flood cannot flood the log.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;

use crate::ledger::Ledger;
use crate::status::{self, ProviderFacts};
use crate::webhook_gate::{Admission, WebhookGate};

/// Gives the current facts of every provider (live counters included).
pub type FactsSource = Arc<dyn Fn() -> Vec<ProviderFacts> + Send + Sync>;

/// Starts a provider's cycle now; `false` when no such provider runs.
pub type Trigger = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Clone)]
struct AppState {
    ledger: Ledger,
    facts: FactsSource,
    trigger: Trigger,
    webhooks: Arc<WebhookGate>,
}

pub fn router(
    ledger: Ledger,
    facts: FactsSource,
    trigger: Trigger,
    webhooks: Arc<WebhookGate>,
) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/webhooks/{instance}", axum::routing::post(webhook))
        .with_state(AppState {
            ledger,
            facts,
            trigger,
            webhooks,
        })
}

/// Binds `addr` and serves until the task is dropped. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    ledger: Ledger,
    facts: FactsSource,
    trigger: Trigger,
    webhooks: Arc<WebhookGate>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(ledger, facts, trigger, webhooks);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the status listener stopped: {e}");
        }
    });
    Ok((bound, task))
}

async fn healthz(State(s): State<AppState>) -> Response {
    match status::collect(&s.ledger, &(s.facts)(), Utc::now()).await {
        Ok(statuses) => {
            let body = status::health_json(&statuses);
            let code = if statuses.iter().all(|p| p.healthy()) {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, axum::Json(body)).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"healthy": false, "error": format!("ledger: {e}")})),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    match status::collect(&s.ledger, &(s.facts)(), Utc::now()).await {
        Ok(statuses) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            status::metrics_text(&statuses),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("ledger: {e}\n")).into_response(),
    }
}

/// The token a callback carries: `?token=` (the form a registered callback URL can hold) or
/// `Authorization: Bearer`.
#[derive(serde::Deserialize)]
struct WebhookQuery {
    token: Option<String>,
}

async fn webhook(
    State(s): State<AppState>,
    axum::extract::Path(instance): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<WebhookQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token = query.token.as_deref().or(bearer);
    match s.webhooks.admit(&instance, token) {
        Admission::Trigger => {}
        Admission::Coalesced => {
            tracing::debug!(provider = %instance, "webhook: a cycle was triggered moments ago");
            return (StatusCode::ACCEPTED, "cycle already triggered\n").into_response();
        }
        Admission::NotAccepted => {
            tracing::debug!("webhook for an instance that takes none");
            return (
                StatusCode::NOT_FOUND,
                "no instance of that name takes webhooks (a TrackingTime or TimeTracker instance with webhook_secret)\n",
            )
                .into_response();
        }
        Admission::Unauthorized => {
            tracing::debug!(provider = %instance, "webhook without its token: refused");
            return (StatusCode::UNAUTHORIZED, "missing or wrong token\n").into_response();
        }
        Admission::TooMany(wait) => {
            let retry = wait.as_secs().max(1).to_string();
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry)],
                "too many webhook calls\n",
            )
                .into_response();
        }
    }
    let hint = timeweave_trackingtime::parse_webhook(&body);
    if !hint.concerns_time_entries() {
        return (StatusCode::OK, "ignored: not about time entries\n").into_response();
    }
    tracing::debug!(provider = %instance, events = ?hint.events, "webhook: running the provider now");
    (s.trigger)(&instance);
    (StatusCode::ACCEPTED, "cycle triggered\n").into_response()
}
