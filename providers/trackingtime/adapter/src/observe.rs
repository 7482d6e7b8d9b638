//! What a TrackingTime account answers for the points no documentation settles (see the
//! real-world evidence, T1, T2, T3 and T9), and what the caller may see and write there
//! (`/me` `teams[]` role and permissions), as provider-neutral observations for `doctor`.

use serde_json::Value;
use timeweave_contract::{Capabilities, Kind, KnownRights, Observation, Rights};

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

/// What `GET search/events?type=ByExternalID` answered (T9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchAnswer {
    /// An error envelope: the route or the search type is not there.
    Unavailable(String),
    /// Asked for an external id a listed event carries.
    Known { found: bool, others: usize },
    /// Asked for an id no event carries (none of the last year carries one).
    Unknown { answered: usize },
}

/// Whether the search by external id, whose parameter names are unpublished (timeweave
/// sends `external_id`), finds an event by its id (T9). Either way a lost create is found
/// again: by the id when the search answers it, else by the same work.
pub fn search_by_external_id(answer: &SearchAnswer) -> Observation {
    let key = "search_by_external_id";
    let fallback = "a create whose answer was lost is found again by matching the same work \
                    (person, start, end, project) instead";
    let (value, note) = match answer {
        SearchAnswer::Unavailable(why) => (format!("unavailable ({why})"), fallback.to_owned()),
        SearchAnswer::Known {
            found: true,
            others: 0,
        } => (
            "finds an event by its external id".to_owned(),
            "a lost create is found again by its EVENT_THIRD_PARTY_ID".to_owned(),
        ),
        SearchAnswer::Known { found, others } => (
            format!(
                "{} the event carrying the id, and {others} other events",
                if *found { "found" } else { "did not find" }
            ),
            format!(
                "the search reads other parameter names than external_id; hits not carrying \
                 the id are never adopted, and {fallback}"
            ),
        ),
        SearchAnswer::Unknown { answered: 0 } => (
            "answers nothing for an id no event carries".to_owned(),
            "no event of the last year carries an external id to confirm a hit with; \
             the entries timeweave creates carry one: run doctor again after the first push"
                .to_owned(),
        ),
        SearchAnswer::Unknown { answered } => (
            format!("answers {answered} events for an id no event carries"),
            format!(
                "the search reads other parameter names than external_id; hits not carrying \
                 the id are never adopted, and {fallback}"
            ),
        ),
    };
    Observation::new(key, value, note)
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

/// The caller's role and permission flags in the synced account, as `GET /me` `teams[]`
/// lists them (the documented user sample: `role`, `permissions{can_edit_time_entries,
/// can_view_time_entries_from_others, ...}`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamRights {
    pub role: Option<String>,
    /// `None`: the entry lists no `permissions`.
    pub flags: Option<Vec<(String, bool)>>,
}

/// The permission that lets `filter=COMPANY` list other users' events (§8.2).
const VIEW_OTHERS: &str = "can_view_time_entries_from_others";

impl TeamRights {
    fn flag(&self, name: &str) -> Option<bool> {
        let flags = self.flags.as_ref()?;
        flags.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    fn role(&self) -> &str {
        self.role.as_deref().unwrap_or("no role")
    }
}

/// Whether the caller sees every user's events (the company filter): a user without
/// `can_view_time_entries_from_others` is believed to see only their own, silently.
pub fn sees_all_users(team: Option<&TeamRights>) -> Observation {
    let key = "sees_all_users";
    match team.and_then(|t| Some((t, t.flag(VIEW_OTHERS)?))) {
        Some((t, true)) => Observation::new(
            key,
            format!("yes (role {}, {VIEW_OTHERS})", t.role()),
            "the event listing (filter=COMPANY) shows every user's events",
        ),
        Some((t, false)) => Observation {
            limits_reading: true,
            limits_writing: true,
            ..Observation::new(
                key,
                format!("no: role {} without {VIEW_OTHERS}", t.role()),
                "the event listing (filter=COMPANY) shows only this user's own events, so \
                 other users' entries are neither listed nor written; use an App Password of \
                 an admin, or let this user view the time entries of others",
            )
        },
        None => Observation {
            limits_reading: true,
            ..Observation::new(
                key,
                "unknown (GET /me lists no permissions for this account)",
                "whether the event listing shows other users' events is not confirmed; check \
                 in TrackingTime that this user may view the time entries of others",
            )
        },
    }
}

/// The permission a write of `kind` needs, where `/me` names one (customers: none known).
fn write_permission(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::TimeEntry => Some("can_edit_time_entries"),
        Kind::Project => Some("can_edit_projects"),
        Kind::Task => Some("can_edit_tasks"),
        Kind::Person | Kind::Client => None,
    }
}

