//! What the credentials may read and write, as far as a provider tells without a write
//! (`Provider::rights`, for `timeweave doctor`): the rights it reports, and those missing
//! for listing and for writing what timeweave syncs. Provider-neutral words, never a secret.

use serde::{Deserialize, Serialize};

/// The credentials' rights as the provider answered them, or why it cannot tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rights {
    /// The provider has no read-only way to tell what the credentials may write (or read);
    /// the text says why. Only a write (`doctor --write-probe`) settles it.
    Unknown(String),
    Known(KnownRights),
}

/// Rights the provider reported, weighed against what timeweave needs of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownRights {
    /// What the provider said the credentials hold, e.g. `scopes read:*` or `role
    /// CO_WORKER`.
    pub held: String,
    /// Rights, as the provider names them, without which timeweave cannot list every kind
    /// it syncs from this provider.
    pub missing_to_read: Vec<String>,
    /// Rights without which timeweave cannot write every kind it writes to this provider.
    pub missing_to_write: Vec<String>,
    /// How to grant them, in the provider's own terms.
    pub grant: String,
}
