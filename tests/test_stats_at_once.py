"""A read in two parts at once (api/db/at_once.py): the negative list judges the departments on
a second connection while it judges the areas, and says the same as one after the other; a part
that fails ends the other's statement and is told."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from api.db.at_once import at_once
from tests.test_stats import PERIOD, week  # noqa: F401  (fixture)


@pytest.mark.usefixtures("week")
def test_the_negative_list_judges_departments_beside_areas(
    world: Any, cast: Any, monkeypatch: Any
) -> None:
    from api.db.read_pool import ReadPool

    settings = world.app.state.settings.evaluation
    settings.flag_rework_rate_max = 0.15  # more flags of both kinds

    spare = ReadPool.spare
    taken: list[str] = []

    @contextmanager
    def counted(self: ReadPool, on_replica: bool) -> Any:
        with spare(self, on_replica) as conn:
            taken.append("spare" if conn is not None else "none free")
            yield conn

    @contextmanager
    def none_free(self: ReadPool, on_replica: bool) -> Any:
        taken.append("none free")
        yield None

    def flags() -> list[dict[str, Any]]:
        r = world.get("/api/v1/stats/flags", params=PERIOD, headers=cast.admin)
        assert r.status_code == 200, r.text
        return r.json()["flags"]

    monkeypatch.setattr(ReadPool, "spare", counted)
    beside = flags()
    monkeypatch.setattr(ReadPool, "spare", none_free)
    alone = flags()
    assert taken == ["spare", "none free"]
    assert beside == alone
    # departments first, then areas, each by code
    kinds = [f["kind"] for f in beside]
    assert kinds == sorted(kinds, key=lambda k: k != "department")
    assert {"department", "area"} <= set(kinds)


def test_a_part_that_fails_cancels_the_other_and_is_told(world: Any) -> None:
    """`here` fails while `there` sleeps in the database: `there`'s statement is cancelled (it
    does not run its 30 s), the first error comes out, and both connections work afterwards."""
    pool = world.app.state.pool
    started = threading.Event()

    def there(conn: psycopg.Connection[Any]) -> None:
        started.set()
        conn.execute("SELECT pg_sleep(30)")

    def here(conn: psycopg.Connection[Any]) -> None:
        started.wait(5)
        time.sleep(0.2)  # `there` is in its statement
        conn.execute("SELECT 1 / 0")

    with pool.connection() as conn, pool.connection() as other:
        t0 = time.monotonic()
        with pytest.raises(psycopg.errors.DivisionByZero):
            with conn.transaction():
                at_once(conn, lambda: _given(other), here, there)
        assert time.monotonic() - t0 < 10
        assert conn.execute("SELECT 2 AS n").fetchone()["n"] == 2
        assert other.execute("SELECT 3 AS n").fetchone()["n"] == 3


@contextmanager
def _given(conn: psycopg.Connection[Any]) -> Any:
    yield conn
