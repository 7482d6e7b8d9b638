//! What `timeweave doctor` asks a PostgreSQL ledger's server: its version, and whether the
//! configured role may migrate the ledger (create tables in its schema), read-only.

use sqlx::postgres::PgPool;

use super::migrate::{applied_migrations, embedded_migrations};
use crate::ledger::Result;

/// The oldest PostgreSQL server timeweave supports (`server_version_num` form): 14.
pub const MIN_SERVER_VERSION: i64 = 140000;

/// The server's answers, as read by [`inspect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFacts {
    /// `server_version_num`, e.g. 150004 for 15.4.
    pub version_num: i64,
    /// `server_version`, as the server words it (`15.4 (Debian 15.4-1)`).
    pub version: String,
    /// The role connected as.
    pub role: String,
    /// The schema the ledger's tables go into (the first of the `search_path`).
    pub schema: Option<String>,
    /// The role may create tables in that schema (what a migration needs).
    pub can_create: bool,
    /// Embedded migrations not applied to this database yet.
    pub pending_migrations: usize,
}

impl ServerFacts {
    /// The server is recent enough (see [`MIN_SERVER_VERSION`]).
    pub fn supported(&self) -> bool {
        self.version_num >= MIN_SERVER_VERSION
    }

    /// The ledger can be brought up to date by this role: nothing to apply, or it may.
    pub fn can_migrate(&self) -> bool {
        self.pending_migrations == 0 || self.can_create
    }
}

/// Reads the server's facts without changing anything.
pub async fn inspect(pool: &PgPool) -> Result<ServerFacts> {
    let (version_num, version, role, schema, can_create): (
        i64,
        String,
        String,
        Option<String>,
        bool,
    ) = sqlx::query_as(
        "SELECT current_setting('server_version_num')::bigint, \
                    current_setting('server_version'), \
                    current_user::text, \
                    current_schema()::text, \
                    COALESCE(has_schema_privilege(current_schema(), 'CREATE'), FALSE)",
    )
    .fetch_one(pool)
    .await?;
    let applied = applied_migrations(pool).await?;
    let pending_migrations = embedded_migrations()
        .iter()
        .filter(|v| !applied.contains(v))
        .count();
    Ok(ServerFacts {
        version_num,
        version,
        role,
        schema,
        can_create,
        pending_migrations,
    })
}
