//! Whether the providers and the ledger hold the same time entries, compared by content:
//! what `demo`, the convergence benchmark and the binary's tests mean by "the same entries,
//! none twice". Each side's entries get their references turned into natural keys (people
//! by e-mail, else username; clients by name; projects by client and name; tasks by project
//! and name, all through `contract::natural_key::name_key`), are matched by person and
//! start, and compared field by field. Every entry missing, extra, held twice or different
//! is a [`Mismatch`] that names it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;
use timeweave_contract::natural_key::name_key;
use timeweave_contract::{
    Field, Kind, ListScope, PageItem, Provider, ProviderError, Record, TimeEntry, Window,
};

use crate::ledger::{Ledger, LedgerError};

/// A time entry whose references are natural keys.
pub type KeyedEntry = TimeEntry<String>;

/// What one side (the ledger or a provider) holds.
#[derive(Clone, Debug)]
pub struct Holding {
    pub name: String,
    pub entries: Vec<KeyedEntry>,
    /// Fields this side has no place for: left out when it is compared.
    pub unheld: Vec<Field>,
    /// The starts this side was read over (`None`: all it holds); the ledger's entries
    /// outside it are not expected there.
    pub span: Option<Window>,
}

/// One entry on which a side differs from the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Person, start and notes of the entry.
    pub entry: String,
    pub side: String,
    pub what: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.side, self.what, self.entry)
    }
}

#[derive(Debug, Error)]
pub enum AgreementError {
    #[error("reading the ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("reading {name}: {source}")]
    Provider {
        name: String,
        #[source]
        source: ProviderError,
    },
}

/// The ledger's live entries.
pub async fn read_ledger(ledger: &Ledger) -> Result<Holding, LedgerError> {
    let mut tx = ledger.read().await?;
    let mut refs = Vec::new();
    for kind in [Kind::Person, Kind::Client, Kind::Project, Kind::Task] {
        refs.extend(
            tx.all_live(kind)
                .await?
                .into_iter()
                .map(|s| (s.id.0, s.record)),
        );
    }
    let entries = tx.all_live(Kind::TimeEntry).await?;
    let keys = reference_keys(refs);
    Ok(Holding {
        name: "ledger".into(),
        entries: entries
            .into_iter()
            .filter_map(|s| keyed(s.record, &keys))
            .collect(),
        unheld: Vec::new(),
        span: None,
    })
}

/// Every entry `provider` lists with a start in `span`, read in 30-day windows (some
/// providers cap a listing's range), with the references it lists.
pub async fn read_provider(
    name: &str,
    provider: &dyn Provider,
    span: Window,
) -> Result<Holding, AgreementError> {
    let err = |source| AgreementError::Provider {
        name: name.to_owned(),
        source,
    };
    provider.connect().await.map_err(err)?;
    let caps = provider.capabilities();
    let mut refs = Vec::new();
    for kind in [Kind::Person, Kind::Client, Kind::Project, Kind::Task] {
        if caps.support(kind).list {
            refs.extend(list(provider, kind, ListScope::All).await.map_err(err)?);
        }
    }
    let keys = reference_keys(refs);
    let mut entries = Vec::new();
    let mut from = span.from;
    while from < span.to {
        let to = (from + Duration::days(30)).min(span.to);
        let scope = ListScope::StartedIn(Window::new(from, to));
        let listed = list(provider, Kind::TimeEntry, scope).await.map_err(err)?;
        entries.extend(listed.into_iter().filter_map(|(_, r)| keyed(r, &keys)));
        from = to;
    }
    Ok(Holding {
        name: name.to_owned(),
        entries,
        unheld: caps.unheld,
        span: Some(span),
    })
}

