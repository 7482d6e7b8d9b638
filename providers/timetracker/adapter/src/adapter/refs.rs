//! References a non-admin token cannot list: projects known only from its entries, and the
//! refusal to change a project or client its user cannot see.

use timeweave_contract::{Kind, ProviderError, RemoteRecord};

use super::{Session, TimeTrackerAdapter};
use crate::mapping::{self, typed};
use crate::wire;

impl TimeTrackerAdapter {
    /// A project a token without admin rights cannot read (403): as its user's entries show
    /// it (one of them, by `project_id`), else as they showed it earlier; the 403 when no
    /// entry of the user books on it.
    pub(super) async fn unlisted_project(
        &self,
        id: i64,
        forbidden: String,
        session: &Session,
    ) -> Result<Option<RemoteRecord>, ProviderError> {
        let query = vec![
            ("project_id", id.to_string()),
            ("include_active", "true".to_owned()),
            ("per_page", "1".to_owned()),
        ];
        let listed = self
            .list_raw(
                "GET /time-entries (a project's name)",
                "/time-entries",
                "time_entries",
                query,
            )
            .await;
        let items = match listed {
            Ok(list) => list.items,
            // A server that also checks the project on this filter: what the entries showed.
            Err(ProviderError::Forbidden { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let from_entry = items
            .first()
            .and_then(|item| typed::<wire::TimeEntry>(item).ok())
            .filter(|e| e.user_id == session.me)
            .and_then(|e| mapping::reference_of_entry(&e));
        from_entry
            .or_else(|| self.references.derived(Kind::Project, id))
            .map(Some)
            .ok_or(ProviderError::Forbidden {
                message: format!(
                    "{forbidden} (project {id}; no entry of this token's user books on it)"
                ),
            })
    }

    /// A token without admin rights cannot change a project it does not list (the server
    /// answers as if it did not exist).
    pub(super) fn check_listed(
        &self,
        kind: Kind,
        id: i64,
        session: &Session,
    ) -> Result<(), ProviderError> {
        if session.admin || self.references.is_listed(kind, id) {
            return Ok(());
        }
        Err(ProviderError::unsupported(format!(
            "changing {kind} {id} with this TimeTracker token: its user (not an admin) books \
             time on it but cannot see it"
        )))
    }
}
