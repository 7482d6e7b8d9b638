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
//! An address held by a linked person of the same group that leaves it for sure (the pure
//! planner's own decision for that person writes it with another address: the listed
//! version taken, merged, or a conflict settled so) is free to take: two people swapping
//! addresses (a renamed mailbox), or a chain of renames, go through in one cycle. The unique
//! index forbids the states in between, so the people leaving an address that another takes
//! are written without one first (`release_addresses`, in the group's transaction), then
//! each with its new address, which `check_released` proves before the group is written.
//! A person that would leave an address but is refused itself, or whose move the ledger
//! does not take (a push-only instance, a conflict the policy keeps), frees nothing: what
//! relied on it is refused too, with a reason naming whom it waits for.

use std::collections::{HashMap, HashSet};

use timeweave_contract::{CanonicalId, Kind, Record, RemoteId};

use super::engine::{Abort, Cycle};
use super::observe::{GroupView, Mapped};
use super::plan::plan_remote;
use crate::ledger::{LedgerError, StoredRecord, Tx};

/// The ledger people whose taken move (a `Move` with `taken`) still stands: not refused.
type Leaving = HashSet<CanonicalId>;

/// A linked person of the group listed with another address than the ledger's, by ledger id.
type Moves = HashMap<CanonicalId, Move>;

struct Move {
    /// Its record's index in the group.
    index: usize,
    /// The address it gets if taken, else the listed one (`None`: none).
    to: Option<String>,
    /// The planner writes the ledger person with `to`.
    taken: bool,
}

/// A listed person with an address, in claiming order: its record's index, the address,
/// and the live ledger person holding it that it would not be written as (looked up once).
struct Claimant {
    index: usize,
    email: String,
    holder: Option<CanonicalId>,
}

/// Why a person may not write its address (the text is built once the claims settle).
enum Refusal {
    /// An earlier person of the group (this remote id) took it.
    Shared { email: String, first: RemoteId },
    /// This ledger person holds it and does not leave it.
    Held { email: String, holder: CanonicalId },
}

/// What the group's people may write: why each is refused (`None`: it is not), and the
/// ledger people whose address another of the group takes.
struct Claims {
    refused: Vec<Option<Refusal>>,
    released: Vec<Released>,
}

/// A ledger person written without an address before the group is applied, and the
/// address the planner's decision gives it (`None`: none) once its record is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Released {
    pub id: CanonicalId,
    pub becomes: Option<String>,
}

