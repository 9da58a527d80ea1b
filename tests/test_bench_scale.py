"""`python -m bench scale` at toy size: the year it builds is a real workflow history.

No figure is checked (bench/ prints figures); what is checked is that the dataset holds the whole
event mix docs/performance.md states, that the evaluation facts the trigger keeps agree with the
log (the evaluation gives the same counts as the plain-Python reading of docs/metrics.md), and
that the script runs end to end and prints its tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from api.services.evaluation.query import Over, stats_rows
from bench import page
from bench.scale import main as scale_main
from bench.scale_data import build_scale, mix_table
from bench.servers import gridgov_server
from bench.synthetic import DISTRICT
from tests import stats_reference as ref

NOW = dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def scale_db(empty_db: str) -> str:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        build_scale(conn, 1500, NOW)
    return empty_db


def test_the_year_holds_the_whole_event_mix(scale_db: str) -> None:
    with psycopg.connect(scale_db) as conn:
        mix = dict(mix_table(conn))
        statuses = dict(
            conn.execute("SELECT status, count(*) FROM incidents GROUP BY 1").fetchall()
        )
        order = conn.execute(
            "SELECT count(*) FROM (SELECT at < lag(at) OVER (PARTITION BY incident_id ORDER BY id)"
            " AS back FROM incident_events) e WHERE back"
        ).fetchone()
    assert mix["incidents"] >= 1490  # a point may fall on no grid
    assert 5 * mix["incidents"] < mix["events"] < 7 * mix["incidents"]
    for kind in ("returns", "escalations", "extensions", "suspensions", "whistles"):
        assert mix[kind] > 0, kind
    assert mix["rejected as duplicates"] > 0 and mix["failed verifications (rework)"] > 0
    on_time, late, missing = (
        int(x) for x in str(mix["check-ins on time / late / missing"]).split(" / ")
    )
    assert on_time > late > 0 and missing > 0
    assert 0 < mix["open (not closed or rejected)"] < 0.05 * mix["incidents"]
    assert {"closed", "rejected"} < set(statuses)
    assert order is not None and order[0] == 0  # each log in time order, as the workflow writes


def test_the_evaluation_of_the_year_agrees_with_the_plain_reading(scale_db: str) -> None:
    with psycopg.connect(scale_db, row_factory=dict_row) as conn:
        incidents, checkins = ref.load(conn)
        for start, end in (
            (NOW - dt.timedelta(days=365), NOW),
            (NOW - dt.timedelta(days=60), NOW - dt.timedelta(days=30)),
        ):
            rows = stats_rows(conn, Over(start, end, "department", None, None, None))
            total = next(r for r in rows if r["total"])
            _, want = ref.evaluate(incidents, checkins, start, end, "department")
            for key in (
                "reported",
                "handled",
                "closed",
                "handle_due",
                "handle_on_time",
                "close_due",
                "close_on_time",
                "reworked",
                "open",
                "overdue",
                "checkin_due",
                "checkin_on_time",
                "dispatched",
                "returned",
            ):
                assert int(total[key] or 0) == want[key], (start, key)


def test_the_scale_command_runs(empty_db: str, capsys: Any) -> None:
    argv = ["--incidents", "300", "--quick", "--workers", "1", "--url", empty_db]
    assert scale_main([*argv, "--edit-open", "40"]) == 0
    out = capsys.readouterr().out
    for title in ("The dataset", "1. Evaluation", "2. Interactive reads", "3. export", "Targets"):
        assert title in out, title
    assert "CPU ms/call" in out  # each read's cost in cores, beside its wall times
    # the statistics as a process first reads a period (nothing kept), apart from the target
    assert "a process's first read of the period: p50 / p95" in out
    # the boundary edit: 40 cases opened in the busiest grid, which is then split over HTTP
    assert "4. boundary edit: split grid" in out and "(HTTP 200)" in out
    with psycopg.connect(empty_db) as conn:
        moved = conn.execute(
            "SELECT count(*) FROM incident_events WHERE action = 'reassign' AND actor LIKE 'bench-editor-%'"
        ).fetchone()
    assert moved is not None and moved[0] >= 40


@pytest.mark.parametrize("path", sorted(page.PAGES))
def test_the_page_timing_waits_for_the_pages_own_readiness(scale_db: str, path: str) -> None:
    """`bench scale`'s browser figures (bench/page.py): a district dispatcher signs in and the
    page is timed to the readiness its own tests wait for, on the page's clock, served locally."""
    with gridgov_server(scale_db, 1) as server:
        (run,) = page.run_page(server, DISTRICT, scale_db, 1, path)
    assert run.page_ready_s > 0 and run.requests > 0 and run.foreign == []
    assert (run.page_live_s > 0) == page.PAGES[path].live
    assert run.interactive_s == max(run.page_ready_s, run.page_live_s)
    assert "/api/v1/" in run.slowest  # the API reads the page made, by time
