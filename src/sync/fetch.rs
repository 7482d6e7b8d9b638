//! Records fetched by id rather than listed: a linked record a complete listing did not
//! show (`deletions.rs`), or any record a change trail names. Each is read with `get` and
//! applied the way the pull applies a listed record; a linked one the provider confirms
//! absent is settled as gone.

use timeweave_contract::{Kind, RemoteId};

use super::engine::{Abort, Cycle};

impl Cycle<'_> {
    /// Reads each of `ids` (of `kind`) with `get` and applies the answer, one transaction
    /// per id: a record goes the pull's way (`process_remote`); the confirmed absence of a
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
                (Some(r), _) => self.process_remote(&mut tx, &r).await?,
                (None, Some(link)) => self.settle_gone(&mut tx, &link).await?,
                (None, None) => {}
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;
    use timeweave_contract::{Client, Kind, Record, RemoteId};

    use super::super::engine::{Cycle, CycleOptions, Engine, StopFlag};
    use super::super::{ProviderHandle, SyncSettings};
    use crate::config::Mode;
    use crate::ledger::Ledger;
    use timeweave_testsupport::memory::MemoryProvider;

    /// The configured defaults (the one instance a config needs is not used).
    fn settings() -> SyncSettings {
        SyncSettings::from_config(&super::super::tests::minimal_config())
    }

    fn client(name: &str) -> Record<RemoteId> {
        Record::Client(Client {
            name: name.into(),
            email: None,
            notes: None,
            archived: false,
        })
    }

    /// What a change trail needs: ids it names are read and applied whether or not they
    /// are linked yet; an id that names nothing and no link is passed over quietly.
    #[tokio::test]
    async fn ids_fetched_are_applied_linked_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).await.unwrap();
        let engine = Engine::new(ledger.clone(), settings(), StopFlag::new());
        let provider = Arc::new(MemoryProvider::new(7));
        let acme = provider.put(client("Acme"));
        let instance = ProviderHandle {
            push_concurrency: 1,
            ..ProviderHandle::new("a", provider.clone(), Mode::Both)
        };
        let mut cycle = Cycle::new(
            &ledger,
            &engine,
            &instance,
            CycleOptions::default(),
            Utc::now(),
        );
        let nowhere = RemoteId::from("no-such-id");
        cycle
            .fetch_and_apply(Kind::Client, &[acme.clone(), nowhere], "in a test")
            .await
            .unwrap();

        assert!(cycle.errors.is_empty(), "{:?}", cycle.errors);
        assert_eq!(cycle.counts.created, 1);
        let mut tx = ledger.read().await.unwrap();
        let links = tx
            .links_by_remote("a", Kind::Client, &[&acme])
            .await
            .unwrap();
        let link = links.get(&acme).expect("the fetched client is linked");
        let stored = tx
            .get_record(Kind::Client, &link.canonical_id)
            .await
            .unwrap();
        assert!(matches!(
            stored.map(|s| s.record),
            Some(Record::Client(Client { name, .. })) if name == "Acme"
        ));
    }
}