impl Cycle<'_> {
    /// Refuses (sets to `Err`) the mapped people of a group whose address would become a
    /// second ledger person's, and notes in `view.released` the addresses freed for others.
    /// Returns the indices refused.
    pub(super) async fn refuse_shared_emails(
        &self,
        tx: &mut Tx,
        view: &mut GroupView,
    ) -> Result<Vec<usize>, Abort> {
        let moves = self.moves(tx, view).await?;
        let claimants = claimants(tx, view).await?;
        let mut leaving: Leaving = moves
            .iter()
            .filter(|(_, m)| m.taken)
            .map(|(id, _)| id.clone())
            .collect();
        // A person refused would have left an address: claim again without it.
        let claims = loop {
            let claims = claim_addresses(view, &claimants, &leaving, &moves);
            let before = leaving.len();
            leaving.retain(|id| claims.refused[moves[id].index].is_none());
            if leaving.len() == before {
                break claims;
            }
        };
        let mut refused = Vec::new();
        for (i, refusal) in claims.refused.into_iter().enumerate() {
            if let Some(refusal) = refusal {
                view.mapped[i] = Err(self.refusal_reason(tx, view, refusal, &moves).await?);
                refused.push(i);
            }
        }
        view.released = claims.released;
        Ok(refused)
    }

    /// The linked people of the group listed with another address than the ledger's (live on
    /// both sides, the provider's version changed). A move is `taken` (the person leaves its
    /// address for sure) when the planner's own decision (`plan_remote`, the one the apply
    /// step then carries out) writes the ledger person with another address: the provider's
    /// version taken, merged with the ledger's edits, or a conflict settled so. A person
    /// listed with the address it holds is no move (every outcome keeps that address), and
    /// is not planned here.
    async fn moves(&self, tx: &mut Tx, view: &GroupView) -> Result<Moves, Abort> {
        let mut moves = Moves::new();
        for i in 0..view.records.len() {
            let Some(held) = self.changed_linked_email(view, i) else {
                continue;
            };
            if mapped_email(&view.mapped[i]).as_deref() == Some(held) {
                continue;
            }
            let listed = self
                .observe(tx, view, i, view.mapped[i].clone(), &HashSet::new())
                .await?;
            let candidates = listed.candidate_sides();
            let action = plan_remote(&listed.observation(self, &candidates));
            let (Ok(mapped), Some(ledger)) = (&listed.mapped, listed.ledger) else {
                continue;
            };
            let listed_email = email_of(&mapped.record);
            let becomes = action.linked_becomes(&mapped.record).map(email_of);
            let (to, taken) = match becomes {
                Some(to) if to.as_deref() != Some(held) => (to, true),
                _ if listed_email.as_deref() != Some(held) => (listed_email, false),
                _ => continue,
            };
            moves.insert(
                ledger.id.clone(),
                Move {
                    index: i,
                    to,
                    taken,
                },
            );
        }
        Ok(moves)
    }

    /// The address of the ledger person record `i` is linked to, when both are live and
    /// the provider's version changed since the last sync (only then can it move).
    fn changed_linked_email<'v>(&self, view: &'v GroupView, i: usize) -> Option<&'v str> {
        view.mapped[i].as_ref().ok()?;
        let link = view
            .links
            .get(&view.records[i].id)
            .filter(|l| l.is_live() && view.remote_hashes[i] != l.remote_hash)?;
        let ledger = view
            .linked
            .get(&link.canonical_id)
            .filter(|r| r.is_live())?;
        person_email(&ledger.record)
    }

    /// The text of a refusal, as recorded for the refused person.
    async fn refusal_reason(
        &self,
        tx: &mut Tx,
        view: &GroupView,
        refusal: Refusal,
        moves: &Moves,
    ) -> Result<String, Abort> {
        match refusal {
            Refusal::Shared { email, first } => Ok(self.shared_reason(&email, first.as_str())),
            Refusal::Held { email, holder } => {
                let moving = moves.get(&holder);
                self.held_reason(tx, view, &email, &holder, moving).await
            }
        }
    }

    /// Writes the people in `view.released` without an address, before the group's
    /// records are applied: each is written again with its new address in the same
    /// transaction (`leaving` chose only people the planner writes so), which
    /// `check_released` proves before the group is written.
    pub(super) async fn release_addresses(
        &self,
        tx: &mut Tx,
        view: &GroupView,
    ) -> Result<(), Abort> {
        for Released { id, .. } in &view.released {
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

    /// The safety net of `release_addresses`: after the group's records are applied, each
    /// released person holds the address the planner gave it. One that does not (the
    /// apply step and the planner disagree: a bug) would leave an address-less version in
    /// the ledger: the cycle stops instead, and the transaction rolls back.
    pub(super) async fn check_released(&self, tx: &mut Tx, view: &GroupView) -> Result<(), Abort> {
        if view.released.is_empty() {
            return Ok(());
        }
        let ids: Vec<&CanonicalId> = view.released.iter().map(|r| &r.id).collect();
        let now = tx.get_records(Kind::Person, &ids).await?;
        let holds = |id: &CanonicalId| now.get(id).and_then(|r| person_email(&r.record));
        unwritten_release(&view.released, holds).map_err(Abort::Invariant)
    }

    /// Why a person is refused the address `email` that `holder` holds; `moving`: the
    /// holder's own move in this group, which was refused or which the ledger does not take.
    async fn held_reason(
        &self,
        tx: &mut Tx,
        view: &GroupView,
        email: &str,
        holder: &CanonicalId,
        moving: Option<&Move>,
    ) -> Result<String, Abort> {
        let name = match view.linked.get(holder) {
            Some(r) => display_name(&r.record).map(str::to_owned),
            None => tx
                .get_record(Kind::Person, holder)
                .await?
                .and_then(|r| display_name(&r.record).map(str::to_owned)),
        };
        let who = format!("{} (id {holder})", name.as_deref().unwrap_or("a person"));
        let Some(m) = moving else {
            return Ok(format!(
                "its e-mail {email} is another ledger person's, {who} (one person per \
                 address), and this record is not that person: it is not synced until one of \
                 the two changes address"
            ));
        };
        let to = m.to.as_deref().unwrap_or("no address");
        let (provider, policy) = (&self.instance.name, self.settings.policy.name());
        Ok(if m.taken {
            format!(
                "its e-mail {email} is held by {who}, whose move to {to} is refused itself: \
                 this waits for it"
            )
        } else if !self.instance.mode.pulls() {
            format!(
                "its e-mail {email} is held by {who}, whose move to {to} in {provider} never \
                 reaches the ledger ({provider} only receives): this is not synced until \
                 one of the two addresses changes in the ledger"
            )
        } else {
            format!(
                "its e-mail {email} is held by {who}, whose move to {to} in {provider} the \
                 ledger does not take: that person changed at another provider too, in the \
                 same field, and the conflict policy ({policy}) keeps the ledger's version. \
                 Make the fields both changed agree at both providers, and both land"
            )
        })
    }

    fn shared_reason(&self, email: &str, first: &str) -> String {
        format!(
            "another person of {} (id {first}) has the e-mail {email}, and the ledger keeps one \
             person per address: this one is not synced until one of the two changes address",
            self.instance.name
        )
    }
}

/// The group's listed people with an address, in claiming order (linked people first:
/// they keep the address they hold, then listing order), each address's holder looked up
/// once.
async fn claimants(tx: &mut Tx, view: &GroupView) -> Result<Vec<Claimant>, Abort> {
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
    let mut claimants = Vec::new();
    for index in order {
        let Some(email) = mapped_email(&view.mapped[index]) else {
            continue;
        };
        let target = becomes(index);
        // A live person holding the address already: nobody else can (the common case,
        // asked nothing of the ledger).
        let holder = match target {
            Some(t) if t.is_live() && holds(t, &email) => None,
            _ => holder_other_than(tx, &email, target.map(|t| &t.id)).await?,
        };
        claimants.push(Claimant {
            index,
            email,
            holder,
        });
    }
    Ok(claimants)
}

/// Which `claimants` may write their address, given the people `leaving` theirs (of the
/// `moves` taken, those not refused): the first to claim an address has it.
fn claim_addresses(
    view: &GroupView,
    claimants: &[Claimant],
    leaving: &Leaving,
    moves: &Moves,
) -> Claims {
    let mut claimed: HashMap<&str, &RemoteId> = HashMap::new();
    let mut claims = Claims {
        refused: (0..view.records.len()).map(|_| None).collect(),
        released: Vec::new(),
    };
    for c in claimants {
        let email = c.email.clone();
        // A ledger holder that stays is named first: the refusal lasts until it moves.
        let refusal = match (&c.holder, claimed.get(c.email.as_str())) {
            (Some(holder), _) if !leaving.contains(holder) => Some(Refusal::Held {
                email,
                holder: holder.clone(),
            }),
            (_, Some(first)) => Some(Refusal::Shared {
                email,
                first: (*first).clone(),
            }),
            (None, None) => None,
            (Some(holder), None) => {
                let becomes = moves.get(holder).and_then(|m| m.to.clone());
                claims.released.push(Released {
                    id: holder.clone(),
                    becomes,
                });
                None
            }
        };
        match refusal {
            Some(refusal) => claims.refused[c.index] = Some(refusal),
            None => {
                claimed.insert(&c.email, &view.records[c.index].id);
            }
        }
    }
    claims
}

/// The live ledger person holding `email` (stored normalised: see `email_of`), when it is
/// not `other_than` (the ledger person a record would be written as; `None`: a new one).
pub(crate) async fn holder_other_than(
    tx: &mut Tx,
    email: &str,
    other_than: Option<&CanonicalId>,
) -> Result<Option<CanonicalId>, LedgerError> {
    let holder = tx.live_person_with_email(email).await?;
    Ok(holder.filter(|h| other_than != Some(h)))
}

/// `Err` naming the first released person that does not hold the address the planner
/// gave it (`holds`: the address each holds now).
fn unwritten_release<'a>(
    released: &[Released],
    holds: impl Fn(&CanonicalId) -> Option<&'a str>,
) -> Result<(), String> {
    match released
        .iter()
        .find(|r| holds(&r.id) != r.becomes.as_deref())
    {
        None => Ok(()),
        Some(r) => Err(format!(
            "person {} was released from its e-mail address for another to take, but not \
             written again with {}: nothing of this group is kept (a bug: please report it)",
            r.id,
            r.becomes.as_deref().unwrap_or("no address")
        )),
    }
}

