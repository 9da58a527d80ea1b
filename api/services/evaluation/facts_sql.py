"""The SQL text that turns the event log into facts (`api.services.evaluation.query`, which
fills and runs it; buckets.FACTS_PAIRS_SQL reads it for a trend's (incident, bucket) pairs).

`inc` lists the incidents a period can count; those live at T whose log is not in time order
are read from their log event by event (the log path: `ev` … `st`), every other from its stored
facts as of T (the stored path: `sd` … `gone`, migration 0037); `facts` is one row per counted
thing of docs/metrics.md, with the department it is attributed to.
"""

# The deadline marks (each leaves the deadline in force: `due_at` of the first three, none of the
# others), as the log path numbers them and the stored path looks the one before T up.
_DUE_MARKS = "'dispatch', 'approve_extension', 'reopen'"
_MARKS = f"{_DUE_MARKS}, 'suspend', 'return', 'self_handle'"

# When a dispatch episode's handling obligation settles as of T (`e`: its deadline in force
# `due`, first handling `handled_at`, end `end_at`, and `t_end`), on the log path and the stored
# path alike: handled by the deadline, or the deadline passed before T within the episode.
_EPISODE_SETTLED = """CASE
        WHEN e.due IS NULL THEN NULL
        WHEN e.handled_at IS NOT NULL AND e.handled_at <= e.due THEN e.handled_at
        WHEN e.due < e.t_end AND (e.end_at IS NULL OR e.end_at > e.due) THEN e.due
    END"""

