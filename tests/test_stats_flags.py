"""负面清单 through HTTP on the worked week (tests/test_stats.py): the breaches with their reasons
in the caller's language, and each flag's figures as its row of the statistics table."""

from __future__ import annotations

import pytest

from api.services.evaluation.flags import KEPT_TIMES_MAX
from tests.loop import G1, G2
from tests.test_stats import PERIOD, stats, week  # noqa: F401  (fixture)


@pytest.mark.usefixtures("week")
def test_flags_list_the_breaches_with_reasons(world, cast):
    r = world.get("/api/v1/stats/flags", params=PERIOD, headers=cast.admin)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["thresholds"]["on_time_rate_min"] == 0.8
    got = {(f["kind"], f["code"]): [x["message"] for x in f["reasons"]] for f in doc["flags"]}
    assert got == {
        ("department", "SANITATION"): ["吹哨未按时报到 2 次（超过 0 次）"],
        ("department", "WATER"): ["按期处置率 40.0% < 80.0%"],
        ("area", G1): ["按期处置率 40.0% < 80.0%", "吹哨未按时报到 1 次（超过 0 次）"],
        ("area", G2): ["吹哨未按时报到 1 次（超过 0 次）"],
    }
    # the messages in the caller's language, the rest the same
    english = world.get("/api/v1/stats/flags", params={**PERIOD, "lang": "en"}, headers=cast.admin)
    words = {
        (f["kind"], f["code"]): [x["message"] for x in f["reasons"]]
        for f in english.json()["flags"]
    }
    assert words == {
        ("department", "SANITATION"): ["Check-ins missed: 2 (more than 0)"],
        ("department", "WATER"): ["on-time handling rate 40.0% < 80.0%"],
        ("area", G1): ["on-time handling rate 40.0% < 80.0%", "Check-ins missed: 1 (more than 0)"],
        ("area", G2): ["Check-ins missed: 1 (more than 0)"],
    }
    strip = [{**f, "reasons": [{**x, "message": None} for x in f["reasons"]]} for f in doc["flags"]]
    assert strip == [
        {**f, "reasons": [{**x, "message": None} for x in f["reasons"]]}
        for f in english.json()["flags"]
    ]
    # thresholds are settings: loosen one, tighten another
    world.app.state.settings.evaluation.flag_on_time_rate_min = 0.3
    world.app.state.settings.evaluation.flag_missed_checkins_max = 1
    world.app.state.settings.evaluation.flag_rework_rate_max = 0.15
    doc = world.get("/api/v1/stats/flags", params=PERIOD, headers=cast.admin).json()
    got = {(f["kind"], f["code"]): [x["metric"] for x in f["reasons"]] for f in doc["flags"]}
    assert got == {
        ("department", "SANITATION"): ["checkin_missed"],
        ("department", "WATER"): ["rework_rate"],
        ("area", G1): ["rework_rate"],
    }


@pytest.mark.usefixtures("week")
@pytest.mark.parametrize(
    "who",
    [
        "admin",  # the rollups
        "disp",  # a street: the rollups within it
        "community_disp",  # a community: the rolled facts
        "water",  # one department: the rolled facts by area
        "grid_disp",  # a grid: the log
    ],
)
# every flag: the handling times read with the sums; a few kept (≤ KEPT_TIMES_MAX, as the page
# asks): read for the kept alone, after judging
@pytest.mark.parametrize("limit", [None, KEPT_TIMES_MAX])
def test_flags_carry_the_rows_of_the_statistics_table(world, cast, token_for, who, limit):
    """The negative list judges the groups' raw rows, without a total row, and builds figures
    for the flagged only: each flag's figures and name are its row of the statistics table,
    and the rows it leaves out are exactly those that pass every threshold in force; whichever
    way the caller's scope is read (api/services/evaluation/rollup.py `source`), and whichever
    way the flags' handling times are read."""
    headers = token_for("gdisp", "dispatcher", G1) if who == "grid_disp" else getattr(cast, who)
    settings = world.app.state.settings.evaluation
    settings.flag_rework_rate_max = 0.15
    settings.flag_return_rate_max = 0.5
    params = PERIOD if limit is None else {**PERIOD, "limit": limit}
    doc = world.get("/api/v1/stats/flags", params=params, headers=headers).json()
    assert doc["matched"] == len(doc["flags"]) < KEPT_TIMES_MAX
    flagged = {(f["kind"], f["code"]): f for f in doc["flags"]}
    assert {kind for kind, _ in flagged} == {"department", "area"}, doc
    assert [(f["kind"], f["code"]) for f in doc["flags"]] == sorted(
        flagged, key=lambda k: (k[0] != "department", k[1])
    )
    for kind in ("department", "area"):
        table = stats(world, headers, group_by=kind)
        # the figures of docs/metrics.md (the table adds the patrols' by area)
        keys = ["code", "name", *(m["key"] for m in table["metrics"] if "patrol" not in m["key"])]
        for row in table["rows"]:
            if row["code"] is None:
                continue
            # the thresholds in force, by hand
            due = row["handle_due"] >= 1
            breach = (due and row["on_time_handling_rate"] < 0.8) or row["checkin_missed"] > 0
            breach |= row["close_due"] >= 1 and row["rework_rate"] > 0.15
            breach |= row["dispatched"] >= 1 and row["return_rate"] > 0.5
            flag = flagged.pop((kind, row["code"]), None)
            assert (flag is not None) == breach, row
            if flag is not None:
                assert flag["figures"] == {k: row[k] for k in keys}
                assert flag["name"] == row["name"]
    assert flagged == {}, "a flag for a group the table does not have"


@pytest.mark.usefixtures("week")
def test_the_first_flags_and_how_many_there_are(world, cast):
    """`limit`: the first flags in the list's order, `matched` counting them all (the page asks
    for 500: a month of a city by grid flags thousands); a bad limit is refused."""
    whole = world.get("/api/v1/stats/flags", params=PERIOD, headers=cast.admin).json()
    assert whole["matched"] == len(whole["flags"]) == 4
    for limit in (0, 1, 3, 4, 10):
        r = world.get("/api/v1/stats/flags", params={**PERIOD, "limit": limit}, headers=cast.admin)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["matched"] == 4
        assert doc["flags"] == whole["flags"][:limit]
        assert {k: v for k, v in doc.items() if k != "flags"} == {
            k: v for k, v in whole.items() if k != "flags"
        }
    for bad in ("-1", "x", "100001"):
        r = world.get("/api/v1/stats/flags", params={**PERIOD, "limit": bad}, headers=cast.admin)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["problems"][0]["field"] == "query.limit"
