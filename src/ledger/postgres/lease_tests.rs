//! Leases against a real PostgreSQL (the throwaway cluster of `scripts/postgres-cluster`):
//! racing owners, expiry handing over, stale tokens refused inside write transactions.

use std::time::Duration;

use sqlx::postgres::PgPool;

use super::testing::{cluster_url, scratch_pool};
use super::*;
use crate::ledger::LedgerError;

const MINUTE: Duration = Duration::from_secs(60);
/// A lease that has run out as soon as it is taken: expiry without waiting.
const EXPIRED: Duration = Duration::ZERO;

/// A migrated scratch database, or `None` when the test is skipped.
async fn ledger(test: &str) -> Option<PgPool> {
    let cluster = cluster_url(test)?;
    let pool = scratch_pool(&cluster).await.expect("scratch database");
    migrate(&pool, "scratch").await.expect("migrations apply");
    Some(pool)
}

#[tokio::test]
async fn migrations_apply_once_and_again_without_change() {
    let Some(pool) = ledger("migrations_apply_once_and_again_without_change").await else {
        return;
    };
    migrate(&pool, "scratch")
        .await
        .expect("a second run changes nothing");
    assert_eq!(
        applied_migrations(&pool).await.unwrap(),
        embedded_migrations()
    );
    let facts = inspect(&pool).await.unwrap();
    assert!(facts.supported(), "{facts:?}");
    assert!(
        facts.can_migrate() && facts.pending_migrations == 0,
        "{facts:?}"
    );
}

#[tokio::test]
async fn of_owners_racing_for_a_free_lease_exactly_one_wins() {
    let Some(pool) = ledger("of_owners_racing_for_a_free_lease_exactly_one_wins").await else {
        return;
    };
    let racers = (0..8).map(|n| {
        let pool = pool.clone();
        tokio::spawn(async move { acquire(&pool, "tt", &format!("node-{n}"), MINUTE).await })
    });
    let results = futures::future::join_all(racers).await;
    let winners: Vec<Lease> = results
        .into_iter()
        .filter_map(|r| r.expect("task").expect("query"))
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(winners[0].token, FencingToken(1));
    let seen = holders(&pool).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].owner.as_deref(), Some(winners[0].owner.as_str()));
    assert!(seen[0].live);
}

#[tokio::test]
async fn a_live_lease_stays_with_its_holder_who_may_take_it_again() {
    let Some(pool) = ledger("a_live_lease_stays_with_its_holder_who_may_take_it_again").await
    else {
        return;
    };
    let a = acquire(&pool, "tt", "a", MINUTE)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(acquire(&pool, "tt", "b", MINUTE).await.unwrap(), None);
    let again = acquire(&pool, "tt", "a", MINUTE)
        .await
        .unwrap()
        .expect("its own");
    assert_eq!(again.token, a.token, "the holder keeps its token");
    let renewed = renew(&pool, &a, MINUTE).await.unwrap().expect("still held");
    assert_eq!(renewed.token, a.token);
    assert!(renewed.remaining > Duration::ZERO);
    // Once it has run out, even its holder takes the next token.
    let short = acquire(&pool, "tt", "a", EXPIRED)
        .await
        .unwrap()
        .expect("its own");
    assert_eq!(short.token, a.token, "still live when taken again");
    let later = acquire(&pool, "tt", "a", MINUTE)
        .await
        .unwrap()
        .expect("its own");
    assert_eq!(later.token, FencingToken(a.token.0 + 1));
    // Another instance's lease is another row.
    let other = acquire(&pool, "tr", "b", MINUTE)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(other.token, FencingToken(1));
}

#[tokio::test]
async fn an_expired_lease_passes_to_the_next_owner_with_the_next_token() {
    let Some(pool) = ledger("an_expired_lease_passes_to_the_next_owner_with_the_next_token").await
    else {
        return;
    };
    let a = acquire(&pool, "tt", "a", EXPIRED)
        .await
        .unwrap()
        .expect("free");
    let b = acquire(&pool, "tt", "b", MINUTE)
        .await
        .unwrap()
        .expect("expired: free");
    assert_eq!(b.token, FencingToken(a.token.0 + 1));
    assert_eq!(
        renew(&pool, &a, MINUTE).await.unwrap(),
        None,
        "a's lease moved on"
    );
    assert!(
        !release(&pool, &a).await.unwrap(),
        "a cannot release b's lease"
    );
    let seen = holders(&pool).await.unwrap();
    assert_eq!(seen[0].owner.as_deref(), Some("b"));
}

