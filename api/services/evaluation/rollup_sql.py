"""The SQL texts of the evaluation from the rollups (`api.services.evaluation.rollup` fills
them, and its docstring says what each part reads; `rollup_read` and `buckets` run them)."""

ROLLUP_SQL = """
SELECT {key} AS key, {rolled}, 0 AS repeat_inc, 0 AS repeat_dept, 0 AS open, 0 AS overdue
FROM {rollup} x {join}
WHERE ((x.grain = 'm' AND x.bucket >= %(m0)s AND x.bucket < %(m1)s)
    OR (x.grain = 'd' AND ((x.bucket >= %(d0)s AND x.bucket < %(m0)s)
                        OR (x.bucket >= %(m1)s AND x.bucket < %(d1)s)))) AND {rconds}
UNION ALL
-- the days of a month read whole that are not in the period (`spans`)
SELECT {key}, {rolled_negated}, 0, 0, 0, 0
FROM {rollup} x {join}
WHERE x.grain = 'd' AND ((x.bucket >= %(m0)s AND x.bucket < %(d0)s)
                      OR (x.bucket >= %(d1)s AND x.bucket < %(m1)s)) AND {rconds}
UNION ALL
SELECT {key}, {rolled_facts}, 0, 0, 0, 0
FROM eval_facts x {join}
WHERE x.m = ANY(%(rolled)s) AND ((x.at >= %(t_from)s AND x.at < %(e0)s)
                              OR (x.at >= %(e1)s AND x.at < %(t_end)s)) AND {conds}{off_hierarchy}
UNION ALL
-- the facts at or after T of a last day read whole (`spans`)
SELECT {key}, {rolled_facts_negated}, 0, 0, 0, 0
FROM eval_facts x {join}
WHERE x.m = ANY(%(rolled)s) AND x.at >= %(t_end)s AND x.at < %(e2)s AND {rconds}
"""

# No rollup holds the grouping or the scope (a department's figures by community or grid, the
# department or category figures of a community): the rolled facts of the whole period from
# `eval_facts`, read from ix_eval_facts_community_dept alone (migration 0034) — a community's are
# one range of it, a department's one range per community (`{reach}`: the communities found by
# `fact_communities`, and the facts of none).
FACTS_SQL = """
SELECT f.key, {rolled_counts}, 0 AS repeat_inc, 0 AS repeat_dept, 0 AS open, 0 AS overdue
FROM (
    SELECT {key} AS key, x.m, count(*)::int AS n
    FROM eval_facts x {join}
    WHERE x.m = ANY(%(rolled)s) AND x.at >= %(t_from)s AND x.at < %(t_end)s AND {rconds}
      AND {reach}
    GROUP BY 1, 2
) f
"""

# The communities of the facts, in index order: one probe of ix_eval_facts_community_dept each
# (PostgreSQL 15 has no skip scan), so that a department's facts are read community by community.
COMMUNITIES_SQL = """
WITH RECURSIVE c(code) AS (
    (SELECT community FROM eval_facts WHERE community IS NOT NULL ORDER BY community LIMIT 1)
    UNION ALL
    SELECT (SELECT x.community FROM eval_facts x WHERE x.community > c.code
            ORDER BY x.community LIMIT 1)
    FROM c WHERE c.code IS NOT NULL
)
SELECT coalesce(array_agg(code), '{}') AS codes FROM c WHERE code IS NOT NULL
"""

# (`repeat_from`: the period's start, `%(t_from)s`, but for the part of a period after its
# settled days, `sums_kept`: a repeat counts when the previous handling is in the whole period)
REPEATS_SQL = """
UNION ALL
-- the repeats of the period: an index-only scan of ix_eval_facts_repeats (migration 0029)
SELECT {key}, {zeros}, (x.m = 'repeat')::int, (x.m = 'repeat_dept')::int, 0, 0
FROM eval_facts x {join}
WHERE x.m IN ('repeat', 'repeat_dept') AND x.at >= %(t_from)s AND x.at < %(t_end)s
  AND x.at2 >= {repeat_from} AND {conds}
"""
OPEN_SQL = """
UNION ALL
-- (a case without a deadline is not overdue: 0, not NULL, so that a group's sum does not
-- depend on whether other rows of it are read, as a last day read whole adds some)
SELECT {key}, {zeros}, 0, 0, 1, coalesce(x.due < %(t_end)s, false)::int
FROM eval_open x {join} WHERE x.reported_at < %(t_end)s AND {conds}
"""

# The facts of the settled days [t_from, t_end) added (s = 1) or taken away (s = −1) since a
# snapshot: logged by transactions it did not see (migration 0038, `sums_kept`); the rows
# logged before its xmin are all visible to it, and an index finds the others. A fact counts
# within an area scope as in the rollups: where it lies, or where it is answered for off the
# hierarchy (OFF_HIERARCHY_SQL).
CHANGES_SQL = """
SELECT {key} AS key, {logged}, (x.m = 'repeat' AND x.at2 >= %(t_from)s)::int * x.s AS repeat_inc,
       (x.m = 'repeat_dept' AND x.at2 >= %(t_from)s)::int * x.s AS repeat_dept, 0 AS open,
       0 AS overdue
FROM eval_settled_log x {join}
WHERE x.xid >= %(snapshot_xmin)s AND NOT pg_visible_in_snapshot(x.xid::text::xid8, %(snapshot)s)
  AND x.at >= %(t_from)s AND x.at < %(t_end)s AND {conds}
"""

