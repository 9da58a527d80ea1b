"""The boundary editor page /map/edit, editing in a real browser (over HTTP: sign-in and local
assets only, tests/test_pages_edit_http.py).

World (tests/world.py): community C1 = [116.000, 116.050] × [39.00, 39.05] holds grid G1 =
[116.000, 116.025] and G2 = [116.025, 116.049]; the strip [116.049, 116.050] has no grid. An
officer scoped to C1 signs in through /login and draws with the mouse (Geoman), at pixel
positions computed from the map; every save goes through the page's own buttons.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, expect
from shapely.geometry import box, shape

from tests.areas_util import C1, G1, G2, G3, STRIP
from tests.pages_edit_util import (
    OFFICER,
    EditorBrowser,
    grids_of_c1,
    located_grid,
    make_officer,
    report,
    signed_in,
)
from tests.test_pages import needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture
def editor(world_db: str, chromium: Browser) -> Iterator[EditorBrowser]:
    """The editor, signed in as the officer of community C1."""
    make_officer(world_db)
    with signed_in(world_db, chromium, OFFICER) as browser:
        yield browser


@pytest.fixture
def api(editor: EditorBrowser, token_for: Any) -> Iterator[httpx.Client]:
    """An admin's API client on the same server, for checks and for changes behind the page."""
    with httpx.Client(base_url=editor.base, headers=token_for("boss", "admin")) as client:
        yield client


def test_draw_a_new_grid_in_the_strip_and_save_it(editor: EditorBrowser, api: httpx.Client) -> None:
    page = editor.page
    assert page.locator("#gg-draw").is_enabled()
    assert page.locator("#gg-edit").is_disabled()  # nothing selected yet
    editor.view(116.0495, 39.0202, 18)
    # the west and east corners land ~1.7 m (4 px) off grid 002's edge and the community's edge:
    # snapping puts them exactly on those edges
    corners = [
        (116.04902, 39.0200),
        (116.04998, 39.0200),
        (116.04998, 39.0204),
        (116.04902, 39.0204),
    ]
    editor.draw_polygon(corners)
    page.fill("#gg-name", "一社区第3网格")
    page.fill("#gg-note", "新楼盘")
    page.click("#gg-save")

    box_ = editor.message("saved")
    expect(box_.locator(".gg-message-text")).to_contain_text(f"一社区第3网格 ({G3})")
    editor.wait_ready(3)
    expect(page.locator(f'#gg-children li[data-code="{G3}"]')).to_have_count(1)
    expect(page.locator("#gg-history-list li")).to_have_count(1)  # the new grid is selected
    expect(page.locator(".gg-label", has_text="003 一社区第3网格")).to_have_count(1)
    # the gaps left in the strip come back as warnings, drawn (amber) and said
    expect(page.locator("path.gg-problem-gap")).not_to_have_count(0)
    expect(box_.locator(".gg-message-list")).to_contain_text("Gap")

    grids = grids_of_c1(api)
    assert sorted(grids) == [G1, G2, G3]
    saved = shape(grids[G3]["geometry"])
    west, south, east, north = saved.bounds
    assert (west, east) == (pytest.approx(116.049, abs=1e-9), pytest.approx(116.05, abs=1e-9))
    assert (south, north) == (pytest.approx(39.0200, abs=2e-6), pytest.approx(39.0204, abs=2e-6))
    assert saved.intersection(shape(grids[G2]["geometry"])).area < 1e-15
    assert saved.within(box(*STRIP).buffer(1e-9))
    assert grids[G3]["properties"]["name"] == "一社区第3网格"
    assert located_grid(api, 116.0495, 39.0202) == G3
    history = api.get(f"/api/v1/areas/{G3}/history").json()["features"]
    assert [(f["properties"]["created_by"], f["properties"]["note"]) for f in history] == [
        (OFFICER, "新楼盘")
    ]
    editor.assert_offline()


