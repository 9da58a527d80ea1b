"""A read in two parts at once (api/db/at_once.py): the statistics read their handling times on
a second connection while they read their sums, the negative list judges the departments there
while it judges the areas; each says the same as one after the other. A part that fails ends
the other's statement and is told."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from api.db.at_once import at_once
from tests.test_stats import PERIOD, week  # noqa: F401  (fixture)


@contextmanager
def _spares(monkeypatch: Any, taken: list[str], *, free: bool) -> Any:
    """ReadPool.spare counted in `taken`; with `free` false, none is ever free."""
    from api.db.read_pool import ReadPool

    spare = ReadPool.spare

    @contextmanager
    def counted(self: ReadPool, on_replica: bool) -> Any:
        if not free:
            taken.append("none free")
            yield None
            return
        with spare(self, on_replica) as conn:
            taken.append("spare" if conn is not None else "none free")
            yield conn

    with monkeypatch.context() as m:
        m.setattr(ReadPool, "spare", counted)
        yield


@pytest.fixture
def nothing_settled(monkeypatch: Any) -> None:
    """No day of the period settled (a period from today): the handling times are read from the
    database, not kept (api/services/evaluation/times_kept.py), and so on a spare."""
    from api.services.evaluation import times_kept

    monkeypatch.setattr(times_kept, "settled_end", lambda *_: None)


@pytest.mark.usefixtures("week", "nothing_settled")
@pytest.mark.parametrize(
    ("who", "group_by", "spare_used"),
    [
        ("admin", "area", True),  # the rollups
        ("admin", "department", True),
        ("community_disp", "category", True),  # the rolled facts
        ("water", "area", True),  # one department by grid: the rolled facts
        ("grid_disp", "department", False),  # a grid: the log, one statement
    ],
)
def test_the_statistics_read_their_handling_times_beside_their_sums(
    world: Any,
    cast: Any,
    token_for: Any,
    monkeypatch: Any,
    who: str,
    group_by: str,
    spare_used: bool,
) -> None:
    from tests.loop import G1

    headers = token_for("gdisp", "dispatcher", G1) if who == "grid_disp" else getattr(cast, who)

    def table() -> dict[str, Any]:
        params = {**PERIOD, "group_by": group_by}
        r = world.get("/api/v1/stats", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    taken: list[str] = []
    with _spares(monkeypatch, taken, free=True):
        beside = table()
    assert taken == (["spare"] if spare_used else [])
    with _spares(monkeypatch, taken, free=False):
        alone = table()
    assert beside == alone
    assert any(row["handling_n"] for row in alone["rows"])  # times to read, and read
    # the CSV download reads in one statement (its long timeout is the request's connection's)
    taken.clear()
    with _spares(monkeypatch, taken, free=True):
        r = world.get("/api/v1/stats", params={**PERIOD, "format": "csv"}, headers=headers)
    assert r.status_code == 200 and taken == []


@pytest.mark.usefixtures("week")
def test_a_first_read_keeps_the_settled_times_on_a_spare_then_reads_none(
    world: Any, cast: Any, monkeypatch: Any
) -> None:
    """A process's first read of a settled period reads (and keeps) its handling times on a
    second connection while it reads the sums; the next read has them kept, and takes none."""
    from api.services.evaluation import times_kept

    def table() -> dict[str, Any]:
        r = world.get("/api/v1/stats", params=PERIOD, headers=cast.admin)
        assert r.status_code == 200, r.text
        return r.json()

    times_kept.forget()
    taken: list[str] = []
    with _spares(monkeypatch, taken, free=True):
        first = table()
        assert taken == ["spare"]
        again = table()
        assert taken == ["spare"]
    monkeypatch.setattr(times_kept, "settled_end", lambda *_: None)
    alone = table()  # one statement over the whole period, nothing kept
    assert first["rows"] == again["rows"] == alone["rows"]
    assert first["total"] == again["total"] == alone["total"]
    assert first["total"]["handling_n"]
    times_kept.forget()


@pytest.mark.usefixtures("week")
def test_the_negative_list_judges_departments_beside_areas(
    world: Any, cast: Any, monkeypatch: Any
) -> None:
    settings = world.app.state.settings.evaluation
    settings.flag_rework_rate_max = 0.15  # more flags of both kinds

    def flags() -> list[dict[str, Any]]:
        r = world.get("/api/v1/stats/flags", params=PERIOD, headers=cast.admin)
        assert r.status_code == 200, r.text
        return r.json()["flags"]

    taken: list[str] = []
    with _spares(monkeypatch, taken, free=True):
        beside = flags()
    with _spares(monkeypatch, taken, free=False):
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


@pytest.mark.usefixtures("week", "nothing_settled")
def test_a_spare_is_not_taken_from_the_last_connections_of_the_pool(
    world: Any, cast: Any, monkeypatch: Any
) -> None:
    """A read takes a second connection only while a quarter of the pool (here 1 of 4) would stay
    free for other requests after it, and nobody is waiting for one (api/db/read_pool.py)."""
    from api.db.read_pool import can_spare

    pool = world.app.state.pool
    assert pool.max_size == 4

    def table() -> dict[str, Any]:
        r = world.get("/api/v1/stats", params=PERIOD, headers=cast.admin)
        assert r.status_code == 200, r.text
        return r.json()

    taken: list[str] = []
    held = [pool.getconn(), pool.getconn()]  # two busy requests: the read's own leaves one
    try:
        with _spares(monkeypatch, taken, free=True):
            crowded = table()
        assert taken == ["none free"]
    finally:
        for conn in held:
            pool.putconn(conn)
    with _spares(monkeypatch, taken, free=True):
        quiet = table()
    assert taken == ["none free", "spare"]
    assert crowded == quiet

    # every connection out and a request waiting for one: none may be spared, whatever comes back
    held = [pool.getconn() for _ in range(4)]
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(pool.getconn(timeout=10)))
    waiter.start()
    try:
        deadline = time.monotonic() + 5
        while not pool.get_stats().get("requests_waiting") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.get_stats().get("requests_waiting") == 1
        assert not can_spare(pool)
    finally:
        for conn in held:
            pool.putconn(conn)
        waiter.join(10)
        pool.putconn(got[0])
    assert can_spare(pool)
