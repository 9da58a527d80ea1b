"""A trend's past buckets, kept; and the generation that says when they may have changed.

A bucket that ended over an hour ago is computed once and then read from `eval_bucket_cache`
(api/services/evaluation/bucket_cache.py). Its figures are those of the log up to its end, and
an event appended now cannot change them. What can is counted by `eval_stale.generation`, which
these statement triggers raise, in the writing transaction:

- an incident or an event dated more than ten minutes before it is written (imports,
  back-dated reports, repairs);
- an incident re-keyed: its category, areas or reporting time changed (a boundary edit's
  re-assignment, a correction); a closed case that was urged reopened (督办后结案数 counts the
  cases closed in a period that are closed now);
- a 回访 rating dated back, or any rating changed or deleted;
- a whistle's summons settled before then (at min(check-in, deadline), docs/metrics.md) that
  is written, or whose settling changes: a whistle or check-in dated back, a moved deadline;
  a check-in or a cancellation now changes only what settles now or later, and raises nothing;
- an incident deleted, or a table truncated;
- any write to categories, departments or areas (rare; their groups and names).

A kept bucket is used only while its generation is the current one (docs/performance.md,
2026-12-06, night; docs/metrics.md "Kept buckets").
"""

from alembic import op

revision = "0036_eval_bucket_cache"
down_revision = "0035_eval_episodes_lead"