_FACTS_TEMPLATE = """
inc AS MATERIALIZED ({inc}
),
-- The log path, for live incidents only (none when T is now). Each event is read once, in one
-- window pass over each incident's log in id order, with its place in that log: mk = deadline
-- marks so far (the deadline in force after it is the mk-th mark's), ep = episode bounds so far
-- (its dispatch episode), hn = handling reports so far. Every later step joins on these numbers
-- (hash joins, linear) instead of searching the log again.
ev AS MATERIALIZED (
    SELECT x.*,
           count(*) FILTER (WHERE x.is_mark) OVER w AS mk,
           count(*) FILTER (WHERE x.is_bound) OVER w AS ep,
           count(*) FILTER (WHERE x.action = 'handle') OVER w AS hn
    FROM (
        SELECT e.id, inc.id AS incident_id, inc.ikey, inc.t_from, inc.t_end, e.at, e.action,
               e.department_code AS dept,
               -- the due_at a mark leaves behind (NULL = none / paused)
               CASE WHEN e.action IN ({due_marks})
                    THEN (e.data ->> 'due_at')::timestamptz END AS due,
               e.action IN ({marks}) AS is_mark,
               e.action IN ('dispatch', 'return', 'self_handle') AS is_bound,
               CASE WHEN e.action = 'verify' THEN e.data ->> 'passed' = 'true' END AS passed
        -- one index probe per live incident: their number, not the log's size, sets the cost
        -- (an incident in several rows of `inc`, a trend's pairs, is read once, up to its last T)
        FROM inc JOIN (
            SELECT e.* FROM (
                SELECT incident, max(t_end) AS t_end FROM inc WHERE live GROUP BY incident
            ) u CROSS JOIN LATERAL (
                SELECT * FROM incident_events e WHERE e.incident_id = u.incident AND e.at < u.t_end
                OFFSET 0  -- keeps the probe per incident (no merge join over the whole log)
            ) e
        ) e ON e.incident_id = inc.incident AND e.at < inc.t_end
        WHERE inc.live
    ) x
    WINDOW w AS (PARTITION BY x.incident_id ORDER BY x.id ROWS UNBOUNDED PRECEDING)
),
marks AS MATERIALIZED (SELECT incident_id, mk, due FROM ev WHERE is_mark),
-- A dispatch episode lasts until the next dispatch, return or self-handling (the next bound).
bounds AS MATERIALIZED (
    SELECT incident_id, ikey, t_from, t_end, ep, at, action, dept, mk, hn FROM ev WHERE is_bound
),
life AS MATERIALIZED (
    -- per incident: marks and bounds before T, the first passed verification (C) and where it
    -- falls in the log, the rejection and the failed verifications
    SELECT inc.id, inc.ikey, inc.t_from, inc.t_end, coalesce(a.mk, 0) AS mk,
           coalesce(a.ep, 0) AS ep, a.closed_at, a.closed_mk, a.closed_ep, a.rejected_at,
           coalesce(a.reworks, 0) AS reworks
    FROM inc LEFT JOIN (
        SELECT incident_id, max(mk) AS mk, max(ep) AS ep,
               min(at) FILTER (WHERE passed) AS closed_at,
               min(mk) FILTER (WHERE passed) AS closed_mk,
               min(ep) FILTER (WHERE passed) AS closed_ep,
               min(at) FILTER (WHERE action = 'reject') AS rejected_at,
               count(*) FILTER (WHERE NOT passed) AS reworks
        FROM ev GROUP BY incident_id
    ) a ON a.incident_id = inc.id
    WHERE inc.live
),
ep AS (
    SELECT e.*, {episode_settled} AS settled_at
    FROM (
        SELECT b.incident_id, b.ikey, b.t_from, b.t_end, b.dept, b.at AS dispatched_at,
               nb.at AS end_at, h.at AS handled_at, m.due
        FROM bounds b
        -- the department's first handling report in the episode
        LEFT JOIN ev h ON h.incident_id = b.incident_id AND h.action = 'handle'
             AND h.hn = b.hn + 1 AND h.ep = b.ep
        LEFT JOIN bounds nb ON nb.incident_id = b.incident_id AND nb.ep = b.ep + 1
        JOIN life l ON l.id = b.incident_id
        -- the deadline in force when it was handled (or at the episode's end, or at T)
        LEFT JOIN marks m ON m.incident_id = b.incident_id
             AND m.mk = coalesce(h.mk, nb.mk - 1, l.mk)
        WHERE b.action = 'dispatch'
    ) e
),
st AS (
    SELECT l.*, m.due, CASE WHEN b.action = 'dispatch' THEN b.dept END AS dept,
           CASE
        WHEN l.closed_at IS NOT NULL AND (m.due IS NULL OR l.closed_at <= m.due)
            THEN l.closed_at
        WHEN l.rejected_at IS NULL AND m.due < l.t_end THEN m.due
    END AS settled_at
    FROM life l
    -- the deadline in force when it closed (or at the end of observation)
    LEFT JOIN marks m ON m.incident_id = l.id AND m.mk = coalesce(l.closed_mk, l.mk)
    -- the lead of the last dispatch, unless returned or self-handled since
    LEFT JOIN bounds b ON b.incident_id = l.id AND b.ep = coalesce(l.closed_ep, l.ep)
),
-- The stored path: every other incident, from its stored facts as of T. Either all the events
-- its facts read are before T, or they were logged in time order (eval_incidents.ordered): then
-- its log up to T is a first part of its whole log, and its facts at T are the stored ones with
-- what happened at or after T taken away (a handling, an episode's end, a closing, a rejection
-- at or after T: not yet), and the deadline in force at T (`due_t`) instead of a later one: the
-- last mark's if it is before T, else that of the last mark before T in the log (migration
-- 0037, docs/metrics.md "Known limits").
sd AS MATERIALIZED (
    SELECT inc.*, CASE
        WHEN inc.last_mark_at IS NULL OR inc.last_mark_at < inc.t_end THEN inc.last_due
        ELSE (SELECT CASE WHEN m.action IN ({due_marks})
                          THEN (m.data ->> 'due_at')::timestamptz END
              FROM incident_events m
              WHERE m.incident_id = inc.incident AND m.at < inc.t_end
                AND m.action IN ({marks})
              ORDER BY m.id DESC LIMIT 1)
    END AS due_t
    FROM inc WHERE NOT inc.live
),
-- Every episode of those incidents, as stored (its stored settling, `final_at`, as migration
-- 0027 dates its facts) and as of T where it began before T (`seen`).
sa AS MATERIALIZED (
    SELECT s.id AS incident_id, s.ikey, s.t_from, s.t_end, f.lead, f.dispatched_at,
           f.dispatched_at < s.t_end AS seen,
           CASE WHEN f.handled_at < s.t_end THEN f.handled_at END AS handled_at,
           CASE WHEN f.end_at < s.t_end THEN f.end_at END AS end_at, f.due AS due_final,
           s.due_t, f.handled_at AS handled_final, CASE
        WHEN f.due IS NULL THEN NULL
        WHEN f.handled_at IS NOT NULL AND f.handled_at <= f.due THEN f.handled_at
        WHEN f.end_at IS NULL OR f.end_at > f.due THEN f.due
    END AS final_at
    FROM eval_episodes f JOIN sd s ON s.incident = f.incident_id
    WHERE {facts_scope}
),
se AS (
    SELECT e.*, {episode_settled} AS settled_at
    FROM (
        SELECT e.incident_id, e.ikey, e.t_from, e.t_end, e.lead, e.dispatched_at, e.handled_at,
               e.end_at,
               -- the deadline when it was handled or ended, or else at T
               CASE WHEN e.handled_at IS NULL AND e.end_at IS NULL THEN e.due_t
                    ELSE e.due_final END AS due
        FROM sa e WHERE e.seen
    ) e
),
sc AS (
    SELECT c.*, CASE
        WHEN c.closed_at IS NOT NULL AND (c.close_due IS NULL OR c.closed_at <= c.close_due)
            THEN c.closed_at
        WHEN c.rejected_at IS NULL AND c.close_due < c.t_end THEN c.close_due
    END AS settled_at
    FROM (
        SELECT s.id, s.ikey, s.t_from, s.t_end, s.reported_at, s.report_dept, s.registered_at,
               s.register_dept, s.rejected_dept, s.closed_dept,
               CASE WHEN s.rejected_at < s.t_end THEN s.rejected_at END AS rejected_at,
               CASE WHEN s.closed_at < s.t_end THEN s.closed_at END AS closed_at,
               coalesce(s.reworked_at < s.t_end, false)::int AS reworks,
               -- closed before T: the deadline and lead of then; else those at T (the lead of
               -- the episode not ended by T, if any)
               CASE WHEN s.closed_at < s.t_end THEN s.close_due ELSE s.due_t END AS close_due,
               CASE WHEN s.closed_at < s.t_end THEN s.close_lead ELSE o.lead END AS close_lead,
               s.closed_at AS closed_final, s.close_lead AS lead_final,
               s.reworks AS reworks_final, CASE
            WHEN s.closed_at IS NOT NULL AND (s.close_due IS NULL OR s.closed_at <= s.close_due)
                THEN s.closed_at
            WHEN s.rejected_at IS NULL THEN s.close_due
        END AS final_at
        FROM sd s LEFT JOIN se o ON o.incident_id = s.id AND o.end_at IS NULL
    ) c
),
-- The T-dependent facts the rollups hold for them, dated as stored (migration 0027), in the
-- period: a correction takes these away where it adds their facts as of T (rollup.correction_log)
gone AS (
    SELECT incident_id, lead AS dept, ikey, 'handle_due' AS m FROM sa
    WHERE final_at >= t_from AND final_at < t_end
    UNION ALL
    SELECT incident_id, lead, ikey, 'handle_on_time' FROM sa
    WHERE final_at >= t_from AND final_at < t_end AND final_at = handled_final
    UNION ALL
    SELECT id, lead_final, ikey, v.m FROM sc
    CROSS JOIN LATERAL (VALUES ('close_due', true), ('close_done', closed_final IS NOT NULL),
                               ('close_on_time', final_at = closed_final),
                               ('reworked', reworks_final > 0)) v(m, yes)
    WHERE final_at >= t_from AND final_at < t_end AND v.yes
),
wh AS (
    SELECT w.incident_id, {ikey} AS ikey, k.department_code AS dept,
           k.checked_in_at IS NOT NULL AND k.checked_in_at <= w.deadline_at AS on_time
    FROM whistles w JOIN whistle_checkins k ON k.whistle_id = w.id
    JOIN incidents i ON i.id = w.incident_id JOIN categories c ON c.code = i.category_code
    WHERE k.cancelled_at IS NULL  -- the whistle ended before this summons fell due
      AND least(k.checked_in_at, w.deadline_at) >= %(t_from)s
      AND least(k.checked_in_at, w.deadline_at) < %(t_end)s
      AND {incident_scope}
),
-- Handled (处置数) counts incidents, not reports: one row per incident and department, `v` = 1
-- on exactly one of an incident's rows (the total counts those).
hd AS (
    SELECT incident_id, dept, ikey,
           (row_number() OVER (PARTITION BY incident_id ORDER BY dept) = 1)::int::float8 AS v
    FROM (
        SELECT DISTINCT incident_id, dept, ikey FROM (
            SELECT incident_id, dept, ikey FROM ev
            WHERE at >= t_from AND action IN ('handle', 'self_handle')
            UNION ALL
            SELECT inc.id, h.dept, inc.ikey
            FROM eval_handles h JOIN inc ON inc.incident = h.incident_id AND NOT inc.live
            WHERE h.at >= inc.t_from AND h.at < inc.t_end
        ) h
    ) d
),
-- Handling times of episodes handled in the period.
timing AS (
    SELECT incident_id, dept, ikey, extract(epoch FROM handled_at - dispatched_at) AS v
    FROM ep WHERE handled_at >= t_from
    UNION ALL
    SELECT incident_id, lead, ikey, extract(epoch FROM handled_at - dispatched_at)
    FROM se WHERE handled_at >= t_from
),
-- Report, register, reject and the passing verification happen at most once per incident (the
-- workflow allows them once), so counting these facts counts incidents.
facts AS (
    SELECT incident_id, dept, ikey, CASE action
            WHEN 'report' THEN 'reported' WHEN 'register' THEN 'registered'
            WHEN 'dispatch' THEN 'dispatched' WHEN 'return' THEN 'returned'
            WHEN 'reject' THEN 'rejected' ELSE 'closed'
        END AS m, NULL::float8 AS v
    FROM ev
    WHERE at >= t_from AND (action IN ('report', 'register', 'dispatch', 'return', 'reject')
        OR passed)
    UNION ALL
    SELECT incident_id, dept, ikey, 'handled', v FROM hd
    UNION ALL
    {live_obligations}
    UNION ALL
    -- stored path: activity in the period (rejections and closings at or after T are gone)
    SELECT id, report_dept, ikey, 'reported', NULL FROM sc
    WHERE reported_at >= t_from AND reported_at < t_end
    UNION ALL
    SELECT id, register_dept, ikey, 'registered', NULL FROM sc
    WHERE registered_at >= t_from AND registered_at < t_end
    UNION ALL
    SELECT id, rejected_dept, ikey, 'rejected', NULL FROM sc WHERE rejected_at >= t_from
    UNION ALL
    SELECT id, closed_dept, ikey, 'closed', NULL FROM sc WHERE closed_at >= t_from
    UNION ALL
    SELECT incident_id, lead, ikey, 'dispatched', NULL FROM se
    WHERE dispatched_at >= t_from
    UNION ALL
    -- every return (also one ending a self-handling), from eval_facts
    SELECT inc.id, x.dept, inc.ikey, 'returned', NULL
    FROM eval_facts x JOIN inc ON inc.incident = x.incident_id AND NOT inc.live
    WHERE x.m = 'returned' AND x.at >= inc.t_from AND x.at < inc.t_end
    UNION ALL
    {stored_obligations}
    UNION ALL
    SELECT incident_id, dept, ikey, 'checkin_due', NULL FROM wh
    UNION ALL
    SELECT incident_id, dept, ikey, 'checkin_on_time', NULL FROM wh WHERE on_time
)
"""


