-- Reporting views, third version: money. `report_time_entries` gains two columns, appended
-- after the published ones (names and meaning of those unchanged):
--   hourly_rate_cents      the entry's project's rate (NULL: no project, or no rate);
--   billable_amount_cents  billable worked time x that rate, rounded to a cent (0 for a
--                          non-billable entry or a running timer; NULL without a rate).
-- SQLite cannot alter a view: the two views built on it are dropped and re-created exactly
-- as migration 2 defined them.
DROP VIEW report_project_totals;
DROP VIEW report_daily_hours;
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
    e.created_at                           AS created_at,
    -- Added in migration 6.
    pr.hourly_rate_cents                   AS hourly_rate_cents,
    CASE WHEN pr.hourly_rate_cents IS NULL THEN NULL
         WHEN e.ended_at IS NULL OR NOT e.billable THEN 0
         ELSE CAST(ROUND(COALESCE(e.duration_seconds, max(0, CAST(strftime('%s', e.ended_at) AS INTEGER) - CAST(strftime('%s', e.started_at) AS INTEGER) - e.break_seconds)) * pr.hourly_rate_cents / 3600.0) AS INTEGER) END
                                           AS billable_amount_cents
FROM time_entries e
JOIN people pe ON pe.id = e.person_id
LEFT JOIN projects pr ON pr.id = e.project_id
LEFT JOIN clients pc ON pc.id = pr.client_id
LEFT JOIN clients c ON c.id = e.client_id
LEFT JOIN tasks t ON t.id = e.task_id
WHERE e.deleted_at IS NULL;

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