/// The caller's rights in the account, from its `/me` team entry, for an adapter with
/// `caps`: a permission listed as false that a write needs is missing.
pub fn rights(team: Option<&TeamRights>, caps: &Capabilities) -> Rights {
    let Some((t, flags)) = team.and_then(|t| Some((t, t.flags.as_ref()?))) else {
        return Rights::Unknown(
            "GET /me lists no role permissions for this account (T7), so TrackingTime tells \
             no client what this user may write"
                .into(),
        );
    };
    let granted = |name: &str| {
        t.flag(name)
            .or_else(|| t.flag("can_edit_projects_and_tasks"))
            .unwrap_or(true)
    };
    let missing_to_write = Kind::ALL
        .into_iter()
        .filter(|k| {
            let s = caps.support(*k);
            s.create || s.update || s.delete
        })
        .filter_map(write_permission)
        .filter(|p| !granted(p))
        .map(str::to_owned)
        .collect();
    let held: Vec<&str> = flags
        .iter()
        .filter(|(_, v)| *v)
        .map(|(k, _)| k.as_str())
        .collect();
    Rights::Known(KnownRights {
        held: format!(
            "role {} with {}",
            t.role(),
            match held.is_empty() {
                true => "no permission".to_owned(),
                false => held.join(", "),
            }
        ),
        missing_to_read: Vec::new(),
        missing_to_write,
        grant: "give this user a role that may edit time entries, projects and tasks in \
                TrackingTime (an admin's App Password has them all)"
            .into(),
    })
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

    fn team(view_others: bool, edit_entries: bool) -> TeamRights {
        TeamRights {
            role: Some("CO_WORKER".into()),
            flags: Some(vec![
                ("can_edit_time_entries".into(), edit_entries),
                ("can_edit_projects_and_tasks".into(), false),
                (VIEW_OTHERS.into(), view_others),
            ]),
        }
    }

    fn writes_everything() -> Capabilities {
        use timeweave_contract::KindSupport;
        Capabilities {
            person: KindSupport::READ_ONLY,
            client: KindSupport::FULL,
            project: KindSupport::FULL,
            task: KindSupport::FULL,
            time_entry: KindSupport::FULL,
            change_feed: true,
            entry_page_size: 1000,
            idempotent_create: false,
            unheld: Vec::new(),
            read_only: Vec::new(),
        }
    }

    #[test]
    fn the_company_filter_visibility_comes_from_the_view_others_permission() {
        let seen = sees_all_users(Some(&team(true, true)));
        assert!(seen.value.starts_with("yes"), "{}", seen.value);
        assert!(!seen.limits_reading);
        let seen = sees_all_users(Some(&team(false, true)));
        assert_eq!(
            seen.value,
            "no: role CO_WORKER without can_view_time_entries_from_others"
        );
        assert!(seen.limits_reading && seen.limits_writing);
        let unknown = sees_all_users(None);
        assert!(unknown.value.starts_with("unknown"), "{}", unknown.value);
        assert!(unknown.limits_reading);
    }

    #[test]
    fn write_permissions_listed_false_are_missing_and_no_listing_is_unknown() {
        let Rights::Known(r) = rights(Some(&team(true, false)), &writes_everything()) else {
            panic!("known")
        };
        assert_eq!(
            r.missing_to_write,
            [
                "can_edit_projects",
                "can_edit_tasks",
                "can_edit_time_entries"
            ]
        );
        assert!(r.held.starts_with("role CO_WORKER with "), "{}", r.held);
        let unlisted = TeamRights {
            role: Some("ADMIN".into()),
            flags: None,
        };
        assert!(matches!(
            rights(Some(&unlisted), &writes_everything()),
            Rights::Unknown(_)
        ));
        assert!(matches!(
            rights(None, &writes_everything()),
            Rights::Unknown(_)
        ));
    }

    #[test]
    fn the_search_answers_are_told_apart() {
        let value = |a: SearchAnswer| search_by_external_id(&a).value;
        assert_eq!(
            value(SearchAnswer::Known {
                found: true,
                others: 0
            }),
            "finds an event by its external id"
        );
        assert_eq!(
            value(SearchAnswer::Known {
                found: true,
                others: 3
            }),
            "found the event carrying the id, and 3 other events"
        );
        assert_eq!(
            value(SearchAnswer::Unknown { answered: 2 }),
            "answers 2 events for an id no event carries"
        );
        assert!(value(SearchAnswer::Unavailable("status 400: no".into()))
            .starts_with("unavailable (status 400"));
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
