-- Ledger, fourth version: one index fewer per time entry.
--
-- `time_entries_local_date (local_date)` is covered by migration 0002's
-- `time_entries_local_date_started (local_date, started_at, id)`, whose leading column is the
-- same: every query that could use the first uses the second. Each entry written kept both up
-- to date for nothing (one b-tree of eleven per imported entry).
DROP INDEX IF EXISTS time_entries_local_date;
