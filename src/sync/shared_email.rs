//! People of one provider who share an e-mail address. The ledger holds one live person
//! per address (people are matched across providers by it), but a provider may allow two
//! accounts with one address (an old and a new login, a shared mailbox). Writing both
//! would break that rule and fail the whole cycle, every cycle; instead the person who
//! holds the address keeps it (the one already linked, else the first listed), and the
//! other is refused with the reason on record: it and its entries wait until one of the
//! two changes address.

use std::collections::HashMap;

use timeweave_contract::{CanonicalId, Kind, Record, RemoteId, RemoteRecord};

use super::engine::{Abort, Cycle};
use super::observe::Mapped;
use crate::ledger::{Link, Tx};

impl Cycle<'_> {
    /// Refuses (sets to `Err`) the mapped people of a group whose address another person
    /// of this provider holds: in the ledger under another link, or earlier in the group.
    pub(super) async fn refuse_shared_emails(
        &self,
        tx: &mut Tx,
        records: &[RemoteRecord],
        links: &HashMap<RemoteId, Link>,
        mapped: &mut [Result<Mapped, String>],
    ) -> Result<(), Abort> {
        let own = |i: usize| {
            links
                .get(&records[i].id)
                .filter(|l| l.is_live())
                .map(|l| l.canonical_id.clone())
        };
        // Linked people first: they keep the address they hold.
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by_key(|&i| own(i).is_none());
        let mut claimed: HashMap<String, &RemoteId> = HashMap::new();
        for i in order {
            let Some(email) = email_of(&mapped[i]) else {
                continue;
            };
            let reason = match claimed.get(&email) {
                Some(first) => Some(self.shared_reason(&email, first.as_str())),
                None => self.held_elsewhere(tx, &email, own(i)).await?,
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

    /// Why a person with `email` cannot be written, when a live ledger person other than
    /// `own` holds the address and is this provider's already (another remote id): a
    /// person of no link here is matched instead, by the natural key.
    async fn held_elsewhere(
        &self,
        tx: &mut Tx,
        email: &str,
        own: Option<CanonicalId>,
    ) -> Result<Option<String>, Abort> {
        let Some(holder) = tx.live_person_with_email(email).await? else {
            return Ok(None);
        };
        if own.as_ref() == Some(&holder) {
            return Ok(None);
        }
        let name = &self.instance.name;
        let linked_here = tx.link_by_canonical(name, Kind::Person, &holder).await?;
        Ok(match (linked_here, own) {
            (Some(link), _) if link.is_live() => {
                Some(self.shared_reason(email, link.remote_id.as_str()))
            }
            // Linked, and changing to an address another ledger person holds.
            (_, Some(_)) => Some(format!(
                "its e-mail {email} is another person's in the ledger (one person per \
                 address): it and its entries wait until one of the two changes address"
            )),
            _ => None,
        })
    }

    fn shared_reason(&self, email: &str, holder: &str) -> String {
        format!(
            "another person of {} (id {holder}) has the e-mail {email}, and the ledger keeps one \
             person per address: this one and its entries wait until one of the two changes \
             address",
            self.instance.name
        )
    }
}

/// A mapped person's address as the ledger stores it (`None`: not a person, or none).
fn email_of(mapped: &Result<Mapped, String>) -> Option<String> {
    match mapped.as_ref().ok()?.record.clone().normalised() {
        Record::Person(p) => p.email,
        _ => None,
    }
}
