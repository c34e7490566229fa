-- Weekly earned value: one row per project per status date, from the baseline start to the as-of date.
-- Inputs: projects, baselines, work_items, costed (worklogs with cost), cal (working-day index per calendar).
-- Parameters: $as_of (DATE), $week_end (ISO weekday of the status date, 7 = Sunday).
WITH
versions AS (
    SELECT project_id, baseline_version, min(effective_from) AS effective_from,
           sum(budget) AS bac, min(planned_start) AS baseline_start, max(planned_finish) AS baseline_finish
    FROM baselines
    GROUP BY ALL
),
proj AS (
    SELECT p.project_id, p.ev_technique, p.eac_method, p.calendar_id,
           min(v.baseline_start) AS first_start
    FROM projects p
    JOIN versions v USING (project_id)
    GROUP BY ALL
),
grid AS (
    SELECT project_id, CAST(sd AS DATE) AS status_date
    FROM proj,
         generate_series(
             first_start + CAST((($week_end - isodow(first_start)) + 7) % 7 AS INTEGER),
             CAST($as_of AS DATE), INTERVAL 7 DAY) AS g(sd)
),
in_force AS (
    -- The version in force is the latest with effective_from <= the status date (the first one before it).
    SELECT g.project_id, g.status_date,
           coalesce(arg_max(v.baseline_version, v.effective_from) FILTER (WHERE v.effective_from <= g.status_date),
                    min(v.baseline_version)) AS baseline_version
    FROM grid g
    JOIN versions v USING (project_id)
    GROUP BY ALL
),
element_weeks AS (
    SELECT f.project_id, f.status_date, f.baseline_version, b.element_key, b.budget,
           b.planned_start, b.planned_finish, p.ev_technique, p.calendar_id
    FROM in_force f
    JOIN baselines b USING (project_id, baseline_version)
    JOIN proj p USING (project_id)
),
pv_elements AS (
    -- Planned value spread over the element's working days; an element with none is planned at its finish.
    SELECT e.*,
           s0.wd AS wd_before, s1.wd AS wd_finish, s2.wd AS wd_now,
           CASE
               WHEN e.status_date < e.planned_start THEN 0
               WHEN s1.wd - s0.wd = 0 THEN CASE WHEN e.status_date >= e.planned_finish THEN e.budget ELSE 0 END
               ELSE e.budget * CAST(least(s2.wd, s1.wd) - s0.wd AS DOUBLE) / (s1.wd - s0.wd)
           END AS pv
    FROM element_weeks e
    JOIN cal s0 ON s0.calendar_id = e.calendar_id AND s0.day = e.planned_start - 1
    JOIN cal s1 ON s1.calendar_id = e.calendar_id AND s1.day = e.planned_finish
    JOIN cal s2 ON s2.calendar_id = e.calendar_id AND s2.day = e.status_date
),
first_snapshot AS (
    SELECT item_key, min(snapshot_date) AS snapshot_date FROM work_items GROUP BY ALL
),
first_work AS (
    SELECT item_key, min(work_date) AS started FROM costed GROUP BY ALL
),
ev_elements AS (
    -- Progress as of a status date comes from the latest export on or before it; weeks before the first
    -- export are rebuilt from the dates that export holds (resolution dates, first worklog).
    SELECT e.project_id, e.status_date, e.element_key, e.pv, e.budget, e.ev_technique,
           coalesce(s.snapshot_date, fs.snapshot_date) AS snapshot_date, fw.started
    FROM pv_elements e
    ASOF LEFT JOIN (SELECT DISTINCT item_key, snapshot_date FROM work_items) s
        ON s.item_key = e.element_key AND e.status_date >= s.snapshot_date
    LEFT JOIN first_snapshot fs ON fs.item_key = e.element_key
    LEFT JOIN first_work fw ON fw.item_key = e.element_key
),
earned AS (
    SELECT x.project_id, x.status_date, x.element_key, x.pv,
           x.budget * CASE
               WHEN x.ev_technique = '50/50' THEN
                   0.5 * CAST(coalesce(x.started <= x.status_date, FALSE)
                              OR coalesce(w.status_category = 'done' AND w.resolved <= x.status_date, FALSE) AS INTEGER)
                   + 0.5 * CAST(coalesce(w.status_category = 'done' AND w.resolved <= x.status_date, FALSE) AS INTEGER)
               ELSE CAST(coalesce(w.status_category = 'done' AND w.resolved <= x.status_date, FALSE) AS INTEGER)
           END AS ev
    FROM ev_elements x
    LEFT JOIN work_items w ON w.item_key = x.element_key AND w.snapshot_date = x.snapshot_date
),
pv_ev AS (
    SELECT project_id, status_date,
           CAST(sum(pv) AS DECIMAL(18, 4)) AS pv, CAST(sum(ev) AS DECIMAL(18, 4)) AS ev
    FROM earned
    GROUP BY ALL
),
ac_weeks AS (
    -- Costs logged before the first status date count in the first week: AC is cumulative.
    SELECT c.project_id,
           greatest(g.first_sd, c.work_date + CAST((($week_end - isodow(c.work_date)) + 7) % 7 AS INTEGER))
               AS status_date,
           sum(c.cost) AS cost
    FROM costed c
    JOIN (SELECT project_id, min(status_date) AS first_sd FROM grid GROUP BY ALL) g USING (project_id)
    WHERE c.in_ac
    GROUP BY ALL
),
base AS (
    SELECT g.project_id, g.status_date, f.baseline_version, v.bac, v.baseline_start, v.baseline_finish,
           p.eac_method,
           coalesce(pe.pv, 0) AS pv, coalesce(pe.ev, 0) AS ev,
           CAST(coalesce(sum(a.cost) OVER (PARTITION BY g.project_id ORDER BY g.status_date), 0)
                AS DECIMAL(18, 4)) AS ac
    FROM grid g
    JOIN in_force f USING (project_id, status_date)
    JOIN versions v USING (project_id, baseline_version)
    JOIN proj p USING (project_id)
    LEFT JOIN pv_ev pe USING (project_id, status_date)
    LEFT JOIN ac_weeks a USING (project_id, status_date)
)
SELECT project_id, status_date, baseline_version, baseline_start, baseline_finish, eac_method,
       CAST(bac AS DECIMAL(18, 4)) AS bac, pv, ev, ac
FROM base
ORDER BY project_id, status_date
