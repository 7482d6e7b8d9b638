//! The server's `if_updated_at` tolerance from the adapter's side: versions noted at listing,
//! and the check that an entry is unchanged before a write the server would not refuse.

use chrono::{DateTime, Utc};
use serde_json::Value;
use timeweave_contract::{ConflictReason, ProviderError, RemoteRecord};

use super::requests::Request;
use super::TimeTrackerAdapter;
use crate::mapping::int_id;
use crate::tolerance::{server_now, unsafe_until, TOLERANCE};

impl TimeTrackerAdapter {
    /// Remembers an entry listed within the server's `if_updated_at` tolerance of its version.
    pub(super) fn note_listed(&self, r: &RemoteRecord, now: DateTime<Utc>) {
        let (Some(id), Some(version), Some(modified_at)) =
            (int_id(&r.id), r.version.as_deref(), r.modified_at)
        else {
            return;
        };
        self.young.note(id, version, modified_at, now);
    }

    /// An update of an entry listed within the tolerance of its version could overwrite an
    /// edit the server would not report (sample 46). The entry is read again; if the
    /// tolerance has not passed yet on the server's clock, once more after it has. A changed
    /// version is a stale conflict, as a 409 would be, and the engine merges or settles it
    /// on its next pull.
    pub(super) async fn confirm_unchanged(
        &self,
        id: i64,
        version: &str,
    ) -> Result<(), ProviderError> {
        let Some(young) = self.young.take(id, version) else {
            return Ok(());
        };
        let now = self.current_version_is(id, version).await?;
        let wait = (unsafe_until(young.modified_at) - now)
            .min(TOLERANCE * 2)
            .to_std()
            .unwrap_or_default();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            self.current_version_is(id, version).await?;
        }
        Ok(())
    }

    /// Reads an entry's `updated_at`: the server's time if it is still `version`, else a
    /// stale conflict naming both.
    pub(super) async fn current_version_is(
        &self,
        id: i64,
        version: &str,
    ) -> Result<DateTime<Utc>, ProviderError> {
        let path = format!("/time-entries/{id}");
        let (current, now) = self
            .call_raw(
                "GET /time-entries/{id} (before an update)",
                Request::get(&path, &[]),
                |raw| {
                    let v: Value = serde_json::from_slice(&raw.body).map_err(|e| e.to_string())?;
                    let updated_at = v
                        .get("time_entry")
                        .and_then(|e| e.get("updated_at"))
                        .and_then(Value::as_str)
                        .ok_or("no `time_entry.updated_at` in the response")?;
                    Ok((updated_at.to_owned(), server_now(&raw.headers)))
                },
            )
            .await?;
        if current != version {
            return Err(ProviderError::Conflict {
                reason: ConflictReason::Stale,
                message: format!(
                    "time entry {id} changed on the server (updated_at {current}) since it was \
                     listed at {version}, within the server's 2 s if_updated_at tolerance: not \
                     overwritten"
                ),
            });
        }
        Ok(now)
    }
}
