"""综合评价 through HTTP and the CLI: every formula of docs/metrics.md on a hand-built week."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.evaluation_week import QUERY_AT, WEEK_FROM, WEEK_TO, build_week
from tests.loop import G1, G2, Clock

PERIOD = {"from": WEEK_FROM, "to": WEEK_TO}

# The whole week (docs/metrics.md, "The worked example").
TOTAL = {
    "reported": 8,  # A B C D E F G H (I before the week, J after)
    "registered": 6,  # A–F
    "dispatched": 6,  # A B C×2 D E
    "handled": 6,  # A B C E G I (D only after the week)
    "closed": 6,  # A B C E G I
    "rejected": 1,  # H
    "returned": 1,  # C by WATER
    "open": 2,  # D F
    "overdue": 1,  # D
    "handle_due": 6,  # A B C(2nd) D E I
    "handle_on_time": 3,  # A C E
    "close_due": 7,  # A B C D E G I
    "close_done": 6,  # all but D
    "close_on_time": 4,  # A C E G
    "reworked": 1,  # B
    "checkin_due": 3,
    "checkin_on_time": 1,
    "checkin_missed": 2,
    "on_time_handling_rate": 0.5,
    "closing_rate": 0.8571,  # 6/7
    "on_time_closing_rate": 0.5714,  # 4/7
    "rework_rate": 0.1429,  # 1/7
    "return_rate": 0.1667,  # 1/6
    "checkin_on_time_rate": 0.3333,  # 1/3
    "handling_n": 5,  # hours: A 2, B 8, C 2, E 8.83, I 10.83
    "avg_handling_hours": 6.33,
    "p90_handling_hours": 10.03,  # 8.833 + 0.6 × (10.833 − 8.833)
}

ZERO = dict.fromkeys(TOTAL, 0) | {
    k: None for k in TOTAL if k.endswith("_rate") or k.endswith("_hours")
}

WATER = {
    **ZERO,
    "reported": 6,
    "registered": 6,
    "dispatched": 5,
    "handled": 4,
    "closed": 4,
    "returned": 1,
    "open": 1,
    "overdue": 1,
    "handle_due": 5,
    "handle_on_time": 2,
    "close_due": 5,
    "close_done": 4,
    "close_on_time": 2,
    "reworked": 1,
    "checkin_due": 1,
    "checkin_on_time": 1,
    "on_time_handling_rate": 0.4,
    "closing_rate": 0.8,
    "on_time_closing_rate": 0.4,
    "rework_rate": 0.2,
    "return_rate": 0.2,
    "checkin_on_time_rate": 1.0,
    "handling_n": 4,
    "avg_handling_hours": 7.42,  # (2 + 8 + 8.833 + 10.833) / 4
    "p90_handling_hours": 10.23,  # 8.833 + 0.7 × 2
}
CITYMGMT = {
    **ZERO,
    "reported": 2,  # G and H were routed to it
    "dispatched": 1,
    "handled": 1,
    "closed": 1,
    "handle_due": 1,
    "handle_on_time": 1,
    "close_due": 1,
    "close_done": 1,
    "close_on_time": 1,
    "on_time_handling_rate": 1.0,
    "closing_rate": 1.0,
    "on_time_closing_rate": 1.0,
    "rework_rate": 0.0,
    "return_rate": 0.0,
    "handling_n": 1,
    "avg_handling_hours": 2.0,
    "p90_handling_hours": 2.0,
}
SANITATION = {
    **ZERO,
    "checkin_due": 2,
    "checkin_missed": 2,
    "checkin_on_time_rate": 0.0,
}
NOT_DISPATCHED = {  # G self-handled, H rejected, F suspended before any dispatch
    **ZERO,
    "handled": 1,
    "closed": 1,
    "rejected": 1,
    "open": 1,
    "close_due": 1,
    "close_done": 1,
    "close_on_time": 1,
    "closing_rate": 1.0,
    "on_time_closing_rate": 1.0,
    "rework_rate": 0.0,
}
GRID_1 = {
    **ZERO,
    "reported": 7,
    "registered": 5,
    "dispatched": 5,
    "handled": 5,
    "closed": 5,
    "rejected": 1,
    "returned": 1,
    "open": 2,
    "overdue": 1,
    "handle_due": 5,
    "handle_on_time": 2,
    "close_due": 6,
    "close_done": 5,
    "close_on_time": 3,
    "reworked": 1,
    "checkin_due": 2,
    "checkin_on_time": 1,
    "checkin_missed": 1,
    "on_time_handling_rate": 0.4,
    "closing_rate": 0.8333,
    "on_time_closing_rate": 0.5,
    "rework_rate": 0.1667,
    "return_rate": 0.2,
    "checkin_on_time_rate": 0.5,
    "handling_n": 4,
    "avg_handling_hours": 5.71,  # (2 + 8 + 2 + 10.833) / 4
    "p90_handling_hours": 9.98,  # 8 + 0.7 × 2.833
}
GRID_2 = {
    **ZERO,
    "reported": 1,
    "registered": 1,
    "dispatched": 1,
    "handled": 1,
    "closed": 1,
    "handle_due": 1,
    "handle_on_time": 1,
    "close_due": 1,
    "close_done": 1,
    "close_on_time": 1,
    "checkin_due": 1,
    "checkin_missed": 1,
    "on_time_handling_rate": 1.0,
    "closing_rate": 1.0,
    "on_time_closing_rate": 1.0,
    "rework_rate": 0.0,
    "return_rate": 0.0,
    "checkin_on_time_rate": 0.0,
    "handling_n": 1,
    "avg_handling_hours": 8.83,
    "p90_handling_hours": 8.83,
}


@pytest.fixture
def week(world, cast):
    clock = Clock(QUERY_AT)
    world.app.state.clock = clock
    return build_week(world, cast, clock)


def figures(row):
    return {k: row[k] for k in TOTAL}


def stats(client, headers, **params):
    r = client.get("/api/v1/stats", params={**PERIOD, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def rows(doc):
    return {row["code"]: figures(row) for row in doc["rows"]}


def test_every_formula_on_the_worked_example(world, cast, week):
    doc = stats(world, cast.admin, group_by="department")
    assert doc["period"] == {
        "from": "2025-11-03T00:00:00+08:00",
        "to": "2025-11-10T00:00:00+08:00",
        "as_of": "2025-11-10T00:00:00+08:00",
        "timezone": "Asia/Shanghai",
    }
    assert figures(doc["total"]) == TOTAL
    assert rows(doc) == {
        "CITYMGMT-001": CITYMGMT,
        "SANITATION": SANITATION,
        "WATER": WATER,
        None: NOT_DISPATCHED,
    }
    names = {row["code"]: row["name"] for row in doc["rows"]}
    assert names["WATER"] == "自来水公司" and names[None] == "未派遣"
    assert doc["total"]["name"] == "合计"

    by_grid = stats(world, cast.admin, group_by="area")
    assert by_grid["level"] == "grid"
    assert figures(by_grid["total"]) == TOTAL
    assert rows(by_grid) == {G1: GRID_1, G2: GRID_2}
    streets = stats(world, cast.admin, group_by="area", level="street")
    assert rows(streets) == {"110199001": TOTAL, "110199002": ZERO}

    by_category = stats(world, cast.admin, group_by="category")
    got = rows(by_category)
    assert list(got) == ["BJ0101", "SJ0102"]
    assert (got["BJ0101"]["reported"], got["SJ0102"]["reported"]) == (6, 2)
    assert got["SJ0102"]["close_due"] == 1 and got["SJ0102"]["rejected"] == 1
    major = rows(stats(world, cast.admin, group_by="category", level="major"))
    assert {k: v["reported"] for k, v in major.items()} == {"BJ01": 6, "SJ01": 2}


def test_a_later_period_and_the_default_one(world, cast, week):
    # the next week holds only J's report and D's late handling
    doc = stats(world, cast.admin, **{"from": "2025-11-10", "to": "2025-11-16"})
    t = doc["total"]
    assert doc["period"]["as_of"] == "2025-11-12T12:00:00+08:00"  # the app's clock
    # open at the clock: D (handled, not yet verified, past due), F (suspended), J
    assert (t["reported"], t["handled"], t["handle_due"], t["open"], t["overdue"]) == (
        1,
        1,
        0,
        3,
        1,
    )
    assert t["handling_n"] == 1 and t["avg_handling_hours"] == 144.83  # Wed 09:10 → Tue 10:00
    # default: the 30 days up to now
    r = world.get("/api/v1/stats", headers=cast.admin)
    assert r.json()["period"]["from"] == "2025-10-13T12:00:00+08:00"
    assert r.json()["total"]["reported"] == 10


def test_who_may_read_what(world, cast, week):
    assert world.get("/api/v1/stats", params=PERIOD).status_code == 401
    for who in (cast.officer, cast.resident):
        r = world.get("/api/v1/stats", params=PERIOD, headers=who)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # a dispatcher sees their area: the street's own figures, grids below it
    street = stats(world, cast.disp, group_by="area")
    assert figures(street["total"]) == TOTAL and rows(street) == {G1: GRID_1, G2: GRID_2}
    assert street["scope"] == {"area": "110199001", "department": None}
    other = stats(world, cast.other_disp, group_by="department")
    assert figures(other["total"]) == ZERO and other["rows"] == []
    assert stats(world, cast.other_disp, group_by="area")["rows"] == []  # street 乙 has no grids
    # a department sees only what is attributed to it, however it is grouped
    own = stats(world, cast.water, group_by="department")
    assert rows(own) == {"WATER": WATER} and figures(own["total"]) == WATER
    by_grid = stats(world, cast.sanitation, group_by="area")
    assert {k: v["checkin_missed"] for k, v in rows(by_grid).items()} == {G1: 1, G2: 1}


def test_bad_parameters(world, cast, week):
    def error(**params):
        r = world.get("/api/v1/stats", params=params, headers=cast.admin)
        return r.status_code, r.json()["error"]["code"]

    assert error(**{"from": "2025-11-09", "to": "2025-11-03"}) == (400, "bad_request")
    assert error(**{"from": "3 Nov"}) == (400, "bad_request")
    assert error(group_by="street") == (422, "validation_failed")
    assert error(group_by="area", level="village") == (400, "bad_request")
    assert error(group_by="department", level="grid") == (400, "bad_request")
    assert error(format="xlsx") == (422, "validation_failed")


def test_csv_export_has_a_bom_and_the_same_figures(world, cast, week):
    r = world.get(
        "/api/v1/stats", params={**PERIOD, "group_by": "area", "format": "csv"}, headers=cast.admin
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        'attachment; filename="gridgov-stats-area-2025-11-03.csv"'
    )
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["编码", "名称", "上报数"]
    assert "按期处置率" in table[0]
    by_code = {line[0]: dict(zip(table[0], line, strict=True)) for line in table[1:]}
    assert list(by_code) == [G1, G2, ""]
    assert by_code[G1]["名称"] == "一社区第1网格"
    assert by_code[G1]["按期处置率"] == "0.4"
    assert by_code[""]["名称"] == "合计"
    assert by_code[""]["结案率"] == "0.8571"
    assert by_code[G2]["退回率"] == "0.0"


def test_labels_and_names_follow_the_language(world, cast, week):
    """The metrics' labels and the names of the total and of the row without a group are in the
    caller's language: Chinese by default, English on request; the areas' names are data."""

    def doc(group_by: str, **headers: str) -> dict[str, Any]:
        r = world.get(
            "/api/v1/stats",
            params={**PERIOD, "group_by": group_by},
            headers={**cast.admin, **headers},
        )
        assert r.status_code == 200, r.text
        return r.json()

    chinese, english = doc("department"), doc("department", **{"Accept-Language": "en"})
    label = lambda d, key: next(m["label"] for m in d["metrics"] if m["key"] == key)  # noqa: E731
    assert (label(chinese, "reported"), label(english, "reported")) == ("上报数", "reported")
    assert label(chinese, "on_time_handling_rate") == "按期处置率"
    assert label(english, "on_time_handling_rate") == "on-time handling rate"
    assert (chinese["total"]["name"], english["total"]["name"]) == ("合计", "Total")
    nameless = lambda d: next(r["name"] for r in d["rows"] if r["code"] is None)  # noqa: E731
    assert (nameless(chinese), nameless(english)) == ("未派遣", "not dispatched")
    unnamed = lambda d: [{**r, "name": None} if r["code"] is None else r for r in d["rows"]]  # noqa: E731
    assert unnamed(chinese) == unnamed(english)  # only that name differs
    # the grids' patrol columns too; an area's name is data, the same in both
    grids, grids_en = doc("area"), doc("area", **{"Accept-Language": "en"})
    assert label(grids, "patrol_coverage") == "巡查覆盖率"
    assert label(grids_en, "patrol_coverage") == "patrol coverage"
    assert grids["rows"] == grids_en["rows"]


def test_csv_header_follows_the_language_and_codes_stay_stable(world, cast, week):
    def header(params: dict[str, str], language: str) -> list[list[str]]:
        r = world.get(
            "/api/v1/stats",
            params={**PERIOD, "group_by": "department", "format": "csv", **params},
            headers={**cast.admin, "Accept-Language": language},
        )
        assert r.status_code == 200, r.text
        return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))

    english = header({}, "en")
    assert english[0][:3] == ["Code", "Name", "reported"]
    assert "on-time handling rate" in english[0]
    assert english[-1][1] == "Total"
    assert english[-2][:2] == ["", "not dispatched"]  # the row without a department
    for language in ("zh-CN", "en"):  # the documented machine-readable form, in any language
        codes = header({"headers": "codes"}, language)
        assert codes[0][:4] == ["code", "name", "reported", "registered"]
        assert "on_time_handling_rate" in codes[0]
        assert codes[-1][1] == "合计 Total"
    r = world.get(
        "/api/v1/stats",
        params={**PERIOD, "format": "csv", "headers": "names"},
        headers=cast.admin,
    )
    assert r.status_code == 422 and r.json()["error"]["message"]


def test_csv_names_cannot_become_excel_formulas(world, cast, week, db):
    db.execute("UPDATE departments SET name = '=HYPERLINK(\"http://x\")' WHERE code = 'WATER'")
    db.commit()
    r = world.get(
        "/api/v1/stats",
        params={**PERIOD, "group_by": "department", "format": "csv"},
        headers=cast.admin,
    )
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    water = next(line for line in table if line[0] == "WATER")
    assert water[1] == '\'=HYPERLINK("http://x")'
    assert stats(world, cast.admin, group_by="department")["rows"][2]["name"].startswith("=")


def test_trend_per_day_uses_the_same_definitions(world, cast, week):
    r = world.get(
        "/api/v1/stats/trend",
        params={**PERIOD, "group_by": "area", "code": G1, "interval": "day"},
        headers=cast.admin,
    )
    assert r.status_code == 200, r.text
    series = r.json()["series"]
    assert [s["from"][:10] for s in series] == [f"2025-11-0{d}" for d in range(3, 10)]
    assert [(s["handle_due"], s["handle_on_time"]) for s in series] == [
        (3, 1),  # Mon: I late (due 04:10), A on time, B late (due 20:10)
        (1, 1),  # Tue: C
        (1, 0),  # Wed: D late (due 15:10)
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
    ]
    assert [s["reported"] for s in series] == [2, 1, 1, 0, 3, 0, 0]
    weekly = world.get(
        "/api/v1/stats/trend",
        params={
            "from": "2025-11-01",
            "to": "2025-11-30",
            "code": "WATER",
            "group_by": "department",
            "interval": "week",
        },
        headers=cast.admin,
    ).json()["series"]
    # Sat 1 – Sun 2, the worked week, then up to the clock (Wed 12 noon)
    assert [(s["from"][:10], s["handle_due"]) for s in weekly] == [
        ("2025-11-01", 0),
        ("2025-11-03", 5),
        ("2025-11-10", 0),
    ]


def test_cli_prints_the_table_and_writes_csv(world_db, week, tmp_path):
    out = tmp_path / "week.csv"
    result = CliRunner().invoke(
        app,
        [
            "stats",
            "--from",
            WEEK_FROM,
            "--to",
            WEEK_TO,
            "--group-by",
            "department",
            "--csv",
            str(out),
        ],
        env={"GRIDGOV_DATABASE_URL": world_db, "COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    water = next(line for line in lines if "WATER" in line)
    cells = [c.strip() for c in water.split("│") if c.strip()]
    assert cells == [
        "WATER",
        "自来水公司",
        "6",
        "5",
        "4",
        "4",
        "1",
        "1",
        "40.0%",
        "80.0%",
        "40.0%",
        "20.0%",
        "20.0%",
        "7.42",
        "10.23",
        "100.0%",
    ]
    assert "wrote 5 rows" in result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    bad = CliRunner().invoke(
        app, ["stats", "--group-by", "street"], env={"GRIDGOV_DATABASE_URL": world_db}
    )
    assert bad.exit_code == 1 and "group_by must be one of" in bad.output
