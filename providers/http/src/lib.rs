//! The HTTP transport every adapter sends through: one [`Transport`] per provider instance,
//! holding a reqwest client with timeouts, a [`Limiter`] with every quota of that instance,
//! and retries with exponential backoff and jitter (backon) that honour `Retry-After`.
//!
//! Every wait (limiter, backoff, `Retry-After`) ends when the instance's [`Shutdown`] is
//! triggered; no wait is longer than `max_retry_after` and no body larger than
//! `max_response_bytes`: beyond either, the request fails with
//! [`ProviderError::LimitExceeded`].
//!
//! Adapters keep their own knowledge of the provider: they build each request and interpret
//! each response into their types or a [`ProviderError`]; the transport decides, from that
//! error, whether to try again and when.
//!
//! While a request waits (quota, backoff, `Retry-After`), the wait is shown on the
//! instance's [`WaitBoard`] (`TransportStats::wait`), for progress displays.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod base_url;
mod cause;
mod json;
mod limiter;
mod retry_after;
mod send_gate;
mod shutdown;
mod wait;

pub use base_url::{check_scheme, is_loopback};
pub use cause::{classify, describe_failure, FailureCause};
pub use json::{from_json_value, json_error, read_json};
pub use limiter::{Limiter, Quota};
pub use retry_after::parse_retry_after;
pub use send_gate::SendGate;
pub use shutdown::Shutdown;
pub use wait::{Wait, WaitBoard, WaitReason, Waiting};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderMap;
use timeweave_contract::ProviderError;

/// The longest pause honoured by default: 15 minutes.
pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(15 * 60);
/// The largest response body read by default: 64 MiB (a TimeTracker page of 100 entries is
/// about 60 KiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// How one provider instance talks HTTP.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// The instance name, for logs (never a secret).
    pub instance: String,
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Further attempts after the first, for failures worth retrying.
    pub max_retries: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest pause honoured (`max_pause_seconds` in the config): a `Retry-After`
    /// asking for more fails the request with [`ProviderError::LimitExceeded`], which ends
    /// the cycle (its cursors stay where they were) instead of parking it for hours; the
    /// limiter's pause after a 429 is capped to it too.
    pub max_retry_after: Duration,
    /// The largest response body read (`max_response_mib`); a larger one fails the request
    /// with [`ProviderError::LimitExceeded`] before more of it is buffered.
    pub max_response_bytes: u64,
    /// Ends every wait of this instance's requests at once when triggered.
    pub shutdown: Shutdown,
    /// Every quota that applies to this instance (e.g. 100/min and 1000/h). Empty: no limit.
    pub quotas: Vec<Quota>,
    pub user_agent: String,
    /// The instance's credentials: blanked out of every error this transport returns or
    /// logs (a provider's error answer that quotes them back, a URL that carries them).
    pub secrets: Vec<timeweave_contract::Secret>,
}

impl TransportConfig {
    pub fn new(instance: impl Into<String>) -> Self {
        TransportConfig {
            instance: instance.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 5,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            max_retry_after: DEFAULT_MAX_PAUSE,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            shutdown: Shutdown::default(),
            quotas: Vec::new(),
            user_agent: format!("timeweave/{}", env!("CARGO_PKG_VERSION")),
            secrets: Vec::new(),
        }
    }
}

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, and writes the provider de-duplicates (idempotency keys, PUT of full state):
    /// retried on every retryable failure.
    Safe,
    /// Creates without an idempotency mechanism: retried only when the provider certainly
    /// did not act on it (it answered 429 or refused the connection). Anything else is
    /// returned to the adapter, which must look for the record before sending again.
    OnlyIfNotReceived,
}

/// A response as read off the wire, before the adapter interprets it.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `Retry-After`, parsed (seconds or HTTP date).
    pub retry_after: Option<Duration>,
}

