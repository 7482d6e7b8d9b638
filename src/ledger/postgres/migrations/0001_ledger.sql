-- The timeweave ledger on PostgreSQL, first version: the schema SQLite reaches with its
-- migrations 1 to 7 (migrations/ at the repository root), in one step, since no PostgreSQL
-- ledger predates it. Append-only like SQLite's: never edit a landed migration; add a new
-- file, and when a SQLite migration changes the schema, add its equivalent here.
--
-- Same tables, columns (in the same order), keys, constraints and indexes as SQLite; the
-- same reporting views with the same names, columns and meaning (docs/ledger.md). What
-- differs, and why:
-- * Text is `COLLATE "C"`: SQLite compares text byte by byte, and the ledger relies on it
--   (times are RFC 3339 UTC text with a `Z`, ordered and compared as text; views order
--   provider names). The database's own collation could order differently.
-- * Integers are BIGINT (SQLite's are 64-bit); the AUTOINCREMENT keys are identities.
-- * Booleans in tables are BOOLEAN; the views still give 0/1 (the documented contract).
-- * SQLite's `name COLLATE NOCASE` indexes are `lower(name)` indexes.
-- * The trigger that keeps `sync_totals` is a PL/pgSQL function.

-- Canonical records -------------------------------------------------------------------

CREATE TABLE people (
    id            TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    display_name  TEXT COLLATE "C" NOT NULL,
    email         TEXT COLLATE "C",
    username      TEXT COLLATE "C",
    content_hash  TEXT COLLATE "C" NOT NULL,
    origin        TEXT COLLATE "C" NOT NULL,
    changed_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL,
    deleted_at    TEXT COLLATE "C"
);
-- The cross-provider key: one live person per e-mail.
CREATE UNIQUE INDEX people_email ON people (email) WHERE email IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE clients (
    id            TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    email         TEXT COLLATE "C",
    notes         TEXT COLLATE "C",
    archived      BOOLEAN NOT NULL DEFAULT FALSE,
    content_hash  TEXT COLLATE "C" NOT NULL,
    origin        TEXT COLLATE "C" NOT NULL,
    changed_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL,
    deleted_at    TEXT COLLATE "C"
);
CREATE INDEX clients_name ON clients (lower(name));

CREATE TABLE projects (
    id                 TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    client_id          TEXT COLLATE "C" REFERENCES clients (id),
    name               TEXT COLLATE "C" NOT NULL,
    billable           BOOLEAN NOT NULL DEFAULT TRUE,
    hourly_rate_cents  BIGINT,
    archived           BOOLEAN NOT NULL DEFAULT FALSE,
    content_hash       TEXT COLLATE "C" NOT NULL,
    origin             TEXT COLLATE "C" NOT NULL,
    changed_by         TEXT COLLATE "C" NOT NULL,
    created_at         TEXT COLLATE "C" NOT NULL,
    updated_at         TEXT COLLATE "C" NOT NULL,
    deleted_at         TEXT COLLATE "C"
);
CREATE INDEX projects_name ON projects (lower(name));

CREATE TABLE tasks (
    id            TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    project_id    TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    name          TEXT COLLATE "C" NOT NULL,
    archived      BOOLEAN NOT NULL DEFAULT FALSE,
    content_hash  TEXT COLLATE "C" NOT NULL,
    origin        TEXT COLLATE "C" NOT NULL,
    changed_by    TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    updated_at    TEXT COLLATE "C" NOT NULL,
    deleted_at    TEXT COLLATE "C"
);
CREATE INDEX tasks_project_name ON tasks (project_id, lower(name));

CREATE TABLE time_entries (
    id                TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    person_id         TEXT COLLATE "C" NOT NULL REFERENCES people (id),
    project_id        TEXT COLLATE "C" REFERENCES projects (id),
    task_id           TEXT COLLATE "C" REFERENCES tasks (id),
    client_id         TEXT COLLATE "C" REFERENCES clients (id),
    started_at        TEXT COLLATE "C" NOT NULL,
    ended_at          TEXT COLLATE "C",
    break_seconds     BIGINT NOT NULL DEFAULT 0,
    duration_seconds  BIGINT,
    source_tz         TEXT COLLATE "C",
    -- Wall-clock start/end and work date in source_tz (UTC when unknown), for reporting.
    local_started_at  TEXT COLLATE "C" NOT NULL,
    local_ended_at    TEXT COLLATE "C",
    local_date        TEXT COLLATE "C" NOT NULL,
    notes             TEXT COLLATE "C",
    tags              TEXT COLLATE "C" NOT NULL DEFAULT '[]',  -- JSON array of strings, sorted
    billable          BOOLEAN NOT NULL DEFAULT TRUE,
    kind              TEXT COLLATE "C" NOT NULL DEFAULT 'work' CHECK (kind IN ('work', 'attendance')),
    content_hash      TEXT COLLATE "C" NOT NULL,
    origin            TEXT COLLATE "C" NOT NULL,
    changed_by        TEXT COLLATE "C" NOT NULL,
    created_at        TEXT COLLATE "C" NOT NULL,
    updated_at        TEXT COLLATE "C" NOT NULL,
    deleted_at        TEXT COLLATE "C",
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX time_entries_started ON time_entries (started_at);
CREATE INDEX time_entries_person_started ON time_entries (person_id, started_at);
-- Range exports and reports walk entries by local work date, then start.
CREATE INDEX time_entries_local_date_started ON time_entries (local_date, started_at, id);

-- Sync bookkeeping ---------------------------------------------------------------------

-- One row per canonical record per provider instance. Both uniqueness rules together make
-- a duplicate impossible: a remote record maps to one canonical record and back.
CREATE TABLE links (
    provider            TEXT COLLATE "C" NOT NULL,
    kind                TEXT COLLATE "C" NOT NULL CHECK (kind IN ('person', 'client', 'project', 'task', 'time_entry')),
    canonical_id        TEXT COLLATE "C" NOT NULL,
    remote_id           TEXT COLLATE "C" NOT NULL,
    remote_hash         TEXT COLLATE "C" NOT NULL,   -- hash of the remote record (remote ids) at the last sync
    canonical_hash      TEXT COLLATE "C" NOT NULL,   -- hash of the canonical record at the last sync
    remote_version      TEXT COLLATE "C",            -- opaque version the provider wants back on update
    remote_updated_at   TEXT COLLATE "C",            -- the provider's own modification time, when known
    remote_started_at   TEXT COLLATE "C",            -- time entries: start as last seen remotely (window membership)
    remote_deleted_at   TEXT COLLATE "C",            -- the remote record is gone (or archived by our delete)
    synced_at           TEXT COLLATE "C" NOT NULL,
    -- The incarnation of the remote record (SQLite migration 3): NULL when unknown.
    remote_incarnation  TEXT COLLATE "C",
    PRIMARY KEY (provider, kind, remote_id),
    UNIQUE (provider, kind, canonical_id)
);
CREATE INDEX links_canonical ON links (canonical_id);
CREATE INDEX links_window ON links (provider, kind, remote_started_at);

-- Per provider instance and kind: where the deep scan is and the change-feed watermark.
CREATE TABLE cursors (
    provider            TEXT COLLATE "C" NOT NULL,
    kind                TEXT COLLATE "C" NOT NULL,
    deep_scan_position  TEXT COLLATE "C",
    deep_scan_passes    BIGINT NOT NULL DEFAULT 0,
    change_watermark    TEXT COLLATE "C",
    updated_at          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (provider, kind)
);

-- An intent is written before a remote write and removed with the outcome, so a crash
-- in between is reconciled (looked up remotely) before anything is sent again.
CREATE TABLE pending_pushes (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider         TEXT COLLATE "C" NOT NULL,
    kind             TEXT COLLATE "C" NOT NULL,
    canonical_id     TEXT COLLATE "C" NOT NULL,
    op               TEXT COLLATE "C" NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    remote_id        TEXT COLLATE "C",
    idempotency_key  TEXT COLLATE "C" NOT NULL,
    payload          TEXT COLLATE "C" NOT NULL,      -- JSON of the record as sent (remote references)
    canonical_hash   TEXT COLLATE "C" NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,
    -- The cycle that claimed the intent (SQLite migration 7): `PID/START cycle-token`.
    claimed_by       TEXT COLLATE "C",
    UNIQUE (provider, kind, canonical_id)
);

CREATE TABLE conflicts (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider        TEXT COLLATE "C" NOT NULL,
    kind            TEXT COLLATE "C" NOT NULL,
    canonical_id    TEXT COLLATE "C" NOT NULL,
    remote_id       TEXT COLLATE "C" NOT NULL,
    ledger_record   TEXT COLLATE "C" NOT NULL,      -- JSON, canonical references
    remote_record   TEXT COLLATE "C" NOT NULL,      -- JSON, mapped to canonical references
    remote_hash     TEXT COLLATE "C" NOT NULL,      -- remote hash (remote ids) when detected
    remote_version  TEXT COLLATE "C",
    policy          TEXT COLLATE "C" NOT NULL CHECK (policy IN ('newest', 'prefer', 'manual')),
    winner          TEXT COLLATE "C" CHECK (winner IN ('ledger', 'provider')),   -- NULL while open
    detected_at     TEXT COLLATE "C" NOT NULL,
    resolved_at     TEXT COLLATE "C",
    resolved_by     TEXT COLLATE "C"                -- the policy, or 'operator'
);
CREATE UNIQUE INDEX conflicts_one_open ON conflicts (provider, kind, canonical_id) WHERE resolved_at IS NULL;

-- Records a provider could not take or give, recorded once (per content) instead of being
-- retried every cycle: invalid remote records and pushes the provider cannot represent.
CREATE TABLE record_issues (
    provider       TEXT COLLATE "C" NOT NULL,
    direction      TEXT COLLATE "C" NOT NULL CHECK (direction IN ('pull', 'push')),
    kind           TEXT COLLATE "C" NOT NULL,
    record_id      TEXT COLLATE "C" NOT NULL,       -- remote id (pull) or canonical id (push)
    content_hash   TEXT COLLATE "C" NOT NULL,       -- the issue stands until the content changes
    reason         TEXT COLLATE "C" NOT NULL,
    first_seen_at  TEXT COLLATE "C" NOT NULL,
    last_seen_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (provider, direction, kind, record_id)
);

CREATE TABLE sync_runs (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    provider      TEXT COLLATE "C" NOT NULL,
    mode          TEXT COLLATE "C" NOT NULL,
    started_at    TEXT COLLATE "C" NOT NULL,
    finished_at   TEXT COLLATE "C",
    status        TEXT COLLATE "C" NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    pulled        BIGINT NOT NULL DEFAULT 0,
    created       BIGINT NOT NULL DEFAULT 0,   -- canonical records created from this provider
    updated       BIGINT NOT NULL DEFAULT 0,   -- canonical records updated from this provider
    deleted       BIGINT NOT NULL DEFAULT 0,   -- canonical records tombstoned from this provider
    pushed        BIGINT NOT NULL DEFAULT 0,   -- remote creates + updates + deletes
    conflicts     BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    requests      BIGINT NOT NULL DEFAULT 0,
    rate_limited  BIGINT NOT NULL DEFAULT 0,
    errors        TEXT COLLATE "C" NOT NULL DEFAULT '[]'    -- JSON array of messages (bounded)
);
CREATE INDEX sync_runs_provider ON sync_runs (provider, id);
-- Pruning finds old runs without reading them all.
CREATE INDEX sync_runs_started ON sync_runs (started_at);

-- The versions of records that links still name (SQLite migration 5): merge bases.
CREATE TABLE record_versions (
    canonical_id  TEXT COLLATE "C" NOT NULL,
    content_hash  TEXT COLLATE "C" NOT NULL,
    record        TEXT COLLATE "C" NOT NULL,   -- JSON of the canonical record (ledger ids)
    saved_at      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (canonical_id, content_hash)
);

-- The account each provider instance was bound to on its first successful cycle
-- (SQLite migration 7).
CREATE TABLE account_bindings (
    provider  TEXT COLLATE "C" PRIMARY KEY,
    identity  TEXT COLLATE "C" NOT NULL,
    bound_at  TEXT COLLATE "C" NOT NULL
);

-- Cumulative counters per provider and cycle result, kept by a trigger as each run
-- finishes (SQLite migration 7): `/metrics` reads these few rows.
CREATE TABLE sync_totals (
    provider          TEXT COLLATE "C" NOT NULL,
    status            TEXT COLLATE "C" NOT NULL,
    cycles            BIGINT NOT NULL DEFAULT 0,
    pulled            BIGINT NOT NULL DEFAULT 0,
    created           BIGINT NOT NULL DEFAULT 0,
    updated           BIGINT NOT NULL DEFAULT 0,
    deleted           BIGINT NOT NULL DEFAULT 0,
    pushed            BIGINT NOT NULL DEFAULT 0,
    conflicts         BIGINT NOT NULL DEFAULT 0,
    skipped           BIGINT NOT NULL DEFAULT 0,
    requests          BIGINT NOT NULL DEFAULT 0,
    rate_limited      BIGINT NOT NULL DEFAULT 0,
    last_finished_at  TEXT COLLATE "C",
    PRIMARY KEY (provider, status)
);

CREATE FUNCTION sync_runs_count_finished() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_totals AS t (provider, status, cycles, pulled, created, updated, deleted,
                                  pushed, conflicts, skipped, requests, rate_limited,
                                  last_finished_at)
    VALUES (NEW.provider, NEW.status, 1, NEW.pulled, NEW.created, NEW.updated, NEW.deleted,
            NEW.pushed, NEW.conflicts, NEW.skipped, NEW.requests, NEW.rate_limited,
            NEW.finished_at)
    ON CONFLICT (provider, status) DO UPDATE SET
        cycles = t.cycles + 1,
        pulled = t.pulled + EXCLUDED.pulled,
        created = t.created + EXCLUDED.created,
        updated = t.updated + EXCLUDED.updated,
        deleted = t.deleted + EXCLUDED.deleted,
        pushed = t.pushed + EXCLUDED.pushed,
        conflicts = t.conflicts + EXCLUDED.conflicts,
        skipped = t.skipped + EXCLUDED.skipped,
        requests = t.requests + EXCLUDED.requests,
        rate_limited = t.rate_limited + EXCLUDED.rate_limited,
        last_finished_at = GREATEST(COALESCE(t.last_finished_at, ''),
                                    COALESCE(EXCLUDED.last_finished_at, ''));
    RETURN NEW;
END;
$$;

CREATE TRIGGER sync_runs_count_finished AFTER UPDATE OF status ON sync_runs
FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status != 'running')
EXECUTE FUNCTION sync_runs_count_finished();

-- Reporting views: the stable contract for readers (docs/ledger.md), as SQLite's migration
-- 6 left them. Tables may evolve. The worked seconds of an entry are computed once per row
-- (`w`): the provider's duration, else end - start - break, never negative; 0 while running.

CREATE VIEW report_time_entries AS
SELECT
    e.id                                   AS entry_id,
    pe.display_name                        AS person,
    pe.email                               AS person_email,
    COALESCE(c.name, pc.name)              AS client,
    pr.name                                AS project,
    t.name                                 AS task,
    e.started_at                           AS started_at_utc,
    e.ended_at                             AS ended_at_utc,
    e.local_started_at                     AS started_at_local,
    e.local_ended_at                       AS ended_at_local,
    COALESCE(e.source_tz, 'UTC')           AS time_zone,
    e.local_date                           AS work_date,
    (e.ended_at IS NULL)::integer          AS running,
    e.break_seconds                        AS break_seconds,
    w.seconds                              AS duration_seconds,
    ROUND(w.seconds / 3600.0, 4)::double precision AS hours,
    e.billable::integer                    AS billable,
    e.kind                                 AS kind,
    e.tags                                 AS tags,
    e.notes                                AS notes,
    (SELECT string_agg(l.provider, ',' ORDER BY l.provider) FROM links l
      WHERE l.kind = 'time_entry' AND l.canonical_id = e.id AND l.remote_deleted_at IS NULL)
                                           AS providers,
    e.origin                               AS origin,
    e.updated_at                           AS updated_at,
    e.person_id                            AS person_id,
    COALESCE(e.client_id, pr.client_id)    AS client_id,
    e.project_id                           AS project_id,
    e.task_id                              AS task_id,
    (SELECT string_agg(tag, ', ' ORDER BY tag COLLATE "C")
       FROM jsonb_array_elements_text(e.tags::jsonb) AS tag) AS tag_list,
    to_char(e.local_date::date - (EXTRACT(ISODOW FROM e.local_date::date)::integer - 1),
            'YYYY-MM-DD')::text COLLATE "C" AS week_start,
    substr(e.local_date, 1, 7)             AS month,
    CASE WHEN e.ended_at IS NULL OR NOT e.billable THEN 0.0
         ELSE ROUND(w.seconds / 3600.0, 4) END::double precision AS billable_hours,
    e.created_at                           AS created_at,
    pr.hourly_rate_cents                   AS hourly_rate_cents,
    CASE WHEN pr.hourly_rate_cents IS NULL THEN NULL
         WHEN e.ended_at IS NULL OR NOT e.billable THEN 0
         ELSE ROUND(w.seconds * pr.hourly_rate_cents / 3600.0)::bigint END
                                           AS billable_amount_cents
FROM time_entries e
CROSS JOIN LATERAL (
    SELECT CASE WHEN e.ended_at IS NULL THEN 0::bigint
                ELSE COALESCE(e.duration_seconds, GREATEST(0::bigint,
                     floor(EXTRACT(EPOCH FROM e.ended_at::timestamptz))::bigint
                     - floor(EXTRACT(EPOCH FROM e.started_at::timestamptz))::bigint
                     - e.break_seconds)) END AS seconds
) AS w
JOIN people pe ON pe.id = e.person_id
LEFT JOIN projects pr ON pr.id = e.project_id
LEFT JOIN clients pc ON pc.id = pr.client_id
LEFT JOIN clients c ON c.id = e.client_id
LEFT JOIN tasks t ON t.id = e.task_id
WHERE e.deleted_at IS NULL;

-- Person x local work date x project (and client). SQLite groups by the ids alone; the
-- names and the week are the ids' and the date's own, so grouping by them too gives the
-- same rows.
CREATE VIEW report_daily_hours AS
SELECT
    person_id,
    person,
    person_email,
    work_date,
    week_start,
    client_id,
    client,
    project_id,
    project,
    count(*)                                             AS entries,
    sum(running)::bigint                                 AS running_entries,
    sum(duration_seconds)::bigint                        AS duration_seconds,
    ROUND(sum(duration_seconds) / 3600.0, 4)::double precision AS hours,
    ROUND(sum(CASE WHEN billable = 1 THEN duration_seconds ELSE 0 END) / 3600.0, 4)::double precision
                                                         AS billable_hours
FROM report_time_entries
GROUP BY person_id, work_date, project_id, client_id,
         person, person_email, week_start, client, project;

-- All-time totals per live project, plus one row (project_id NULL) for entries without a
-- project when there are any.
CREATE VIEW report_project_totals AS
SELECT
    pr.id                                  AS project_id,
    pr.name                                AS project,
    pr.client_id                           AS client_id,
    cl.name                                AS client,
    pr.billable::integer                   AS project_billable,
    pr.hourly_rate_cents                   AS hourly_rate_cents,
    pr.archived::integer                   AS archived,
    COALESCE(agg.entries, 0)               AS entries,
    COALESCE(agg.running_entries, 0)       AS running_entries,
    COALESCE(agg.people, 0)                AS people,
    COALESCE(agg.duration_seconds, 0)      AS duration_seconds,
    ROUND(COALESCE(agg.duration_seconds, 0) / 3600.0, 4)::double precision AS hours,
    ROUND(COALESCE(agg.billable_seconds, 0) / 3600.0, 4)::double precision AS billable_hours,
    CASE WHEN pr.hourly_rate_cents IS NULL THEN NULL
         ELSE ROUND(COALESCE(agg.billable_seconds, 0) * pr.hourly_rate_cents / 3600.0)::bigint
    END                                    AS billable_amount_cents,
    agg.first_work_date                    AS first_work_date,
    agg.last_work_date                     AS last_work_date
FROM projects pr
LEFT JOIN clients cl ON cl.id = pr.client_id
LEFT JOIN (
    SELECT project_id,
           count(*)                            AS entries,
           sum(running)::bigint                AS running_entries,
           count(DISTINCT person_id)           AS people,
           sum(duration_seconds)::bigint       AS duration_seconds,
           sum(CASE WHEN billable = 1 THEN duration_seconds ELSE 0 END)::bigint AS billable_seconds,
           min(work_date)                      AS first_work_date,
           max(work_date)                      AS last_work_date
      FROM report_time_entries
     WHERE project_id IS NOT NULL
     GROUP BY project_id
) AS agg ON agg.project_id = pr.id
WHERE pr.deleted_at IS NULL
UNION ALL
SELECT
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    count(*),
    sum(running)::bigint,
    count(DISTINCT person_id),
    sum(duration_seconds)::bigint,
    ROUND(sum(duration_seconds) / 3600.0, 4)::double precision,
    ROUND(sum(CASE WHEN billable = 1 THEN duration_seconds ELSE 0 END) / 3600.0, 4)::double precision,
    NULL,
    min(work_date),
    max(work_date)
FROM report_time_entries
WHERE project_id IS NULL
HAVING count(*) > 0;

-- Per provider instance that the ledger knows of: the last cycle and its result, the time
-- since the last successful cycle, and what is waiting.
CREATE VIEW report_sync_health AS
WITH known AS (
    SELECT provider FROM sync_runs
    UNION SELECT provider FROM links
    UNION SELECT provider FROM pending_pushes
    UNION SELECT provider FROM conflicts
    UNION SELECT provider FROM record_issues
),
facts AS (
    SELECT
        k.provider,
        (SELECT max(id) FROM sync_runs WHERE provider = k.provider) AS last_run_id,
        (SELECT max(finished_at) FROM sync_runs
          WHERE provider = k.provider AND status IN ('ok', 'partial')) AS last_success_at
    FROM known k
)
SELECT
    f.provider                                           AS provider,
    f.last_run_id                                        AS last_run_id,
    r.mode                                               AS last_run_mode,
    r.started_at                                         AS last_run_started_at,
    r.finished_at                                        AS last_run_finished_at,
    r.status                                             AS last_run_status,
    COALESCE(json_array_length(r.errors::json), 0)::bigint AS last_run_error_count,
    CASE WHEN json_array_length(r.errors::json) > 0
         THEN (r.errors::json ->> (json_array_length(r.errors::json) - 1)) COLLATE "C"
    END                                                  AS last_run_last_error,
    f.last_success_at                                    AS last_success_at,
    ROUND(EXTRACT(EPOCH FROM (now() - f.last_success_at::timestamptz)))::bigint
                                                         AS lag_seconds,
    (SELECT count(*) FROM sync_runs WHERE provider = f.provider)                       AS runs,
    (SELECT count(*) FROM sync_runs WHERE provider = f.provider AND status = 'failed') AS failed_runs,
    (SELECT count(*) FROM conflicts
      WHERE provider = f.provider AND resolved_at IS NULL)                             AS open_conflicts,
    (SELECT count(*) FROM pending_pushes WHERE provider = f.provider)                  AS pending_pushes,
    (SELECT min(created_at) FROM pending_pushes WHERE provider = f.provider)           AS oldest_pending_push_at,
    (SELECT count(*) FROM record_issues WHERE provider = f.provider)                   AS record_issues,
    (SELECT count(*) FROM links
      WHERE provider = f.provider AND kind = 'time_entry' AND remote_deleted_at IS NULL) AS linked_entries
FROM facts f
LEFT JOIN sync_runs r ON r.id = f.last_run_id;

-- Tombstoned time entries: what was deleted, when, and where the deletion came from.
CREATE VIEW report_deleted_entries AS
SELECT
    e.id                                   AS entry_id,
    pe.display_name                        AS person,
    pe.email                               AS person_email,
    COALESCE(c.name, pc.name)              AS client,
    pr.name                                AS project,
    t.name                                 AS task,
    e.started_at                           AS started_at_utc,
    e.ended_at                             AS ended_at_utc,
    e.local_started_at                     AS started_at_local,
    e.local_ended_at                       AS ended_at_local,
    COALESCE(e.source_tz, 'UTC')           AS time_zone,
    e.local_date                           AS work_date,
    w.seconds                              AS duration_seconds,
    ROUND(w.seconds / 3600.0, 4)::double precision AS hours,
    e.billable::integer                    AS billable,
    e.tags                                 AS tags,
    e.notes                                AS notes,
    e.deleted_at                           AS deleted_at,
    e.changed_by                           AS deleted_by,
    e.origin                               AS origin,
    (SELECT string_agg(l.provider, ',' ORDER BY l.provider) FROM links l
      WHERE l.kind = 'time_entry' AND l.canonical_id = e.id AND l.remote_deleted_at IS NULL)
                                           AS providers_still_holding,
    e.person_id                            AS person_id,
    COALESCE(e.client_id, pr.client_id)    AS client_id,
    e.project_id                           AS project_id
FROM time_entries e
CROSS JOIN LATERAL (
    SELECT CASE WHEN e.ended_at IS NULL THEN 0::bigint
                ELSE COALESCE(e.duration_seconds, GREATEST(0::bigint,
                     floor(EXTRACT(EPOCH FROM e.ended_at::timestamptz))::bigint
                     - floor(EXTRACT(EPOCH FROM e.started_at::timestamptz))::bigint
                     - e.break_seconds)) END AS seconds
) AS w
JOIN people pe ON pe.id = e.person_id
LEFT JOIN projects pr ON pr.id = e.project_id
LEFT JOIN clients pc ON pc.id = pr.client_id
LEFT JOIN clients c ON c.id = e.client_id
LEFT JOIN tasks t ON t.id = e.task_id
WHERE e.deleted_at IS NOT NULL;