# more than this before it is written, a row's time counts as back-dated
SLACK = "interval '10 minutes'"
# the incidents' columns the figures group or filter by (besides the log)
KEYS = (
    "category_code, district_code, street_code, community_code, grid_code, "
    "responsible_area_code, reported_at"
)
# What each trigger function checks (setting FOUND) before it raises the generation.
CHECKS = {
    "backdated": f"""
    IF TG_TABLE_NAME = 'incidents' THEN
        PERFORM 1 FROM new_rows WHERE reported_at < clock_timestamp() - {SLACK} LIMIT 1;
    ELSE
        PERFORM 1 FROM new_rows WHERE at < clock_timestamp() - {SLACK} LIMIT 1;
    END IF;""",
    "rekeyed": f"""
    PERFORM 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (n.{KEYS.replace(", ", ", n.")}) IS DISTINCT FROM (o.{KEYS.replace(", ", ", o.")})
       -- 督办后结案数 counts the cases closed in the period that are closed now and were urged
       OR o.status = 'closed' AND o.urge_count > 0
          AND (n.status, n.closed_at) IS DISTINCT FROM (o.status, o.closed_at)
    LIMIT 1;""",
    "rated": f"""
    PERFORM 1 FROM new_rows WHERE rated_at < clock_timestamp() - {SLACK} LIMIT 1;""",
    "whistles": f"""
    IF TG_OP = 'INSERT' THEN  -- a whistle whose deadline has passed: its summonses settled
        PERFORM 1 FROM new_rows WHERE deadline_at < clock_timestamp() - {SLACK} LIMIT 1;
    ELSE  -- a summons settles at the deadline at the latest: a moved one, or another incident
        PERFORM 1 FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE (n.incident_id, n.deadline_at) IS DISTINCT FROM (o.incident_id, o.deadline_at)
        LIMIT 1;
    END IF;""",
    "checkins": f"""
    IF TG_OP = 'INSERT' THEN  -- settled before it was written
        PERFORM 1 FROM new_rows k JOIN whistles w ON w.id = k.whistle_id
        WHERE least(k.checked_in_at, w.deadline_at) < clock_timestamp() - {SLACK} LIMIT 1;
    ELSE  -- another summons, or one whose settling (when, on time, counted) changed in the past
        PERFORM 1 FROM new_rows n
        LEFT JOIN old_rows o ON (o.whistle_id, o.department_code) = (n.whistle_id, n.department_code)
        LEFT JOIN whistles w ON w.id = n.whistle_id
        WHERE o.whistle_id IS NULL
           OR (least(n.checked_in_at, w.deadline_at) < clock_timestamp() - {SLACK}
               OR least(o.checked_in_at, w.deadline_at) < clock_timestamp() - {SLACK})
          AND (least(n.checked_in_at, w.deadline_at),
               coalesce(n.checked_in_at <= w.deadline_at, false), n.cancelled_at IS NULL)
              IS DISTINCT FROM (least(o.checked_in_at, w.deadline_at),
                                coalesce(o.checked_in_at <= w.deadline_at, false),
                                o.cancelled_at IS NULL)
        LIMIT 1;
    END IF;""",
}
RAISE = "UPDATE eval_stale SET generation = generation + 1;"
FUNCTIONS = f"""
CREATE FUNCTION gridgov_eval_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {RAISE}
    RETURN NULL;
END $$;
""" + "".join(
    f"""
CREATE FUNCTION gridgov_eval_stale_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{check}
    IF FOUND THEN
        {RAISE}
    END IF;
    RETURN NULL;
END $$;
"""
    for name, check in CHECKS.items()
)
OTHERS = ("categories", "departments", "areas")
TRIGGERS = {
    ("incidents_eval_stale_insert", "incidents"): "AFTER INSERT ON incidents REFERENCING NEW "
    "TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_stale_backdated()",
    ("incidents_eval_stale_update", "incidents"): "AFTER UPDATE ON incidents REFERENCING OLD "
    "TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION gridgov_eval_stale_rekeyed()",
    ("incidents_eval_stale_delete", "incidents"): "AFTER DELETE OR TRUNCATE ON incidents "
    "FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_stale()",
    ("incident_events_eval_stale_insert", "incident_events"): "AFTER INSERT ON incident_events "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION gridgov_eval_stale_backdated()",
    ("incident_events_eval_stale_truncate", "incident_events"): "AFTER TRUNCATE ON "
    "incident_events FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_stale()",
    ("incident_ratings_eval_stale_insert", "incident_ratings"): "AFTER INSERT ON "
    "incident_ratings REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION gridgov_eval_stale_rated()",
    ("incident_ratings_eval_stale_change", "incident_ratings"): "AFTER UPDATE OR DELETE OR "
    "TRUNCATE ON incident_ratings FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_stale()",
    **{
        (f"{table}_eval_stale_{op.lower()}", table): f"AFTER {op} ON {table} REFERENCING "
        f"{'OLD TABLE AS old_rows ' if op == 'UPDATE' else ''}NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_stale_{table.split('_')[-1]}()"
        for table in ("whistles", "whistle_checkins")
        for op in ("INSERT", "UPDATE")
    },
    **{
        (f"{table}_eval_stale_delete", table): f"AFTER DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_stale()"
        for table in ("whistles", "whistle_checkins")
    },
    **{
        (f"{table}_eval_stale", table): f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION gridgov_eval_stale()"
        for table in OTHERS
    },
}


def upgrade() -> None:
    op.execute(
        "CREATE TABLE eval_stale (one boolean PRIMARY KEY DEFAULT true CHECK (one), "
        "generation bigint NOT NULL DEFAULT 0)"
    )
    op.execute("INSERT INTO eval_stale DEFAULT VALUES")
    op.execute(
        """CREATE TABLE eval_bucket_cache (
            fingerprint text NOT NULL,
            key text NOT NULL,
            t_from timestamptz NOT NULL,
            t_end timestamptz NOT NULL,
            generation bigint NOT NULL,
            figures jsonb,
            kept_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (fingerprint, key, t_from, t_end)
        )"""
    )
    op.execute(FUNCTIONS)
    for (name, _), body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for name, table in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name in CHECKS:
        op.execute(f"DROP FUNCTION gridgov_eval_stale_{name}()")
    op.execute("DROP FUNCTION gridgov_eval_stale()")
    op.execute("DROP TABLE eval_bucket_cache")
    op.execute("DROP TABLE eval_stale")
