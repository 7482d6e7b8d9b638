//! Leases on provider instances in a shared PostgreSQL ledger: which process works which
//! instance, until when, and the fencing token that makes a write from a process that lost
//! its lease fail.
//!
//! The rules (the table is in `migrations/0002_leases.sql`):
//! - [`acquire`] takes an instance's lease when it is free (never taken, released, or
//!   expired), with the next fencing token; the holder acquiring its live lease again keeps
//!   its token and extends it (once expired, it gets the next token, like anyone). Two processes racing for a free lease: the row lock makes one of
//!   them win, the other gets `None`.
//! - [`renew`] extends the lease while its token is current, even past its expiry when no
//!   one took it over meanwhile; `None` once it moved.
//! - [`check_fence`] runs inside a write transaction: it locks the lease row (shared) and
//!   refuses with [`LedgerError::LeaseLost`] unless the token is still current and held. A
//!   takeover must lock the row exclusively, so it waits until that transaction has ended:
//!   either the write committed under a current token, or the takeover came first and the
//!   write is refused. Call it last, just before commit, to keep the lock short.
//! - Expiry is on the database server's clock; the processes' clocks play no part.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{FromRow, Row};

use crate::ledger::{LedgerError, Result};

/// A lease's fencing token: grows by one each time the instance changes hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FencingToken(pub i64);

/// A lease this process holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub provider: String,
    pub owner: String,
    pub token: FencingToken,
    /// When it runs out unless renewed (the server's clock).
    pub expires_at: DateTime<Utc>,
    /// The time left when the server answered: what to plan renewals on.
    pub remaining: Duration,
    /// How long it was taken (or last renewed) for.
    pub ttl: Duration,
}

/// An instance's lease as anyone sees it (for `status` and `/metrics`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseHolder {
    pub provider: String,
    /// `None`: released.
    pub owner: Option<String>,
    pub token: FencingToken,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Held and not expired.
    pub live: bool,
}

struct LeaseRow {
    provider: String,
    owner: Option<String>,
    fencing_token: i64,
    acquired_ms: i64,
    expires_ms: i64,
    remaining_ms: i64,
}

/// By hand, not `#[derive(FromRow)]`: sqlx's derive is its `macros` proc-macro, kept off.
impl FromRow<'_, PgRow> for LeaseRow {
    fn from_row(row: &PgRow) -> sqlx::Result<LeaseRow> {
        Ok(LeaseRow {
            provider: row.try_get("provider")?,
            owner: row.try_get("owner")?,
            fencing_token: row.try_get("fencing_token")?,
            acquired_ms: row.try_get("acquired_ms")?,
            expires_ms: row.try_get("expires_ms")?,
            remaining_ms: row.try_get("remaining_ms")?,
        })
    }
}

/// The columns every lease query returns, in [`LeaseRow`]'s shape.
const RETURNING: &str = "provider, owner, fencing_token, \
     floor(extract(epoch FROM acquired_at) * 1000)::bigint AS acquired_ms, \
     floor(extract(epoch FROM expires_at) * 1000)::bigint AS expires_ms, \
     floor(extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint AS remaining_ms";

/// Takes `provider`'s lease for `owner` for `ttl` if it is free (or already `owner`'s);
/// `None` while another process holds it. A taken-over row's times are read from the clock
/// after its expiry was checked, never from the `VALUES` row (evaluated before the
/// statement found the conflict, maybe waiting for the row's lock meanwhile): a takeover
/// never records an `acquired_at` before the previous holder's `expires_at`.
pub async fn acquire(
    pool: &PgPool,
    provider: &str,
    owner: &str,
    ttl: Duration,
) -> Result<Option<Lease>> {
    let sql = format!(
        "INSERT INTO leases AS l (provider, owner, fencing_token, acquired_at, renewed_at, expires_at) \
         VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp(), \
                 clock_timestamp() + $3::bigint * interval '1 millisecond') \
         ON CONFLICT (provider) DO UPDATE SET \
             fencing_token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > clock_timestamp() \
                                  THEN l.fencing_token ELSE l.fencing_token + 1 END, \
             acquired_at = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > clock_timestamp() \
                                THEN l.acquired_at ELSE clock_timestamp() END, \
             owner = EXCLUDED.owner, \
             renewed_at = clock_timestamp(), \
             expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond' \
         WHERE l.owner IS NULL OR l.owner = EXCLUDED.owner OR l.expires_at <= clock_timestamp() \
         RETURNING {RETURNING}"
    );
    let row: Option<LeaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(provider)
        .bind(owner)
        .bind(millis(ttl))
        .fetch_optional(pool)
        .await?;
    row.map(|r| held(r, ttl)).transpose()
}

