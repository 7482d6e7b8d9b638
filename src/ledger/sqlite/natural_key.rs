//! The ledger's SQL `natural_key(text)`: the contract's `name_key`, registered on every
//! connection, so a natural-key match in SQL is the very one the engine and the adapters
//! make in Rust (no second normalisation, such as SQLite's ASCII-only `NOCASE`).

use rusqlite::functions::FunctionFlags;
use sqlx::sqlite::SqliteConnection;
use timeweave_contract::natural_key::name_key;

/// Registers `natural_key()` on a freshly opened connection.
#[allow(unsafe_code)]
pub(super) async fn register(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut locked = conn.lock_handle().await?;
    let raw = locked.as_raw_handle().as_ptr();
    // SAFETY: `raw` is the live handle of this connection, locked away from sqlx until
    // `locked` drops below; the borrowed rusqlite connection never closes it, and the
    // function it registers is owned by SQLite from then on.
    let conn = unsafe { rusqlite::Connection::from_handle(raw) }.map_err(to_sqlx)?;
    conn.create_scalar_function(
        "natural_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| name_key(&s))),
    )
    .map_err(to_sqlx)?;
    drop(conn);
    drop(locked);
    Ok(())
}

fn to_sqlx(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Configuration(Box::new(e))
}
