//! What a TrackingTime account answers for the points no documentation settles (see the
//! real-world evidence, T1, T2, T3 and T9), and what the caller may see and write there
//! (`/me`'s role and permissions), as provider-neutral observations for `doctor`.

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

/// The caller's role and permission flags, as `GET /me`'s user object lists them (§7's get
/// form: `role`, `permissions{…}`). The spec documents one flag,
/// `can_view_time_entries_from_others` (§8.2); the user sample also shows edit flags whose
/// meaning no text documents: a flag not listed is unknown, never granted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserRights {
    pub role: Option<String>,
    /// `None`: `/me` lists no `permissions`.
    pub flags: Option<Vec<(String, bool)>>,
}

/// The permission that lets `filter=COMPANY` list other users' events (§8.2).
const VIEW_OTHERS: &str = "can_view_time_entries_from_others";

impl UserRights {
    fn flag(&self, name: &str) -> Option<bool> {
        let flags = self.flags.as_ref()?;
        flags.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    fn role(&self) -> &str {
        self.role.as_deref().unwrap_or("no role")
    }

    /// Why a flag is unknown: no `permissions` at all, or a list without it.
    fn unlisted(&self, names: &str) -> String {
        match &self.flags {
            None => "GET /me lists no permissions for this account".to_owned(),
            Some(_) => format!("GET /me's permissions do not list {names}"),
        }
    }
}

/// Whether the caller sees every user's events (the company filter): a user without
/// `can_view_time_entries_from_others` is believed to see only their own, silently.
pub fn sees_all_users(user: &UserRights) -> Observation {
    let key = "sees_all_users";
    match user.flag(VIEW_OTHERS) {
        Some(true) => Observation::new(
            key,
            format!("yes (role {}, {VIEW_OTHERS})", user.role()),
            "the event listing (filter=COMPANY) shows every user's events",
        ),
        Some(false) => Observation {
            limits_reading: true,
            limits_writing: true,
            ..Observation::new(
                key,
                format!("no: role {} without {VIEW_OTHERS}", user.role()),
                "the event listing (filter=COMPANY) shows only this user's own events, so \
                 other users' entries are neither listed nor written; use an App Password of \
                 an admin, or let this user view the time entries of others",
            )
        },
        None => Observation {
            limits_reading: true,
            ..Observation::new(
                key,
                format!("unknown ({})", user.unlisted(VIEW_OTHERS)),
                "whether the event listing shows other users' events is not confirmed; check \
                 in TrackingTime that this user may view the time entries of others",
            )
        },
    }
}

/// The flag a write of `kind` needs, as the user sample names them, and the combined
/// flag the sample also lists for projects and tasks (customers: none known).
fn write_permission(kind: Kind) -> Option<(&'static str, Option<&'static str>)> {
    let both = Some("can_edit_projects_and_tasks");
    match kind {
        Kind::TimeEntry => Some(("can_edit_time_entries", None)),
        Kind::Project => Some(("can_edit_projects", both)),
        Kind::Task => Some(("can_edit_tasks", both)),
        Kind::Person | Kind::Client => None,
    }
}

/// The caller's rights in the account, from `/me`'s user object, for an adapter with
/// `caps`: a flag a write needs listed false is missing; one not listed leaves the rights
/// unknown (only a write tells), never granted.
pub fn rights(user: &UserRights, caps: &Capabilities) -> Rights {
    let needed: Vec<_> = Kind::ALL
        .into_iter()
        .filter(|k| caps.support(*k).writes())
        .filter_map(write_permission)
        .collect();
    let state = |(name, combined): (&str, Option<&str>)| {
        user.flag(name)
            .or_else(|| combined.and_then(|c| user.flag(c)))
    };
    let missing_to_write: Vec<String> = needed
        .iter()
        .filter(|p| state(**p) == Some(false))
        .map(|(name, _)| (*name).to_owned())
        .collect();
    let unlisted: Vec<&str> = needed
        .iter()
        .filter(|p| state(**p).is_none())
        .map(|(name, _)| *name)
        .collect();
    if missing_to_write.is_empty() && !unlisted.is_empty() {
        return Rights::Unknown(format!(
            "{} (only {VIEW_OTHERS} is documented), so TrackingTime tells no client what \
             this user may write",
            user.unlisted(&unlisted.join(", "))
        ));
    }
    Rights::Known(KnownRights {
        held: held(user),
        missing_to_read: Vec::new(),
        missing_to_write,
        grant: "give this user a role that may edit time entries, projects and tasks in \
                TrackingTime (an admin's App Password has them all)"
            .into(),
    })
}

/// `role R with flag, flag` for the flags listed true.
fn held(user: &UserRights) -> String {
    let held: Vec<&str> = user
        .flags
        .iter()
        .flatten()
        .filter(|(_, v)| *v)
        .map(|(k, _)| k.as_str())
        .collect();
    format!(
        "role {} with {}",
        user.role(),
        match held.is_empty() {
            true => "no permission".to_owned(),
            false => held.join(", "),
        }
    )
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

    fn user(flags: &[(&str, bool)]) -> UserRights {
        UserRights {
            role: Some("CO_WORKER".into()),
            flags: Some(flags.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()),
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
        let seen = sees_all_users(&user(&[(VIEW_OTHERS, true)]));
        assert!(seen.value.starts_with("yes"), "{}", seen.value);
        assert!(!seen.limits_reading);
        let seen = sees_all_users(&user(&[(VIEW_OTHERS, false)]));
        assert_eq!(
            seen.value,
            "no: role CO_WORKER without can_view_time_entries_from_others"
        );
        assert!(seen.limits_reading && seen.limits_writing);
        let unknown = sees_all_users(&UserRights::default());
        assert_eq!(
            unknown.value,
            "unknown (GET /me lists no permissions for this account)"
        );
        assert!(unknown.limits_reading);
        // A permissions object without the flag is not "no permissions".
        let unknown = sees_all_users(&user(&[("can_view_others", true)]));
        assert_eq!(
            unknown.value,
            "unknown (GET /me's permissions do not list can_view_time_entries_from_others)"
        );
    }

    #[test]
    fn write_permissions_listed_false_are_missing_and_unlisted_ones_are_unknown() {
        let listed = user(&[
            (VIEW_OTHERS, true),
            ("can_edit_time_entries", false),
            ("can_edit_projects_and_tasks", false),
        ]);
        let Rights::Known(r) = rights(&listed, &writes_everything()) else {
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
        // The documented shape: only the view flag. No edit flag listed is never granted.
        let Rights::Unknown(why) = rights(&user(&[(VIEW_OTHERS, true)]), &writes_everything())
        else {
            panic!("unknown")
        };
        assert!(
            why.starts_with(
                "GET /me's permissions do not list can_edit_projects, \
                             can_edit_tasks, can_edit_time_entries"
            ),
            "{why}"
        );
        // The combined flag does not stand in for the time-entry one.
        let combined = user(&[("can_edit_projects_and_tasks", true)]);
        let Rights::Unknown(why) = rights(&combined, &writes_everything()) else {
            panic!("unknown")
        };
        assert!(why.contains("do not list can_edit_time_entries ("), "{why}");
        let Rights::Unknown(why) = rights(&UserRights::default(), &writes_everything()) else {
            panic!("unknown")
        };
        assert!(why.starts_with("GET /me lists no permissions"), "{why}");
        let all = user(&[
            ("can_edit_time_entries", true),
            ("can_edit_projects_and_tasks", true),
        ]);
        let Rights::Known(r) = rights(&all, &writes_everything()) else {
            panic!("known")
        };
        assert!(r.missing_to_write.is_empty());
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
