//! TimeTracker's change trail (spec §5 "Deletion trail"), read and judged without I/O: the
//! admin audit log (`GET /audit-logs`, `admin:all`: every ORM change of entries, projects,
//! tasks, clients and users, `created_at` app-local) or, for other tokens, the activity
//! feed (`GET /activities`, `read:reports`: time entries only, `created_at` UTC). Both
//! answer the newest `limit` rows, newest first, with no paging and no time filter, so a
//! read proves it holds every change since the position only when it reaches back past it
//! (or holds the whole log). Confirmed against the server's code at v5.10.0
//! (`app/routes/api_v1.py` `list_audit_logs`/`list_activities`, `app/models/audit_log.py`,
//! `app/models/activity.py`, `app/utils/audit.py`): ordered by `created_at` desc; limit
//! defaults 100 and 50 and has no cap; the audit listener writes one `updated` row per
//! changed field, `created` after the flush, and two `deleted` rows per API delete;
//! activities are written by the API's create/update/delete and the web app's timer and
//! edit routes, not by the API's `/timer/*` routes (so that feed covers no kind fully).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use timeweave_contract::{Kind, RemoteId, TrailPosition, TrailRead};

use crate::time::parse_naive;

/// Rows asked for per read. Neither route caps `limit`; an audit row carries the entry's
/// old state (about 1 KiB), so a read stays well under a megabyte.
pub const TRAIL_LIMIT: usize = 500;

/// How far before the position rows are looked at again: `created_at` is stamped before
/// the commit, so a row committed late can sort just below one read earlier. Rows seen
/// already are told apart by id.
pub const ORDERING_OVERLAP: Duration = Duration::minutes(5);

/// Which log a trail is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    AuditLogs,
    Activities,
}

impl Source {
    pub fn path(self) -> &'static str {
        match self {
            Source::AuditLogs => "/audit-logs",
            Source::Activities => "/activities",
        }
    }

    /// The key of the answer's array.
    pub fn key(self) -> &'static str {
        match self {
            Source::AuditLogs => "audit_logs",
            Source::Activities => "activities",
        }
    }

    /// The kinds this log lists every change of. The activity feed lists none completely:
    /// the API's `/timer/*` routes write no activity, so its entries are fetched early but
    /// the windows keep their schedule.
    pub fn covers(self) -> BTreeSet<Kind> {
        match self {
            Source::AuditLogs => Kind::ALL.into(),
            Source::Activities => BTreeSet::new(),
        }
    }

    fn kind_of(self, entity_type: &str) -> Option<Kind> {
        match (self, entity_type) {
            (Source::AuditLogs, "TimeEntry") | (Source::Activities, "time_entry") => {
                Some(Kind::TimeEntry)
            }
            (Source::AuditLogs, "Project") => Some(Kind::Project),
            (Source::AuditLogs, "Task") => Some(Kind::Task),
            (Source::AuditLogs, "Client") => Some(Kind::Client),
            (Source::AuditLogs, "User") => Some(Kind::Person),
            _ => None,
        }
    }
}

/// One row of a trail, as far as the trail needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `None`: an entity timeweave does not sync (invoices, settings, ...).
    pub kind: Option<Kind>,
    pub entity_id: Option<i64>,
    pub deleted: bool,
}

/// What a stored position holds: the log, the newest row's time, and the ids of the rows
/// within `ORDERING_OVERLAP` of it (seen already).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    source: Source,
    at: Option<DateTime<Utc>>,
    seen: BTreeSet<i64>,
}

/// Reads the rows of an answer. A row of a synced kind that cannot be read (no id, no
/// time, a time that is ambiguous in the app zone) is an `Err` naming why: the read then
/// proves nothing. Rows of other entities are kept with their time only.
pub fn read_rows(source: Source, body: &Value, zone: Tz) -> Result<Vec<Row>, String> {
    let Some(rows) = body.get(source.key()).and_then(Value::as_array) else {
        return Err(format!("no `{}` array in the answer", source.key()));
    };
    rows.iter().map(|r| read_row(source, r, zone)).collect()
}

