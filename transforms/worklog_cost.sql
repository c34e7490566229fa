-- Cost every worklog at the rate in force on its work date: the person's own rate first, else their
-- role's. Inputs: worklogs (resolved: project_id, person_id, item_known), people, rates.
-- One row per worklog, with the reason when it cannot be costed. Unordered: the warehouse write orders it.
WITH person_rate AS (
    SELECT w.worklog_id, r.hourly_rate
    FROM worklogs w
    JOIN rates r
      ON r.person_id = w.person_id
     AND w.work_date >= r.valid_from
     AND (r.valid_to IS NULL OR w.work_date <= r.valid_to)
    QUALIFY row_number() OVER (PARTITION BY w.worklog_id ORDER BY r.valid_from DESC) = 1
),
role_rate AS (
    SELECT w.worklog_id, r.hourly_rate
    FROM worklogs w
    JOIN people p ON p.person_id = w.person_id
    JOIN rates r
      ON r.person_id IS NULL AND r.role = p.role
     AND w.work_date >= r.valid_from
     AND (r.valid_to IS NULL OR w.work_date <= r.valid_to)
    QUALIFY row_number() OVER (PARTITION BY w.worklog_id ORDER BY r.valid_from DESC) = 1
)
SELECT
    w.worklog_id,
    w.project_id,
    w.person_id,
    w.person_name,
    w.source_kind,
    w.source_project_key,
    w.item_key,
    w.work_date,
    w.hours,
    w.approved,
    coalesce(pr.hourly_rate, rr.hourly_rate) AS hourly_rate,
    CAST(w.hours * coalesce(pr.hourly_rate, rr.hourly_rate) AS DECIMAL(18, 4)) AS cost,
    CASE
        WHEN w.project_id IS NULL THEN 'unknown project'
        WHEN w.person_id IS NULL THEN 'unmatched person'
        WHEN coalesce(pr.hourly_rate, rr.hourly_rate) IS NULL THEN 'no rate in force on the work date'
        WHEN NOT $count_unapproved AND w.approved = FALSE THEN 'unapproved hours (not counted)'
        WHEN w.item_key IS NOT NULL AND NOT w.item_known THEN 'ticket in no ticket export (costed)'
    END AS exception,
    -- In AC when it could be costed; a worklog on a ticket no export knows is costed and still reported.
    -- Hours the tool marks unapproved count unless the settings say otherwise.
    w.project_id IS NOT NULL AND w.person_id IS NOT NULL
        AND coalesce(pr.hourly_rate, rr.hourly_rate) IS NOT NULL
        AND ($count_unapproved OR w.approved IS DISTINCT FROM FALSE) AS in_ac,
    w._source_file,
    w._line
FROM worklogs w
LEFT JOIN person_rate pr USING (worklog_id)
LEFT JOIN role_rate rr USING (worklog_id)
