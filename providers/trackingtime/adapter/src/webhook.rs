//! Webhook callbacks (spec §10) read as a hint only: TrackingTime's callback payload schema
//! and signing are undocumented, so parsing is tolerant. A callback tells the scheduler to
//! run this provider sooner; it is never the source of truth (no delete events exist).

use serde_json::Value;

/// What a callback said, as far as it can be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookHint {
    /// Event names found in the payload (`event.created`, `event.updated`, ...).
    pub events: Vec<String>,
    /// Ids of the events the callback names, when the payload carries them.
    pub event_ids: Vec<i64>,
}

impl WebhookHint {
    /// Whether the callback concerns time entries (or cannot tell, which counts as yes).
    pub fn concerns_time_entries(&self) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e.starts_with("event."))
    }
}

fn as_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn is_event_name(s: &str) -> bool {
    let s = s.trim();
    s.len() < 64
        && s.contains('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        && ["event.", "task.", "project.", "customer.", "user."]
            .iter()
            .any(|p| s.starts_with(p))
}

const NAME_KEYS: [&str; 5] = ["event", "event_name", "type", "action", "name"];
const EVENT_CONTAINERS: [&str; 4] = ["data", "event", "events", "payload"];

fn walk(v: &Value, in_event: bool, hint: &mut WebhookHint, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                if NAME_KEYS.contains(&k.as_str()) {
                    if let Some(s) = val.as_str().filter(|s| is_event_name(s)) {
                        if !hint.events.iter().any(|e| e == s) {
                            hint.events.push(s.trim().to_owned());
                        }
                    }
                }
                let id = match k.as_str() {
                    "event_id" => as_id(val),
                    "id" if in_event => as_id(val),
                    _ => None,
                };
                if let Some(id) = id.filter(|&i| i > 0) {
                    if !hint.event_ids.contains(&id) {
                        hint.event_ids.push(id);
                    }
                }
                let child_in_event = EVENT_CONTAINERS.contains(&k.as_str());
                walk(val, child_in_event, hint, depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, in_event, hint, depth + 1);
            }
        }
        _ => {}
    }
}

/// Reads a callback body: JSON (any shape), or a form body whose fields hold JSON or
/// plain values. Never fails: an unreadable body is still "something changed".
pub fn parse_webhook(body: &[u8]) -> WebhookHint {
    let mut hint = WebhookHint::default();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        walk(&v, false, &mut hint, 0);
        return only_event_ids(hint);
    }
    let mut map = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let value = serde_json::from_str::<Value>(&v).unwrap_or(Value::String(v.into_owned()));
        map.insert(k.into_owned(), value);
    }
    walk(&Value::Object(map), false, &mut hint, 0);
    only_event_ids(hint)
}

/// Ids found in a callback about tasks or projects are not event ids.
fn only_event_ids(mut hint: WebhookHint) -> WebhookHint {
    if !hint.concerns_time_entries() {
        hint.event_ids.clear();
    }
    hint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let h = parse_webhook(br#"{"event":"event.updated","data":{"id":3490132317,"user_id":7}}"#);
        assert_eq!(h.events, vec!["event.updated"]);
        assert_eq!(h.event_ids, vec![3_490_132_317]);
        let h = parse_webhook(
            br#"[{"event_name":"event.created","data":[{"id":"11"},{"id":12}]},{"event_id":13}]"#,
        );
        assert_eq!(h.event_ids, vec![11, 12, 13]);
        assert!(h.concerns_time_entries());
        let h = parse_webhook(b"event=event.created&event_id=42");
        assert_eq!(h.events, vec!["event.created"]);
        assert_eq!(h.event_ids, vec![42]);
        let h = parse_webhook(b"\xff\xfe garbage");
        assert!(h.event_ids.is_empty() && h.concerns_time_entries());
        let h = parse_webhook(br#"{"event":"task.updated","data":{"id":5}}"#);
        assert!(!h.concerns_time_entries());
        assert!(h.event_ids.is_empty());
        // A user id is not an event id.
        let h = parse_webhook(br#"{"user":{"id":99}}"#);
        assert!(h.event_ids.is_empty());
    }
}
