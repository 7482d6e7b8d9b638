//! This process's leases on a shared PostgreSQL ledger (`timeweave run` on several nodes):
//! before each cycle of an instance its runner takes the instance's lease (or renews it,
//! when this process holds it already); while the cycle runs, a task renews it every third
//! of `lease_ttl`; every ledger write of the cycle is fenced by its token
//! (`Engine::run_cycle_fenced`). An instance another process holds is skipped. At shutdown
//! the leases are given up, so another node takes the instances over at once instead of
//! after `lease_ttl`. The lease rules themselves are in `ledger/postgres/lease.rs`.
//!
//! Besides the server's expiry, each held lease has a local deadline on this process's
//! monotonic clock: the time left the server reported, counted from before the request
//! was sent, so it always falls before the server's expiry. Provider writes go only before
//! it ([`LeaseKeeper::may_write`], checked by the transport right before each request
//! goes on the wire, after the limiter's wait): a node paused (SIGSTOP, a frozen VM)
//! or cut off past its lease sends nothing more to the provider when it wakes, while its
//! ledger writes are refused by the fencing token.
//!
//! `timeweave sync` on a shared PostgreSQL ledger works under the same leases, through the
//! same calls ([`LeaseKeeper::take_for_work`], [`LeaseKeeper::gate`], `keep_renewed`,
//! `release_all`): see `once.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::PgPool;

use crate::ledger::postgres::{acquire, holders, release, renew, Lease, LeaseHolder};
use crate::ledger::{Ledger, LedgerError};
use crate::process::ProcessId;
use crate::sync::ProviderHandle;

/// The leases this process holds, by instance.
pub struct LeaseKeeper {
    pool: PgPool,
    owner: String,
    ttl: Duration,
    held: Mutex<HashMap<String, Held>>,
}

/// A lease this process holds, and until when on its own clock it may write under it.
struct Held {
    lease: Lease,
    deadline: Instant,
}

/// What taking an instance's lease gave.
pub enum Taken {
    /// This process works the instance under this lease; `new` when it was not this
    /// process's before (first cycle, or a takeover: reconcile as after a crash).
    Held { lease: Lease, new: bool },
    /// Another process holds it.
    Elsewhere,
}

impl LeaseKeeper {
    /// A keeper for `ledger` when it is a shared PostgreSQL ledger; `None` on SQLite.
    pub fn for_ledger(ledger: &Ledger, ttl: Duration) -> Option<Arc<LeaseKeeper>> {
        let pool = ledger.postgres_pool()?.clone();
        Some(Arc::new(LeaseKeeper {
            pool,
            owner: owner_name(),
            ttl,
            held: Mutex::new(HashMap::new()),
        }))
    }

    /// This process as lease owner: host name and process id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes (or renews) `provider`'s lease for a cycle.
    pub async fn take(&self, provider: &str) -> Result<Taken, LedgerError> {
        let before = self.held(provider).map(|l| l.token);
        let asked = Instant::now();
        let mut taken = acquire(&self.pool, provider, &self.owner, self.ttl)
            .await?
            .map(|l| (l, asked));
        if let Some((lease, _)) = taken.as_ref().filter(|(l, asked)| came_late(l, *asked)) {
            // The answer took most of the lease (the server waited for a lock, say): its
            // local deadline would close the send gate at once. A renewal asked now gives
            // one this cycle can work under.
            let asked = Instant::now();
            taken = renew(&self.pool, lease, self.ttl)
                .await?
                .map(|l| (l, asked));
        }
        match taken {
            Some((lease, asked)) => {
                let new = before != Some(lease.token);
                self.hold(lease.clone(), asked);
                Ok(Taken::Held { lease, new })
            }
            None => {
                self.lock().remove(provider);
                Ok(Taken::Elsewhere)
            }
        }
    }

    /// Takes (or renews) `provider`'s lease to work it on `ledger`. A lease new to this
    /// process: the previous holder's cycles that were left running are marked interrupted
    /// (its intents are reconciled by the next cycle, as after a crash).
    pub async fn take_for_work(
        &self,
        ledger: &Ledger,
        provider: &str,
    ) -> Result<Taken, LedgerError> {
        let taken = self.take(provider).await?;
        if let Taken::Held { lease, new: true } = &taken {
            tracing::info!(
                provider,
                owner = self.owner(),
                token = lease.token.0,
                "lease taken: this process works the instance"
            );
            let fenced = ledger.fenced(lease);
            if let Err(e) = mark_interrupted(&fenced, provider).await {
                return Err(fenced.explain_write_failure(e).await);
            }
        }
        Ok(taken)
    }

    /// Lets `handle`'s transport send a request only while this process holds the
    /// instance's lease, before its local deadline ([`LeaseKeeper::may_write`]).
    pub fn gate(self: &Arc<Self>, handle: &ProviderHandle) {
        if let Some(stats) = &handle.stats {
            let (leases, name) = (self.clone(), handle.name.clone());
            stats.send_gate.install(move || leases.may_write(&name));
        }
    }

