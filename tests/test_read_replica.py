"""Reads on a real streaming replica (GRIDGOV_READ_DATABASE_URL), and the fall-back to the primary.

The replica is a hot standby of the test cluster made with `pg_basebackup -R` and run on its own
port (EmbeddedCluster.up_replica). Which server answered is told by data only one of them has:
replay on the replica is paused, an incident is reported (on the primary); the replica cannot
know it. Replay is always resumed afterwards, so the replica never holds up other tests.
"""

from __future__ import annotations

import datetime as dt
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.db.embedded import EmbeddedCluster
from api.main import create_app
from api.services.evaluation import sums_kept
from api.settings import DatabaseSettings, Settings
from tests.conftest import Databases

TILE = "/tiles/incidents/14/13471/6260.pbf"  # holds the reports at 116.01, 39.02


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def replica(databases: Databases) -> Iterator[EmbeddedCluster]:
    home = Path(tempfile.mkdtemp(prefix="gridgov-replica-"))
    home.chmod(0o755)  # as root the replica runs as 'postgres', which must reach this directory
    cluster = EmbeddedCluster(home=home, port=_free_port(), dbname="postgres", durable=False)
    cluster.up_replica(databases.cluster)
    try:
        yield cluster
    finally:
        cluster.destroy()


def replica_url(replica: EmbeddedCluster, primary_url: str) -> str:
    """The same database on the replica."""
    return replica.url().rsplit("/", 1)[0] + "/" + primary_url.rsplit("/", 1)[1]


def caught_up(primary_url: str, standby_url: str, timeout: float = 30.0) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with psycopg.connect(primary_url, autocommit=True) as conn:
        # the insert location: with fsync and synchronous_commit off (the test cluster) a commit
        # may not have been written out yet, and pg_current_wal_lsn() would be before it
        target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(standby_url, autocommit=True) as conn:
                done = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()[0]  # type: ignore[index]
            if done:
                return
        except psycopg.OperationalError:  # the database is not on the replica yet
            pass
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