fn read_row(source: Source, row: &Value, zone: Tz) -> Result<Row, String> {
    let text = |k: &str| row.get(k).and_then(Value::as_str);
    let kind = text("entity_type").and_then(|t| source.kind_of(t));
    let id = row
        .get("id")
        .and_then(Value::as_i64)
        .ok_or("a row without a numeric `id`")?;
    let raw_at = text("created_at").ok_or(format!("row {id} has no `created_at`"))?;
    let naive = parse_naive(raw_at).ok_or(format!("row {id} has an unreadable `created_at`"))?;
    let at = match source {
        // Activity.created_at is datetime.utcnow.
        Source::Activities => naive.and_utc(),
        // AuditLog.created_at is now_in_app_timezone: local wall-clock time, which repeats
        // an hour at the fall-back and then no longer orders the rows.
        Source::AuditLogs => match zone.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            _ => {
                return Err(format!(
                    "row {id} was written at {raw_at}, a local time the DST change makes \
                     ambiguous: the log's order cannot be trusted around it"
                ))
            }
        },
    };
    let entity_id = row.get("entity_id").and_then(Value::as_i64);
    if kind.is_some() && entity_id.is_none() {
        return Err(format!("row {id} names no numeric `entity_id`"));
    }
    Ok(Row {
        id,
        at,
        kind,
        entity_id,
        deleted: text("action") == Some("deleted"),
    })
}

/// Judges one read (`rows` newest first, as answered, `asked` rows asked for) against the
/// stored position.
pub fn follow(
    source: Source,
    rows: &[Row],
    asked: usize,
    since: Option<&TrailPosition>,
) -> TrailRead {
    let mut read = TrailRead {
        covers: source.covers(),
        sees_deletions: true,
        position: Some(position_after(source, rows)),
        ..TrailRead::default()
    };
    let since = since.and_then(|p| serde_json::from_str::<Position>(&p.0).ok());
    let since = match since {
        None => {
            read.gap = Some("no trail position yet: this read only sets one".into());
            return read;
        }
        Some(p) if p.source != source => {
            read.gap = Some(format!(
                "the trail was read from {} last time and from {} now (the token's scopes changed)",
                p.source.path(),
                source.path()
            ));
            return read;
        }
        Some(p) => p,
    };
    let floor = since.at.map(|at| at - ORDERING_OVERLAP);
    let mut fresh = Vec::new();
    let mut reached = false;
    for row in rows {
        if floor.is_some_and(|f| row.at < f) {
            reached = true;
            break;
        }
        if !since.seen.contains(&row.id) {
            fresh.push(row);
        }
    }
    // Oldest first, so a record deleted and then made again under its id ends as changed.
    for row in fresh.into_iter().rev() {
        if let (Some(kind), Some(id)) = (row.kind, row.entity_id) {
            if row.deleted {
                read.note_deleted(kind, RemoteId::from(id));
            } else {
                read.note_changed(kind, RemoteId::from(id));
            }
        }
    }
    if !reached && rows.len() >= asked {
        read.gap = Some(format!(
            "more than {asked} changes since the last read ({} answers the newest {asked} \
             only, with no paging)",
            source.path()
        ));
    }
    read
}