/// A person's address as the ledger stores it, normalised (`None`: not a person, or none).
pub(crate) fn email_of(record: &Record<CanonicalId>) -> Option<String> {
    person_email(&record.clone().normalised()).map(str::to_owned)
}

/// A mapped person's address as the ledger would store it (`None`: refused, not a person,
/// or none).
fn mapped_email(mapped: &Result<Mapped, String>) -> Option<String> {
    email_of(&mapped.as_ref().ok()?.record)
}

/// A person's display name (`None`: not a person).
fn display_name(record: &Record<CanonicalId>) -> Option<&str> {
    match record {
        Record::Person(p) => Some(&p.display_name),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn released(id: &str, becomes: Option<&str>) -> Released {
        Released {
            id: CanonicalId(id.into()),
            becomes: becomes.map(str::to_owned),
        }
    }

    #[test]
    fn released_people_written_again_as_planned_pass() {
        let group = [
            released("ada", Some("bob@example.com")),
            released("bob", None),
        ];
        let holds = |id: &CanonicalId| (id.0 == "ada").then_some("bob@example.com");
        assert_eq!(unwritten_release(&group, holds), Ok(()));
    }

    #[test]
    fn a_released_person_left_without_its_new_address_stops_the_group() {
        let group = [released("ada", Some("bob@example.com"))];
        let err = unwritten_release(&group, |_| None).unwrap_err();
        assert!(
            err.contains("ada") && err.contains("bob@example.com"),
            "{err}"
        );
        // Written again, but not with the planned address: stopped too.
        let err = unwritten_release(&group, |_| Some("ada@example.com")).unwrap_err();
        assert!(err.contains("not written again"), "{err}");
    }
}
