"""A trend's past buckets are kept (api/services/evaluation/bucket_cache.py, migration 0036):
read once, then from `eval_bucket_cache` while nothing that can change the past has happened;
any such write (back-dated rows, a re-keyed incident, whistles, categories, departments, areas)
raises `eval_stale.generation` and the next trend computes them again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from api.services.evaluation.bucket_cache import KEEP_AFTER
from tests.loop import Clock, report
from tests.spy import calls_of
from tests.test_stats import PERIOD, week  # noqa: F401  (fixture)

TREND = {**PERIOD, "group_by": "department", "code": "WATER", "interval": "day"}


def series(world: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = world.get("/api/v1/stats/trend", params={**TREND, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["series"])


@pytest.fixture
def db(world_db: str) -> Iterator[psycopg.Connection[dict[str, Any]]]:
    with psycopg.connect(world_db, autocommit=True, row_factory=dict_row) as conn:
        yield conn


def generation(db: psycopg.Connection[dict[str, Any]]) -> int:
    row = db.execute("SELECT generation FROM eval_stale").fetchone()
    assert row is not None
    return int(row["generation"])


@pytest.mark.usefixtures("week")
def test_past_buckets_are_read_once_then_kept_until_a_back_dated_write(
    world: Any, cast: Any, db: psycopg.Connection[dict[str, Any]]
) -> None:
    first = series(world, cast.admin)
    assert any(s["reported"] for s in first)
    kept = db.execute(
        "SELECT count(*) AS n, count(DISTINCT generation) AS g FROM eval_bucket_cache"
    )
    assert kept.fetchone() == {"n": len(first), "g": 1}  # the week's days, all long past
    # what a second trend shows comes from the kept rows: mark one, and it shows
    marked = db.execute(
        "UPDATE eval_bucket_cache SET figures = jsonb_set(figures, '{reported}', '99') "
        "WHERE t_from = (SELECT min(t_from) FROM eval_bucket_cache WHERE figures IS NOT NULL) "
        "RETURNING t_from"
    ).fetchone()
    assert marked is not None
    second = series(world, cast.admin)
    changed = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    assert len(changed) == 1 and second[changed[0]]["reported"] == 99
    assert dt.datetime.fromisoformat(second[changed[0]]["from"]) == marked["t_from"]
    # a report through the API at the app's clock (Nov 2025: long before the database's now)
    before = generation(db)
    report(world)
    assert generation(db) > before
    assert series(world, cast.admin) == first  # computed again, and kept again
    assert db.execute("SELECT count(*) AS n FROM eval_bucket_cache").fetchone() == {"n": len(first)}


@pytest.mark.usefixtures("week")
def test_each_viewer_and_grouping_has_its_own_kept_buckets(
    world: Any, cast: Any, db: psycopg.Connection[dict[str, Any]]
) -> None:
    """The admin and a department's staff (another scope), a department and a category (another
    grouping): kept apart, and each read back as computed."""
    asks = [
        (cast.admin, {}),
        (cast.water, {}),
        (cast.admin, {"group_by": "category", "code": "SJ0102"}),
    ]
    computed = [series(world, who, **params) for who, params in asks]
    fingerprints = db.execute("SELECT count(DISTINCT fingerprint) AS n FROM eval_bucket_cache")
    assert fingerprints.fetchone() == {"n": 3}
    assert computed[2] != computed[0]
    assert [series(world, who, **params) for who, params in asks] == computed


def test_only_writes_that_can_change_the_past_raise_the_generation(
    world: Any, db: psycopg.Connection[dict[str, Any]]
) -> None:
    world.app.state.clock = Clock(dt.datetime.now(dt.UTC))
    g = generation(db)
    incident = report(world)  # reported now: cannot change a bucket that has ended
    assert generation(db) == g
    world.app.state.clock = Clock(dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    report(world)  # dated two hours ago (the clock of a late import): incident and event
    assert generation(db) > g
    g = generation(db)
    with db.transaction(force_rollback=True):
        db.execute(
            "UPDATE incidents SET status = status, updated_at = now() WHERE public_id = %s",
            (incident,),
        )
        assert generation(db) == g  # no key changed
        db.execute(
            "UPDATE incidents SET category_code = 'BJ0101' WHERE public_id = %s", (incident,)
        )
        assert generation(db) == g + 1  # re-keyed: its figures move to another category
    assert generation(db) == g  # (rolled back)
    for table in ("whistles", "whistle_checkins", "categories", "departments", "areas"):
        with db.transaction(force_rollback=True):
            db.execute(f"DELETE FROM {table} WHERE false")  # noqa: S608 (the tables above)
            assert generation(db) == g + 1, table  # any write, even of no row


def test_a_bucket_kept_only_once_it_ended_an_hour_ago(
    world: Any, cast: Any, db: psycopg.Connection[dict[str, Any]]
) -> None:
    now = dt.datetime.now(dt.UTC)
    world.app.state.clock = Clock(now)
    today = now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    days = series(
        world, cast.admin, **{"from": str(today - dt.timedelta(days=2)), "to": str(today)}
    )
    ends = [dt.datetime.fromisoformat(s["to"]) for s in days]
    kept = db.execute("SELECT t_end FROM eval_bucket_cache ORDER BY t_end").fetchall()
    assert [r["t_end"] for r in kept] == [e for e in ends if e <= now - KEEP_AFTER]
    assert len(kept) in (1, 2) and len(ends) == 3  # today's bucket is never kept


def test_whistles_and_check_ins_written_now_raise_nothing(
    world: Any, cast: Any, db: psycopg.Connection[dict[str, Any]]
) -> None:
    """A summons settles at min(check-in, deadline): a whistle blown now, a check-in now (on
    time, or late after a deadline that has passed) change only what settles now or later. A
    whistle whose deadline has passed, written later (an import), raises the generation."""
    now = dt.datetime.now(dt.UTC)

    def blow(at: dt.datetime) -> int:
        world.app.state.clock = Clock(at)
        incident = report(world)
        r = world.post(
            f"/api/v1/incidents/{incident}/whistle",
            json={"departments": ["WATER"], "deadline_minutes": 30},
            headers=cast.disp,
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def check_in(whistle: int) -> None:
        world.app.state.clock = Clock(dt.datetime.now(dt.UTC))
        r = world.post(f"/api/v1/whistles/{whistle}/check-in", headers=cast.water)
        assert r.status_code == 200, r.text

    g = generation(db)
    on_time = blow(now)
    check_in(on_time)
    assert generation(db) == g
    late = blow(now - dt.timedelta(hours=1))  # its deadline passed half an hour ago
    g = generation(db)
    assert g > 0
    check_in(late)  # late: settled (missed) at the deadline before, and still
    assert generation(db) == g
    row = db.execute(
        "SELECT least(checked_in_at, w.deadline_at) = w.deadline_at AS at_deadline, late "
        "FROM whistle_checkins k JOIN whistles w ON w.id = k.whistle_id WHERE w.id = %s",
        (late,),
    ).fetchone()
    assert row == {"at_deadline": True, "late": True}
    with db.transaction(force_rollback=True):  # a check-in dated back, within the deadline
        db.execute(
            "UPDATE whistle_checkins k SET checked_in_at = w.called_at, late = false "
            "FROM whistles w WHERE w.id = k.whistle_id AND w.id = %s",
            (late,),
        )
        assert generation(db) == g + 1


def test_the_warmer_reads_the_large_groups_trends_when_the_past_may_have_changed(
    world: Any, cast: Any, world_db: str, monkeypatch: Any
) -> None:
    """A turn reads the last 30 days by day of every department, street and district, as an
    admin and as their own users; afterwards a reader's trend computes only today. The next turn
    reads nothing until the day or the generation changes."""
    from api.db.session import open_pool
    from api.services.evaluation import flags
    from api.services.evaluation.warm import TrendWarmer
    from tests.conftest import settings_for

    world.app.state.clock = Clock(dt.datetime.now(dt.UTC))
    settings = settings_for(world_db)
    settings.db.pool_max = 1  # its one connection: the warmer's, then ours
    pool = open_pool(settings.db)
    warmer = TrendWarmer(settings, pool)
    with psycopg.connect(world_db) as conn:
        groups = conn.execute(
            "SELECT (SELECT count(*) FROM departments) + (SELECT count(*) FROM areas "
            "WHERE level IN ('street', 'district') AND valid_to IS NULL)"
        ).fetchone()
    assert groups is not None and groups[0] > 3
    assert warmer.turn() == 2 * groups[0]
    assert warmer.turn() == 0  # nothing changed
    with pool.connection() as conn:  # back with the pool's statement timeout, not the long one
        shown = conn.execute(  # in ms
            "SELECT setting AS t FROM pg_settings WHERE name = 'statement_timeout'"
        ).fetchone()
        assert shown is not None and shown["t"] == str(settings.db.statement_timeout_ms)
    computed = calls_of(monkeypatch, flags, "bucket_rows", lambda _conn, overs, *_: len(overs))
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    month = {"from": str(today - dt.timedelta(days=30)), "to": str(today)}
    for who in (cast.admin, cast.water):
        days = series(world, who, **month)
        assert len(days) == 31 and len(computed) == 1 and computed.pop() <= 2  # today (and
        # yesterday, in the first hour of a day)
    with psycopg.connect(world_db, autocommit=True) as conn:  # kept long ago (a custom period)
        conn.execute(
            "INSERT INTO eval_bucket_cache (fingerprint, key, t_from, t_end, generation, kept_at) "
            "VALUES ('old', 'WATER', '2025-01-01', '2025-01-02', 0, now() - interval '36 days')"
        )
    world.app.state.clock = Clock(dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
    report(world)  # back-dated: the kept buckets are forgotten
    assert warmer.turn() == 2 * groups[0]
    with psycopg.connect(world_db) as conn:
        old = conn.execute("SELECT count(*) FROM eval_bucket_cache WHERE fingerprint = 'old'")
        assert old.fetchone() == (0,)  # and what was kept over 35 days ago is gone
    pool.close()


@pytest.mark.usefixtures("week")
def test_buckets_kept_long_ago_are_forgotten_without_the_warmer(
    world: Any, cast: Any, db: psycopg.Connection[dict[str, Any]], monkeypatch: Any
) -> None:
    """With the warmer off (as here) a process forgets the buckets kept over FORGET_AFTER ago
    when it keeps others, at most every FORGET_EVERY: the table does not grow for ever."""
    from api.services.evaluation import bucket_cache

    def kept(code: str) -> tuple[int, int]:
        row = db.execute(
            "SELECT count(*) AS n, count(*) FILTER (WHERE kept_at < now() - %s) AS old "
            "FROM eval_bucket_cache WHERE key = %s",
            (bucket_cache.FORGET_AFTER, code),
        ).fetchone()
        assert row is not None
        return row["n"], row["old"]

    days = len(series(world, cast.admin))  # WATER's days kept
    db.execute("UPDATE eval_bucket_cache SET kept_at = now() - interval '36 days'")
    assert kept("WATER") == (days, days)
    # the process forgot a moment ago: keeping SANITATION's days leaves WATER's old rows
    monkeypatch.setattr(bucket_cache, "_forgot_at", [dt.datetime.now(dt.UTC)])
    series(world, cast.admin, code="SANITATION")
    assert kept("WATER") == (days, days) and kept("SANITATION") == (days, 0)
    # an hour later, the next keeping forgets them; what was kept lately stays
    an_hour_ago = dt.datetime.now(dt.UTC) - bucket_cache.FORGET_EVERY
    monkeypatch.setattr(bucket_cache, "_forgot_at", [an_hour_ago])
    series(world, cast.admin, code="CITYMGMT-001")
    assert kept("WATER") == (0, 0)
    assert kept("SANITATION") == (days, 0) and kept("CITYMGMT-001") == (days, 0)
    # read again, WATER's days are computed and kept again, the same
    assert len(series(world, cast.admin)) == days and kept("WATER") == (days, 0)
