"""GET /api/v1/stream against a real uvicorn server: delivery, filtering, Last-Event-ID replay."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any, LiteralString

import httpx
import pytest
import uvicorn

from api.main import create_app
from tests.conftest import one_row, settings_for, wait_until
from tests.loop import make_cast

# Every read waits at most this long, so a missing event fails the test instead of hanging it.
TIMEOUT = httpx.Timeout(10.0)


class Events:
    """Reads server-sent events from a streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def next(self) -> dict[str, Any]:
        """The next event that carries data (comments and pings skipped)."""
        event: dict[str, Any] = {}
        for line in self.lines:
            if line == "":
                if "data" in event:
                    event["data"] = json.loads(event["data"])
                    return event
                event = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                event[name] = value[1:] if value.startswith(" ") else value
        raise AssertionError("the stream ended")


@pytest.fixture
def serve(world_db: str) -> Iterator[Any]:
    """`serve(**api_settings)`: the app served by uvicorn on a free port in a thread."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**api: Any) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        config = uvicorn.Config(
            create_app(settings_for(world_db, **api)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        srv = uvicorn.Server(config)
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        servers.append((srv, thread))
        wait_until(lambda: srv.started, "uvicorn did not start")
        return f"http://127.0.0.1:{port}"

    try:
        yield start
    finally:
        for srv, thread in servers:
            srv.should_exit = True
            thread.join(timeout=15)


@pytest.fixture
def server(serve: Any) -> str:
    return str(serve())


def backends(world_db: str, where: LiteralString) -> int:
    """Connections to the test database (but the one counting them) that match `where`."""
    (n,) = one_row(
        world_db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "  # noqa: S608
        "AND pid <> pg_backend_pid() AND " + where,
    )
    return int(n)


def stream_connections(world_db: str) -> int:
    """The app's LISTEN connections for the event stream."""
    return backends(world_db, "application_name = 'gridgov-stream'")


