"""The editor's history panel follows lineage, and its coverage panel marks accepted problems.

World (tests/world.py): community C1 = [116.000, 116.050] × [39.00, 39.05] holds grids G1 and
G2; an officer of C1 works in a real Chromium, offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from api.cli import app
from tests.areas_util import C1, G1, G2
from tests.pages_edit_util import OFFICER, WAIT, make_officer, signed_in
from tests.test_pages import needs_chromium


@pytest.mark.browser
@needs_chromium
def test_history_panel_shows_where_a_merged_grid_came_from(
    world_db: str,
    chromium: Browser,
    token_for: Any,
    tmp_path: Path,
) -> None:
    make_officer(world_db)
    with signed_in(world_db, chromium, OFFICER) as editor:
        page = editor.page
        with httpx.Client(base_url=editor.base, headers=token_for("boss", "admin")) as api:
            line = {"type": "LineString", "coordinates": [[116.0125, 38.99], [116.0125, 39.06]]}
            tag = api.get(f"/api/v1/areas/{G1}").headers["etag"]
            r = api.post(
                f"/api/v1/areas/{G1}/split",
                json={"type": "Feature", "geometry": line},
                headers={"If-Match": tag},
            )
            assert r.status_code == 200, r.text
            west, east = (f["id"] for f in r.json()["features"])
            tags = ", ".join(api.get(f"/api/v1/areas/{c}").headers["etag"] for c in (east, G2))
            r = api.post(
                "/api/v1/areas/merge", json={"codes": [east, G2]}, headers={"If-Match": tags}
            )
            assert r.status_code == 200, r.text
            merged = r.json()["features"][0]["id"]
        page.reload()
        editor.wait_ready(2)
        page.click(f'#gg-children li[data-code="{merged}"] button')
        history = page.locator("#gg-history-list li")
        expect(history).to_have_count(1)
        expect(history.locator(".gg-derived")).to_have_text(f"merged from {G2}、{east}")
        lineage = page.locator("#gg-lineage-list li")
        expect(lineage).to_have_count(3)
        got = [
            (li.get_attribute("data-code"), li.get_attribute("data-depth")) for li in lineage.all()
        ]
        assert got == [(G1, "2"), (G2, "1"), (east, "1")]
        expect(lineage.nth(0)).to_contain_text(f"Came from generation 2 {G1} 一社区第1网格")
        lineage.nth(0).locator("button").click()
        expect(page.locator("path.gg-history-shape")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "lineage-1366.png"))

        # the split grid's side: where it went
        page.click(f'#gg-children li[data-code="{west}"] button')
        expect(page.locator("#gg-history-list .gg-derived")).to_have_text(f"split from {G1}")
        # ancestors and successors only: its sister piece is neither
        expect(page.locator("#gg-lineage-list li")).to_have_count(1)
        expect(page.locator(f'#gg-lineage-list li[data-code="{G1}"]')).to_have_attribute(
            "data-depth", "1"
        )

        # problems accepted at import are marked in the coverage panel
        doc = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": C1 + "009", "name": "已知重叠"},
                    "geometry": mapping(box(116.048, 39.00, 116.050, 39.01)),
                }
            ],
        }
        src = tmp_path / "known.geojson"
        src.write_text(json.dumps(doc), encoding="utf-8")
        r = CliRunner().invoke(
            app,
            ["import", "areas", str(src), "--level", "grid", "--parent-code", C1,
             "--accept-problems"],
            env={"GRIDGOV_DATABASE_URL": world_db},
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        page.reload()
        editor.wait_ready(3)
        page.check("#gg-coverage")
        count = page.locator("#gg-coverage-count")
        expect(count).to_have_attribute("data-accepted", "1", timeout=WAIT)
        expect(count).to_contain_text(", 1 accepted")
        expect(page.locator("path.gg-problem-accepted")).to_have_count(1)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "coverage-390.png"))
        editor.assert_offline()
