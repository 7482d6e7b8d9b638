//! The reporting SQL only SQLite writes this way (see `ledger/reports.rs`): its catalogue
//! (`sqlite_master`, `pragma_table_info`) and the synthetic entries' generator (a recursive
//! CTE, `datetime()` and `strftime()` arithmetic).

use super::SqliteTx;
use crate::ledger::reports::ReportDialect;

impl ReportDialect for SqliteTx {
    const VIEW_COUNT: &'static str =
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'view' AND name = $1";

    const VIEW_COLUMN_COUNT: &'static str =
        "SELECT count(*) AS n FROM pragma_table_info($1) WHERE name = $2";

    const SEED_SYNTHETIC_ENTRIES: &'static str =
        "WITH RECURSIVE n(i) AS (SELECT 0 WHERE $4 > 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $4), \
         s(i, start) AS (SELECT i, datetime($3, '+' || (i / 40) || ' days', '+' || ((i % 40) * 1800) || ' seconds') FROM n) \
         INSERT INTO time_entries (id, person_id, project_id, started_at, ended_at, duration_seconds, \
             local_started_at, local_ended_at, local_date, notes, tags, content_hash, origin, changed_by, \
             created_at, updated_at) \
         SELECT printf('synthetic-%09d', i), $1, $2, \
             strftime('%Y-%m-%dT%H:%M:%SZ', start), strftime('%Y-%m-%dT%H:%M:%SZ', start, '+1500 seconds'), 1500, \
             strftime('%Y-%m-%dT%H:%M:%S', start), strftime('%Y-%m-%dT%H:%M:%S', start, '+1500 seconds'), \
             date(start), 'synthetic entry ' || i || ', \"quoted\"', '[\"bench\",\"synthetic\"]', \
             'synthetic', 'synthetic', 'synthetic', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' \
         FROM s";
}
