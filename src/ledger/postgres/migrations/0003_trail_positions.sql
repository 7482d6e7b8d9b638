-- Where each provider instance's change trail was read up to (SQLite's
-- migrations/0008_trail_positions.sql, which says what each column means).
--
-- `position` is the adapter's own opaque text; the trail spares a cycle the full listings
-- only once a complete deep-scan pass has finished at or after `trusted_after_pass`.
CREATE TABLE trail_positions (
    provider            TEXT COLLATE "C" PRIMARY KEY,
    position            TEXT COLLATE "C" NOT NULL,
    trusted_after_pass  BIGINT NOT NULL,
    last_gap            TEXT,             -- why the last read proved nothing (NULL: it did)
    saved_at            TEXT COLLATE "C" NOT NULL
);