impl RawResponse {
    /// An answer with `status` and `body` and no headers: a recorded fixture or a test's
    /// answer, read as the adapter would read it off the wire.
    pub fn from_body(status: u16, body: impl Into<Vec<u8>>) -> Self {
        RawResponse {
            status,
            headers: HeaderMap::new(),
            body: body.into(),
            retry_after: None,
        }
    }

    pub fn is_json(&self) -> bool {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"))
    }

    /// The body as text, cut to `max` characters, for error messages.
    pub fn snippet(&self, max: usize) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut s: String = text.chars().take(max).collect();
        if text.chars().count() > max {
            s.push('…');
        }
        s
    }

    /// The error a plain HTTP status means, when the adapter has nothing more specific:
    /// 401 auth, 403 forbidden, 404 not found, 409 conflict, 429 rate limited, 5xx and
    /// 408 retryable, other 4xx rejected. `None` for 2xx/3xx.
    pub fn status_error(&self) -> Option<ProviderError> {
        let msg = || format!("HTTP {}: {}", self.status, self.snippet(300));
        Some(match self.status {
            200..=399 => return None,
            401 => ProviderError::Auth { message: msg() },
            403 => ProviderError::Forbidden { message: msg() },
            404 => ProviderError::NotFound { what: msg() },
            409 => ProviderError::Conflict {
                reason: timeweave_contract::ConflictReason::Other,
                message: msg(),
            },
            429 => ProviderError::RateLimited {
                retry_after: self.retry_after,
            },
            408 | 500..=599 => ProviderError::Retryable {
                message: msg(),
                retry_after: self.retry_after,
            },
            _ => ProviderError::Rejected { message: msg() },
        })
    }
}

/// Counters of one instance's traffic, for `sync_runs` and `/metrics`, and what its
/// requests are waiting for right now, for progress displays.
#[derive(Debug, Default)]
pub struct TransportStats {
    pub requests: AtomicU64,
    pub rate_limited: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
    /// Requests the server answered (any status): tells "answered, but …" from "could not
    /// be reached" (`doctor`).
    answers: AtomicU64,
    pub wait: Arc<WaitBoard>,
    /// Checked right before each request is sent (after the limiter); open unless set.
    pub send_gate: SendGate,
    /// The rate-limit headers (`X-RateLimit-*`, `RateLimit-*`, `Retry-After`) of the latest
    /// answer that had any, as sent: what the provider says of its limits (`doctor`).
    rate_limit_headers: Mutex<Vec<(String, String)>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub requests: u64,
    pub rate_limited: u64,
    pub retries: u64,
    pub failures: u64,
}

impl TransportStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// How many requests got an answer (any status, any body).
    pub fn answers(&self) -> u64 {
        self.answers.load(Ordering::Relaxed)
    }

    /// The rate-limit headers of the latest answer that carried any (none yet: empty).
    pub fn rate_limit_headers(&self) -> Vec<(String, String)> {
        lock(&self.rate_limit_headers).clone()
    }

    fn saw_answer(&self, headers: &HeaderMap) {
        self.answers.fetch_add(1, Ordering::Relaxed);
        let seen: Vec<(String, String)> = headers
            .iter()
            .filter(|(name, _)| is_rate_limit_header(name.as_str()))
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        if !seen.is_empty() {
            *lock(&self.rate_limit_headers) = seen;
        }
    }
}

/// A header that speaks of rate limits (names arrive in lower case).
fn is_rate_limit_header(name: &str) -> bool {
    name.starts_with("x-ratelimit") || name.starts_with("ratelimit") || name == "retry-after"
}

/// One provider instance's HTTP client, limiter and retry policy. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    limiter: Arc<Limiter>,
    config: Arc<TransportConfig>,
    stats: Arc<TransportStats>,
}

