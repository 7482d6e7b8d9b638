//! What a TrackingTime account answers for the points no documentation settles (see the
//! real-world evidence, T1 and T3), as provider-neutral observations for `doctor`.

use serde_json::Value;
use timeweave_contract::Observation;

use crate::wire::EventForm;
use crate::zone::Zone;

/// `/me`'s time-zone value and what it resolves to (T3): an unreadable one limits reading,
/// as events without their own zone are then skipped.
pub fn account_zone(label: Option<&str>, zone: Option<&Zone>) -> Observation {
    let fix = "events without their own timezone are skipped; set the user's time zone in \
               TrackingTime (Settings → Time zone)";
    match (label, zone) {
        (Some(label), Some(zone)) => Observation::new(
            "account_time_zone",
            format!("{label:?} → {}", zone.label()),
            "GET /me's timezone, and the zone timeweave reads it as",
        ),
        (Some(label), None) => Observation {
            limits_reading: true,
            ..Observation::new(
                "account_time_zone",
                format!("{label:?} (not a zone timeweave can read)"),
                fix,
            )
        },
        (None, _) => Observation {
            limits_reading: true,
            ..Observation::new("account_time_zone", "(none in GET /me)", fix)
        },
    }
}

/// The form `GET /events` answers in (T1): every form is read alike; this settles which
/// one the account's server uses today.
pub fn event_form(form: Option<EventForm>) -> Observation {
    let value = match form {
        Some(EventForm::Compact) => "compact (s, e, uid, ...: as documented)",
        Some(EventForm::Full) => "full (start, end, user_id, ...)",
        Some(EventForm::Flat) => "flat (\"Start\", \"User Id\", ...)",
        None => "unknown (no event in the last year to look at)",
    };
    Observation::new(
        "event_form",
        value,
        "the keys GET /events answers with; timeweave reads all three forms",
    )
}

/// How many listed customers carry an e-mail in `contact` and in `contact_email` (T2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmailKeys {
    pub customers: usize,
    pub in_contact: usize,
    pub in_contact_email: usize,
}

impl EmailKeys {
    pub fn count(customers: &[Value]) -> EmailKeys {
        let is_email = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .is_some_and(|s| s.contains('@'))
        };
        EmailKeys {
            customers: customers.len(),
            in_contact: customers.iter().filter(|c| is_email(c, "contact")).count(),
            in_contact_email: customers
                .iter()
                .filter(|c| is_email(c, "contact_email"))
                .count(),
        }
    }

    pub fn observation(self) -> Observation {
        Observation::new(
            "customer_email_key",
            format!(
                "of {} customers, {} carry an e-mail in contact, {} in contact_email",
                self.customers, self.in_contact, self.in_contact_email
            ),
            "which key answers a client's e-mail; timeweave reads both and writes none (unheld)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_label_resolves_and_an_unreadable_or_missing_zone_limits_reading() {
        let berlin = Zone::parse("Berlin").ok();
        let seen = account_zone(Some("Berlin"), berlin.as_ref());
        assert_eq!(seen.value, "\"Berlin\" → Europe/Berlin");
        assert!(!seen.limits_reading);
        let seen = account_zone(Some("Atlantis"), None);
        assert!(
            seen.value.contains("\"Atlantis\" (not a zone"),
            "{}",
            seen.value
        );
        assert!(seen.limits_reading);
        assert!(account_zone(None, None).limits_reading);
    }

    #[test]
    fn customer_email_keys_are_counted_without_showing_an_address() {
        let customers = [
            serde_json::json!({"id": 1, "contact": "a@example.com"}),
            serde_json::json!({"id": 2, "contact": null, "contact_email": "b@example.com"}),
            serde_json::json!({"id": 3, "contact": "Ada"}),
        ];
        let seen = EmailKeys::count(&customers).observation();
        assert_eq!(
            seen.value,
            "of 3 customers, 1 carry an e-mail in contact, 1 in contact_email"
        );
        assert!(!seen.value.contains('@') && !seen.note.contains('@'));
    }
}
