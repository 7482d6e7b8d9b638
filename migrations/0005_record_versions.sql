-- Ledger, fifth version: the versions of records that links still name.
--
-- A link remembers the canonical record's hash at its last sync. When the ledger record
-- changes, the version the links name is kept here (as the record's JSON), so that when a
-- provider's copy changed too, the engine can see which fields each side changed since and
-- merge edits of different fields instead of settling a conflict. A version no link names
-- any more is pruned at the end of each cycle.
CREATE TABLE record_versions (
    canonical_id  TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    record        TEXT NOT NULL,   -- JSON of the canonical record (ledger ids)
    saved_at      TEXT NOT NULL,
    PRIMARY KEY (canonical_id, content_hash)
) STRICT, WITHOUT ROWID;
