//! Records fetched by id rather than listed: a linked record a complete listing did not
//! show (`deletions.rs`), or any record a change trail names. Each is read with `get` and
//! applied the way the pull applies a listed record; a linked one the provider confirms
//! absent is settled as gone.

use std::collections::HashSet;

use timeweave_contract::{Kind, RemoteId};

use super::engine::{Abort, Cycle};

impl Cycle<'_> {
    /// Reads each of `ids` (of `kind`) with `get` and applies the answer, one transaction
    /// per id: a record goes the pull's way (`apply_group`); the confirmed absence of a
    /// linked record settles it as gone (`settle_gone`). A failed read is an error of the
    /// cycle named with `why` (a fatal one aborts it), and the rest go on.
    pub(crate) async fn fetch_and_apply(
        &mut self,
        kind: Kind,
        ids: &[RemoteId],
        why: &str,
    ) -> Result<(), Abort> {
        let wanted: Vec<&RemoteId> = ids.iter().collect();
        let mut links = self
            .ledger
            .read()
            .await?
            .links_by_remote(&self.instance.name, kind, &wanted)
            .await?;
        for id in ids {
            self.check_stop()?;
            let answer = match self.instance.provider.get(kind, id).await {
                Ok(answer) => answer,
                Err(e) => {
                    self.provider_error(&format!("reading {kind} {id} ({why})"), e)?;
                    continue;
                }
            };
            let mut tx = self.ledger.write().await?;
            match (answer, links.remove(id)) {
                (Some(r), _) => {
                    let no_repeats = HashSet::new();
                    self.apply_group(&mut tx, r.kind(), vec![r], &no_repeats)
                        .await?
                }
                (None, Some(link)) => self.settle_gone(&mut tx, &link).await?,
                (None, None) => {}
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
