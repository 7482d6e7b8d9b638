-- Ledger, sixth version: who may write, and to which account.
--
-- A push intent names the cycle that claimed it (`PID/START cycle-token`), so a second
-- process or task never sends the same create again while the first is in flight, and a
-- cycle reconciles only intents whose claimant is gone. Intents from before this version
-- have none: their claimant is gone.
ALTER TABLE pending_pushes ADD COLUMN claimed_by TEXT;

-- The account each provider instance was bound to on its first successful cycle. Every
-- cycle compares the account it connects to with this first: another account stops the
-- instance before anything is listed or written (`timeweave rebind INSTANCE` starts over).
CREATE TABLE account_bindings (
    provider  TEXT PRIMARY KEY,
    identity  TEXT NOT NULL,
    bound_at  TEXT NOT NULL
) STRICT;

-- Cumulative counters per provider and cycle result, kept by a trigger as each run
-- finishes: `/metrics` reads these few rows instead of summing `sync_runs`, which is
-- pruned to `ledger.history_days` and would otherwise grow without end.
CREATE TABLE sync_totals (
    provider          TEXT NOT NULL,
    status            TEXT NOT NULL,
    cycles            INTEGER NOT NULL DEFAULT 0,
    pulled            INTEGER NOT NULL DEFAULT 0,
    created           INTEGER NOT NULL DEFAULT 0,
    updated           INTEGER NOT NULL DEFAULT 0,
    deleted           INTEGER NOT NULL DEFAULT 0,
    pushed            INTEGER NOT NULL DEFAULT 0,
    conflicts         INTEGER NOT NULL DEFAULT 0,
    skipped           INTEGER NOT NULL DEFAULT 0,
    requests          INTEGER NOT NULL DEFAULT 0,
    rate_limited      INTEGER NOT NULL DEFAULT 0,
    last_finished_at  TEXT,
    PRIMARY KEY (provider, status)
) STRICT, WITHOUT ROWID;

INSERT INTO sync_totals (provider, status, cycles, pulled, created, updated, deleted, pushed,
                         conflicts, skipped, requests, rate_limited, last_finished_at)
SELECT provider, status, count(*), sum(pulled), sum(created), sum(updated), sum(deleted),
       sum(pushed), sum(conflicts), sum(skipped), sum(requests), sum(rate_limited),
       max(finished_at)
FROM sync_runs WHERE status != 'running' GROUP BY provider, status;

CREATE TRIGGER sync_runs_count_finished AFTER UPDATE OF status ON sync_runs
WHEN OLD.status = 'running' AND NEW.status != 'running'
BEGIN
    INSERT INTO sync_totals (provider, status, cycles, pulled, created, updated, deleted,
                             pushed, conflicts, skipped, requests, rate_limited,
                             last_finished_at)
    VALUES (NEW.provider, NEW.status, 1, NEW.pulled, NEW.created, NEW.updated, NEW.deleted,
            NEW.pushed, NEW.conflicts, NEW.skipped, NEW.requests, NEW.rate_limited,
            NEW.finished_at)
    ON CONFLICT (provider, status) DO UPDATE SET
        cycles = cycles + 1,
        pulled = pulled + excluded.pulled,
        created = created + excluded.created,
        updated = updated + excluded.updated,
        deleted = deleted + excluded.deleted,
        pushed = pushed + excluded.pushed,
        conflicts = conflicts + excluded.conflicts,
        skipped = skipped + excluded.skipped,
        requests = requests + excluded.requests,
        rate_limited = rate_limited + excluded.rate_limited,
        last_finished_at = max(coalesce(last_finished_at, ''), coalesce(excluded.last_finished_at, ''));
END;

-- Pruning finds old runs without reading them all.
CREATE INDEX sync_runs_started ON sync_runs (started_at);
