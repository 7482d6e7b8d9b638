//! The contract between the sync engine and the provider adapters: the canonical model
//! (people, clients, projects, tasks, time entries), its normalisation and content hash,
//! the [`Provider`] trait every adapter implements, and the typed [`ProviderError`].
//!
//! Nothing here does I/O. Provider JSON never crosses this boundary: adapters map it to
//! [`Record`]s whose references are the provider's own ids ([`RemoteId`]); the engine maps
//! those to ledger ids ([`CanonicalId`]) through its links table.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod error;
pub mod fields;
pub mod hash;
pub mod model;
pub mod natural_key;
pub mod provider;
pub mod rights;
pub mod secret;
pub mod trail;
pub mod zone;

pub use error::{ConflictReason, ProviderError};
pub use fields::Field;
pub use hash::{content_hash, ContentHash, HASH_VERSION};
pub use model::{
    CanonicalId, Client, EntryKind, Kind, Person, Project, Record, RemoteId, Task, TimeEntry,
};
pub use provider::{
    Capabilities, EntrySpan, InvalidRecord, KindSupport, ListScope, Observation, Page, PageItem,
    PageToken, Provider, ProviderInfo, RemoteRecord, UpdateTarget, Window, WriteOp,
};
pub use rights::{KnownRights, Rights};
pub use secret::Secret;
pub use trail::{TrailPosition, TrailRead};
pub use zone::{Zone, ZoneError};
