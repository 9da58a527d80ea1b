"""`gridgov export incidents` streams batch by batch: the files equal those of the export that
held every incident in memory before writing (the export before issue 13), in every format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import shapely
from psycopg.rows import dict_row
from pyogrio.raw import read as ogr_read
from typer.testing import CliRunner

from api.cli import app
from api.services.interop import exports
from api.services.interop.exports import ExportRequest, _columns, _query
from gis.export import FORMATS, dataset_files, write_layer
from gis.io import OPEN_OPTIONS


def run(url: str, *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"GRIDGOV_DATABASE_URL": url})


def whole_export(url: str, req: ExportRequest, path: Path) -> None:
    """The export as it was: every row read into memory, then one write of the layer."""
    rows_sql, _count, params = _query(req)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        cur = conn.execute(rows_sql, params)
        names = [d.name for d in cur.description or [] if d.name != "wkb"]
        rows = cur.fetchall()
    geoms = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in rows], dtype=object))
    columns, _renamed = _columns(rows, names)
    write_layer(
        path, req.fmt, geoms, columns, crs=req.crs, geometry_type="Point", layer="incidents"
    )


def report(client: Any, lon: float, lat: float, **extra: Any) -> str:
    body = {"category": "SJ0102", "description": "垃圾", "location": {"lon": lon, "lat": lat}}
    r = client.post("/api/v1/incidents", json={**body, **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def reported(world: Any, world_db: str) -> str:
    """Eleven incidents: contacts on some, a multi-line description with quotes and commas,
    one outside every grid (no grid, no grid version), one closed (closed_at set)."""
    for n in range(9):
        extra: dict[str, Any] = {}
        if n % 3 == 0:
            extra["reporter"] = {"name": f"张{n}", "phone": f"1380000000{n}"}
        if n == 4:
            extra["description"] = '第一行, "引号"\n第二行；' + "长" * 100
        report(world, 116.010 + n * 0.002, 39.020 - n * 0.001, **extra)
    outside = report(world, 116.02, 39.02)
    closed = report(world, 116.03, 39.01)
    with psycopg.connect(world_db) as conn:
        conn.execute(  # as a report found outside every grid is kept
            "UPDATE incidents SET method = 'outside', grid_code = NULL, grid_version_id = NULL "
            "WHERE public_id = %s",
            (outside,),
        )
        conn.execute(
            "UPDATE incidents SET status = 'closed', closed_at = now() WHERE public_id = %s",
            (closed,),
        )
    return world_db


@pytest.mark.parametrize(
    ("fmt", "crs"),
    [
        ("csv", "EPSG:4326"),
        ("csv", "EPSG:4547"),
        ("geojson", "EPSG:4326"),
        ("gpkg", "GCJ02"),
        ("shp", "EPSG:4547"),
    ],
)
def test_streamed_export_equals_the_export_held_in_memory(
    reported: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, crs: str
) -> None:
    monkeypatch.setattr(exports, "STREAM_BATCH", 4)  # 11 incidents: three batches
    streamed, whole = tmp_path / "s" / f"i{FORMATS[fmt][1]}", tmp_path / "w" / f"i{FORMATS[fmt][1]}"
    streamed.parent.mkdir()
    whole.parent.mkdir()
    r = run(reported, "export", "incidents", str(streamed), "--crs", crs, "--with-contacts")
    assert r.exit_code == 0 and "exported 11 incidents" in r.output, r.output
    req = ExportRequest(layer="incidents", fmt=fmt, crs=crs, with_contacts=True)
    whole_export(reported, req, whole)
    if fmt in ("csv", "geojson"):  # text formats: the same bytes, sidecar files included
        for s, w in zip(dataset_files(streamed, fmt), dataset_files(whole, fmt), strict=True):
            assert s.exists() == w.exists()
            if s.exists():
                assert s.read_bytes() == w.read_bytes(), s.name
    else:  # binary containers carry write times: the same fields, types, values, geometries
        opts = OPEN_OPTIONS.get(streamed.suffix, {})
        s_meta, _f, s_wkb, s_values = ogr_read(streamed, **opts)
        w_meta, _f, w_wkb, w_values = ogr_read(whole, **opts)
        assert list(s_meta["fields"]) == list(w_meta["fields"])
        assert list(s_meta["dtypes"]) == list(w_meta["dtypes"])
        assert s_meta["crs"] == w_meta["crs"]
        assert list(s_wkb) == list(w_wkb)
        for a, b in zip(s_values, w_values, strict=True):
            assert [None if v != v else v for v in a] == [None if v != v else v for v in b]
    if fmt == "shp":
        assert "1 values of descr were cut to 254 bytes" in r.output


def test_an_empty_incident_layer_streams_to_a_file_with_its_fields(
    world_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "none.csv"
    r = run(world_db, "export", "incidents", str(path))
    assert r.exit_code == 0 and "exported 0 incidents" in r.output, r.output
    whole = tmp_path / "w" / "none.csv"
    whole.parent.mkdir()
    whole_export(world_db, ExportRequest(layer="incidents", fmt="csv"), whole)
    assert path.read_bytes() == whole.read_bytes()
    assert path.with_suffix(".csvt").read_bytes() == whole.with_suffix(".csvt").read_bytes()
