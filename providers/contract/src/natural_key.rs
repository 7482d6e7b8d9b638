//! Natural keys: how a record is recognised as one another provider (or the ledger)
//! already holds when no id links them. One normal form for names ([`name_key`]) and one
//! matcher for reference records ([`same_natural_key`]); the ledger, the engine and every
//! adapter's lost-create look-up use these, and the ledger's SQL calls the same
//! [`name_key`] as its `natural_key()` function.

use crate::model::Record;

/// A name's natural key: surrounding whitespace dropped, each inner run of whitespace one
/// space, lower case (full Unicode mapping). `" ACME  GmbH"`, `"acme gmbh"` and
/// `"ACME\u{a0}GmbH"` are one client; `"Müller"` and `"MÜLLER"` one project.
pub fn name_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Whether `s` can be an e-mail address, a person's natural key: one `@` between a
/// non-empty name and a domain, no whitespace (surrounding whitespace ignored).
pub fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Whether two names are the same natural key.
pub fn same_name(a: &str, b: &str) -> bool {
    name_key(a) == name_key(b)
}

/// Whether two records are the same by natural key: people by e-mail, else by username
/// when either has no e-mail; clients by name; projects by name and client; tasks by name
/// and project (references compared as given: both records must be in one id space).
/// Entries are never the same here: theirs is a time match with a tolerance, the engine's.
pub fn same_natural_key<R: PartialEq>(a: &Record<R>, b: &Record<R>) -> bool {
    match (a, b) {
        (Record::Person(x), Record::Person(y)) => match (&x.email, &y.email) {
            (Some(p), Some(q)) => same_name(p, q),
            _ => matches!((&x.username, &y.username), (Some(p), Some(q)) if same_name(p, q)),
        },
        (Record::Client(x), Record::Client(y)) => same_name(&x.name, &y.name),
        (Record::Project(x), Record::Project(y)) => {
            x.client == y.client && same_name(&x.name, &y.name)
        }
        (Record::Task(x), Record::Task(y)) => x.project == y.project && same_name(&x.name, &y.name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Client, Person, Project, RemoteId, Task};

    #[test]
    fn names_fold_case_whitespace_and_unicode() {
        assert_eq!(name_key("  ACME \t GmbH\n"), "acme gmbh");
        assert_eq!(name_key("ACME\u{a0}GmbH"), "acme gmbh");
        assert!(same_name("Müller", "MÜLLER"));
        assert!(same_name("ΣΟΦΊΑ", "σοφία"));
        assert!(same_name("İstanbul", "i̇stanbul"));
        assert!(!same_name("ACME", "ACME Inc"));
        assert!(!same_name("Muller", "Müller"), "accents are kept");
        assert_eq!(name_key("   "), "");
    }

    fn client(name: &str) -> Record<RemoteId> {
        Record::Client(Client {
            name: name.into(),
            email: None,
            notes: None,
            archived: false,
        })
    }

    fn project(client: &str, name: &str) -> Record<RemoteId> {
        Record::Project(Project {
            client: Some(client.into()),
            name: name.into(),
            billable: true,
            hourly_rate_cents: None,
            archived: false,
        })
    }

    fn person(email: Option<&str>, username: Option<&str>) -> Record<RemoteId> {
        Record::Person(Person {
            display_name: "A".into(),
            email: email.map(Into::into),
            username: username.map(Into::into),
        })
    }

    #[test]
    fn reference_records_match_by_their_keys() {
        assert!(same_natural_key(&client(" Acme "), &client("acme")));
        assert!(!same_natural_key(&client("Acme"), &client("Acme Inc")));
        assert!(same_natural_key(
            &project("1", "Web  Site"),
            &project("1", "web site")
        ));
        assert!(!same_natural_key(
            &project("1", "Web"),
            &project("2", "Web")
        ));
        let task = |p: &str, n: &str| {
            Record::Task(Task {
                project: RemoteId::from(p),
                name: n.into(),
                archived: false,
            })
        };
        assert!(same_natural_key(&task("1", "Dev"), &task("1", "DEV")));
        assert!(!same_natural_key(&task("1", "Dev"), &task("2", "Dev")));
        assert!(!same_natural_key(&task("1", "Acme"), &client("Acme")));
    }

    #[test]
    fn people_match_by_email_then_username() {
        let a = person(Some("Ada@Example.com"), Some("ada"));
        assert!(same_natural_key(&a, &person(Some("ada@example.com"), None)));
        assert!(!same_natural_key(
            &a,
            &person(Some("bob@example.com"), Some("ada"))
        ));
        assert!(same_natural_key(&a, &person(None, Some("ADA"))));
        assert!(!same_natural_key(&person(None, None), &person(None, None)));
    }
}