def report(client: httpx.Client, category: str) -> tuple[str, dict[str, Any]]:
    r = client.post(
        "/api/v1/incidents",
        json={"category": category, "location": {"lon": 116.010, "lat": 39.020}},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()


def test_stream_delivers_to_whom_it_concerns_and_replays(server, token_for, world_db):
    cast = make_cast(token_for)
    url = "/api/v1/stream"
    with httpx.Client(base_url=server, timeout=TIMEOUT) as client:
        assert client.get(url).status_code == 401
        bad = client.get(url, headers={**cast.disp, "Last-Event-ID": "x"})
        assert bad.status_code == 400
        with (
            client.stream("GET", url, headers=cast.disp) as disp_r,
            client.stream("GET", url, headers=cast.sanitation) as sanitation_r,
            client.stream("GET", url, headers=cast.other_disp) as other_r,
        ):
            # Headers arrive after LISTEN, so nothing reported from here on can be missed.
            assert disp_r.status_code == sanitation_r.status_code == other_r.status_code == 200
            assert stream_connections(world_db) == 1  # three streams, the process's one LISTEN
            assert disp_r.headers["content-type"].startswith("text/event-stream")
            disp, sanitation = Events(disp_r), Events(sanitation_r)

            first, _ = report(client, "SJ0102")  # routed to CITYMGMT-001, not SANITATION
            ev = disp.next()
            assert ev["event"] == "incident" and ev["data"]["incident"]["id"] == first
            assert ev["data"]["action"] == "report" and ev["data"]["to_status"] == "reported"
            props = ev["data"]["incident"]["properties"]
            assert props["grid"] == "110199001001001" and props["department"] == "CITYMGMT-001"
            assert ev["data"]["incident"]["geometry"]["type"] == "Point"
            first_event = int(ev["id"])

            # Reported in street 乙 and routed to SANITATION: the street-甲 dispatcher must not
            # see it, the department must — and its first event must be this one, which shows
            # it was never sent the first incident.
            second_r = client.post(
                "/api/v1/incidents",
                json={"category": "SJ0102", "location": {"lon": 116.070, "lat": 39.020}},
            )
            assert second_r.status_code == 201
            second = second_r.json()["id"]
            ev = sanitation.next()
            assert ev["event"] == "incident" and ev["data"]["incident"]["id"] == second

            r = client.post(
                f"/api/v1/incidents/{first}/actions", json={"action": "register"}, headers=cast.disp
            )
            assert r.status_code == 200, r.text
            ev = disp.next()  # the second incident lies outside this dispatcher's street
            assert ev["event"] == "status" and ev["data"]["incident"]["id"] == first
            assert (ev["data"]["from_status"], ev["data"]["to_status"]) == (
                "reported",
                "registered",
            )
            assert ev["data"]["actor"] == "disp"
            assert ev["data"]["incident"]["properties"]["status"] == "registered"
            register_event = int(ev["id"])
            assert register_event > first_event
            # A stream checks who may see an event when it reads it. Before the whistle, let the
            # department's stream read the register event (not its to see yet): a later report
            # routed to it arrives after that read, in the same batch or the next.
            marker_r = client.post(
                "/api/v1/incidents",
                json={"category": "SJ0102", "location": {"lon": 116.070, "lat": 39.020}},
            )
            assert marker_r.status_code == 201, marker_r.text
            ev = sanitation.next()
            assert (
                ev["event"] == "incident" and ev["data"]["incident"]["id"] == marker_r.json()["id"]
            )

            w = client.post(
                f"/api/v1/incidents/{first}/whistle",
                json={"departments": ["SANITATION"]},
                headers=cast.disp,
            )
            assert w.status_code == 201, w.text
            ev = disp.next()
            assert ev["event"] == "whistle" and ev["data"]["data"]["departments"] == ["SANITATION"]
            ev = sanitation.next()  # summoned: now it follows the first incident too
            assert ev["event"] == "whistle" and ev["data"]["incident"]["id"] == first
            ci = client.post(f"/api/v1/whistles/{w.json()['id']}/check-in", headers=cast.sanitation)
            assert ci.status_code == 200, ci.text
            ev = disp.next()
            assert ev["event"] == "check_in" and ev["data"]["department"] == "SANITATION"
            last_seen = int(ev["id"])

        # Reconnect as the dispatcher from the first event: the rest is replayed from the
        # table (without the second incident), then live events follow.
        headers = {**cast.disp, "Last-Event-ID": str(first_event)}
        with client.stream("GET", url, headers=headers) as again_r:
            again = Events(again_r)
            replayed = [again.next() for _ in range(3)]
            assert [(e["event"], int(e["id"])) for e in replayed][0] == ("status", register_event)
            assert [e["event"] for e in replayed] == ["status", "whistle", "check_in"]
            assert int(replayed[-1]["id"]) == last_seen
            r = client.post(
                f"/api/v1/incidents/{first}/actions",
                json={"action": "dispatch"},
                headers=cast.disp,
            )
            assert r.status_code == 200, r.text
            ev = again.next()
            assert ev["event"] == "status" and ev["data"]["action"] == "dispatch"
            assert int(ev["id"]) > last_seen

    # Streams hold no connection of their own: the process keeps its one LISTEN connection.
    assert stream_connections(world_db) == 1


def test_stream_cap_refuses_with_503(serve, token_for, world_db):
    url = serve(stream_max_clients=1)
    cast = make_cast(token_for)
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        with client.stream("GET", "/api/v1/stream", headers=cast.disp) as first:
            assert first.status_code == 200
            second = client.get("/api/v1/stream", headers=cast.district)
            assert second.status_code == 503
            assert second.json()["error"]["code"] == "too_many_streams"

        def slot_free() -> bool:
            with client.stream("GET", "/api/v1/stream", headers=cast.district) as third:
                return third.status_code == 200

        wait_until(slot_free, "the closed stream did not give back its slot")
