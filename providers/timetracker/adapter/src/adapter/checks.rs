//! What a TimeTracker write can carry, checked without I/O: the entry's fields and its person
//! (a token writes only its own user's entries unless it is an admin).

use timeweave_contract::{ProviderError, RemoteId, TimeEntry, WriteOp};

use super::{Session, TimeTrackerAdapter};
use crate::mapping::{self, int_id};

/// What a TimeTracker entry can hold, checked without I/O.
pub(super) fn check_entry(op: WriteOp, e: &TimeEntry<RemoteId>) -> Result<(), ProviderError> {
    if e.kind == timeweave_contract::EntryKind::Attendance {
        return Err(ProviderError::unsupported(
            "attendance entries (TimeTracker books time on a project or a client)",
        ));
    }
    if e.project.is_none() && e.client.is_none() {
        return Err(ProviderError::unsupported(
            "a TimeTracker entry needs a project or a client",
        ));
    }
    if e.project.is_none() && e.task.is_some() {
        return Err(ProviderError::unsupported(
            "a TimeTracker entry with a task needs a project (client-only bookings have no task)",
        ));
    }
    if op == WriteOp::Create && e.ended_at.is_none() {
        return Err(ProviderError::unsupported(
            "creating a running TimeTracker entry (POST needs an end_time; timers start at the \
             server's clock)",
        ));
    }
    if let Some(end) = e.ended_at {
        if end < e.started_at {
            return Err(ProviderError::rejected(format!(
                "entry {} ends before it starts",
                e.started_at
            )));
        }
        if end == e.started_at {
            return Err(ProviderError::unsupported(
                "a zero-length TimeTracker entry (the server needs end_time after start_time)",
            ));
        }
    }
    if e.notes.as_deref().is_some_and(|n| n.chars().count() > 5000) {
        return Err(ProviderError::unsupported(
            "TimeTracker notes longer than 5000 characters",
        ));
    }
    if e.tags.iter().any(|t| t.contains(',')) {
        return Err(ProviderError::unsupported(
            "a TimeTracker tag containing a comma (tags are stored comma-separated)",
        ));
    }
    if mapping::join_tags(&e.tags).chars().count() > 500 {
        return Err(ProviderError::unsupported(
            "TimeTracker tags longer than 500 characters in all",
        ));
    }
    Ok(())
}

impl TimeTrackerAdapter {
    /// A non-admin token can only write its own entries.
    pub(super) fn check_person(
        &self,
        e: &TimeEntry<RemoteId>,
        session: &Session,
    ) -> Result<(), ProviderError> {
        let person = int_id(&e.person);
        if !session.admin && person != Some(session.me) {
            return Err(ProviderError::unsupported(format!(
                "this TimeTracker token (user {}) is not an admin and cannot write entries of \
                 another user ({})",
                session.me, e.person
            )));
        }
        Ok(())
    }
}