# The obligations settled in the period and the cases open at its end, read alike on the log
# path (episodes `ep`, cases `st`) and the stored path (`se`, `sc`).
_OBLIGATIONS_SQL = """SELECT incident_id, {lead}, ikey, 'handle_due', NULL FROM {episodes}
    WHERE settled_at >= t_from
    UNION ALL
    SELECT incident_id, {lead}, ikey, 'handle_on_time', NULL FROM {episodes}
    WHERE settled_at >= t_from AND settled_at = handled_at
    UNION ALL
    SELECT id, {case_lead}, ikey, 'close_due', NULL FROM {cases}
    WHERE settled_at >= t_from
    UNION ALL
    SELECT id, {case_lead}, ikey, 'close_done', NULL FROM {cases}
    WHERE settled_at >= t_from AND closed_at IS NOT NULL
    UNION ALL
    SELECT id, {case_lead}, ikey, 'close_on_time', NULL FROM {cases}
    WHERE settled_at >= t_from AND settled_at = closed_at
    UNION ALL
    SELECT id, {case_lead}, ikey, 'reworked', NULL FROM {cases}
    WHERE settled_at >= t_from AND reworks > 0
    UNION ALL
    SELECT id, {case_lead}, ikey, 'open', NULL FROM {cases}
    WHERE closed_at IS NULL AND rejected_at IS NULL
    UNION ALL
    SELECT id, {case_lead}, ikey, 'overdue', NULL FROM {cases}
    WHERE closed_at IS NULL AND rejected_at IS NULL AND {due} < t_end"""
