//! The PostgreSQL ledger's plumbing: connecting (`connect.rs`), its own embedded, append-only
//! migrations (`migrations/`, run by `migrate.rs`), what `doctor` asks the server
//! (`server.rs`), the leases that let several processes share one ledger (`lease.rs`), and
//! scratch databases for tests and benchmarks (`testing.rs`). SQL stays in this module like
//! all of the ledger's; the rest of the program gets plain functions and types.

mod connect;
mod lease;
mod migrate;
mod server;
pub mod testing;

#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod view_tests;

pub(crate) use connect::IDLE_IN_TRANSACTION_TIMEOUT;
pub use connect::{check_url, connect, describe_url};
pub use lease::{
    acquire, check_fence, explain_fenced_failure, holders, release, renew, FencingToken, Lease,
    LeaseHolder,
};
pub use migrate::{applied_migrations, embedded_migrations, migrate};
pub use server::{inspect, ServerFacts, MIN_SERVER_VERSION};
