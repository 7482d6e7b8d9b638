//! The reporting SQL only PostgreSQL writes this way (see `ledger/reports.rs`): its
//! catalogue (`information_schema`) and the synthetic entries' generator
//! (`generate_series`, interval arithmetic, `to_char`).

use super::PgTx;
use crate::ledger::reports::ReportDialect;

impl ReportDialect for PgTx {
    const VIEW_COUNT: &'static str = "SELECT count(*) AS n FROM information_schema.views \
         WHERE table_schema = current_schema() AND table_name = $1";

    const VIEW_COLUMN_COUNT: &'static str = "SELECT count(*) AS n FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2";

    const SEED_SYNTHETIC_ENTRIES: &'static str =
        "INSERT INTO time_entries (id, person_id, project_id, started_at, ended_at, duration_seconds, \
             local_started_at, local_ended_at, local_date, notes, tags, content_hash, origin, changed_by, \
             created_at, updated_at) \
         SELECT 'synthetic-' || lpad(i::text, 9, '0'), $1, $2, \
             to_char(s.start, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
             to_char(s.start + interval '1500 seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 1500, \
             to_char(s.start, 'YYYY-MM-DD\"T\"HH24:MI:SS'), \
             to_char(s.start + interval '1500 seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS'), \
             to_char(s.start, 'YYYY-MM-DD'), 'synthetic entry ' || i || ', \"quoted\"', '[\"bench\",\"synthetic\"]', \
             'synthetic', 'synthetic', 'synthetic', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' \
         FROM generate_series(0::bigint, $4::bigint - 1) AS i, \
              LATERAL (SELECT $3::date + (i / 40) * interval '1 day' + (i % 40) * interval '1800 seconds' AS start) AS s";
}
