"""Fault tests: the server `kill -9`ed mid-burst, and PostgreSQL restarted under traffic.

Both run the app as a separate process (`uvicorn api.main:app_from_env --factory`) on a
throwaway, durable cluster of their own, so stopping it disturbs no other test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.db.embedded import EmbeddedCluster
from api.db.migrate import upgrade
from tests.conftest import wait_until_healthy
from tests.world import load_world

pytestmark = pytest.mark.faults  # in the default run; `-m 'not faults'` skips it
BURST = 200  # reports in the kill -9 burst
CLIENTS = 4  # concurrent clients sending it
KILL_AFTER = 60  # acknowledged reports before the server is killed
TIMEOUT = httpx.Timeout(10.0)  # no request may hang longer than this


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _report(i: int) -> dict[str, Any]:
    return {
        "category": "SJ0102",
        "description": f"fault test report {i}",
        "location": {"lon": 116.010 + (i % 10) * 0.001, "lat": 39.020},
    }


@pytest.fixture(scope="module")
def fault_cluster() -> Iterator[EmbeddedCluster]:
    """A durable cluster of this module's own, migrated and holding the test world."""
    home = Path(tempfile.mkdtemp(prefix="gridgov-faults-"))
    home.chmod(0o755)  # as root the cluster runs as 'postgres', which must reach this directory
    cluster = EmbeddedCluster(home=home, port=_free_port(), dbname="gridgov", durable=True)
    url = cluster.up()
    upgrade(url)
    with psycopg.connect(url) as conn:
        load_world(conn)
    try:
        yield cluster
    finally:
        cluster.destroy()


class Server:
    """The app under uvicorn in a child process, which can be killed and started again."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = _free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "GRIDGOV_DATABASE_URL": url,
            "GRIDGOV_REPORT_PER_MINUTE": "0",
            "GRIDGOV_POOL_MIN": "2",
            "GRIDGOV_POOL_TIMEOUT": "2",  # each outage answer waits this long for a connection
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "uvicorn", "api.main:app_from_env", "--factory"]
        args = ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*cmd, *args], env=self.env, stdout=out, stderr=out)
        wait_until_healthy(
            self.proc, self.root, 30, lambda: f"the server exited:\n{self.log.read_text()[-3000:]}"
        )

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def server(fault_cluster: EmbeddedCluster, tmp_path: Path) -> Iterator[Server]:
    srv = Server(fault_cluster.url(), tmp_path / "server.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _post(client: httpx.Client, i: int) -> int | None:
    """POST report i with its own key; the status, or None when no answer came back."""
    try:
        r = client.post("/api/v1/incidents", json=_report(i), headers={"Idempotency-Key": f"k{i}"})
    except httpx.HTTPError:
        return None
    return r.status_code


def test_kill_9_mid_burst_loses_and_duplicates_nothing(
    fault_cluster: EmbeddedCluster, server: Server
) -> None:
    acked: set[int] = set()
    unseen: list[int] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(share: list[int]) -> None:
        with httpx.Client(base_url=server.root, timeout=TIMEOUT) as c:
            for i in share:
                status = _post(c, i)
                with lock:
                    if status in (200, 201):
                        acked.add(i)
                        if len(acked) >= KILL_AFTER:
                            enough.set()
                    else:  # no answer: the server was killed under this request
                        assert status is None, (i, status)  # never a 4xx/5xx instead
                        unseen.append(i)

    threads = [
        threading.Thread(target=client, args=(list(range(k, BURST, CLIENTS)),))
        for k in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    assert enough.wait(timeout=120), "the burst never got going"
    server.kill9()
    for t in threads:
        t.join(timeout=120)
    with lock:
        acked_before_kill = len(acked)
        to_resend = sorted(unseen)
    assert acked_before_kill + len(to_resend) == BURST
    assert to_resend, "the kill came after the burst ended; nothing was in flight"

    server.start()
    replayed = 0  # re-sent reports the server already held (200: stored before the kill)
    with httpx.Client(base_url=server.root, timeout=TIMEOUT) as c:
        for i in to_resend:
            status = None
            for _attempt in range(5):  # the client's retries
                status = _post(c, i)
                if status is not None:
                    break
            assert status in (200, 201), (i, status)
            replayed += status == 200
            acked.add(i)

    with psycopg.connect(fault_cluster.url()) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, count(*) FROM incidents"
            " WHERE idempotency_key LIKE 'k%' GROUP BY idempotency_key"
        ).fetchall()
        total = conn.execute("SELECT count(*) FROM incidents").fetchone()
    counts = {str(key): int(n) for key, n in rows}
    lost = [i for i in acked if counts.get(f"k{i}", 0) == 0]
    duplicates = [key for key, n in counts.items() if n > 1]
    print(
        f"\nkill -9 burst: sent {BURST}, acknowledged before the kill {acked_before_kill}, "
        f"re-sent {len(to_resend)} (already stored {replayed}), "
        f"lost {len(lost)}, duplicates {len(duplicates)}"
    )
    assert lost == [] and duplicates == []
    assert len(acked) == BURST and total is not None and total[0] == BURST == len(counts)


def _outage_answer_ok(r: httpx.Response) -> None:
    """A 503 during the outage: Retry-After and the error envelope."""
    assert r.headers["retry-after"] == "5", r.headers
    assert r.json()["error"]["code"] == "database_unavailable", r.text


def test_postgres_restart_gives_503_then_recovers(
    fault_cluster: EmbeddedCluster, server: Server
) -> None:
    statuses: dict[str, int] = {"201 before": 0, "503 during": 0, "201 after": 0}
    n = 0
    with httpx.Client(base_url=server.root, timeout=TIMEOUT) as c:
        for _ in range(5):
            r = c.post("/api/v1/incidents", json=_report(n))
            n += 1
            assert r.status_code == 201, r.text
            statuses["201 before"] += 1

        fault_cluster.down()
        try:
            for _ in range(5):  # a client keeps posting while the database is away
                r = c.post("/api/v1/incidents", json=_report(n))
                n += 1
                assert r.status_code == 503, r.text
                _outage_answer_ok(r)
                statuses["503 during"] += 1
            # Open311 answers in its own error form, with the same Retry-After
            r = c.get("/open311/v2/requests.json")
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "5"
            assert r.json() == [
                {
                    "code": 503,
                    "description": "数据库暂时不可用，请稍后重试。",  # zh_CN, the default
                }
            ]
            r = c.get("/open311/v2/requests.xml")
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert b"<errors><error><code>503</code>" in r.content
        finally:
            fault_cluster.up()

        # the app is not restarted: its pool reconnects; until then 503 is the only other answer
        retried = 0
        deadline = time.monotonic() + 60
        while True:
            r = c.post("/api/v1/incidents", json=_report(n))
            n += 1
            if r.status_code == 201:
                break
            assert r.status_code == 503, r.text
            _outage_answer_ok(r)
            retried += 1
            assert time.monotonic() < deadline, "no recovery within a minute"
            time.sleep(0.5)
        for _ in range(10):
            r = c.post("/api/v1/incidents", json=_report(n))
            n += 1
            assert r.status_code == 201, r.text
            statuses["201 after"] += 1
    print(
        f"\npostgres restart: {statuses['201 before']} created before, "
        f"{statuses['503 during']} answered 503 + Retry-After during the outage "
        f"(+2 Open311), {retried} 503 while reconnecting, "
        f"{statuses['201 after'] + 1} created after without restarting the app"
    )
