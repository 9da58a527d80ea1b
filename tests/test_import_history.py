"""Imports respect history and run the API's checks (issue 14), through `gridgov` and HTTP.

Real data: the OSM-derived Haidian demo (`gridgov demo`); constructed cases in the synthetic world
(tests/world.py: community C1 = [116.000, 116.050] x [39.00, 39.05] holds grids G1 and G2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row
from shapely.geometry import box, mapping, shape
from typer.testing import CliRunner

from api.cli import app
from api.main import create_app
from api.services.demo import DATA_DIR
from api.services.identity.auth import add_user, create_token
from tests.conftest import settings_for

SPLIT = "110108010002002"  # the grid of the report
PARENT = "110108010002"
G1, G2, C1, S1 = "110199001001001", "110199001001002", "110199001001", "110199001"


def run(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})


def query(url: str, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def admin_headers(url: str) -> dict[str, str]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return {"Authorization": f"Bearer {create_token(conn, 'demo-admin')}"}


def overlaps(client: TestClient, parent: str) -> list[list[str]]:
    r = client.get("/api/v1/coverage", params={"parent": parent})
    assert r.status_code == 200, r.text
    return [
        f["properties"]["codes"]
        for f in r.json()["features"]
        if f["properties"]["kind"] == "overlap"
    ]


def current(url: str, code: str) -> list[dict[str, Any]]:
    return query(
        url, "SELECT id, created_by FROM areas WHERE code = %s AND valid_to IS NULL", (code,)
    )


def test_split_grid_stays_split_through_demo_and_reimport(empty_db: str, tmp_path: Path) -> None:
    assert run(empty_db, "demo").exit_code == 0
    headers = admin_headers(empty_db)
    with TestClient(create_app(settings_for(empty_db))) as client:
        before = overlaps(client, PARENT)
        tag = client.get(f"/api/v1/areas/{SPLIT}").headers["etag"]
        line = {"type": "LineString", "coordinates": [[116.349, 39.99], [116.349, 40.01]]}
        r = client.post(
            f"/api/v1/areas/{SPLIT}/split",
            json={"type": "Feature", "geometry": line},
            headers={**headers, "If-Match": tag},
        )
        assert r.status_code == 200, r.text
        pieces = [f["id"] for f in r.json()["features"]]
        # a person redraws another grid: the demo must leave that alone too
        other = "110108010002004"
        got = client.get(f"/api/v1/areas/{other}")
        smaller = shape(got.json()["geometry"]).buffer(-0.00002, join_style="mitre")
        r = client.put(
            f"/api/v1/areas/{other}",
            json={"type": "Feature", "geometry": mapping(smaller), "properties": {}},
            headers={**headers, "If-Match": got.headers["etag"]},
        )
        assert r.status_code == 200, r.text
        edited = r.json()["properties"]["version_id"]

        again = run(empty_db, "demo")
        assert again.exit_code == 0, again.output
        assert f"Retired codes not revived (add --revive if wanted): {SPLIT}" in again.output
        assert f"(add --overwrite-edited if wanted): {other}" in again.output
        assert current(empty_db, SPLIT) == []
        assert [r["id"] for r in current(empty_db, other)] == [edited]

        grids = str(DATA_DIR / "grids.geojson")
        r = run(empty_db, "import", "areas", grids, "--level", "grid")
        assert r.exit_code == 0, r.output
        assert "0 new, 0 updated" in r.output and SPLIT in r.output and other in r.output
        assert current(empty_db, SPLIT) == [] and current(empty_db, other)[0]["id"] == edited
        assert overlaps(client, PARENT) == before
        for code in pieces:
            assert len(current(empty_db, code)) == 1

        # --revive brings the grid back only through the checks: it overlaps its pieces
        out = tmp_path / "problems.geojson"
        versions = query(empty_db, "SELECT count(*) AS n FROM areas")[0]["n"]
        r = run(
            empty_db, "import", "areas", grids, "--level", "grid", "--revive",
            "--problems-out", str(out),
        )  # fmt: skip
        assert r.exit_code == 1, r.output
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert sorted(f["properties"]["codes"] for f in doc["features"]) == sorted(
            sorted([SPLIT, p]) for p in pieces
        )
        assert query(empty_db, "SELECT count(*) AS n FROM areas")[0]["n"] == versions
        assert current(empty_db, SPLIT) == []

        # --overwrite-edited puts the file's shape back over the person's edit
        r = run(empty_db, "import", "areas", grids, "--level", "grid", "--overwrite-edited")
        assert r.exit_code == 0 and f"Hand edits overwritten: {other}" in r.output, r.output
        now = current(empty_db, other)[0]
        assert now["id"] != edited and now["created_by"] == "import"


def _write(path: Path, features: list[tuple[str, str, Any]]) -> Path:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": c, "name": n}, "geometry": mapping(g)}
            for c, n, g in features
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_overlap_and_outside_parent_refuse_the_file_then_accepted(
    world_db: str, tmp_path: Path
) -> None:
    # two new grids in community C1's empty strip [116.049, 116.050]: one also covers 86 m of
    # G2's width, one reaches 222 m north of the community (far beyond the 0.5 m tolerance)
    overlap = box(116.048, 39.00, 116.050, 39.01)
    outside = box(116.049, 39.01, 116.050, 39.052)
    src = _write(
        tmp_path / "bad.geojson",
        [(C1 + "005", "重叠网格", overlap), (C1 + "006", "出界网格", outside)],
    )
    versions = query(world_db, "SELECT count(*) AS n FROM areas")[0]["n"]
    out = tmp_path / "problems.geojson"
    r = run(
        world_db, "import", "areas", str(src), "--level", "grid", "--parent-code", C1,
        "--problems-out", str(out),
    )  # fmt: skip
    assert r.exit_code == 1
    assert "Not imported: the file has 2 topology problems" in r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    got = {f["properties"]["kind"]: f["properties"] for f in doc["features"]}
    assert set(got) == {"overlap", "outside_parent"}
    assert got["overlap"]["codes"] == sorted([C1 + "005", G2])
    assert got["overlap"]["area_m2"] == pytest.approx(86.5 * 1111.9, rel=0.02)
    assert got["outside_parent"]["codes"] == [C1 + "006", C1]
    assert got["outside_parent"]["area_m2"] == pytest.approx(86.5 * 222.4, rel=0.02)
    assert query(world_db, "SELECT count(*) AS n FROM areas")[0]["n"] == versions
    assert query(world_db, "SELECT count(*) AS n FROM accepted_problems")[0]["n"] == 0

    r = run(
        world_db, "import", "areas", str(src), "--level", "grid", "--parent-code", C1,
        "--accept-problems",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "2 new" in r.output and "2 topology problems accepted and recorded" in r.output
    rows = query(
        world_db, "SELECT kind, codes, source, accepted_by FROM accepted_problems ORDER BY kind"
    )
    assert [(x["kind"], x["codes"], x["source"]) for x in rows] == [
        ("outside_parent", sorted([C1 + "006", C1]), "bad.geojson"),
        ("overlap", sorted([C1 + "005", G2]), "bad.geojson"),
    ]

    # listed as accepted by `gridgov check coverage` (text and GeoJSON) and by the API
    r = run(world_db, "check", "coverage", "--parent", C1, "--geojson")
    listed = {
        f["properties"]["kind"]: f["properties"]
        for f in json.loads(r.output)["features"]
        if f["properties"]["kind"] != "gap"
    }
    assert listed["overlap"]["accepted"]["source"] == "bad.geojson"
    assert listed["outside_parent"]["accepted"]["by"] == "import"
    r = run(world_db, "check", "coverage", "--parent", C1)
    assert "Accepted" in r.output and "2 of them were accepted and recorded at import." in r.output
    with TestClient(create_app(settings_for(world_db))) as client:
        body = client.get("/api/v1/coverage", params={"parent": C1}).json()
        accepted = [
            f["properties"]["kind"] for f in body["features"] if "accepted" in f["properties"]
        ]
        assert sorted(accepted) == ["outside_parent", "overlap"]

        # the grid with its accepted outside piece can still be redrawn inside the community …
        with psycopg.connect(world_db, row_factory=dict_row) as conn:
            add_user(conn, "boss", "admin", None, None)
            headers = {"Authorization": f"Bearer {create_token(conn, 'boss')}"}
        code = C1 + "006"

        def put(geom: Any) -> Any:
            tag = client.get(f"/api/v1/areas/{code}").headers["etag"]
            return client.put(
                f"/api/v1/areas/{code}",
                json={"type": "Feature", "geometry": mapping(geom), "properties": {}},
                headers={**headers, "If-Match": tag},
            )

        r = put(box(116.0492, 39.01, 116.050, 39.052))  # narrower: less outside than accepted
        assert r.status_code == 200, r.text
        # … but not made to reach further out than was accepted
        r = put(box(116.049, 39.01, 116.050, 39.053))
        assert r.status_code == 422 and r.json()["error"]["code"] == "topology_error"


def test_a_reshaped_parent_must_still_hold_its_children(world_db: str, tmp_path: Path) -> None:
    src = _write(tmp_path / "c1.geojson", [(C1, "一社区", box(116.00, 39.00, 116.04, 39.05))])
    r = run(world_db, "import", "areas", str(src), "--level", "community", "--parent-code", S1)
    assert r.exit_code == 0 and "(add --overwrite-edited if wanted): " + C1 in r.output
    r = run(
        world_db, "import", "areas", str(src), "--level", "community", "--parent-code", S1,
        "--overwrite-edited",
    )  # fmt: skip
    assert r.exit_code == 1
    assert f"Area {G2} reaches" in r.output and "outside_parent" in r.output