def test_an_overlapping_grid_is_refused_then_snapped(
    editor: EditorBrowser, api: httpx.Client
) -> None:
    page = editor.page
    editor.view(116.0491, 39.0202, 18)
    # reaches 0.0004° (~35 m) into grid 002
    editor.draw_polygon(
        [(116.0486, 39.0200), (116.0497, 39.0200), (116.0497, 39.0204), (116.0486, 39.0204)]
    )
    page.fill("#gg-name", "重叠网格")
    page.click("#gg-save")

    box_ = editor.message("topology")
    expect(box_.locator(".gg-message-text")).to_contain_text("Not saved")
    expect(box_.locator(".gg-message-list li")).to_have_count(1)
    expect(box_.locator(".gg-message-list li")).to_contain_text(
        f"Overlap: Areas {G3} and {G2} overlap by"
    )
    expect(page.locator("path.gg-problem-overlap")).to_have_count(1)  # the overlap, in red
    assert page.locator("path.gg-problem-overlap").get_attribute("stroke") == "#c00000"
    expect(page.locator("#gg-snap")).to_be_visible()
    assert sorted(grids_of_c1(api)) == [G1, G2]  # nothing saved

    page.click("#gg-snap")
    box_ = editor.message("saved")
    expect(box_.locator(".gg-message-list")).to_contain_text(f"overlapping {G2}")
    editor.wait_ready(3)
    expect(page.locator("path.gg-problem-overlap")).to_have_count(0)
    grids = grids_of_c1(api)
    assert sorted(grids) == [G1, G2, G3]
    snapped = shape(grids[G3]["geometry"])
    assert snapped.intersection(shape(grids[G2]["geometry"])).area == 0
    assert snapped.bounds[0] == pytest.approx(116.049, abs=1e-12)  # G2's own edge
    coverage = api.get("/api/v1/coverage", params={"parent": C1}).json()["features"]
    assert [f["properties"]["kind"] for f in coverage if f["properties"]["kind"] != "gap"] == []
    editor.assert_offline()


def test_edit_a_vertex_previews_the_impact_then_saves_a_version(
    editor: EditorBrowser, api: httpx.Client, db: psycopg.Connection[Any]
) -> None:
    page = editor.page
    incident = report(api, 116.02515, 39.005)  # inside G2, 13 m from G1
    assert located_grid(api, 116.02515, 39.005) == G2
    editor.view(116.0256, 39.0008, 18)
    editor.start_editing(G2)
    # G2's south-west corner moves 0.001° (~86 m) east along the community's south edge
    editor.drag((116.025, 39.0), (116.026, 39.0))
    page.fill("#gg-note", "道路改线")
    page.click("#gg-save")

    box_ = editor.message("preview")
    assert box_.get_attribute("data-incidents") == "1"  # the incident would go to G1
    assert box_.get_attribute("data-buildings") == "1"  # 跨界楼 would be in no grid
    items = box_.locator(".gg-message-list li")
    expect(items.nth(0)).to_have_text("1 open incidents would move · 1 buildings would move")
    expect(box_.locator(".gg-message-list")).to_contain_text(
        f"Incident {incident}: grid {G2} → {G1}"
    )
    expect(box_.locator(".gg-message-list")).to_contain_text(f"Building 跨界楼: {G2} → —")
    assert len(api.get(f"/api/v1/areas/{G2}/history").json()["features"]) == 1  # not saved yet

    page.click("#gg-confirm")
    box_ = editor.message("saved")
    expect(box_.locator(".gg-message-text")).to_contain_text(
        f"Saved a new version of 一社区第2网格 ({G2})"
    )
    expect(page.locator("#gg-history-list li")).to_have_count(2)
    history = api.get(f"/api/v1/areas/{G2}/history").json()["features"]
    assert [(f["properties"]["created_by"], f["properties"]["note"]) for f in history] == [
        (None, None),
        (OFFICER, "道路改线"),
    ]
    assert history[0]["properties"]["valid_to"] == history[1]["properties"]["valid_from"]
    new = shape(history[1]["geometry"])
    assert not new.covers(shape({"type": "Point", "coordinates": [116.0252, 39.0305]}))
    assert located_grid(api, 116.02515, 39.005) == G1
    row = db.execute("SELECT grid_code FROM incidents WHERE public_id = %s", (incident,)).fetchone()
    assert row is not None and row["grid_code"] == G1
    editor.assert_offline()


def move_g2_corner(editor: EditorBrowser) -> None:
    """Start editing G2 and drag its corner at 116.049, 39.05 a little east."""
    editor.start_editing(G2)
    editor.drag((116.049, 39.05), (116.0495, 39.05))


def change_g2_behind_the_page(api: httpx.Client, properties: dict[str, str]) -> None:
    """An admin saves new properties of G2 (a new version) while the page holds the old one."""
    tag = api.get(f"/api/v1/areas/{G2}").headers["etag"]
    r = api.put(
        f"/api/v1/areas/{G2}",
        json={"type": "Feature", "geometry": None, "properties": properties},
        headers={"If-Match": tag},
    )
    assert r.status_code == 200, r.text


