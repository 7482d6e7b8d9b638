-- Leases (PostgreSQL only): which `timeweave run` process works each provider instance.
--
-- Several processes may share one PostgreSQL ledger; each provider instance is worked by one
-- of them at a time, the holder of its lease. A row per instance that ever had a lease; it is
-- never deleted, so `fencing_token` only ever grows: every acquisition by a new holder (after
-- a release or an expiry) takes the next token, and every write of a cycle checks, inside its
-- transaction, that its token is still the current one (src/ledger/postgres/lease.rs).
-- Times are the database server's clock, so the nodes' clocks do not matter.
CREATE TABLE leases (
    provider       TEXT COLLATE "C" PRIMARY KEY,
    owner          TEXT COLLATE "C",               -- the holder; NULL once released
    fencing_token  BIGINT NOT NULL CHECK (fencing_token > 0),
    acquired_at    TIMESTAMPTZ NOT NULL,           -- when the current holder took it
    renewed_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL            -- free for others from then on
);
