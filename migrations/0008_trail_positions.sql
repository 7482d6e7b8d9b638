-- Ledger, eighth version: where each provider instance's change trail was read up to.
--
-- `position` is the adapter's own opaque text. The trail spares a cycle the full listings
-- only once a complete deep-scan pass has finished at or after `trusted_after_pass` (the
-- pass counter in `cursors`): a read that could not prove it was complete sets it to a
-- pass that starts after the gap, so whatever the trail missed is listed first, and keeps
-- its reason in `last_gap` for `timeweave status`.
CREATE TABLE trail_positions (
    provider            TEXT PRIMARY KEY,
    position            TEXT NOT NULL,
    trusted_after_pass  INTEGER NOT NULL,
    last_gap            TEXT,             -- why the last read proved nothing (NULL: it did)
    saved_at            TEXT NOT NULL
) STRICT;
