-- The timeweave ledger, first version. Append-only: never edit a landed migration; add a
-- new file instead. Times are RFC 3339 UTC text with a `Z` ("2026-03-10T08:00:00Z"), which
-- sorts correctly as text. Booleans are 0/1.

-- Canonical records -------------------------------------------------------------------
-- Common columns: id (UUIDv7 text), content_hash (see providers/contract/src/hash.rs),
-- origin (the provider instance that first brought the record), changed_by (the instance,
-- or 'ledger', that made the current content: used by the `prefer` conflict policy),
-- created_at / updated_at (ledger time), deleted_at (tombstone; rows are never removed
-- while links exist).

CREATE TABLE people (
    id            TEXT PRIMARY KEY NOT NULL,
    display_name  TEXT NOT NULL,
    email         TEXT,
    username      TEXT,
    content_hash  TEXT NOT NULL,
    origin        TEXT NOT NULL,
    changed_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
-- The cross-provider key: one live person per e-mail.
CREATE UNIQUE INDEX people_email ON people (email) WHERE email IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE clients (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT,
    notes         TEXT,
    archived      INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    content_hash  TEXT NOT NULL,
    origin        TEXT NOT NULL,
    changed_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE INDEX clients_name ON clients (name COLLATE NOCASE);

CREATE TABLE projects (
    id                 TEXT PRIMARY KEY NOT NULL,
    client_id          TEXT REFERENCES clients (id),
    name               TEXT NOT NULL,
    billable           INTEGER NOT NULL DEFAULT 1 CHECK (billable IN (0, 1)),
    hourly_rate_cents  INTEGER,
    archived           INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    content_hash       TEXT NOT NULL,
    origin             TEXT NOT NULL,
    changed_by         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    deleted_at         TEXT
) STRICT;
CREATE INDEX projects_name ON projects (name COLLATE NOCASE);

CREATE TABLE tasks (
    id            TEXT PRIMARY KEY NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects (id),
    name          TEXT NOT NULL,
    archived      INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    content_hash  TEXT NOT NULL,
    origin        TEXT NOT NULL,
    changed_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
) STRICT;
CREATE INDEX tasks_project_name ON tasks (project_id, name COLLATE NOCASE);

CREATE TABLE time_entries (
    id                TEXT PRIMARY KEY NOT NULL,
    person_id         TEXT NOT NULL REFERENCES people (id),
    project_id        TEXT REFERENCES projects (id),
    task_id           TEXT REFERENCES tasks (id),
    client_id         TEXT REFERENCES clients (id),
    started_at        TEXT NOT NULL,
    ended_at          TEXT,
    break_seconds     INTEGER NOT NULL DEFAULT 0,
    duration_seconds  INTEGER,
    source_tz         TEXT,
    -- Wall-clock start/end and work date in source_tz (UTC when unknown), for reporting.
    local_started_at  TEXT NOT NULL,
    local_ended_at    TEXT,
    local_date        TEXT NOT NULL,
    notes             TEXT,
    tags              TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings, sorted
    billable          INTEGER NOT NULL DEFAULT 1 CHECK (billable IN (0, 1)),
    kind              TEXT NOT NULL DEFAULT 'work' CHECK (kind IN ('work', 'attendance')),
    content_hash      TEXT NOT NULL,
    origin            TEXT NOT NULL,
    changed_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    deleted_at        TEXT,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
) STRICT;
CREATE INDEX time_entries_started ON time_entries (started_at);
CREATE INDEX time_entries_person_started ON time_entries (person_id, started_at);
CREATE INDEX time_entries_local_date ON time_entries (local_date);

-- Sync bookkeeping ---------------------------------------------------------------------

-- One row per canonical record per provider instance. Both uniqueness rules together make
-- a duplicate impossible: a remote record maps to one canonical record and back.
CREATE TABLE links (
    provider           TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('person', 'client', 'project', 'task', 'time_entry')),
    canonical_id       TEXT NOT NULL,
    remote_id          TEXT NOT NULL,
    remote_hash        TEXT NOT NULL,   -- hash of the remote record (remote ids) at the last sync
    canonical_hash     TEXT NOT NULL,   -- hash of the canonical record at the last sync
    remote_version     TEXT,            -- opaque version the provider wants back on update
    remote_updated_at  TEXT,            -- the provider's own modification time, when known
    remote_started_at  TEXT,            -- time entries: start as last seen remotely (window membership)
    remote_deleted_at  TEXT,            -- the remote record is gone (or archived by our delete)
    synced_at          TEXT NOT NULL,
    PRIMARY KEY (provider, kind, remote_id),
    UNIQUE (provider, kind, canonical_id)
) STRICT;
CREATE INDEX links_canonical ON links (canonical_id);
CREATE INDEX links_window ON links (provider, kind, remote_started_at);

-- Per provider instance and kind: where the deep scan is and the change-feed watermark.
CREATE TABLE cursors (
    provider            TEXT NOT NULL,
    kind                TEXT NOT NULL,
    deep_scan_position  TEXT,             -- the next deep-scan slice ends here (walking back)
    deep_scan_passes    INTEGER NOT NULL DEFAULT 0,
    change_watermark    TEXT,             -- change feed listed up to here
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (provider, kind)
) STRICT;

-- An intent is written before a remote write and removed with the outcome, so a crash
-- in between is reconciled (looked up remotely) before anything is sent again.
CREATE TABLE pending_pushes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    provider         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    canonical_id     TEXT NOT NULL,
    op               TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    remote_id        TEXT,
    idempotency_key  TEXT NOT NULL,
    payload          TEXT NOT NULL,      -- JSON of the record as sent (remote references)
    canonical_hash   TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (provider, kind, canonical_id)
) STRICT;