impl Transport {
    pub fn new(config: TransportConfig) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| ProviderError::Setup {
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let stats = Arc::new(TransportStats::default());
        let limiter = Limiter::new(&config.quotas)
            .with_max_pause(config.max_retry_after)
            .with_board(stats.wait.clone());
        Ok(Transport {
            client,
            limiter: Arc::new(limiter),
            config: Arc::new(config),
            stats,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.limiter
    }

    pub fn stats(&self) -> &Arc<TransportStats> {
        &self.stats
    }

    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// Sends a request through the limiter, retrying as `repeat` allows. `build` makes the
    /// request afresh for each attempt; `interpret` turns a response into a value or a
    /// typed error (whose retryability decides whether another attempt follows).
    /// `what` names the call in logs ("GET /time-entries page 3"): never put secrets in it.
    pub async fn execute<T>(
        &self,
        what: &str,
        repeat: Repeat,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        interpret: impl Fn(RawResponse) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_max_times(self.config.max_retries)
            .with_jitter();
        let max_retry_after = self.config.max_retry_after;
        // The backoff before the next attempt, shown until that attempt begins.
        let backoff_shown: Mutex<Option<Waiting>> = Mutex::new(None);
        let mut retries = 0;
        let attempt = || async {
            drop(lock(&backoff_shown).take());
            self.attempt(what, &build, &interpret)
                .await
                .map_err(|a| Attempt {
                    error: a.error.redacted(&self.config.secrets),
                    ..a
                })
        };
        let shutdown = self.config.shutdown.clone();
        attempt
            .retry(backoff)
            .sleep(move |wait| {
                let shutdown = shutdown.clone();
                async move { shutdown.sleep(wait).await }
            })
            .when(|e: &Attempt| {
                let repeatable = match repeat {
                    Repeat::Safe => e.error.is_retryable(),
                    Repeat::OnlyIfNotReceived => !e.reached_server && e.error.is_retryable(),
                };
                repeatable && e.error.retry_after().is_none_or(|d| d <= max_retry_after)
            })
            .adjust(|e: &Attempt, backoff: Option<Duration>| {
                // Honour Retry-After when it asks for longer than the backoff would wait.
                match (backoff, e.error.retry_after()) {
                    (Some(b), Some(ra)) => Some(b.max(ra)),
                    (b, _) => b,
                }
            })
            .notify(|e: &Attempt, wait: Duration| {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                retries += 1;
                let shown = self.stats.wait.begin(self.backoff_wait(e, wait, retries));
                *lock(&backoff_shown) = Some(shown);
                tracing::warn!(
                    provider = %self.config.instance,
                    call = what,
                    error = %e.error,
                    wait_ms = wait.as_millis() as u64,
                    "retrying"
                );
            })
            .await
            .map_err(|e| {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                self.beyond_max_pause(what, e.error)
            })
    }

    /// What the backoff of `wait` before retry number `retry` is for: the provider's
    /// `Retry-After` when that decided its length, else the cause of the failure.
    fn backoff_wait(&self, e: &Attempt, wait: Duration, retry: usize) -> Wait {
        let (attempt, max) = (retry, self.config.max_retries);
        let reason = match e.error.retry_after() {
            Some(asked) if wait <= asked => WaitReason::RetryAfter { attempt, max },
            _ => WaitReason::Retry {
                attempt,
                max,
                cause: e.cause.to_string(),
            },
        };
        let now = tokio::time::Instant::now();
        Wait {
            reason,
            until: now.checked_add(wait).unwrap_or(now),
        }
    }

    /// A failure whose `Retry-After` asks for more than the longest pause becomes
    /// [`ProviderError::LimitExceeded`], keeping the provider's reason.
    fn beyond_max_pause(&self, what: &str, error: ProviderError) -> ProviderError {
        let max = self.config.max_retry_after;
        match error.retry_after() {
            Some(asked) if asked > max => ProviderError::LimitExceeded {
                message: format!(
                    "{what}: the provider asked to wait {} (Retry-After), longer than max_pause_seconds = {} s; this cycle ends and the next one tries again ({error})",
                    describe_wait(asked),
                    max.as_secs()
                ),
            },
            _ => error,
        }
    }

    async fn attempt<T>(
        &self,
        what: &str,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        interpret: &impl Fn(RawResponse) -> Result<T, ProviderError>,
    ) -> Result<T, Attempt> {
        let stopped = || Attempt {
            error: ProviderError::Stopped,
            reached_server: false,
            cause: Cause::Transport("stopped"),
        };
        tokio::select! {
            biased;
            _ = self.config.shutdown.triggered() => return Err(stopped()),
            _ = self.limiter.acquire() => {}
        }
        if !self.stats.send_gate.open() {
            tracing::warn!(provider = %self.config.instance, call = what, "request not sent: this process may no longer work the instance");
            return Err(stopped());
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(provider = %self.config.instance, call = what, "request");
        let response = match build(&self.client).send().await {
            Ok(r) => r,
            Err(e) => {
                let reached_server = !e.is_connect();
                return Err(Attempt {
                    error: ProviderError::retryable(describe_reqwest_error(what, &e)),
                    reached_server,
                    cause: Cause::Transport(short_cause(&e)),
                });
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.stats.saw_answer(&headers);
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_body(response, self.config.max_response_bytes, what)
            .await
            .map_err(|error| Attempt {
                error,
                reached_server: true,
                cause: Cause::Transport("the answer could not be read"),
            })?;
        if status == 429 {
            self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
            self.limiter.throttled(retry_after);
        }
        let raw = RawResponse {
            status,
            headers,
            body,
            retry_after,
        };
        interpret(raw).map_err(|error| Attempt {
            // A 429 means the provider did not act on the request.
            reached_server: status != 429,
            error,
            cause: Cause::Status(status),
        })
    }
}

/// One failed attempt, with whether the provider may have acted on it.
#[derive(Debug)]
struct Attempt {
    error: ProviderError,
    reached_server: bool,
    cause: Cause,
}

/// Why an attempt failed, in a few words for progress displays.
#[derive(Clone, Copy, Debug)]
enum Cause {
    /// The request did not get an answer ("connection refused", "timed out").
    Transport(&'static str),
    /// The answer's status (the adapter found it wanting).
    Status(u16),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Transport(what) => f.write_str(what),
            Cause::Status(status) => write!(f, "HTTP {status}"),
        }
    }
}

/// The few words that say why a request got no answer, for progress displays.
fn short_cause(e: &reqwest::Error) -> &'static str {
    match cause::classify(e).0 {
        FailureCause::Dns => "DNS lookup failed",
        FailureCause::Refused => "connection refused",
        FailureCause::Tls => "TLS handshake failed",
        FailureCause::Timeout => "timed out",
        FailureCause::Reset => "connection reset",
        FailureCause::Other if e.is_connect() => "could not connect",
        FailureCause::Other if e.is_body() || e.is_decode() => "connection broke",
        FailureCause::Other => "request failed",
    }
}

/// The lock of a mutex no panic can leave half-written.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads a body of at most `limit` bytes: a larger declared length fails before reading,
/// a larger stream as soon as it passes the bound (never buffering more than one chunk
/// beyond it).
async fn read_body(
    mut response: reqwest::Response,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, ProviderError> {
    let too_large = || {
        ProviderError::LimitExceeded {
        message: format!(
            "{what}: the answer is larger than max_response_mib = {} MiB; no page of this API is that large (a broken proxy or server?): the request fails",
            limit / (1024 * 1024)
        ),
    }
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(ProviderError::retryable(describe_reqwest_error(what, &e))),
        }
    }
}

/// A wait for error text: seconds, or "practically forever" for absurd values.
fn describe_wait(wait: Duration) -> String {
    if wait.as_secs() > 100 * 365 * 86_400 {
        "more than a century".to_owned()
    } else {
        format!("{} s", wait.as_secs())
    }
}

fn describe_reqwest_error(what: &str, e: &reqwest::Error) -> String {
    format!("{what}: {}", describe_failure(e))
}

#[cfg(test)]
mod tests;
