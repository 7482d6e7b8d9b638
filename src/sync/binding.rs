//! Account binding: the account an instance reaches is compared, first thing in every
//! cycle, with the one it was bound to on its first successful cycle. Another account (a
//! URL or token now pointing elsewhere, a server reinstalled at the same URL) stops the
//! instance before anything is listed or written: the ledger's links mean nothing there,
//! and syncing would read every linked record as deleted.

use super::engine::{Abort, Cycle};

impl Cycle<'_> {
    /// The account this cycle reaches, after checking it is the bound one (or none is).
    pub(crate) async fn check_account(&mut self) -> Result<String, Abort> {
        let now = self
            .instance
            .provider
            .account_identity()
            .await
            .map_err(Abort::Provider)?;
        let bound = self
            .ledger
            .read()
            .await?
            .account_binding(self.name())
            .await?;
        match bound {
            Some(b) if b.identity != now => Err(Abort::OtherAccount(format!(
                "{name} reaches another account than the one this ledger synced with: it is \
                 bound to \"{bound}\" (since {since}) but now connects to \"{now}\". Nothing \
                 was listed or written. If the new account is meant, run `timeweave rebind \
                 {name}` (its links are dropped and its records matched again by natural key; \
                 nothing is deleted); otherwise fix base_url or the credentials of \
                 [providers.{name}] in the config.",
                name = self.name(),
                bound = b.identity,
                since = b.bound_at.format("%Y-%m-%d %H:%M UTC"),
            ))),
            _ => Ok(now),
        }
    }
}
