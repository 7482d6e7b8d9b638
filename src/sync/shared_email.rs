//! People of one provider who share an e-mail address. The ledger holds one live person
//! per address (people are matched across providers by it), but a provider may allow two
//! accounts with one address (an old and a new login, a shared mailbox). Writing both
//! would break that rule and fail the whole cycle, every cycle; instead a listed person
//! is refused, with the reason on record, when writing it would give a second ledger
//! person its address: another ledger person holds it and this record is neither that
//! person nor matched to it, or an earlier person of the same listing took the address.
//! A refused person not yet in the ledger has its entries wait; a linked one keeps its
//! ledger version (and its entries sync) until one of the two addresses changes.

use std::collections::HashMap;

use timeweave_contract::{CanonicalId, Record, RemoteId, RemoteRecord};

use super::engine::{Abort, Cycle};
use super::observe::Mapped;
use crate::ledger::{Link, StoredRecord, Tx};

impl Cycle<'_> {
    /// Refuses (sets to `Err`) the mapped people of a group whose address would become a
    /// second ledger person's: `matches` are each record's natural-key candidates.
    pub(super) async fn refuse_shared_emails(
        &self,
        tx: &mut Tx,
        records: &[RemoteRecord],
        links: &HashMap<RemoteId, Link>,
        linked: &HashMap<CanonicalId, StoredRecord>,
        matches: &[Vec<StoredRecord>],
        mapped: &mut [Result<Mapped, String>],
    ) -> Result<(), Abort> {
        let own = |i: usize| {
            links
                .get(&records[i].id)
                .filter(|l| l.is_live())
                .map(|l| l.canonical_id.clone())
        };
        // The ledger person record `i` would be written as: its own, else its best match.
        let becomes = |i: usize| {
            own(i)
                .and_then(|id| linked.get(&id))
                .or_else(|| matches[i].first())
        };
        // Linked people first: they keep the address they hold.
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by_key(|&i| own(i).is_none());
        let mut claimed: HashMap<String, &RemoteId> = HashMap::new();
        for i in order {
            let Some(email) = email_of(&mapped[i]) else {
                continue;
            };
            let target = becomes(i);
            let reason = match claimed.get(&email) {
                Some(first) => Some(self.shared_reason(&email, first.as_str())),
                // A live person holding the address already: nobody else can (the common
                // case, asked nothing of the ledger).
                None if target.is_some_and(|t| t.is_live() && holds(t, &email)) => None,
                None => held_by_another(tx, &email, target.map(|t| &t.id)).await?,
            };
            match reason {
                Some(reason) => mapped[i] = Err(reason),
                None => {
                    claimed.insert(email, &records[i].id);
                }
            }
        }
        Ok(())
    }

    fn shared_reason(&self, email: &str, first: &str) -> String {
        format!(
            "another person of {} (id {first}) has the e-mail {email}, and the ledger keeps one \
             person per address: this one is not synced until one of the two changes address",
            self.instance.name
        )
    }
}

/// Why a person with `email` cannot be written as ledger person `becomes` (`None`: as a
/// new one): a live ledger person other than it holds the address.
async fn held_by_another(
    tx: &mut Tx,
    email: &str,
    becomes: Option<&CanonicalId>,
) -> Result<Option<String>, Abort> {
    let Some(holder) = tx.live_person_with_email(email).await? else {
        return Ok(None);
    };
    Ok((becomes != Some(&holder)).then(|| {
        format!(
            "its e-mail {email} is another ledger person's (one person per address), and this \
             record is not that person: it is not synced until one of the two changes address"
        )
    }))
}

/// A mapped person's address as the ledger stores it (`None`: not a person, or none).
fn email_of(mapped: &Result<Mapped, String>) -> Option<String> {
    match mapped.as_ref().ok()?.record.clone().normalised() {
        Record::Person(p) => p.email,
        _ => None,
    }
}

/// Whether a ledger person (stored normalised) has this address.
fn holds(person: &StoredRecord, email: &str) -> bool {
    matches!(&person.record, Record::Person(p) if p.email.as_deref() == Some(email))
}