    /// Who holds the leases of `providers` as the ledger says now, in one read (an
    /// instance that never had a lease is left out).
    pub async fn holders_of(&self, providers: &[&str]) -> Result<Vec<LeaseHolder>, LedgerError> {
        let all = holders(&self.pool).await?;
        Ok(all
            .into_iter()
            .filter(|l| providers.contains(&l.provider.as_str()))
            .collect())
    }

    /// Renews `lease` every third of the ttl until the returned task is aborted (when the
    /// cycle ends); stops once the lease moved on.
    pub fn keep_renewed(self: &Arc<Self>, lease: Lease) -> tokio::task::JoinHandle<()> {
        let keeper = self.clone();
        tokio::spawn(async move {
            let mut lease = lease;
            loop {
                tokio::time::sleep(keeper.ttl / 3).await;
                let asked = Instant::now();
                match renew(&keeper.pool, &lease, keeper.ttl).await {
                    Ok(Some(renewed)) => {
                        keeper.hold(renewed.clone(), asked);
                        lease = renewed;
                    }
                    Ok(None) => {
                        keeper.lock().remove(&lease.provider);
                        tracing::warn!(provider = %lease.provider, "the lease moved to another process: this cycle's writes are refused from now on");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(provider = %lease.provider, "cannot renew the lease: {e}")
                    }
                }
            }
        })
    }

    /// Gives every held lease up (clean shutdown).
    pub async fn release_all(&self) {
        let held: Vec<Lease> = self.lock().drain().map(|(_, h)| h.lease).collect();
        for lease in held {
            if let Err(e) = release(&self.pool, &lease).await {
                tracing::warn!(provider = %lease.provider, "cannot release the lease: {e}");
            }
        }
    }

    /// Whether a provider write of `provider` may go: this process holds its lease and the
    /// lease's local deadline has not passed.
    pub fn may_write(&self, provider: &str) -> bool {
        self.lock()
            .get(provider)
            .is_some_and(|h| Instant::now() < h.deadline)
    }

    /// Whether this process held `provider`'s lease when it last asked.
    pub fn holds(&self, provider: &str) -> bool {
        self.lock().contains_key(provider)
    }

    fn hold(&self, lease: Lease, asked: Instant) {
        let deadline = asked + lease.remaining;
        let provider = lease.provider.clone();
        self.lock().insert(provider, Held { lease, deadline });
    }

    fn held(&self, provider: &str) -> Option<Lease> {
        self.lock().get(provider).map(|h| h.lease.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Marks `provider`'s cycles left running as interrupted, on `fenced` (a takeover).
async fn mark_interrupted(fenced: &Ledger, provider: &str) -> Result<(), LedgerError> {
    let mut tx = fenced.write().await?;
    tx.mark_interrupted_runs(Some(provider), Utc::now()).await?;
    tx.commit().await
}

/// Whether `lease`, asked for at `asked`, has less than two thirds of its time left on
/// this process's clock (its local deadline counts from the asking).
fn came_late(lease: &Lease, asked: Instant) -> bool {
    asked.elapsed() > lease.remaining / 3
}

/// `HOST/PID/START`: unique among the processes sharing a ledger.
fn owner_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}/{}", ProcessId::current())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::postgres::testing::scratch_ledger;

    /// A takeover whose answer took longer than the lease (the server held it behind a lock
    /// a paused process had on the lease row) still leaves this process a send gate open
    /// for its cycle: the lease is renewed once at once rather than held with a deadline
    /// already past.
    #[tokio::test]
    async fn a_lease_whose_taking_waited_past_its_ttl_is_renewed_and_may_be_written_under() {
        let test = "a_lease_whose_taking_waited_past_its_ttl_is_renewed_and_may_be_written_under";
        let Some(ledger) = scratch_ledger(test).await else {
            return;
        };
        let ttl = Duration::from_secs(1);
        let keeper = LeaseKeeper::for_ledger(&ledger, ttl).unwrap();
        let pool = ledger.postgres_pool().unwrap().clone();
        // A free lease row, locked by another process's transaction for longer than the ttl.
        acquire(&pool, "tt", "other", Duration::ZERO).await.unwrap();
        let mut blocker = pool.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM leases WHERE provider = 'tt' FOR SHARE")
            .execute(&mut *blocker)
            .await
            .unwrap();
        let taking = tokio::spawn({
            let keeper = keeper.clone();
            async move { keeper.take("tt").await }
        });
        tokio::time::sleep(ttl + ttl / 2).await;
        blocker.commit().await.unwrap();
        let taken = taking.await.unwrap().unwrap();
        assert!(matches!(taken, Taken::Held { new: true, .. }));
        assert!(
            keeper.may_write("tt"),
            "a lease just taken must let this process send"
        );
    }
}
