"""The command view of patrols: today's tracks, nearest on-duty officers and the live positions
stream, each per role and scope (positions only for dispatchers and admins of the scope)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

from gis.patrols import haversine_m
from tests.loop import G2, STREET, make_cast, report
from tests.patrol_util import send, start, walk


def recent() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=40)


def patrols_of_the_world(world: Any, token_for: Any) -> tuple[Any, dict[str, int]]:
    """Officer `off` walking in G1, `off2` in G2, WATER staff (area: the district), a stale and
    an ended patrol in G1 — all with fixes; returns the cast and the patrol ids."""
    cast = make_cast(token_for)
    ids: dict[str, int] = {}
    for name, headers, lon, lat in (
        ("g1", cast.officer, 116.010, 39.010),
        ("g2", cast.other_officer, 116.030, 39.020),
        ("water", cast.water, 116.012, 39.021),
    ):
        p = start(world, headers)
        assert send(world, p["id"], headers, walk(recent(), 3, lon=lon, lat=lat)).status_code == 200
        ids[name] = p["id"]
    stale_officer = token_for("stale", "officer", "110199001001001")
    p = start(world, stale_officer)
    old = recent() - dt.timedelta(minutes=30)
    assert send(world, p["id"], stale_officer, walk(old, 3, lat=39.0205)).status_code == 200
    ids["stale"] = p["id"]
    done = token_for("done", "officer", "110199001001001")
    p = start(world, done)
    send(world, p["id"], done, walk(recent(), 3, lat=39.0201))
    assert world.post(f"/api/v1/patrols/{p['id']}/end", headers=done).status_code == 200
    ids["ended"] = p["id"]
    return cast, ids


# role → (cast attribute, patrols whose positions it sees; None: refused)
SCOPES: dict[str, tuple[str, set[str] | None]] = {
    "admin": ("admin", {"g1", "g2", "water"}),
    "street dispatcher": ("disp", {"g1", "g2"}),
    "district dispatcher": ("district", {"g1", "g2", "water"}),
    "other street's dispatcher": ("other_disp", set()),
    "officer": ("officer", None),
    "department": ("dept", None),
    "resident": ("resident", None),
}


@pytest.mark.parametrize("who", list(SCOPES))
def test_tracks_and_nearest_officers_per_role(world: Any, token_for: Any, who: str) -> None:
    cast, ids = patrols_of_the_world(world, token_for)
    case = report(world, lon=116.010, lat=39.020)
    attr, sees = SCOPES[who]
    h = getattr(cast, attr)
    tracks = world.get("/api/v1/patrols/tracks", headers=h)
    nearest = world.get(f"/api/v1/incidents/{case}/nearest-officers", headers=h)
    if sees is None:
        assert tracks.status_code == 403 and nearest.status_code == 403
        assert "lat" not in tracks.text + nearest.text
        return
    assert tracks.status_code == 200, tracks.text
    # today's tracks: every patrol of the scope with fixes today, the ended one too
    today = {f["id"] for f in tracks.json()["features"]}
    name_of = {v: k for k, v in ids.items()}
    expected_tracks = sees | ({"ended", "stale"} if "g1" in sees else set())
    if {name_of[i] for i in today} != expected_tracks:
        # the stale patrol's fixes were 30 min ago: yesterday's when the test runs after
        # midnight local time
        assert {name_of[i] for i in today} == expected_tracks - {"stale"}
    line = (
        next(f for f in tracks.json()["features"] if f["id"] == ids.get("g1", 0)) if sees else None
    )
    if line:
        assert line["geometry"]["type"] == "LineString"
        assert len(line["geometry"]["coordinates"]) == 3
    if who == "other street's dispatcher":  # the case lies outside this dispatcher's scope
        assert nearest.status_code == 403
        return
    assert nearest.status_code == 200, nearest.text
    doc = nearest.json()
    assert doc["method"] == "straight_line"
    # running patrols with a fix ≤ 10 min old, nearest first; never the stale or the ended one
    got = [(name_of[o["patrol"]], o["distance_m"]) for o in doc["officers"]]
    last = {"g1": (116.010, 39.010), "g2": (116.030, 39.020), "water": (116.012, 39.021)}
    want = sorted(
        (
            (n, haversine_m(116.010, 39.020, lon, lat + 2 * 14.0 / 111_195))
            for n, (lon, lat) in last.items()
            if n in sees
        ),
        key=lambda x: x[1],
    )
    assert [n for n, _ in got] == [n for n, _ in want]
    for (_, d), (_, w) in zip(got, want, strict=True):
        assert d == pytest.approx(w, rel=0.005)


def test_nearest_officers_bad_input(world: Any, token_for: Any) -> None:
    cast = make_cast(token_for)
    r = world.get("/api/v1/incidents/20990101-999999/nearest-officers", headers=cast.disp)
    assert r.status_code == 404 and "20990101-999999" in r.json()["error"]["message"]
    case = report(world)
    r = world.get(f"/api/v1/incidents/{case}/nearest-officers?limit=0", headers=cast.disp)
    assert r.status_code == 422
    r = world.get(f"/api/v1/incidents/{case}/nearest-officers", headers=cast.disp)
    assert r.status_code == 200 and r.json()["officers"] == []


def events(lines: Any, wanted: int) -> list[tuple[str, Any]]:
    """The first `wanted` SSE events (name, data) read from a line iterator."""
    out: list[tuple[str, Any]] = []
    name = ""
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            out.append((name, json.loads(line.split(":", 1)[1])))
            if len(out) == wanted:
                break
    return out


def test_live_positions_stream_is_scoped(live: str, world_db: str) -> None:
    """A street dispatcher's stream gets the positions of its street's patrols only; officers
    are refused the stream."""
    import psycopg
    from psycopg.rows import dict_row

    from api.services.identity.auth import add_user, create_token

    tokens = {}
    with psycopg.connect(world_db, row_factory=dict_row) as conn:
        for name, role, area in (
            ("d1", "dispatcher", STREET),
            ("d2", "dispatcher", "110199002"),
            ("o1", "officer", G2),
            ("o2", "officer", "110199002"),
        ):
            add_user(conn, name, role, area, None)
            tokens[name] = {"Authorization": f"Bearer {create_token(conn, name)}"}
    with httpx.Client(base_url=live, timeout=20) as client:
        assert client.get("/api/v1/patrols/live", headers=tokens["o1"]).status_code == 403
        p1 = client.post("/api/v1/patrols", json={}, headers=tokens["o1"]).json()["id"]
        send(client, p1, tokens["o1"], walk(recent(), 1, lon=116.03, lat=39.02))  # before: snapshot
        with client.stream("GET", "/api/v1/patrols/live", headers=tokens["d2"]) as far:
            lines = far.iter_lines()
            assert events(lines, 1) == [("positions", [])]
            with client.stream("GET", "/api/v1/patrols/live", headers=tokens["d1"]) as near:
                near_lines = near.iter_lines()
                ((kind, snapshot),) = events(near_lines, 1)
                assert kind == "positions" and [p["patrol"] for p in snapshot] == [p1]
                fix = walk(recent() + dt.timedelta(seconds=30), 1, lon=116.031, lat=39.021)
                send(client, p1, tokens["o1"], [fix[0] | {"id": "later"}])
                ((kind, moved),) = events(near_lines, 1)
                assert kind == "position" and moved["patrol"] == p1 and moved["lon"] == 116.031
                assert moved["leader"] == "o1" and moved["area"] == G2
            p2 = client.post("/api/v1/patrols", json={}, headers=tokens["o2"]).json()["id"]
            send(client, p2, tokens["o2"], walk(recent(), 1, lon=116.07, lat=39.02))
            # d2's first position is o2's: o1's (outside its street) never reached it
            ((kind, first),) = events(lines, 1)
            assert kind == "position" and first["patrol"] == p2
