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
