-- Links, third version: the incarnation of the remote record a link points to.
--
-- Some providers give a deleted record's id to a later record (TimeTracker on SQLite
-- reuses the highest id after a delete). The remote id alone then cannot tell "the same
-- record, edited" from "another record under an old id". The adapter reports what tells
-- them apart (TimeTracker: `created_at`, verbatim); when a listed or created record's
-- incarnation differs from its link's, the linked record is settled as deleted remotely
-- and the listed one is new. NULL: unknown (a provider that never reuses ids, or a link
-- written before this column; it is filled in the next time the link is written).
ALTER TABLE links ADD COLUMN remote_incarnation TEXT;