# An area scope: the rollups know where a case lies (district … grid), not the area it was
# escalated to. The cases whose responsible area is not one of their own areas (a point outside
# every grid, placed in the nearest) and is the scope's add their rolled facts of the days read
# from the rollup, [e0, e1), from `eval_facts` (a partial index holds them: few).
OFF_HIERARCHY_SQL = """
UNION ALL
SELECT {key}, {rolled_facts}, 0, 0, 0, 0
FROM eval_facts x {join}
WHERE x.responsible = %(scope_area)s AND {off} AND x.m = ANY(%(rolled)s)
  AND x.at >= %(e0)s AND x.at < %(e1)s AND {dconds}"""

# Incidents with events at or after T: their stored T-dependent facts are taken away and those
# their log up to T implies added (`facts` of facts_sql.FACTS_SQL over them).
CORRECTION_LOG_SQL = """
UNION ALL
SELECT {bucket}{fkey}, {log_facts} FROM facts f WHERE f.m = ANY(%(t_dependent)s) AND {fconds}
UNION ALL
-- the stored ones of those read from their stored facts (their rows, not eval_facts': `gone`)
SELECT {bucket}{fkey}, {gone_facts} FROM gone f WHERE {fconds}"""
# (the stored facts of those read from their log: `inc.live`, an index probe each)
CORRECTION_SQL = """
UNION ALL
SELECT {bucket}{key}, {stored_facts}
FROM eval_facts x {join}{pairs}
WHERE x.incident_id = ANY(ARRAY(SELECT DISTINCT incident FROM inc WHERE live))
  AND x.m = ANY(%(t_dependent)s) AND x.at >= %(t_from)s AND x.at < %(t_end)s AND {conds}
UNION ALL
SELECT {bucket}{key}, {stored_open}
FROM eval_open x {join}{pairs}
WHERE x.incident_id = ANY(%(live)s) AND x.reported_at < %(t_end)s AND {conds}
"""
# `trend_rows`: the stored facts of every (incident, bucket) pair at once, found by incident
# (`live`: the pairs' distinct incidents, an index probe each) and matched to their buckets
CORRECTION_PAIRS = " JOIN pairs p ON p.incident = x.incident_id JOIN bk ON bk.b = p.b"

# The groups' sums (`main`) and handling times (`times`): parts apart, not joined, that
# `rollup_read._with_times` joins. In one statement (QUERY_SQL) PostgreSQL can run them at once
# in parallel workers (a Parallel Append: a month by grid 141–161 → 91–107 ms,
# docs/performance.md); with a spare connection the times are a statement of their own on it
# (TIMES_SQL) beside the sums (MAIN_SQL), and the sums' rows become dictionaries meanwhile.
_MAIN = """{prefix} src AS ({sources} {correction}),
main AS (
    SELECT key, GROUPING(key) = 1 AS total, {sums}, {handled} AS handled
    FROM src WHERE {key_cond} GROUP BY GROUPING SETS ((key){overall})
)"""
_TIMES = """times AS (
    SELECT {key} AS key, false AS total, count(*) AS handling_n,
           avg(x.secs) AS handling_avg_s,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY x.secs) AS handling_p90_s
    FROM eval_times x {join}
    WHERE x.at >= %(t_from)s AND x.at < %(t_end)s AND {conds} AND {times_key_cond}
    GROUP BY {times_grouping}
)"""
_FROM_MAIN = """
SELECT true AS main, m.*, NULL AS handling_n, NULL AS handling_avg_s, NULL AS handling_p90_s
FROM main m WHERE m.total OR {nonzero}"""
_FROM_TIMES = """
SELECT false, t.key, t.total, {nulls}, t.handling_n, t.handling_avg_s, t.handling_p90_s
FROM times t{times_total}
"""
QUERY_SQL = "WITH " + _MAIN + ",\n" + _TIMES + _FROM_MAIN + "\nUNION ALL" + _FROM_TIMES
MAIN_SQL = "WITH " + _MAIN + _FROM_MAIN
# MAIN_SQL's rows, each with the snapshot it was read in (one row of it alone if there is none):
# a settled part kept with it (`sums_kept`)
SNAPSHOT_SQL = """
WITH snap AS MATERIALIZED (SELECT pg_current_snapshot()::text AS snapshot)
SELECT q.*, snap.snapshot FROM snap LEFT JOIN ({main}) q ON true
"""
TIMES_SQL = "WITH " + _TIMES + _FROM_TIMES

# The total's handling times: a part of its own, so that its sort of every handling time of the
# period (a year at 1,000,000 cases: 820,000, ≈ 200 ms) runs beside the groups', not after it
TIMES_TOTAL_SQL = """
UNION ALL
SELECT false, NULL, true, {nulls}, count(*), avg(x.secs),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY x.secs)
FROM eval_times x {join}
WHERE x.at >= %(t_from)s AND x.at < %(t_end)s AND {conds} AND {times_key_cond}"""