#[tokio::test]
async fn an_expired_lease_no_one_took_can_still_be_renewed() {
    let Some(pool) = ledger("an_expired_lease_no_one_took_can_still_be_renewed").await else {
        return;
    };
    let a = acquire(&pool, "tt", "a", EXPIRED)
        .await
        .unwrap()
        .expect("free");
    assert!(!holders(&pool).await.unwrap()[0].live);
    let renewed = renew(&pool, &a, MINUTE)
        .await
        .unwrap()
        .expect("token still current");
    assert_eq!(renewed.token, a.token);
    assert!(holders(&pool).await.unwrap()[0].live);
}

#[tokio::test]
async fn a_released_lease_is_free_at_once_and_its_token_is_refused() {
    let Some(pool) = ledger("a_released_lease_is_free_at_once_and_its_token_is_refused").await
    else {
        return;
    };
    let a = acquire(&pool, "tt", "a", MINUTE)
        .await
        .unwrap()
        .expect("free");
    assert!(release(&pool, &a).await.unwrap());
    let mut tx = pool.begin().await.unwrap();
    let refused = check_fence(&mut tx, "tt", a.token).await;
    assert!(
        matches!(refused, Err(LedgerError::LeaseLost { .. })),
        "{refused:?}"
    );
    drop(tx);
    let b = acquire(&pool, "tt", "b", MINUTE)
        .await
        .unwrap()
        .expect("released: free");
    assert_eq!(b.token, FencingToken(2), "tokens only grow");
}

#[tokio::test]
async fn a_write_under_a_stale_token_is_refused_and_one_under_the_current_token_lands() {
    let Some(pool) =
        ledger("a_write_under_a_stale_token_is_refused_and_one_under_the_current_token_lands")
            .await
    else {
        return;
    };
    let a = acquire(&pool, "tt", "a", EXPIRED)
        .await
        .unwrap()
        .expect("free");
    let b = acquire(&pool, "tt", "b", MINUTE)
        .await
        .unwrap()
        .expect("taken over");

    let mut stale = pool.begin().await.unwrap();
    write_cursor(&mut stale, "from a").await;
    let refused = check_fence(&mut stale, "tt", a.token).await;
    assert!(
        matches!(&refused, Err(LedgerError::LeaseLost { provider, token }) if provider == "tt" && *token == a.token.0),
        "{refused:?}"
    );
    drop(stale); // rolled back, as the caller does on the error

    let mut current = pool.begin().await.unwrap();
    write_cursor(&mut current, "from b").await;
    check_fence(&mut current, "tt", b.token)
        .await
        .expect("b holds the lease");
    current.commit().await.unwrap();
    assert_eq!(cursor(&pool).await.as_deref(), Some("from b"));
    assert!(
        check_fence(&mut pool.acquire().await.unwrap(), "nobody", b.token)
            .await
            .is_err(),
        "an instance without a lease fences every token"
    );
}

#[tokio::test]
async fn a_takeover_waits_for_the_fenced_write_in_flight_then_fences_it_out() {
    let Some(pool) =
        ledger("a_takeover_waits_for_the_fenced_write_in_flight_then_fences_it_out").await
    else {
        return;
    };
    let a = acquire(&pool, "tt", "a", EXPIRED)
        .await
        .unwrap()
        .expect("free");
    let mut in_flight = pool.begin().await.unwrap();
    write_cursor(&mut in_flight, "from a").await;
    // The takeover queues behind the write's lock on the lease row: it cannot slip in
    // between the check and the commit.
    let takeover = takeover_behind(&pool, &mut in_flight, &a).await;
    in_flight.commit().await.unwrap();
    let b = takeover
        .await
        .unwrap()
        .unwrap()
        .expect("expired: taken over");
    assert_eq!(b.token, FencingToken(2));
    assert_eq!(
        cursor(&pool).await.as_deref(),
        Some("from a"),
        "a's write landed first"
    );

    let mut late = pool.begin().await.unwrap();
    assert!(check_fence(&mut late, "tt", a.token).await.is_err());
}

/// Checks `a`'s fence in `in_flight` (locking the lease row, as a write in its commit
/// window does), then starts b's takeover and returns once it queues behind that lock
/// (observed on the server, not timed).
async fn takeover_behind(
    pool: &PgPool,
    in_flight: &mut sqlx::PgConnection,
    a: &Lease,
) -> tokio::task::JoinHandle<crate::ledger::Result<Option<Lease>>> {
    check_fence(in_flight, "tt", a.token)
        .await
        .expect("still a's token");
    let takeover = tokio::spawn({
        let pool = pool.clone();
        async move { acquire(&pool, "tt", "b", MINUTE).await }
    });
    while !waiting_for_a_lock(pool).await {
        assert!(
            !takeover.is_finished(),
            "the takeover did not wait: {:?}",
            takeover.await
        );
        tokio::task::yield_now().await;
    }
    takeover
}