fn position_after(source: Source, rows: &[Row]) -> TrailPosition {
    let at = rows.iter().map(|r| r.at).max();
    let seen = rows
        .iter()
        .filter(|r| at.is_some_and(|at| r.at >= at - ORDERING_OVERLAP))
        .map(|r| r.id)
        .collect();
    let p = Position { source, at, seen };
    TrailPosition(serde_json::to_string(&p).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(id: i64, minute: u32, entity: i64, deleted: bool) -> Row {
        Row {
            id,
            at: Utc.with_ymd_and_hms(2026, 3, 1, 10, minute, 0).unwrap(),
            kind: Some(Kind::TimeEntry),
            entity_id: Some(entity),
            deleted,
        }
    }

    fn ids(read: &TrailRead) -> Vec<String> {
        read.changed
            .get(&Kind::TimeEntry)
            .into_iter()
            .flatten()
            .map(|i| i.to_string())
            .collect()
    }

    #[test]
    fn a_read_after_the_position_names_only_newer_rows_and_is_complete() {
        let first = follow(Source::AuditLogs, &[row(1, 0, 10, false)], 500, None);
        assert!(first.gap.is_some(), "no position: proves nothing");
        let rows = [
            row(3, 30, 12, true),
            row(2, 20, 11, false),
            row(1, 0, 10, false),
        ];
        let read = follow(Source::AuditLogs, &rows, 500, first.position.as_ref());
        assert!(read.is_complete(), "{:?}", read.gap);
        assert_eq!(ids(&read), ["11"]);
        assert!(read.deleted[&Kind::TimeEntry].contains(&RemoteId::from(12)));
        let again = follow(Source::AuditLogs, &rows, 500, read.position.as_ref());
        assert!(again.is_empty() && again.is_complete());
    }

    #[test]
    fn a_full_answer_that_does_not_reach_the_position_is_incomplete() {
        let start = follow(Source::Activities, &[row(1, 0, 10, false)], 2, None);
        let rows = [row(5, 50, 13, false), row(4, 40, 12, false)];
        let read = follow(Source::Activities, &rows, 2, start.position.as_ref());
        assert!(read.gap.as_deref().unwrap().contains("more than 2 changes"));
        // Fewer rows than asked: the whole log is in the answer.
        let read = follow(Source::Activities, &rows, 3, start.position.as_ref());
        assert!(read.is_complete());
    }

    #[test]
    fn a_row_committed_late_just_below_the_position_is_still_taken() {
        let start = follow(Source::AuditLogs, &[row(7, 30, 10, false)], 500, None);
        let rows = [
            row(7, 30, 10, false),
            row(8, 28, 11, false),
            row(2, 0, 9, false),
        ];
        let read = follow(Source::AuditLogs, &rows, 500, start.position.as_ref());
        assert_eq!(ids(&read), ["11"]);
        assert!(read.is_complete());
    }

    #[test]
    fn another_source_than_last_time_proves_nothing() {
        let start = follow(Source::AuditLogs, &[row(1, 0, 10, false)], 500, None);
        let read = follow(Source::Activities, &[], 500, start.position.as_ref());
        assert!(read.gap.unwrap().contains("scopes changed"));
    }

    #[test]
    fn malformed_rows_are_errors_never_panics() {
        let zone = chrono_tz::Europe::Rome;
        for body in [
            json!({}),
            json!({"audit_logs": "x"}),
            json!({"audit_logs": [{"id": "1"}]}),
            json!({"audit_logs": [{"id": 1, "entity_type": "TimeEntry", "created_at": "2026-03-01T10:00:00"}]}),
            json!({"audit_logs": [{"id": 1, "entity_type": "TimeEntry", "entity_id": 3, "created_at": "yesterday"}]}),
            json!({"audit_logs": [{"id": 1, "entity_type": "TimeEntry", "entity_id": 3, "created_at": 5}]}),
        ] {
            assert!(read_rows(Source::AuditLogs, &body, zone).is_err(), "{body}");
        }
        let other = json!({"audit_logs": [{"id": 1, "entity_type": "Settings", "entity_id": null, "created_at": "2026-03-01T10:00:00"}]});
        assert_eq!(
            read_rows(Source::AuditLogs, &other, zone).unwrap()[0].kind,
            None
        );
    }

    #[test]
    fn audit_times_are_local_and_the_fall_back_hour_is_a_doubt() {
        let zone = chrono_tz::Europe::Rome;
        let body = |at: &str| json!({"audit_logs": [{"id": 1, "action": "updated", "entity_type": "TimeEntry", "entity_id": 3, "created_at": at}]});
        let rows = read_rows(Source::AuditLogs, &body("2026-07-01T12:00:00.5"), zone).unwrap();
        assert_eq!(rows[0].at.to_rfc3339(), "2026-07-01T10:00:00.500+00:00");
        let err = read_rows(Source::AuditLogs, &body("2026-10-25T02:30:00"), zone).unwrap_err();
        assert!(err.contains("ambiguous"), "{err}");
        let acts = json!({"activities": [{"id": 1, "action": "deleted", "entity_type": "time_entry", "entity_id": 3, "created_at": "2026-07-01T12:00:00"}]});
        let rows = read_rows(Source::Activities, &acts, zone).unwrap();
        assert_eq!(rows[0].at.to_rfc3339(), "2026-07-01T12:00:00+00:00");
        assert!(rows[0].deleted);
    }
}
