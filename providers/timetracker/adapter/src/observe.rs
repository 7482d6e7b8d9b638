//! What a TimeTracker token may do, for `doctor`: its scopes, which the server tells
//! read-only in the 403 of an endpoint only `admin:all` may call (`available_scopes`, spec
//! §1–2), weighed against the scopes timeweave's listings and writes need.

use timeweave_contract::{Capabilities, Kind, KnownRights, Rights};

/// What `GET /users` (`admin:all` only) answered about the token.
pub enum ScopeAnswer {
    /// 2xx: the token holds `admin:all` or `*`, which grant every scope, or `admin:*`, which
    /// grants only `admin:` ones; the admin UI offers no `admin:*` (only the token service
    /// accepts it), and no read-only request tells them apart.
    Everything,
    /// 403 with the scopes the token holds (`None`: the body listed none).
    Listed(Option<Vec<String>>),
}

/// The server's `ApiToken.has_scope`: `admin:all` and `*` grant everything, an exact match
/// passes, and `family:*` matches any `family:x` (`write:*` does not imply `read:*`).
pub fn has_scope(held: &[String], required: &str) -> bool {
    let family = required.split_once(':').map(|(f, _)| format!("{f}:*"));
    held.iter()
        .map(|s| s.trim())
        .any(|s| s == "admin:all" || s == "*" || s == required || family.as_deref() == Some(s))
}

/// The scope a listing of `kind` needs (people: `/users/me`; `/users` wants `admin:all`,
/// without which the adapter lists the token's own user).
fn read_scope(kind: Kind) -> &'static str {
    match kind {
        Kind::Person => "read:users",
        Kind::Client => "read:clients",
        Kind::Project => "read:projects",
        Kind::Task => "read:tasks",
        Kind::TimeEntry => "read:time_entries",
    }
}

/// The scope a write of `kind` needs (`None`: TimeTracker writes no people).
fn write_scope(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Person => None,
        Kind::Client => Some("write:clients"),
        Kind::Project => Some("write:projects"),
        Kind::Task => Some("write:tasks"),
        Kind::TimeEntry => Some("write:time_entries"),
    }
}

/// The token's rights from what `GET /users` answered, for an adapter with `caps`.
pub fn rights(answer: ScopeAnswer, caps: &Capabilities) -> Rights {
    let held = match answer {
        // Where the adapter writes, admin:* (no write) and admin:all cannot be told apart.
        ScopeAnswer::Everything if writes_any(caps) => {
            return Rights::Unknown(
                "GET /users answered, so the token holds admin:all or * (every scope) or \
                 admin:* (made only through the API; it grants no write), and no read-only \
                 request tells them apart"
                    .into(),
            )
        }
        ScopeAnswer::Everything => {
            return Rights::Known(KnownRights {
                held: "an admin scope (GET /users answered)".into(),
                ..KnownRights::default()
            })
        }
        ScopeAnswer::Listed(None) => {
            return Rights::Unknown(
                "TimeTracker refused GET /users but listed no available_scopes".into(),
            )
        }
        ScopeAnswer::Listed(Some(held)) => held,
    };
    let missing = |scopes: Vec<&'static str>| -> Vec<String> {
        scopes
            .into_iter()
            .filter(|s| !has_scope(&held, s))
            .map(str::to_owned)
            .collect()
    };
    let listed = Kind::ALL.into_iter().filter(|k| caps.support(*k).list);
    let written = Kind::ALL.into_iter().filter(|k| caps.support(*k).writes());
    let shown: Vec<&str> = held
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    Rights::Known(KnownRights {
        held: match shown.is_empty() {
            true => "no scopes".into(),
            false => format!("scopes {}", shown.join(", ")),
        },
        missing_to_read: missing(listed.map(read_scope).collect()),
        missing_to_write: missing(written.filter_map(write_scope).collect()),
        grant: "grant the token these scopes in TimeTracker (Admin → Security & Access → \
                Api-tokens; write:* does not imply read:*), or use a token with admin:all"
            .into(),
    })
}

fn writes_any(caps: &Capabilities) -> bool {
    Kind::ALL.into_iter().any(|k| caps.support(k).writes())
}

#[cfg(test)]
mod tests {
    use timeweave_contract::KindSupport;

    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            person: KindSupport::READ_ONLY,
            client: KindSupport::FULL,
            project: KindSupport::FULL,
            task: KindSupport::FULL,
            time_entry: KindSupport::FULL,
            change_feed: false,
            entry_page_size: 100,
            idempotent_create: false,
            unheld: Vec::new(),
            read_only: Vec::new(),
        }
    }

    fn scopes(list: &[&str]) -> ScopeAnswer {
        ScopeAnswer::Listed(Some(list.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn scopes_match_as_the_server_matches_them() {
        let held: Vec<String> = vec!["read:*".into(), " write:time_entries".into()];
        assert!(has_scope(&held, "read:clients"));
        assert!(has_scope(&held, "write:time_entries"), "split, not trimmed");
        assert!(!has_scope(&held, "write:clients"), "write:* is not held");
        assert!(has_scope(&["*".into()], "write:clients"));
        assert!(has_scope(&["admin:all".into()], "read:users"));
        assert!(
            has_scope(&["admin:*".into()], "admin:all"),
            "a family wildcard"
        );
        assert!(!has_scope(&["admin:*".into()], "read:users"));
    }

    #[test]
    fn a_read_only_token_lacks_every_write_scope_and_an_admin_scope_leaves_writes_unknown() {
        let Rights::Known(r) = rights(scopes(&["read:*"]), &caps()) else {
            panic!("known")
        };
        assert_eq!(r.held, "scopes read:*");
        assert!(r.missing_to_read.is_empty());
        assert_eq!(
            r.missing_to_write,
            [
                "write:clients",
                "write:projects",
                "write:tasks",
                "write:time_entries"
            ]
        );
        let Rights::Known(r) = rights(scopes(&["write:*", "read:time_entries"]), &caps()) else {
            panic!("known")
        };
        assert_eq!(
            r.missing_to_read,
            ["read:users", "read:clients", "read:projects", "read:tasks"]
        );
        assert!(r.missing_to_write.is_empty());
        // GET /users answering: admin:all, * or admin:* (which grants no write).
        let Rights::Unknown(why) = rights(ScopeAnswer::Everything, &caps()) else {
            panic!("unknown: admin:* grants no write")
        };
        assert!(why.contains("admin:*"), "{why}");
        let reads_only = Capabilities {
            client: KindSupport::READ_ONLY,
            project: KindSupport::READ_ONLY,
            task: KindSupport::READ_ONLY,
            time_entry: KindSupport::READ_ONLY,
            ..caps()
        };
        let Rights::Known(r) = rights(ScopeAnswer::Everything, &reads_only) else {
            panic!("known")
        };
        assert!(r.missing_to_read.is_empty() && r.missing_to_write.is_empty());
        assert!(matches!(
            rights(ScopeAnswer::Listed(None), &caps()),
            Rights::Unknown(_)
        ));
    }
}
