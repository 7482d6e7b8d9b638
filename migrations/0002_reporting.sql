-- Reporting views, second version: the stable contract for Grafana, Metabase, Datasette,
-- spreadsheets and scripts (documented column by column in docs/ledger.md). Views may be
-- replaced by later migrations, but a column once published keeps its name and meaning;
-- new columns are only ever appended. Tombstoned (deleted) records never appear here except
-- in `report_deleted_entries`.
--
-- Written for any SQLite from 3.31 on (readers compile the views with their own SQLite):
-- JSON1 functions, no `->>` operator.

-- Range exports and reports walk entries by local work date, then start.
CREATE INDEX time_entries_local_date_started ON time_entries (local_date, started_at, id);

-- One row per live time entry. The columns up to `updated_at` are those of the first
-- version, in the same order; `person_id` onwards are new.
-- Running timers (no end yet) count as 0 hours until stopped: `running` = 1, `hours` = 0.
-- A finished entry's worked time is the provider's duration, else end - start - break (the
-- canonical model's rule), never negative.
DROP VIEW report_time_entries;
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
    CASE WHEN e.ended_at IS NULL THEN 0 ELSE COALESCE(e.duration_seconds, max(0, CAST(strftime('%s', e.ended_at) AS INTEGER) - CAST(strftime('%s', e.started_at) AS INTEGER) - e.break_seconds)) END AS duration_seconds,
    CASE WHEN e.ended_at IS NULL THEN 0.0
         ELSE ROUND(COALESCE(e.duration_seconds, max(0, CAST(strftime('%s', e.ended_at) AS INTEGER) - CAST(strftime('%s', e.started_at) AS INTEGER) - e.break_seconds)) / 3600.0, 4) END AS hours,
    e.billable                             AS billable,
    e.kind                                 AS kind,
    e.tags                                 AS tags,
    e.notes                                AS notes,
    (SELECT group_concat(l.provider, ',') FROM
        (SELECT provider FROM links
          WHERE kind = 'time_entry' AND canonical_id = e.id AND remote_deleted_at IS NULL
          ORDER BY provider) AS l)         AS providers,
    e.origin                               AS origin,
    e.updated_at                           AS updated_at,
    -- Added in migration 2.
    e.person_id                            AS person_id,
    COALESCE(e.client_id, pr.client_id)    AS client_id,
    e.project_id                           AS project_id,
    e.task_id                              AS task_id,
    (SELECT group_concat(value, ', ') FROM
        (SELECT value FROM json_each(e.tags) ORDER BY value)) AS tag_list,
    date(e.local_date, '-' || ((CAST(strftime('%w', e.local_date) AS INTEGER) + 6) % 7) || ' days')
                                           AS week_start,
    substr(e.local_date, 1, 7)             AS month,
    CASE WHEN e.ended_at IS NULL OR NOT e.billable THEN 0.0
         ELSE ROUND(COALESCE(e.duration_seconds, max(0, CAST(strftime('%s', e.ended_at) AS INTEGER) - CAST(strftime('%s', e.started_at) AS INTEGER) - e.break_seconds)) / 3600.0, 4) END AS billable_hours,
    e.created_at                           AS created_at
FROM time_entries e
JOIN people pe ON pe.id = e.person_id
LEFT JOIN projects pr ON pr.id = e.project_id
LEFT JOIN clients pc ON pc.id = pr.client_id
LEFT JOIN clients c ON c.id = e.client_id
LEFT JOIN tasks t ON t.id = e.task_id
WHERE e.deleted_at IS NULL;

-- Person x local work date x project (and client, which matters for entries without a
-- project): one row per combination that has live entries.
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
    sum(running)                                         AS running_entries,
    sum(duration_seconds)                                AS duration_seconds,
    ROUND(sum(duration_seconds) / 3600.0, 4)             AS hours,
    ROUND(sum(CASE WHEN billable THEN duration_seconds ELSE 0 END) / 3600.0, 4) AS billable_hours
FROM report_time_entries
GROUP BY person_id, work_date, project_id, client_id;

-- All-time totals per live project, plus one row (project_id NULL) for entries without a
-- project when there are any. For a date range, sum `report_daily_hours` instead.
CREATE VIEW report_project_totals AS
SELECT
    pr.id                                  AS project_id,
    pr.name                                AS project,
    pr.client_id                           AS client_id,
    cl.name                                AS client,
    pr.billable                            AS project_billable,
    pr.hourly_rate_cents                   AS hourly_rate_cents,
    pr.archived                            AS archived,
    COALESCE(agg.entries, 0)               AS entries,
    COALESCE(agg.running_entries, 0)       AS running_entries,
    COALESCE(agg.people, 0)                AS people,
    COALESCE(agg.duration_seconds, 0)      AS duration_seconds,
    ROUND(COALESCE(agg.duration_seconds, 0) / 3600.0, 4) AS hours,
    ROUND(COALESCE(agg.billable_seconds, 0) / 3600.0, 4) AS billable_hours,
    CASE WHEN pr.hourly_rate_cents IS NULL THEN NULL
         ELSE CAST(ROUND(COALESCE(agg.billable_seconds, 0) * pr.hourly_rate_cents / 3600.0) AS INTEGER)
    END                                    AS billable_amount_cents,
    agg.first_work_date                    AS first_work_date,
    agg.last_work_date                     AS last_work_date
FROM projects pr
LEFT JOIN clients cl ON cl.id = pr.client_id
LEFT JOIN (
    SELECT project_id,
           count(*)                    AS entries,
           sum(running)                AS running_entries,
           count(DISTINCT person_id)   AS people,
           sum(duration_seconds)       AS duration_seconds,
           sum(CASE WHEN billable THEN duration_seconds ELSE 0 END) AS billable_seconds,
           min(work_date)              AS first_work_date,
           max(work_date)              AS last_work_date
      FROM report_time_entries
     WHERE project_id IS NOT NULL
     GROUP BY project_id
) AS agg ON agg.project_id = pr.id
WHERE pr.deleted_at IS NULL
UNION ALL
SELECT
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    count(*),
    sum(running),
    count(DISTINCT person_id),
    sum(duration_seconds),
    ROUND(sum(duration_seconds) / 3600.0, 4),
    ROUND(sum(CASE WHEN billable THEN duration_seconds ELSE 0 END) / 3600.0, 4),
    NULL,
    min(work_date),
    max(work_date)
FROM report_time_entries
WHERE project_id IS NULL
HAVING count(*) > 0;

-- Per provider instance that the ledger knows of (it ran, or holds links, intents,
-- conflicts or issues): the last cycle and its result, the time since the last successful
-- cycle, and what is waiting. `timeweave status` adds the schedule-aware health verdict.
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
    COALESCE(json_array_length(r.errors), 0)             AS last_run_error_count,
    CASE WHEN json_array_length(r.errors) > 0
         THEN json_extract(r.errors, '$[' || (json_array_length(r.errors) - 1) || ']')
    END                                                  AS last_run_last_error,
    f.last_success_at                                    AS last_success_at,
    CAST(ROUND((julianday('now') - julianday(f.last_success_at)) * 86400) AS INTEGER)
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
-- `providers_still_holding` lists instances whose copy is not known to be gone yet (the
-- deletion is still to be propagated there, or was held back).
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
    CASE WHEN e.ended_at IS NULL THEN 0 ELSE COALESCE(e.duration_seconds, max(0, CAST(strftime('%s', e.ended_at) AS INTEGER) - CAST(strftime('%s', e.started_at) AS INTEGER) - e.break_seconds)) END AS duration_seconds,
    CASE WHEN e.ended_at IS NULL THEN 0.0
         ELSE ROUND(COALESCE(e.duration_seconds, max(0, CAST(strftime('%s', e.ended_at) AS INTEGER) - CAST(strftime('%s', e.started_at) AS INTEGER) - e.break_seconds)) / 3600.0, 4) END AS hours,
    e.billable                             AS billable,
    e.tags                                 AS tags,
    e.notes                                AS notes,
    e.deleted_at                           AS deleted_at,
    e.changed_by                           AS deleted_by,
    e.origin                               AS origin,
    (SELECT group_concat(l.provider, ',') FROM
        (SELECT provider FROM links
          WHERE kind = 'time_entry' AND canonical_id = e.id AND remote_deleted_at IS NULL
          ORDER BY provider) AS l)         AS providers_still_holding,
    e.person_id                            AS person_id,
    COALESCE(e.client_id, pr.client_id)    AS client_id,
    e.project_id                           AS project_id
FROM time_entries e
JOIN people pe ON pe.id = e.person_id
LEFT JOIN projects pr ON pr.id = e.project_id
LEFT JOIN clients pc ON pc.id = pr.client_id
LEFT JOIN clients c ON c.id = e.client_id
LEFT JOIN tasks t ON t.id = e.task_id
WHERE e.deleted_at IS NOT NULL;