CREATE TABLE conflicts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    provider        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    canonical_id    TEXT NOT NULL,
    remote_id       TEXT NOT NULL,
    ledger_record   TEXT NOT NULL,      -- JSON, canonical references
    remote_record   TEXT NOT NULL,      -- JSON, mapped to canonical references
    remote_hash     TEXT NOT NULL,      -- remote hash (remote ids) when detected
    remote_version  TEXT,
    policy          TEXT NOT NULL CHECK (policy IN ('newest', 'prefer', 'manual')),
    winner          TEXT CHECK (winner IN ('ledger', 'provider')),   -- NULL while open
    detected_at     TEXT NOT NULL,
    resolved_at     TEXT,
    resolved_by     TEXT                -- the policy, or 'operator'
) STRICT;
CREATE UNIQUE INDEX conflicts_one_open ON conflicts (provider, kind, canonical_id) WHERE resolved_at IS NULL;

-- Records a provider could not take or give, recorded once (per content) instead of being
-- retried every cycle: invalid remote records and pushes the provider cannot represent.
CREATE TABLE record_issues (
    provider       TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('pull', 'push')),
    kind           TEXT NOT NULL,
    record_id      TEXT NOT NULL,       -- remote id (pull) or canonical id (push)
    content_hash   TEXT NOT NULL,       -- the issue stands until the content changes
    reason         TEXT NOT NULL,
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    PRIMARY KEY (provider, direction, kind, record_id)
) STRICT;

CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    provider      TEXT NOT NULL,
    mode          TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'interrupted')),
    pulled        INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL DEFAULT 0,   -- canonical records created from this provider
    updated       INTEGER NOT NULL DEFAULT 0,   -- canonical records updated from this provider
    deleted       INTEGER NOT NULL DEFAULT 0,   -- canonical records tombstoned from this provider
    pushed        INTEGER NOT NULL DEFAULT 0,   -- remote creates + updates + deletes
    conflicts     INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    requests      INTEGER NOT NULL DEFAULT 0,
    rate_limited  INTEGER NOT NULL DEFAULT 0,
    errors        TEXT NOT NULL DEFAULT '[]'    -- JSON array of messages (bounded)
) STRICT;
CREATE INDEX sync_runs_provider ON sync_runs (provider, id);

-- Reporting views: the stable contract for readers (docs/ledger.md). Tables may evolve.

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
    e.ended_at IS NULL                     AS running,
    e.break_seconds                        AS break_seconds,
    COALESCE(e.duration_seconds, 0)        AS duration_seconds,
    ROUND(COALESCE(e.duration_seconds, 0) / 3600.0, 4) AS hours,
    e.billable                             AS billable,
    e.kind                                 AS kind,
    e.tags                                 AS tags,
    e.notes                                AS notes,
    (SELECT group_concat(l.provider, ',') FROM
        (SELECT provider FROM links
          WHERE kind = 'time_entry' AND canonical_id = e.id AND remote_deleted_at IS NULL
          ORDER BY provider) AS l)         AS providers,
    e.origin                               AS origin,
    e.updated_at                           AS updated_at
FROM time_entries e
JOIN people pe ON pe.id = e.person_id
LEFT JOIN projects pr ON pr.id = e.project_id
LEFT JOIN clients pc ON pc.id = pr.client_id
LEFT JOIN clients c ON c.id = e.client_id
LEFT JOIN tasks t ON t.id = e.task_id
WHERE e.deleted_at IS NULL;