async fn write_cursor(tx: &mut sqlx::PgConnection, position: &str) {
    sqlx::query(
        "INSERT INTO cursors (provider, kind, deep_scan_position, updated_at) \
         VALUES ('tt', 'time_entry', $1, '2026-01-01T00:00:00Z') \
         ON CONFLICT (provider, kind) DO UPDATE SET deep_scan_position = EXCLUDED.deep_scan_position",
    )
    .bind(position)
    .execute(&mut *tx)
    .await
    .unwrap();
}

async fn cursor(pool: &PgPool) -> Option<String> {
    sqlx::query_scalar("SELECT deep_scan_position FROM cursors WHERE provider = 'tt'")
        .fetch_optional(pool)
        .await
        .unwrap()
        .flatten()
}

async fn waiting_for_a_lock(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
          WHERE datname = current_database() AND wait_event_type = 'Lock')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A process paused (SIGSTOP) inside a fenced write transaction holds the ledger's writer
/// lock. The server ends its session once it has been idle for the lease's ttl, so the
/// other processes write again (not after the connection's 60 s, nor with a lock timeout);
/// and when the paused process wakes after a takeover, its failed write is told as the
/// lost lease it is, not as a broken connection.
#[tokio::test]
async fn a_process_paused_inside_a_fenced_write_holds_the_ledger_no_longer_than_its_lease() {
    let test = "a_process_paused_inside_a_fenced_write_holds_the_ledger_no_longer_than_its_lease";
    let Some(ledger) = super::testing::scratch_ledger(test).await else {
        return;
    };
    let pool = ledger.postgres_pool().unwrap().clone();
    let a = acquire(&pool, "tt", "a", Duration::from_secs(1))
        .await
        .unwrap()
        .expect("free");
    let as_a = ledger.fenced(&a);
    let now = chrono::Utc::now();
    let mut paused = as_a.write().await.unwrap();
    paused.start_run("tt", "both", now).await.unwrap();

    // Another process's write waits for the writer lock, and gets it.
    let mut other = ledger
        .write()
        .await
        .expect("the paused transaction was ended: the writer lock is free");
    other.start_run("other", "both", now).await.unwrap();
    other.commit().await.unwrap();

    let b = acquire(&pool, "tt", "b", MINUTE).await.unwrap();
    assert!(b.is_some(), "a's lease ran out: b takes the instance over");
    let broken = paused.commit().await.expect_err("a's session was ended");
    assert!(
        !matches!(broken, LedgerError::LeaseLost { .. }),
        "the commit itself fails on the ended session: {broken}"
    );
    let told = as_a.explain_write_failure(broken).await;
    assert!(
        matches!(&told, LedgerError::LeaseLost { provider, token } if provider == "tt" && *token == a.token.0),
        "{told}"
    );
}

#[tokio::test]
async fn a_failed_fenced_write_under_a_lease_still_held_is_told_as_itself() {
    let test = "a_failed_fenced_write_under_a_lease_still_held_is_told_as_itself";
    let Some(ledger) = super::testing::scratch_ledger(test).await else {
        return;
    };
    let pool = ledger.postgres_pool().unwrap().clone();
    let a = acquire(&pool, "tt", "a", MINUTE)
        .await
        .unwrap()
        .expect("free");
    let failure = LedgerError::corrupt("test", "a write failed");
    let told = ledger.fenced(&a).explain_write_failure(failure).await;
    assert!(matches!(told, LedgerError::Corrupt { .. }), "{told}");
    let unfenced = ledger
        .explain_write_failure(LedgerError::corrupt("test", "x"))
        .await;
    assert!(
        matches!(unfenced, LedgerError::Corrupt { .. }),
        "{unfenced}"
    );
}

/// A takeover that asked before the lease ran out and waited for the row (a write of the
/// holder in its commit window) records when it really took the lease: never before the
/// previous holder's expiry.
#[tokio::test]
async fn a_takeover_that_waited_for_the_row_is_recorded_after_the_previous_expiry() {
    let Some(pool) =
        ledger("a_takeover_that_waited_for_the_row_is_recorded_after_the_previous_expiry").await
    else {
        return;
    };
    let brief = Duration::from_millis(300);
    let a = acquire(&pool, "tt", "a", brief)
        .await
        .unwrap()
        .expect("free");
    let mut in_flight = pool.begin().await.unwrap();
    let takeover = takeover_behind(&pool, &mut in_flight, &a).await;
    tokio::time::sleep(brief * 2).await;
    in_flight.commit().await.unwrap();
    let b = takeover
        .await
        .unwrap()
        .unwrap()
        .expect("expired: taken over");
    let seen = holders(&pool).await.unwrap();
    let now = seen.iter().find(|l| l.provider == "tt").unwrap();
    assert_eq!(now.token, b.token);
    assert!(
        now.acquired_at >= a.expires_at,
        "taken over at {} before a's lease ran out at {}",
        now.acquired_at,
        a.expires_at
    );
}
