"""One group's trend over HTTP beyond its figures (tests/test_stats.py has those): a code that
names no group, and a large trend read in two parts at once."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Any

import pytest

from tests.loop import STREET
from tests.test_stats import PERIOD, week  # noqa: F401  (fixture)


@pytest.mark.usefixtures("week")
def test_a_large_trend_read_in_two_parts_at_once_gives_the_same_series(
    world: Any, cast: Any, monkeypatch: Any
) -> None:
    """A trend with many (incident, bucket) pairs reads its later buckets on a spare connection
    of the pool meanwhile (buckets.PARALLEL_PAIRS; lowered here for the worked week's few); the
    same series as one part after the other, and the same when no connection is free. (Nothing
    kept here: every call computes its buckets; tests/test_stats_kept.py has the kept ones.)"""
    from api.db.read_pool import ReadPool
    from api.services.evaluation import bucket_cache, buckets

    monkeypatch.setattr(bucket_cache, "KEEP_AFTER", dt.timedelta(days=365_000))

    params = {**PERIOD, "group_by": "department", "code": "WATER", "interval": "day"}

    def series() -> list[dict]:
        r = world.get("/api/v1/stats/trend", params=params, headers=cast.admin)
        assert r.status_code == 200, r.text
        return r.json()["series"]

    alone = series()
    assert any(s["handle_due"] for s in alone)
    taken: list[bool] = []
    spare = ReadPool.spare

    @contextmanager
    def counted(self, on_replica):
        with spare(self, on_replica) as conn:
            taken.append(conn is not None)
            yield conn

    monkeypatch.setattr(ReadPool, "spare", counted)
    monkeypatch.setattr(buckets, "PARALLEL_PAIRS", 1)
    assert series() == alone
    assert taken == [True]  # read at once, on a second connection

    @contextmanager
    def none_free(self, on_replica):
        taken.append(False)
        yield None

    monkeypatch.setattr(ReadPool, "spare", none_free)
    assert series() == alone
    assert taken == [True, False]


@pytest.mark.usefixtures("week")
def test_trend_of_a_code_that_names_no_group_is_404(world: Any, cast: Any) -> None:
    """A typo must not read as a trend of zeros; a real group answers."""
    asks = [
        ({"group_by": "department", "code": "WATR"}, "No department with code 'WATR'."),
        ({"group_by": "area", "level": "grid", "code": "1101"}, "level grid"),
        # a real street's code, asked for as a grid
        ({"group_by": "area", "level": "grid", "code": STREET}, f"'{STREET}'"),
        ({"group_by": "category", "code": "SJ99"}, "No category with code 'SJ99'."),
    ]
    english = {**cast.admin, "Accept-Language": "en"}
    for params, words in asks:
        r = world.get("/api/v1/stats/trend", params={**PERIOD, **params}, headers=english)
        assert r.status_code == 404, (params, r.text)
        error = r.json()["error"]
        assert error["code"] == "not_found" and words in error["message"], error
        assert error["details"]["code"] == params["code"]
    chinese = world.get(  # the default language
        "/api/v1/stats/trend",
        params={**PERIOD, "group_by": "category", "code": "SJ99"},
        headers=cast.admin,
    )
    assert chinese.json()["error"]["message"] == "没有编码为“SJ99”的类别。"
    # known groups answer
    for params in (
        {"group_by": "area", "level": "street", "code": STREET},
        {"group_by": "category", "level": "major", "code": "SJ01"},
    ):
        r = world.get("/api/v1/stats/trend", params={**PERIOD, **params}, headers=cast.admin)
        assert r.status_code == 200, (params, r.text)
