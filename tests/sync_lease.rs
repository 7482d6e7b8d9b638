//! `timeweave sync` on a shared PostgreSQL ledger works each instance under its lease, as a
//! daemon does (`once::run_leased`, what the binary's `sync` calls): while a live other
//! process holds an instance's lease nothing is synced (no provider request, no ledger row)
//! and the error names the instance and its holder; otherwise every instance's lease is the
//! sync's for the whole run (another owner's `acquire` gets `None`) and released at the end.
//!
//! Runs on the throwaway cluster of `scripts/postgres-cluster`; skipped without it, failing
//! instead when `CI` or `TIMEWEAVE_REQUIRE_POSTGRES` is set.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use timeweave::leases::LeaseKeeper;
use timeweave::ledger::postgres::{self, testing, LeaseHolder};
use timeweave::ledger::Ledger;
use timeweave::once::{self, OnceError};
use timeweave::sync::{Engine, StopFlag};
use timeweave_contract::Kind;

use support::{Sims, NAMES};

const TTL: Duration = Duration::from_secs(30);
/// Another `timeweave run`, as its lease owner is named (`HOST/PID/START`).
const OTHER: &str = "other-node/4242/1700000000";

struct World {
    sims: Sims,
    ledger: Ledger,
    pool: PgPool,
    keeper: Arc<LeaseKeeper>,
}

/// The three simulators, a scratch PostgreSQL ledger, and this process's lease keeper;
/// `None` when the test is skipped (no cluster).
async fn world(test: &str) -> Option<World> {
    let ledger = testing::scratch_ledger(test).await?;
    let pool = ledger.postgres_pool().expect("a PostgreSQL ledger").clone();
    let keeper = LeaseKeeper::for_ledger(&ledger, TTL).expect("leases on PostgreSQL");
    Some(World {
        sims: Sims::start().await,
        ledger,
        pool,
        keeper,
    })
}

impl World {
    async fn sync(&self) -> Result<once::OnceOutcome, OnceError> {
        let engine = Engine::new(
            self.ledger.clone(),
            support::sync_settings(),
            StopFlag::new(),
        );
        let leases = Some(self.keeper.clone());
        once::run_leased(engine, self.sims.handles(), false, false, leases).await
    }

    async fn lease(&self, provider: &str) -> Option<LeaseHolder> {
        let all = postgres::holders(&self.pool).await.unwrap();
        all.into_iter().find(|l| l.provider == provider)
    }
}

#[tokio::test]
async fn an_instance_a_live_daemon_holds_is_not_synced_and_its_holder_is_named() {
    let test = "an_instance_a_live_daemon_holds_is_not_synced_and_its_holder_is_named";
    let Some(w) = world(test).await else {
        return;
    };
    w.sims.book_ring(5);
    let held = NAMES[2];
    let theirs = postgres::acquire(&w.pool, held, OTHER, TTL).await.unwrap();
    let theirs = theirs.expect("the lease was free");
    let served: Vec<u64> = w.sims.all().iter().map(|s| s.requests_served()).collect();

    let refused = w.sync().await;

    let Err(e @ OnceError::HeldElsewhere(_)) = refused else {
        panic!("synced beside a live holder of {held}");
    };
    let said = e.to_string();
    assert!(said.contains(&format!("instance {held}")), "{said}");
    assert!(said.contains(OTHER), "the holder is named: {said}");
    assert!(said.contains("timeweave status"), "{said}");
    let now: Vec<u64> = w.sims.all().iter().map(|s| s.requests_served()).collect();
    assert_eq!(now, served, "no provider was sent a request");
    let mut tx = w.ledger.read().await.unwrap();
    assert!(tx.recent_runs(None, 10).await.unwrap().is_empty(), "no run");
    for name in NAMES {
        let links = tx.count_live_links(name, Kind::TimeEntry).await.unwrap();
        assert_eq!(links, 0, "no ledger rows for {name}");
    }
    drop(tx);
    let still = w.lease(held).await.expect("the lease row");
    assert_eq!(
        (still.owner.as_deref(), still.token),
        (Some(OTHER), theirs.token),
        "the holder keeps its lease"
    );
    for name in &NAMES[..2] {
        let lease = w.lease(name).await.expect("taken, then given back");
        assert_eq!(lease.owner, None, "{name}'s lease is released");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_holds_every_lease_while_it_works_and_releases_them_at_the_end() {
    let test = "the_sync_holds_every_lease_while_it_works_and_releases_them_at_the_end";
    let Some(w) = world(test).await else {
        return;
    };
    let expected = w.sims.book_ring(10);
    let done = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(contest_leases(
        w.pool.clone(),
        w.keeper.owner().to_owned(),
        done.clone(),
    ));

    // Had another owner taken a lease while the sync worked, the sync's next write for
    // that instance would have been refused (`LeaseLost`): it ends in an error.
    let outcome = w.sync().await.expect("the sync");
    done.store(true, Ordering::SeqCst);
    let contested = watcher.await.expect("the watcher");

    assert!(outcome.clean(), "{}", outcome.summary());
    support::assert_exactly_once(&w.sims.contents().await, &expected);
    let all: BTreeSet<&str> = NAMES.into_iter().collect();
    assert_eq!(
        contested
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        all,
        "every instance was the sync's while it ran: another owner could not take it"
    );
    for name in NAMES {
        let lease = w.lease(name).await.expect("a lease row");
        assert_eq!(lease.owner, None, "{name}'s lease is released at the end");
        let taken = postgres::acquire(&w.pool, name, OTHER, TTL).await.unwrap();
        assert!(taken.is_some(), "a daemon takes {name} at once");
    }
}

/// Until `done`: every instance whose live lease `owner` holds is tried by another owner;
/// returns the instances it could not take. One it took (the sync had just released it at
/// its end) is given back at once: taken while the sync still worked, the sync's next
/// write would have been refused and the sync failed.
async fn contest_leases(pool: PgPool, owner: String, done: Arc<AtomicBool>) -> BTreeSet<String> {
    let mut contested = BTreeSet::new();
    while !done.load(Ordering::SeqCst) {
        for l in postgres::holders(&pool).await.unwrap() {
            if !(l.live && l.owner.as_deref() == Some(owner.as_str())) {
                continue;
            }
            match postgres::acquire(&pool, &l.provider, OTHER, TTL)
                .await
                .unwrap()
            {
                None => {
                    contested.insert(l.provider);
                }
                Some(taken) => {
                    postgres::release(&pool, &taken).await.unwrap();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    contested
}
