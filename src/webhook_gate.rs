//! Who may call `POST /webhooks/{instance}`, and how often: only instances configured with
//! a `webhook_secret`, only with that token (`?token=` in the callback URL registered with
//! TrackingTime, or `Authorization: Bearer`), at most [`WINDOW_CALLS`] calls per
//! [`WINDOW`] over the whole endpoint, and at most one triggered cycle per instance per
//! [`TRIGGER_GAP`] (later callbacks in the gap are coalesced into it).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use timeweave_contract::Secret;

use crate::config::Config;

/// The endpoint's rate: this many calls (any instance, any outcome) per window.
pub const WINDOW_CALLS: u32 = 60;
pub const WINDOW: Duration = Duration::from_secs(60);
/// One cycle per instance per this long, however many callbacks arrive.
pub const TRIGGER_GAP: Duration = Duration::from_secs(10);

/// What to do with one callback.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Run the instance now.
    Trigger,
    /// Authenticated, but a cycle was triggered less than [`TRIGGER_GAP`] ago.
    Coalesced,
    /// No such instance, or webhooks are off for it (no `webhook_secret`).
    NotAccepted,
    /// The token is missing or wrong.
    Unauthorized,
    /// Too many calls: try again after this long.
    TooMany(Duration),
}

#[derive(Debug)]
struct Window {
    /// When the current window began (its first call); `None` before any call.
    started: Option<Instant>,
    calls: u32,
}

pub struct WebhookGate {
    tokens: BTreeMap<String, Secret>,
    window: Mutex<Window>,
    last_trigger: Mutex<BTreeMap<String, Instant>>,
}

impl WebhookGate {
    /// Instance name -> the token its callbacks must carry.
    pub fn new(tokens: BTreeMap<String, Secret>) -> Self {
        WebhookGate {
            tokens,
            window: Mutex::new(Window {
                started: None,
                calls: 0,
            }),
            last_trigger: Mutex::new(BTreeMap::new()),
        }
    }

    /// The enabled instances that have a `webhook_secret`.
    pub fn from_config(cfg: &Config) -> Self {
        WebhookGate::new(
            cfg.enabled_providers()
                .filter_map(|p| Some((p.name.clone(), p.webhook_secret.clone()?)))
                .collect(),
        )
    }

    pub fn admit(&self, instance: &str, token: Option<&str>) -> Admission {
        self.admit_at(instance, token, Instant::now())
    }

    /// [`WebhookGate::admit`] at a given moment of the monotonic clock.
    fn admit_at(&self, instance: &str, token: Option<&str>, now: Instant) -> Admission {
        if let Some(wait) = self.count_call(now) {
            return Admission::TooMany(wait);
        }
        let Some(expected) = self.tokens.get(instance) else {
            return Admission::NotAccepted;
        };
        match token {
            Some(t) if same(t.as_bytes(), expected.expose().as_bytes()) => {}
            _ => return Admission::Unauthorized,
        }
        let mut last = self
            .last_trigger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match last.get(instance) {
            Some(at) if now.duration_since(*at) < TRIGGER_GAP => Admission::Coalesced,
            _ => {
                last.insert(instance.to_owned(), now);
                Admission::Trigger
            }
        }
    }

    /// Counts a call in the current window; the wait until the next one when it is full.
    fn count_call(&self, now: Instant) -> Option<Duration> {
        let mut w = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let started = match w.started {
            Some(s) if now.duration_since(s) < WINDOW => s,
            _ => {
                *w = Window {
                    started: Some(now),
                    calls: 0,
                };
                now
            }
        };
        if w.calls >= WINDOW_CALLS {
            return Some(WINDOW.saturating_sub(now.duration_since(started)));
        }
        w.calls += 1;
        None
    }
}

/// Compares two tokens in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> WebhookGate {
        WebhookGate::new(BTreeMap::from([(
            "tracking".to_owned(),
            Secret::new("s3cret-token"),
        )]))
    }

    #[test]
    fn only_configured_instances_with_the_token_trigger_once_per_gap() {
        let g = gate();
        let t0 = Instant::now();
        let admit = |token, at| g.admit_at("tracking", token, at);
        assert_eq!(
            g.admit_at("other", Some("s3cret-token"), t0),
            Admission::NotAccepted
        );
        assert_eq!(admit(None, t0), Admission::Unauthorized);
        assert_eq!(admit(Some("s3cret-toke"), t0), Admission::Unauthorized);
        assert_eq!(admit(Some("s3cret-tokeN"), t0), Admission::Unauthorized);
        assert_eq!(admit(Some("s3cret-token"), t0), Admission::Trigger);
        assert_eq!(
            admit(Some("s3cret-token"), t0 + TRIGGER_GAP / 2),
            Admission::Coalesced
        );
        assert_eq!(
            admit(Some("s3cret-token"), t0 + TRIGGER_GAP),
            Admission::Trigger
        );
    }

    #[test]
    fn a_flood_is_refused_until_the_window_passes() {
        let g = gate();
        let t0 = Instant::now();
        for _ in 0..WINDOW_CALLS {
            assert_eq!(
                g.admit_at("tracking", Some("wrong"), t0),
                Admission::Unauthorized
            );
        }
        let later = t0 + Duration::from_secs(15);
        assert_eq!(
            g.admit_at("tracking", Some("s3cret-token"), later),
            Admission::TooMany(WINDOW - Duration::from_secs(15))
        );
        assert_eq!(
            g.admit_at("tracking", Some("s3cret-token"), t0 + WINDOW),
            Admission::Trigger
        );
    }
}