/// Every record of `kind` in `scope`, all pages, as (id, record); invalid items are left
/// out (they are nothing the provider holds as a record).
async fn list(
    provider: &dyn Provider,
    kind: Kind,
    scope: ListScope,
) -> Result<Vec<(String, Record<timeweave_contract::RemoteId>)>, ProviderError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = provider.list_page(kind, scope, token).await?;
        out.extend(page.items.into_iter().filter_map(|item| match item {
            PageItem::Record(r) if r.record.kind() == kind => Some((r.id.0, r.record)),
            _ => None,
        }));
        match page.next {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Natural keys of reference records by kind and id (providers number each kind apart).
type Keys = HashMap<(Kind, String), String>;

/// Each reference record's natural key. Projects follow their clients and tasks their
/// projects, whatever order they come in.
fn reference_keys<R: AsRef<str>>(records: Vec<(String, Record<R>)>) -> Keys {
    let mut keys = HashMap::new();
    for kind in [Kind::Person, Kind::Client, Kind::Project, Kind::Task] {
        for (id, record) in records.iter().filter(|(_, r)| r.kind() == kind) {
            let key = match record {
                Record::Person(p) => match (&p.email, &p.username) {
                    (Some(email), _) => name_key(email),
                    (None, Some(user)) => format!("user {}", name_key(user)),
                    (None, None) => format!("person {}", name_key(&p.display_name)),
                },
                Record::Client(c) => name_key(&c.name),
                Record::Project(p) => {
                    let client = p
                        .client
                        .as_ref()
                        .map(|c| resolve(&keys, Kind::Client, c.as_ref()));
                    format!("{} / {}", client.unwrap_or_default(), name_key(&p.name))
                }
                Record::Task(t) => {
                    let project = resolve(&keys, Kind::Project, t.project.as_ref());
                    format!("{project} / {}", name_key(&t.name))
                }
                Record::TimeEntry(_) => continue,
            };
            keys.insert((kind, id.clone()), key);
        }
    }
    keys
}

fn resolve(keys: &Keys, kind: Kind, id: &str) -> String {
    keys.get(&(kind, id.to_owned()))
        .cloned()
        .unwrap_or_else(|| format!("unknown {kind} {id}"))
}

/// A time entry in its normal form with natural keys for references; `None` for other
/// kinds. `source_tz` is left out: it says how the provider showed the entry, not what it is.
fn keyed<R: AsRef<str>>(record: Record<R>, keys: &Keys) -> Option<KeyedEntry> {
    let record = record.normalised().try_map_refs(|kind, id| {
        Ok::<_, std::convert::Infallible>(resolve(keys, kind, id.as_ref()))
    });
    match record {
        Ok(Record::TimeEntry(mut e)) => {
            e.source_tz = None;
            Some(e)
        }
        _ => None,
    }
}

type Key = (String, DateTime<Utc>);

/// Entries by (person, start), within `span`, without the fields in `unheld`.
fn by_key(
    entries: &[KeyedEntry],
    unheld: &[Field],
    span: Option<Window>,
) -> BTreeMap<Key, Vec<KeyedEntry>> {
    let mut out: BTreeMap<Key, Vec<KeyedEntry>> = BTreeMap::new();
    let within = |e: &&KeyedEntry| span.is_none_or(|w| w.contains(e.started_at));
    for e in entries.iter().filter(within) {
        let e = match Record::TimeEntry(e.clone()).forget_unheld(unheld) {
            Record::TimeEntry(e) => e,
            _ => continue,
        };
        out.entry((e.person.clone(), e.started_at))
            .or_default()
            .push(e);
    }
    out
}

/// Every entry on which `side` differs from `ledger`: missing, extra, held more than once
/// (on either side) or with other content. Fields `side` has no place for are left out.
pub fn compare(ledger: &Holding, side: &Holding) -> Vec<Mismatch> {
    let ours = by_key(&ledger.entries, &side.unheld, side.span);
    let theirs = by_key(&side.entries, &side.unheld, side.span);
    let mut keys: Vec<&Key> = ours.keys().chain(theirs.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let a = ours.get(key).map_or(&[][..], Vec::as_slice);
        let b = theirs.get(key).map_or(&[][..], Vec::as_slice);
        let what = match (a, b) {
            ([], [_]) => "holds an entry the ledger does not".to_string(),
            ([], _) => format!("holds {} entries the ledger does not", b.len()),
            (_, []) => "lacks an entry the ledger holds".to_string(),
            ([x], [y]) => match differences(x, y) {
                d if d.is_empty() => continue,
                d => format!("differs from the ledger in {}", d.join(", ")),
            },
            _ => format!("holds it {} times, the ledger {} times", b.len(), a.len()),
        };
        let entry = a.first().or(b.first()).map(label).unwrap_or_default();
        out.push(Mismatch {
            entry,
            side: side.name.clone(),
            what,
        });
    }
    out
}

/// Entries `holding` holds more than once (same person and start).
pub fn held_twice(holding: &Holding) -> Vec<Mismatch> {
    by_key(&holding.entries, &[], None)
        .into_values()
        .filter(|same| same.len() > 1)
        .map(|same| Mismatch {
            entry: label(&same[0]),
            side: holding.name.clone(),
            what: format!("holds it {} times", same.len()),
        })
        .collect()
}

/// The ledger checked for entries held twice, then every side compared with it.
pub fn compare_all(ledger: &Holding, sides: &[Holding]) -> Vec<Mismatch> {
    let mut out = held_twice(ledger);
    for side in sides {
        out.extend(compare(ledger, side));
    }
    out
}

/// What the ledger and every provider of `handles` hold, read now, compared: every
/// mismatch (none: they hold the same entries, none twice). Providers are read over
/// `span` through each handle's adapter.
pub async fn check(
    ledger: &Ledger,
    handles: &[crate::sync::ProviderHandle],
    span: Window,
) -> Result<Vec<Mismatch>, AgreementError> {
    let ours = read_ledger(ledger).await?;
    let mut sides = Vec::new();
    for h in handles {
        sides.push(read_provider(&h.name, h.provider.as_ref(), span).await?);
    }
    Ok(compare_all(&ours, &sides))
}

/// `field (ledger value ≠ side value)` for each field that differs.
fn differences(a: &KeyedEntry, b: &KeyedEntry) -> Vec<String> {
    let pairs = [
        (
            "project",
            format!("{:?}", a.project),
            format!("{:?}", b.project),
        ),
        ("task", format!("{:?}", a.task), format!("{:?}", b.task)),
        (
            "client",
            format!("{:?}", a.client),
            format!("{:?}", b.client),
        ),
        (
            "end",
            format!("{:?}", a.ended_at),
            format!("{:?}", b.ended_at),
        ),
        (
            "break",
            a.break_seconds.to_string(),
            b.break_seconds.to_string(),
        ),
        (
            "duration",
            format!("{:?}", a.duration_seconds),
            format!("{:?}", b.duration_seconds),
        ),
        ("notes", format!("{:?}", a.notes), format!("{:?}", b.notes)),
        ("tags", format!("{:?}", a.tags), format!("{:?}", b.tags)),
        ("billable", a.billable.to_string(), b.billable.to_string()),
        ("kind", a.kind.as_str().into(), b.kind.as_str().into()),
    ];
    pairs
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(name, x, y)| format!("{name} ({x} ≠ {y})"))
        .collect()
}

/// `person, start, "notes"`: enough to find the entry in any of the providers.
fn label(e: &KeyedEntry) -> String {
    format!(
        "{}, {}, {:?}",
        e.person,
        e.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        e.notes.as_deref().unwrap_or("")
    )
}

#[cfg(test)]
mod tests;