_LOG_NAMES = {"episodes": "ep", "lead": "dept", "cases": "st", "case_lead": "dept", "due": "due"}
_STORED_NAMES = {
    "episodes": "se",
    "lead": "lead",
    "cases": "sc",
    "case_lead": "close_lead",
    "due": "close_due",
}

# The stored facts `inc` carries for the stored path (`sd`, `se`, `sc`), as `f.`
STORED_FACTS = """f.reported_at, f.report_dept, f.registered_at, f.register_dept, f.rejected_at,
           f.rejected_dept, f.closed_at, f.closed_dept, f.reworks, f.close_due, f.close_lead,
           f.last_mark_at, f.last_due, f.reworked_at"""

# `inc` for one period [t_from, t_end): the incidents in it, each once.
_INC_ONE = """
    -- Incidents that can have a fact in the period: reported before its end and not finished
    -- (closed or rejected) before it began; with their stored facts (eval_incidents, kept current
    -- by a trigger on every event). `live`: an event at or after T exists and the events were
    -- not logged in time order, so the stored facts (which know that event) do not describe T
    -- and the log is read instead. `id` names the incident in every later step, `incident` is
    -- the one whose log is read; each row carries its period, which the later steps read from it.
    SELECT i.id, i.id AS incident, %(t_from)s::timestamptz AS t_from,
           %(t_end)s::timestamptz AS t_end, {ikey} AS ikey,
           coalesce(f.last_at >= %(t_end)s AND NOT f.ordered, false) AS live, {stored}
    FROM incidents i JOIN categories c ON c.code = i.category_code
    LEFT JOIN eval_incidents f ON f.incident_id = i.id AND {facts_scope}
    WHERE i.reported_at < %(t_end)s AND (i.closed_at IS NULL OR i.closed_at >= %(t_from)s)
      AND {incident_scope}""".replace("{stored}", STORED_FACTS)

# the facts' CTEs with `{inc}` to fill: FACTS_SQL here, buckets.FACTS_PAIRS_SQL
FACTS_OF_INC = (
    _FACTS_TEMPLATE.replace("{live_obligations}", _OBLIGATIONS_SQL.format(**_LOG_NAMES))
    .replace("{stored_obligations}", _OBLIGATIONS_SQL.format(**_STORED_NAMES))
    .replace("{episode_settled}", _EPISODE_SETTLED)
    .replace("{due_marks}", _DUE_MARKS)
    .replace("{marks}", _MARKS)
)
FACTS_SQL = FACTS_OF_INC.replace("{inc}", _INC_ONE)
