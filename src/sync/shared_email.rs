//! People of one provider who share an e-mail address, or swap addresses. The ledger holds
//! one live person per address (people are matched across providers by it), but a provider
//! may allow two accounts with one address (an old and a new login, a shared mailbox).
//! Writing both would break that rule and fail the whole cycle, every cycle; instead a
//! listed person is refused, with the reason on record, when writing it would give a second
//! ledger person its address: another ledger person holds it and this record is neither
//! that person nor matched to it, or an earlier person of the same listing took the address.
//! A refused person not yet in the ledger has its entries wait; a linked one keeps its
//! ledger version (and its entries sync) until one of the two addresses changes.
//!
//! An address held by a linked person of the same listing that leaves it for sure (its
//! listed version goes to the ledger as it is: the ledger's side unchanged since the last
//! sync) is free to take: two people swapping addresses (a renamed mailbox), or a chain of
//! renames, go through in one cycle. The unique index forbids the states in between, so
//! the people leaving an address that another takes are written without one first
//! (`release_addresses`, in the group's transaction), then each with its listed address.
//! A person that would leave an address but is refused itself frees nothing: what relied
//! on it is refused too.

use std::collections::HashMap;

use timeweave_contract::{CanonicalId, Record, RemoteId};

use super::engine::{Abort, Cycle};
use super::observe::{GroupView, Mapped};
use crate::ledger::{StoredRecord, Tx};

/// What the group's people may write: why each is refused (`None`: it is not), and the
/// ledger people whose address another of the group takes.
struct Claims {
    refused: Vec<Option<String>>,
    released: Vec<CanonicalId>,
}

impl Cycle<'_> {
    /// Refuses (sets to `Err`) the mapped people of a group whose address would become a
    /// second ledger person's, and notes in `view.released` the addresses freed for others.
    pub(super) async fn refuse_shared_emails(
        &self,
        tx: &mut Tx,
        view: &mut GroupView,
    ) -> Result<(), Abort> {
        let mut leaving = self.leaving(view);
        loop {
            let claims = self.claim_addresses(tx, view, &leaving).await?;
            let before = leaving.len();
            leaving.retain(|_, i| claims.refused[*i].is_none());
            if leaving.len() == before {
                for (mapped, reason) in view.mapped.iter_mut().zip(claims.refused) {
                    if let Some(reason) = reason {
                        *mapped = Err(reason);
                    }
                }
                view.released = claims.released;
                return Ok(());
            }
            // A person refused would have left an address: claim again without it.
        }
    }

    /// The ledger people (with their record's index in the group) that the group moves off
    /// their address for sure: linked, live on both sides, the ledger's version the one
    /// last synced and the provider's changed (so the planner takes the provider's), and
    /// that version, with the fields this provider cannot hold laid over as `observe.rs`
    /// does, has another address.
    fn leaving(&self, view: &GroupView) -> HashMap<CanonicalId, usize> {
        if !self.instance.mode.pulls() {
            return HashMap::new();
        }
        let leaves = |i: usize| {
            let link = view
                .links
                .get(&view.records[i].id)
                .filter(|l| l.is_live())?;
            let ledger = view
                .linked
                .get(&link.canonical_id)
                .filter(|r| r.is_live())?;
            let taken_as_listed =
                ledger.hash == link.canonical_hash && view.remote_hashes[i] != link.remote_hash;
            let held = person_email(&ledger.record).filter(|_| taken_as_listed)?;
            let written = view.mapped[i]
                .as_ref()
                .ok()?
                .record
                .clone()
                .keep_unheld(&ledger.record, &self.caps.unheld)
                .normalised();
            (person_email(&written) != Some(held)).then(|| ledger.id.clone())
        };
        (0..view.records.len())
            .filter_map(|i| leaves(i).map(|id| (id, i)))
            .collect()
    }

    /// Which people of the group may write their address, given the people `leaving`
    /// theirs: linked people first (they keep the address they hold), then in listing order.
    async fn claim_addresses(
        &self,
        tx: &mut Tx,
        view: &GroupView,
        leaving: &HashMap<CanonicalId, usize>,
    ) -> Result<Claims, Abort> {
        let own = |i: usize| {
            view.links
                .get(&view.records[i].id)
                .filter(|l| l.is_live())
                .map(|l| l.canonical_id.clone())
        };
        // The ledger person record `i` would be written as: its own, else its best match.
        let becomes = |i: usize| {
            own(i)
                .and_then(|id| view.linked.get(&id))
                .or_else(|| view.matches[i].first())
        };
        let mut order: Vec<usize> = (0..view.records.len()).collect();
        order.sort_by_key(|&i| own(i).is_none());
        let mut claimed: HashMap<String, &RemoteId> = HashMap::new();
        let mut claims = Claims {
            refused: vec![None; view.records.len()],
            released: Vec::new(),
        };
        for i in order {
            let Some(email) = email_of(&view.mapped[i]) else {
                continue;
            };
            let target = becomes(i);
            let reason = match claimed.get(&email) {
                Some(first) => Some(self.shared_reason(&email, first.as_str())),
                // A live person holding the address already: nobody else can (the common
                // case, asked nothing of the ledger).
                None if target.is_some_and(|t| t.is_live() && holds(t, &email)) => None,
                None => match holder_other_than(tx, &email, target.map(|t| &t.id)).await? {
                    None => None,
                    Some(holder) if leaving.contains_key(&holder) => {
                        claims.released.push(holder);
                        None
                    }
                    Some(_) => Some(held_reason(&email)),
                },
            };
            match reason {
                Some(reason) => claims.refused[i] = Some(reason),
                None => {
                    claimed.insert(email, &view.records[i].id);
                }
            }
        }
        Ok(claims)
    }

    /// Writes the people in `view.released` without an address, before the group's
    /// records are applied: each is written again with its listed address in the same
    /// transaction (`leaving` chose only people the planner updates from the listing).
    pub(super) async fn release_addresses(
        &self,
        tx: &mut Tx,
        view: &GroupView,
    ) -> Result<(), Abort> {
        for id in &view.released {
            let Some(Record::Person(p)) = view.linked.get(id).map(|r| &r.record) else {
                continue;
            };
            let mut released = p.clone();
            released.email = None;
            tx.update_record(id, &Record::Person(released), &self.instance.name, self.now)
                .await?;
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

/// The live ledger person holding `email`, when it is not `becomes` (the ledger person the
/// listed record would be written as; `None`: a new one).
async fn holder_other_than(
    tx: &mut Tx,
    email: &str,
    becomes: Option<&CanonicalId>,
) -> Result<Option<CanonicalId>, Abort> {
    let holder = tx.live_person_with_email(email).await?;
    Ok(holder.filter(|h| becomes != Some(h)))
}

fn held_reason(email: &str) -> String {
    format!(
        "its e-mail {email} is another ledger person's (one person per address), and this \
         record is not that person: it is not synced until one of the two changes address"
    )
}

/// A mapped person's address as the ledger stores it (`None`: not a person, or none).
fn email_of(mapped: &Result<Mapped, String>) -> Option<String> {
    person_email(&mapped.as_ref().ok()?.record.clone().normalised()).map(str::to_owned)
}

/// A person's address as the record has it (`None`: not a person, or none).
fn person_email(record: &Record<CanonicalId>) -> Option<&str> {
    match record {
        Record::Person(p) => p.email.as_deref(),
        _ => None,
    }
}

/// Whether a ledger person (stored normalised) has this address.
fn holds(person: &StoredRecord, email: &str) -> bool {
    person_email(&person.record) == Some(email)
}
