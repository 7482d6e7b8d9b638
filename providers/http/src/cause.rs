//! Why a request got no answer, in words an operator can act on: the one place that walks a
//! reqwest error's `source()` chain (reqwest → hyper → io / rustls) and tells a failed DNS
//! lookup, a refused connection, a TLS problem and a timeout apart. `sync`, `run` and
//! `doctor` all show this text.

use std::error::Error as StdError;
use std::io::ErrorKind;

/// What failed on the way to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCause {
    /// The host name did not resolve.
    Dns,
    /// Nothing listens at the address (or a firewall rejects the connection).
    Refused,
    /// The TLS handshake failed (certificate, name, protocol).
    Tls,
    /// No answer in time.
    Timeout,
    /// The connection was reset or aborted.
    Reset,
    /// Something else; the innermost error says what.
    Other,
}

/// The cause of a request failure and its innermost error text.
pub fn classify(e: &reqwest::Error) -> (FailureCause, String) {
    let mut cause = None;
    let mut innermost = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        innermost = inner.to_string();
        cause = cause.or_else(|| cause_of(inner));
        source = inner.source();
    }
    let cause = cause.unwrap_or(if e.is_timeout() {
        FailureCause::Timeout
    } else {
        FailureCause::Other
    });
    (cause, innermost)
}

/// Fragments of rustls's error messages (its type is not reachable from here).
const TLS_WORDING: [&str; 9] = [
    "certificate",
    "handshake",
    "tls",
    "corrupt message",
    "fatal alert",
    "peer is incompatible",
    "peer misbehaved",
    "unexpected message",
    "peer sent",
];

/// One link of the chain, by type where the type is public (io) and by hyper-util's fixed
/// messages where it is not ("dns error"), rustls's by its wording.
fn cause_of(link: &(dyn StdError + 'static)) -> Option<FailureCause> {
    if let Some(io) = link.downcast_ref::<std::io::Error>() {
        match io.kind() {
            ErrorKind::ConnectionRefused => return Some(FailureCause::Refused),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                return Some(FailureCause::Reset)
            }
            ErrorKind::TimedOut => return Some(FailureCause::Timeout),
            _ => {}
        }
    }
    let text = link.to_string().to_ascii_lowercase();
    if text.contains("dns error") || text.contains("failed to lookup address") {
        Some(FailureCause::Dns)
    } else if TLS_WORDING.iter().any(|w| text.contains(w)) {
        Some(FailureCause::Tls)
    } else {
        None
    }
}

/// The sentence for a request that got no answer: the cause, the host or address it
/// concerns, and the innermost error. Never a credential (reqwest's errors carry the URL,
/// and credentials travel in headers).
pub fn describe_failure(e: &reqwest::Error) -> String {
    let (cause, innermost) = classify(e);
    let host = e
        .url()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "the server".to_owned());
    let addr = e
        .url()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| host.clone());
    match cause {
        FailureCause::Dns => format!(
            "DNS resolution failed for {host} ({innermost}); check the host name in base_url and this machine's DNS"
        ),
        FailureCause::Refused => format!(
            "connection refused by {addr}; nothing listens there: check the port in base_url, that the server runs, and firewalls"
        ),
        FailureCause::Tls => format!(
            "TLS handshake with {host} failed ({innermost}); check the server's certificate (expired, self-signed, wrong name) and that base_url names the host the certificate is for"
        ),
        FailureCause::Timeout => format!(
            "no answer from {addr} in time ({innermost}); check the network path or raise timeout_seconds"
        ),
        FailureCause::Reset => format!("the connection to {addr} was cut ({innermost})"),
        FailureCause::Other if e.is_connect() => {
            format!("could not connect to {addr} ({innermost})")
        }
        FailureCause::Other if e.is_body() || e.is_decode() => {
            format!("the connection to {addr} broke while reading the body ({innermost})")
        }
        FailureCause::Other => format!("the request to {addr} failed ({innermost})"),
    }
}
