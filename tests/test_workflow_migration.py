"""Migration 0004_workflow runs forward on a database that already holds incidents."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from api.db.migrate import upgrade


def test_workflow_migration_on_a_populated_database(databases):
    url = databases.create("t_workflow_migration")
    try:
        upgrade(url, "0001")
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO categories (code, name, kind, time_limit, time_unit) "
                "VALUES ('SJ0102', '暴露垃圾', 'event', 1, 'working_days')"
            )
            conn.execute(
                "INSERT INTO incidents (id, public_id, geom, orig_x, orig_y, orig_crs, "
                "category_code, source, status, method, responsible_area_code, assignment, due_at) "
                "VALUES (1, '20260101-000001', ST_SetSRID(ST_MakePoint(116, 39), 4326), 116, 39, "
                "'EPSG:4326', 'SJ0102', 'resident', 'dispatched', 'outside', '110199', '{}', "
                "'2026-01-02T09:00:00+08:00')"
            )
        upgrade(url)
        with psycopg.connect(url, row_factory=dict_row) as conn:
            row = conn.execute(
                "SELECT status, rework_count, escalation_level, suspended_from, due_left_s, "
                "extension_until FROM incidents"
            ).fetchone()
            assert row == {
                "status": "dispatched",
                "rework_count": 0,
                "escalation_level": 0,
                "suspended_from": None,
                "due_left_s": None,
                "extension_until": None,
            }
            n = conn.execute("SELECT count(*) AS n FROM whistles").fetchone()
            assert n == {"n": 0}
    finally:
        databases.drop("t_workflow_migration")
