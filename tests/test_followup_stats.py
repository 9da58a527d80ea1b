"""回访 in the evaluation: 回访数, 满意数, 满意率, 回访率 and their negative-list thresholds."""

from __future__ import annotations

import csv
import datetime as dt
import io

from tests.evaluation_week import at
from tests.loop import PATHS, ok, report
from tests.notify_util import client_fixture, settings_fixture  # noqa: F401  (fixtures)

WEEK = {"from": "2025-11-03", "to": "2025-11-09"}


def close_at(client, cast, when):
    """Report and close a case (SJ0102 → CITYMGMT-001) at `when`; returns its id."""
    client.app.state.clock.now = when
    inc = report(client)
    for who, action, body in PATHS["closed"]:
        ok(client, inc, getattr(cast, who), action, **body)
    return inc


def rate(client, cast, inc, when, rating, who=None):
    client.app.state.clock.now = when
    r = client.post(
        f"/api/v1/reports/{inc}/rating", json={"rating": rating}, headers=who or cast.disp
    )
    assert r.status_code == 200, r.text


def build_followups(client, cast):
    """The worked example of docs/metrics.md, "回访": cases R1–R6."""
    r1, r2, r3, r4 = (close_at(client, cast, at(day, 10)) for day in (3, 4, 5, 6))
    r5 = close_at(client, cast, at(3, 10) - dt.timedelta(days=3))  # Fri 2025-10-31
    r6 = close_at(client, cast, at(7, 10))
    rate(client, cast, r1, at(4, 9), "satisfied")
    rate(client, cast, r2, at(5, 9), "basically_satisfied")
    rate(client, cast, r3, at(6, 9), "unsatisfied")
    rate(client, cast, r5, at(3, 9), "satisfied")
    assert r4 and r6  # closed, never followed up
    client.app.state.clock.now = at(12, 12)


def test_followup_figures_of_the_worked_example(client, cast, settings):
    build_followups(client, cast)
    r = client.get("/api/v1/stats", params={**WEEK, "group_by": "department"}, headers=cast.admin)
    assert r.status_code == 200, r.text
    doc = r.json()
    keys = ("closed", "rated", "satisfied", "satisfaction_rate", "followup_rate")
    (row,) = [x for x in doc["rows"] if x["code"] == "CITYMGMT-001"]
    assert tuple(row[k] for k in keys) == (5, 4, 3, 0.75, 0.8)
    assert tuple(doc["total"][k] for k in keys) == (5, 4, 3, 0.75, 0.8)
    r = client.get(
        "/api/v1/stats",
        params={"from": "2025-10-27", "to": "2025-11-02"},
        headers=cast.admin,
    )
    before = r.json()["total"]
    assert (before["closed"], before["rated"], before["satisfaction_rate"]) == (1, 0, None)
    assert before["followup_rate"] == 0.0
    params = {**WEEK, "format": "csv"}
    r = client.get("/api/v1/stats", params=params, headers=cast.admin)
    table = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    total = dict(zip(table[0], table[-1], strict=True))
    assert (total["满意率"], total["回访率"]) == ("0.75", "0.8")  # zh_CN by default
    r = client.get("/api/v1/stats", params=params | {"headers": "codes"}, headers=cast.admin)
    table = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    total = dict(zip(table[0], table[-1], strict=True))
    assert (total["satisfaction_rate"], total["followup_rate"]) == ("0.75", "0.8")


def test_followup_thresholds_put_a_department_on_the_negative_list(client, cast, settings):
    build_followups(client, cast)
    settings.evaluation.flag_satisfaction_rate_min = 0.8
    settings.evaluation.flag_followup_rate_min = 0.9
    r = client.get("/api/v1/stats/flags", params=WEEK, headers=cast.admin)
    assert r.status_code == 200, r.text
    doc = r.json()
    (flag,) = [f for f in doc["flags"] if f["kind"] == "department" and f["code"] == "CITYMGMT-001"]
    reasons = {x["metric"]: x["message"] for x in flag["reasons"]}
    assert reasons["satisfaction_rate"] == "满意率 75.0% < 80.0%"
    assert reasons["followup_rate"] == "回访率 80.0% < 90.0%"
    assert doc["thresholds"]["satisfaction_rate_min"] == 0.8
    settings.evaluation.flag_satisfaction_rate_min = 0.7
    settings.evaluation.flag_followup_rate_min = 0.0
    doc = client.get("/api/v1/stats/flags", params=WEEK, headers=cast.admin).json()
    for f in doc["flags"]:
        assert {x["metric"] for x in f["reasons"]} & {"satisfaction_rate", "followup_rate"} == set()