def test_a_stale_edit_says_someone_else_changed_the_area_and_reloads(
    editor: EditorBrowser, api: httpx.Client
) -> None:
    page = editor.page
    editor.view(116.0490, 39.0496, 18)
    move_g2_corner(editor)

    # behind the page's back, an admin renames G2 (a new version)
    change_g2_behind_the_page(api, {"name": "二号网格"})

    page.click("#gg-save")
    box_ = editor.message("stale")
    expect(box_.locator(".gg-message-text")).to_contain_text(
        f"Someone else changed {G2} since you loaded it"
    )
    expect(box_.locator(".gg-message-text")).to_contain_text("saved by boss")
    expect(page.locator("#gg-reload")).to_be_visible()
    expect(page.locator("path.gg-theirs")).to_have_count(1)  # their version, outlined

    page.click("#gg-reload")
    expect(page.locator("#gg-message")).to_be_hidden()
    expect(page.locator("#gg-draft")).to_be_hidden()
    expect(page.locator(f'#gg-children li[data-code="{G2}"]')).to_contain_text("二号网格")
    expect(page.locator("#gg-history-list li")).to_have_count(2)

    # the same race after the preview: the confirmation is refused the same way
    move_g2_corner(editor)
    page.click("#gg-save")
    editor.message("preview")
    change_g2_behind_the_page(api, {"note": "再次修改"})
    page.click("#gg-confirm")
    editor.message("stale")
    page.click("#gg-reload")
    expect(page.locator("#gg-history-list li")).to_have_count(3)

    # after reloading, the page edits the version it now holds
    move_g2_corner(editor)
    page.click("#gg-save")
    editor.message("preview")
    page.click("#gg-confirm")
    editor.message("saved")
    expect(page.locator("#gg-history-list li")).to_have_count(4)
    history = api.get(f"/api/v1/areas/{G2}/history").json()["features"]
    assert [f["properties"]["created_by"] for f in history] == [None, "boss", "boss", OFFICER]
    assert shape(history[-1]["geometry"]).covers(
        shape({"type": "Point", "coordinates": [116.0492, 39.0499]})
    )
    editor.assert_offline()


def test_a_grid_officer_works_in_their_community_but_changes_only_their_grid(
    world_db: str,
    chromium: Browser,
    token_for: Any,
) -> None:
    make_officer(world_db, "g1-officer", G1)
    with signed_in(world_db, chromium, "g1-officer") as editor:
        page = editor.page
        # names are text, never markup: in the labels, the list and the history
        hostile = '网格<img src=x onerror="window.pwned=1">'
        with httpx.Client(base_url=editor.base, headers=token_for("boss", "admin")) as api:
            tag = api.get(f"/api/v1/areas/{G2}").headers["etag"]
            r = api.put(
                f"/api/v1/areas/{G2}",
                json={"type": "Feature", "geometry": None, "properties": {"name": hostile}},
                headers={"If-Match": tag},
            )
            assert r.status_code == 200, r.text
        page.reload()
        editor.wait_ready(2)
        expect(page.locator(f'#gg-children li[data-code="{G2}"]')).to_have_text(f"002 {hostile}")
        expect(page.locator(".gg-label", has_text=hostile)).to_have_text(f"002 {hostile}")
        options = page.locator("#gg-parent option").evaluate_all("os => os.map(o => o.value)")
        assert options == ["110199", "110199001", C1]  # the grid's parents, nearest selected
        expect(page.locator("#gg-draw")).to_be_disabled()  # new grids need C1 in scope
        assert page.locator("#gg-children li").evaluate_all(
            "ls => ls.map(l => [l.dataset.code, l.dataset.editable])"
        ) == [[G1, "true"], [G2, "false"]]
        page.click(f'#gg-children li[data-code="{G2}"] button')
        expect(page.locator("#gg-history-code")).to_have_text(G2)  # may look …
        for tool in ("edit", "cut", "split", "merge", "retire"):
            expect(page.locator(f"#gg-{tool}")).to_be_disabled()  # … but not change
        page.click(f'#gg-children li[data-code="{G1}"] button')
        expect(page.locator("#gg-history-code")).to_have_text(G1)
        for tool in ("edit", "cut", "split", "merge", "retire"):
            expect(page.locator(f"#gg-{tool}")).to_be_enabled()
        assert page.locator("#gg-editor img, .leaflet-tooltip img").count() == 0
        assert page.evaluate("window.pwned") is None
        editor.assert_offline()