/// Extends `lease` by `ttl` from now; `None` when it is no longer this holder's (taken
/// over, or released).
pub async fn renew(pool: &PgPool, lease: &Lease, ttl: Duration) -> Result<Option<Lease>> {
    let sql = format!(
        "UPDATE leases SET renewed_at = clock_timestamp(), \
                expires_at = clock_timestamp() + $4::bigint * interval '1 millisecond' \
          WHERE provider = $1 AND owner = $2 AND fencing_token = $3 \
         RETURNING {RETURNING}"
    );
    let row: Option<LeaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&lease.provider)
        .bind(&lease.owner)
        .bind(lease.token.0)
        .bind(millis(ttl))
        .fetch_optional(pool)
        .await?;
    row.map(|r| held(r, ttl)).transpose()
}

/// Gives `lease` up at once (on a clean shutdown), so another process need not wait for
/// its expiry. `false` when it had already moved on. The token stays: the next holder
/// takes the one after it.
pub async fn release(pool: &PgPool, lease: &Lease) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE leases SET owner = NULL, expires_at = clock_timestamp() \
          WHERE provider = $1 AND owner = $2 AND fencing_token = $3",
    )
    .bind(&lease.provider)
    .bind(&lease.owner)
    .bind(lease.token.0)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside a write transaction: `Ok` while `token` is `provider`'s current, held token (the
/// lease row stays locked, shared, until the transaction ends); else
/// [`LedgerError::LeaseLost`], and the caller rolls back.
pub async fn check_fence(tx: &mut PgConnection, provider: &str, token: FencingToken) -> Result<()> {
    if token_is_current(tx, provider, token, " FOR SHARE").await? {
        Ok(())
    } else {
        Err(lease_lost(provider, token))
    }
}

/// After a fenced write failed for another reason (the server ended the session of a
/// transaction left idle past the lease, say, while this process was paused): `LeaseLost`
/// when the lease has moved on meanwhile, so the failure is told as what it is; else the
/// failure itself.
pub async fn explain_fenced_failure(
    pool: &PgPool,
    provider: &str,
    token: FencingToken,
    failure: LedgerError,
) -> LedgerError {
    if matches!(failure, LedgerError::LeaseLost { .. }) {
        return failure;
    }
    let moved = match pool.acquire().await {
        Ok(mut conn) => matches!(
            token_is_current(&mut conn, provider, token, "").await,
            Ok(false)
        ),
        Err(_) => false,
    };
    if moved {
        lease_lost(provider, token)
    } else {
        failure
    }
}

/// Whether `token` is `provider`'s current token and the lease is held (`lock`: a locking
/// clause for the row, or nothing).
async fn token_is_current(
    conn: &mut PgConnection,
    provider: &str,
    token: FencingToken,
    lock: &str,
) -> Result<bool> {
    let sql =
        format!("SELECT fencing_token, owner IS NOT NULL FROM leases WHERE provider = $1{lock}");
    let current: Option<(i64, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(provider)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(matches!(current, Some((current, true)) if current == token.0))
}

fn lease_lost(provider: &str, token: FencingToken) -> LedgerError {
    LedgerError::LeaseLost {
        provider: provider.to_owned(),
        token: token.0,
    }
}

/// Every instance's lease, by instance name.
pub async fn holders(pool: &PgPool) -> Result<Vec<LeaseHolder>> {
    let sql = format!("SELECT {RETURNING} FROM leases ORDER BY provider");
    let rows: Vec<LeaseRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(holder).collect()
}

fn held(row: LeaseRow, ttl: Duration) -> Result<Lease> {
    let remaining = Duration::from_millis(u64::try_from(row.remaining_ms).unwrap_or(0));
    let holder = holder(row)?;
    Ok(Lease {
        owner: holder
            .owner
            .ok_or_else(|| LedgerError::corrupt("lease", "a lease just taken has no owner"))?,
        provider: holder.provider,
        token: holder.token,
        expires_at: holder.expires_at,
        remaining,
        ttl,
    })
}

fn holder(row: LeaseRow) -> Result<LeaseHolder> {
    let instant = |ms: i64| {
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| LedgerError::corrupt("lease time", format!("{ms} ms")))
    };
    Ok(LeaseHolder {
        live: row.owner.is_some() && row.remaining_ms > 0,
        provider: row.provider,
        owner: row.owner,
        token: FencingToken(row.fencing_token),
        acquired_at: instant(row.acquired_ms)?,
        expires_at: instant(row.expires_ms)?,
    })
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}