@contextmanager
def replay_paused(standby_url: str) -> Iterator[None]:
    with psycopg.connect(standby_url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")


@contextmanager
def app_on(world_db: str, standby_url: str, **db: Any) -> Iterator[TestClient]:
    """The app with the replica for reads, its replica pool filled (it opens in the background)."""
    settings = DatabaseSettings(
        database_url=world_db, read_database_url=standby_url, pool_min=1, pool_max=2, **db
    )
    with TestClient(create_app(Settings(db=settings))) as client:
        client.app.state.read_pool.replica.wait(timeout=30)  # type: ignore[attr-defined]
        yield client


def report(client: TestClient, **headers: str) -> str:
    body = {
        "category": "SJ0102",
        "description": "路灯不亮",
        "location": {"lon": 116.01, "lat": 39.02},
    }
    r = client.post("/api/v1/incidents", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def on_replica(client: TestClient, incident_id: str) -> bool:
    """Whether the OGC read (a ReadConnDep route) was answered without the new incident."""
    r = client.get(f"/ogc/collections/incidents/items/{incident_id}")
    assert r.status_code in (200, 404), r.text
    return r.status_code == 404


def test_lag_tolerant_reads_are_served_by_the_replica_and_fall_back_when_it_stops(
    replica, world_db, token_for
):
    standby = replica_url(replica, world_db)
    caught_up(world_db, standby)
    admin = token_for("boss", "admin")
    with app_on(world_db, standby, read_max_lag_s=3600, read_retry_s=0.5) as client:
        assert client.get("/healthz").json()["reads"] == {"reads": "replica", "replica": "ok"}
        with replay_paused(standby):
            new = report(client)
            # the write and reading it back are on the primary ...
            assert client.get(f"/api/v1/incidents/{new}").status_code == 200
            # ... the lag-tolerant reads on the replica, which has not replayed it
            assert on_replica(client, new)
            # from a date: the settled days' sums kept with a snapshot taken on the standby
            since = (dt.date.today() - dt.timedelta(days=30)).isoformat()
            sums_kept.forget()
            stats = client.get("/api/v1/stats", params={"from": since}, headers=admin)
            assert stats.status_code == 200  # the user is checked on the primary, data read there
            assert len(sums_kept.KEPT) == 1
            # a tile read there may lack the last second's writes: served, never cached
            time.sleep(0.2)  # the NOTIFY of the report has been heard
            for _ in range(2):
                tile = client.get(TILE)
                assert tile.status_code == 200 and tile.headers["X-Tile-Cache"] == "miss"
            with psycopg.connect(standby) as conn:
                readers = conn.execute(
                    "SELECT pg_is_in_recovery(), count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'gridgov-read'"
                ).fetchone()
            assert readers is not None and readers[0] is True and readers[1] >= 1
        caught_up(world_db, standby)
        assert not on_replica(client, new)  # replayed: the replica has it now

        replica.down()
        try:
            # the replica is down: the next reads go to the primary, without an error
            later = report(client)
            assert not on_replica(client, later)
            health = client.get("/healthz").json()["reads"]
            assert health["reads"] == "primary" and "unreachable" in health["replica"]
            assert client.get("/api/v1/stats", headers=admin).status_code == 200
            assert client.get(TILE).status_code == 200
        finally:
            replica.up_replica(replica)  # started again (already created: no copy)
        caught_up(world_db, standby)
        # back up: after GRIDGOV_READ_RETRY_S the replica takes the reads again
        time.sleep(0.6)
        with replay_paused(standby):
            third = report(client)
            deadline = time.monotonic() + 15
            while not on_replica(client, third):
                assert time.monotonic() < deadline, "reads did not return to the replica"
                time.sleep(0.3)


def test_a_replica_lagging_more_than_allowed_is_not_read(replica, world_db):
    standby = replica_url(replica, world_db)
    caught_up(world_db, standby)
    with app_on(world_db, standby, read_max_lag_s=0.5) as client:
        with replay_paused(standby):
            new = report(client)
            time.sleep(1.2)  # past the lag allowed and the once-a-second lag check
            assert not on_replica(client, new)  # the primary answered
            reads = client.get("/healthz").json()["reads"]
            assert reads["reads"] == "primary" and "behind" in reads["replica"]
        caught_up(world_db, standby)
        time.sleep(1.1)  # the next read asks the replica again
        pool = client.app.state.read_pool  # type: ignore[attr-defined]
        before = pool.replica_reads
        assert not on_replica(client, new)  # replayed: found on either server
        assert pool.replica_reads == before + 1  # caught up again: read on the replica
        assert client.get("/healthz").json()["reads"] == {"reads": "replica", "replica": "ok"}


def test_a_user_created_a_moment_ago_can_read_through_the_replica(replica, world_db, token_for):
    standby = replica_url(replica, world_db)
    caught_up(world_db, standby)
    with app_on(world_db, standby, read_max_lag_s=3600) as client:
        with replay_paused(standby):
            admin = token_for("newcomer", "admin")  # not on the replica yet
            report(client)
            for path in ("/api/v1/stats", "/api/v1/stats/flags", "/api/v1/hotspots"):
                r = client.get(path, headers=admin)
                assert r.status_code == 200, (path, r.text)
            bad = client.get("/api/v1/stats", headers={"Authorization": "Bearer ggt_nothing"})
            assert bad.status_code == 401


def test_without_a_replica_a_read_route_needs_one_pooled_connection(world_db, token_for):
    """The user check of a read route reuses the read connection when it is the primary's:
    with a pool of one, a nested second checkout would wait for itself until 503."""
    admin = token_for("boss", "admin")
    db = DatabaseSettings(database_url=world_db, pool_min=1, pool_max=1, pool_timeout=1.0)
    with TestClient(create_app(Settings(db=db))) as client:
        assert client.get("/healthz").json()["reads"] == {"reads": "primary", "replica": None}
        for path in ("/api/v1/stats", "/api/v1/stats/flags", "/api/v1/hotspots"):
            assert client.get(path, headers=admin).status_code == 200, path
        r = client.get(TILE, params={"department": "WATER"}, headers=admin)
        assert r.status_code == 200, r.text


def test_a_trend_read_on_the_replica_keeps_its_past_buckets_on_the_primary(
    replica, world_db, token_for, monkeypatch
):
    """The replica cannot be written: the trend's past buckets (bucket_cache) are kept through
    a connection of the primary, and read back on the replica once it has replayed them."""
    from api.services.evaluation import bucket_cache

    standby = replica_url(replica, world_db)
    caught_up(world_db, standby)
    admin = token_for("boss", "admin")
    written: list[tuple[bool, int | None]] = []
    write = bucket_cache._write

    def spied(conn, kept, key, old):  # type: ignore[no-untyped-def]
        written.append((kept.writable, conn.info.port))
        write(conn, kept, key, old)

    monkeypatch.setattr(bucket_cache, "_write", spied)
    params = {"from": "2025-11-03", "to": "2025-11-09", "group_by": "department", "code": "WATER"}
    with app_on(world_db, standby, read_max_lag_s=3600) as client:
        first = client.get("/api/v1/stats/trend", params=params, headers=admin)
        assert first.status_code == 200, first.text
        primary_port = int(world_db.rsplit(":", 1)[1].split("/")[0])
        assert written == [(False, primary_port)]  # read on the replica, kept on the primary
        with psycopg.connect(world_db) as conn:
            kept = conn.execute("SELECT count(*) FROM eval_bucket_cache").fetchone()
        assert kept == (len(first.json()["series"]),)
        caught_up(world_db, standby)
        again = client.get("/api/v1/stats/trend", params=params, headers=admin)
        assert again.json() == first.json()
        assert len(written) == 1  # all kept, read back on the replica: nothing computed


def test_the_second_part_of_a_read_on_the_replica_is_read_there_too(
    replica, world_db, token_for, monkeypatch
):
    """The negative list judges the departments on a spare connection (api/db/at_once.py): a
    replica's when the read is on the replica, also while its replay lags behind the primary
    (both parts read one server's data, never a mix of the two)."""
    from api.db.read_pool import ReadPool

    standby = replica_url(replica, world_db)
    caught_up(world_db, standby)
    admin = token_for("boss", "admin")
    taken: list[tuple[bool, int | None]] = []
    spare = ReadPool.spare

    @contextmanager
    def spied(self, on_replica):  # type: ignore[no-untyped-def]
        with spare(self, on_replica) as conn:
            taken.append((on_replica, None if conn is None else conn.info.port))
            yield conn

    monkeypatch.setattr(ReadPool, "spare", spied)
    with app_on(world_db, standby, read_max_lag_s=3600) as client:
        r = client.get("/api/v1/stats/flags", headers=admin)
        assert r.status_code == 200, r.text
        assert taken == [(True, replica.port)]
        with replay_paused(standby):
            new = report(client)
            assert on_replica(client, new)
            again = client.get("/api/v1/stats/flags", headers=admin)
            assert again.status_code == 200, again.text
        assert taken == [(True, replica.port)] * 2
