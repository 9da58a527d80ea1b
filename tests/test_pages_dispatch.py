"""The dispatch console: sign-in required, local assets only, and a real case round the loop."""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tests.loop import G1, G2, STREET, make_cast, ok
from tests.pages_workflow_util import (
    PASSWORD,
    WAIT,
    action_buttons,
    give_password,
    located_in_g1,
    make_user,
    marker,
    open_case,
    sign_in_to_console,
    take_action,
    timeline,
    wait_for_console,
)
from tests.test_pages import external_urls, needs_chromium
from web_map.pages import page_references

MARKERCLUSTER = "/static/vendor/leaflet.markercluster"


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=10)


def sign_in(client: TestClient, name: str, next_url: str = "/map/dispatch") -> Any:
    return client.post(
        "/login",
        data={"name": name, "password": PASSWORD, "next": next_url},
        follow_redirects=False,
    )


# --- HTTP ------------------------------------------------------------------------------------


def test_console_needs_sign_in_and_sends_residents_to_the_report_form(world, world_db):
    r = world.get("/map/dispatch", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/map/dispatch"
    make_user(world_db, "res", "resident")
    assert sign_in(world, "res").headers["location"] == "/map/dispatch"
    r = world.get("/map/dispatch", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/report"


def test_console_references_only_local_files(world, world_db):
    make_user(world_db, "disp", "dispatcher", area=STREET)
    sign_in(world, "disp")
    r = world.get("/map/dispatch")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    refs = page_references(r.text)
    for wanted in (
        f"{MARKERCLUSTER}/leaflet.markercluster.js",
        f"{MARKERCLUSTER}/MarkerCluster.css",
        f"{MARKERCLUSTER}/MarkerCluster.Default.css",
        "/static/dispatch.js",
        "/static/dispatch_case.js",
        "/static/gridgov.js",
    ):
        assert wanted in refs
    # markercluster needs Leaflet first; the console scripts need both
    assert refs.index("/static/vendor/leaflet/leaflet.js") < refs.index(
        f"{MARKERCLUSTER}/leaflet.markercluster.js"
    )
    assert refs.index("/static/dispatch.js") < refs.index("/static/dispatch_case.js")
    for ref in refs:
        assert ref.startswith("/static/"), ref
        assert world.get(ref).status_code == 200, ref
    assert external_urls(r.text) == []
    # the logout button is a plain form; no inline script of ours
    assert '<form method="post" action="/logout"' in r.text
    assert "onclick" not in r.text and "javascript:" not in r.text


def test_markercluster_is_vendored_with_its_licence(world):
    js = world.get(f"{MARKERCLUSTER}/leaflet.markercluster.js")
    assert js.status_code == 200 and "L.MarkerClusterGroup=L.FeatureGroup.extend" in js.text
    licence = world.get(f"{MARKERCLUSTER}/MIT-LICENCE.txt")
    assert licence.status_code == 200 and "Copyright 2012 David Leaver" in licence.text
    readme = world.get("/static/vendor/README.md").text
    assert "Leaflet.markercluster | 1.5.3" in readme


def test_incident_list_filters_by_category_prefix_and_area(world, token_for):
    cast = make_cast(token_for)
    body = {"description": "x", "location": {"lon": 116.010, "lat": 39.020}}
    in_g1 = world.post("/api/v1/incidents", json={**body, "category": "SJ0102"}).json()["id"]
    pipe = world.post("/api/v1/incidents", json={**body, "category": "BJ0101"}).json()["id"]
    g2 = {**body, "category": "SJ0102", "location": {"lon": 116.030, "lat": 39.020}}
    in_g2 = world.post("/api/v1/incidents", json=g2).json()["id"]

    def ids(query: str) -> list[str]:
        r = world.get("/api/v1/incidents?" + query, headers=cast.admin)
        assert r.status_code == 200, r.text
        return [f["id"] for f in r.json()["features"]]

    assert ids("category=SJ") == [in_g1, in_g2]
    assert ids("category=SJ0102") == [in_g1, in_g2]
    assert ids("category=BJ01") == [pipe]
    assert ids("category=XX") == []
    assert ids(f"area={G1}") == [in_g1, pipe]
    assert ids(f"area={G2}") == [in_g2]
    assert ids(f"area={STREET}") == [in_g1, pipe, in_g2]
    assert ids(f"area={STREET}&category=BJ") == [pipe]
    assert ids("area=110199002") == []
    assert (
        world.get("/api/v1/incidents?category=" + "S" * 33, headers=cast.admin).status_code == 422
    )


# --- browser ---------------------------------------------------------------------------------


def report_in_page(page: Any, base: str, description: str) -> str:
    """Report at a point in grid G1 through /report; returns the tracking id shown."""
    located_in_g1(page, base)
    expect(page.locator("#gg-place")).to_have_attribute("data-grid", G1)
    page.select_option("#gg-category", "SJ0102")
    page.fill("#gg-description", description)
    page.fill("input[name=phone]", "13800000000")
    page.click("#gg-submit")
    result = page.locator("#gg-result")
    expect(result).to_have_attribute("data-state", "created", timeout=WAIT)
    return str(result.get_attribute("data-incident"))


@pytest.mark.browser
@needs_chromium
def test_case_round_the_loop(live, browsers, world_db, token_for):
    """Report → live on the console → register, dispatch → accept, handle → verify → closed."""
    api = make_cast(token_for)  # disp: street 甲; cm: CITYMGMT-001; off: officer of G1
    give_password(world_db, "disp", "cm", "off")
    resident, dispatcher, department, officer = browsers(), browsers(), browsers(), browsers()
    # someone else's case: routed to the water company, never on CITYMGMT-001's console
    with _client(live) as client:
        water = client.post(
            "/api/v1/incidents",
            json={"category": "BJ0101", "location": {"lon": 116.030, "lat": 39.030}},
        ).json()["id"]
        ok(client, water, api.disp, "register")
        ok(client, water, api.disp, "dispatch")

    # the dispatcher's console is open and live before the report comes in
    disp = dispatcher.page
    sign_in_to_console(disp, live, "disp")
    expect(marker(disp, water)).to_have_count(1)
    disp.evaluate("window.notReloaded = true")

    hostile = '路边暴露垃圾 <img src=x onerror="window.pwned=1">'
    incident = report_in_page(resident.page, live, hostile)
    res = resident.page.locator("#gg-result")
    expect(res.locator('[data-field="id"]')).to_have_text(incident)
    expect(res.locator('[data-field="grid"]')).to_have_text(f"一社区第1网格 ({G1})")
    expect(res.locator('[data-field="department"]')).to_have_text(
        "城管执法甲街道分队 (CITYMGMT-001)"
    )
    expect(res.locator('[data-field="link"]')).to_have_attribute("href", f"/report/{incident}")

    # it arrives on the console over the stream: no reload
    expect(marker(disp, incident)).to_have_attribute("data-status", "reported", timeout=WAIT)
    assert disp.evaluate("window.notReloaded") is True
    open_case(disp, incident)
    case = disp.locator("#gg-case")
    expect(case.locator('[data-field="description"]')).to_have_text(hostile)
    expect(case.locator('[data-field="category"]')).to_have_text("暴露垃圾 (SJ0102)")
    expect(case.locator('[data-field="source"]')).to_have_text("Resident")
    expect(case.locator('[data-field="method"]')).to_have_text("inside the grid")
    expect(case.locator('[data-field="grid"]')).to_have_text(f"一社区第1网格 ({G1})")
    expect(case.locator('[data-field="rule"]')).to_contain_text(
        "category SJ + area 110199001 → 城管执法甲街道分队 (CITYMGMT-001)"
    )
    assert action_buttons(disp) == ["register", "reject", "escalate", "whistle"]
    take_action(disp, "register", "registered")
    assert action_buttons(disp) == ["dispatch", "reject", "suspend", "escalate", "whistle"]
    disp.locator('#gg-actions button[data-action="dispatch"]').click()
    expect(disp.locator('#gg-action-form select[name="department"]')).to_have_value("CITYMGMT-001")
    disp.locator("#gg-action-form button.gg-cancel").click()
    take_action(disp, "dispatch", "dispatched")
    expect(case.locator('[data-field="department"]')).to_have_text(
        "城管执法甲街道分队 (CITYMGMT-001)"
    )

    # the department sees its own cases only, and only its actions
    dept = department.page
    lists: list[str] = []
    dept.on(
        "request",
        lambda r: lists.append(r.url) if "/api/v1/incidents?" in r.url else None,
    )
    sign_in_to_console(dept, live, "cm")
    assert lists and all("department=CITYMGMT-001" in url for url in lists)
    expect(marker(dept, incident)).to_have_count(1)
    expect(marker(dept, water)).to_have_count(0)
    expect(dept.locator("#gg-filters select[name=department]")).to_be_disabled()
    open_case(dept, incident)
    assert action_buttons(dept) == ["accept", "return", "request_extension"]
    take_action(dept, "accept", "in_progress")
    # a required note is asked for in words by the API when left out
    dept.locator('#gg-actions button[data-action="handle"]').click()
    dept.evaluate("document.querySelector('#gg-action-form textarea[name=note]').required = false")
    dept.locator("#gg-action-form button.gg-confirm").click()
    error = dept.locator("#gg-action-error")
    expect(error).to_have_text(
        "Invalid value in 'note': handle needs a written account of what was done."
    )
    dept.locator("#gg-action-form button.gg-cancel").click()
    take_action(dept, "handle", "handled", {"textarea[name=note]": "已清运 cleared"})
    assert action_buttons(dept) == []

    # the grid officer verifies: closed
    off = officer.page
    sign_in_to_console(off, live, "off")
    open_case(off, incident)
    assert action_buttons(off) == ["verify"]
    take_action(off, "verify", "closed")
    steps = ["report", "register", "dispatch", "accept", "handle", "verify"]
    assert timeline(off) == steps
    tl = off.locator("#gg-timeline li")
    # each step and the status it led to
    assert [
        (li.get_attribute("data-action"), li.get_attribute("data-to-status")) for li in tl.all()
    ] == [
        ("report", "reported"),
        ("register", "registered"),
        ("dispatch", "dispatched"),
        ("accept", "in_progress"),
        ("handle", "handled"),
        ("verify", "closed"),
    ]
    expect(tl.nth(4)).to_contain_text("已清运 cleared")
    expect(tl.nth(4)).to_contain_text("cm")

    # the dispatcher watched it all happen live; the closed case leaves the open-cases map
    expect(case).to_have_attribute("data-status", "closed", timeout=WAIT)
    assert timeline(disp) == steps
    expect(marker(disp, incident)).to_have_count(0)
    assert disp.evaluate("window.notReloaded") is True

    # the resident follows the report: the public view, no contact data, no names or notes
    resident.page.locator('#gg-result [data-field="link"]').click()
    expect(resident.page).to_have_url(f"{live}/report/{incident}")
    track = resident.page.locator("#gg-track")
    expect(track).to_have_attribute("data-state", "ready", timeout=WAIT)
    expect(track).to_have_attribute("data-status", "closed")
    track_steps = resident.page.locator("#gg-timeline li")
    assert [li.get_attribute("data-action") for li in track_steps.all()] == steps
    text = resident.page.locator("body").inner_text()
    # no contact and no staff name (the user "disp"; "Dispatched" is a status word, not a name)
    assert "13800000000" not in text and not re.search(r"\bdisp\b", text)
    # the handling note is written for the reporter (issue 18: the public outcome)
    expect(track.locator('[data-field="handling_note"]')).to_have_text("已清运 cleared")

    for who in (resident, dispatcher, department, officer):
        assert who.blocked == []
        assert who.page.evaluate("window.pwned") is None
    for who in (resident, dispatcher, officer):
        assert who.problems == []
    # Chromium logs the 422 the department provoked on purpose, and nothing else
    assert len(department.problems) == 1
    assert "status of 422" in department.problems[0]
    assert f"/api/v1/incidents/{incident}/actions" in department.problems[0]
    assert disp.locator("#gg-case img").count() == 0


@pytest.mark.browser
@needs_chromium
def test_clusters_flags_filters(live, browsers, world_db, token_for):
    """Many incidents cluster; overdue and whistled ones stand out; filters ask the API."""
    api = make_cast(token_for)
    make_user(world_db, "boss", "dispatcher", area="110199")
    with _client(live) as client:
        ids = []
        for i in range(12):
            category = "BJ0101" if i == 11 else "SJ0102"
            body = {"category": category, "location": {"lon": 116.010 + i * 1e-4, "lat": 39.02}}
            r = client.post("/api/v1/incidents", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        late, whistled = ids[0], ids[1]
        ok(client, late, api.disp, "register")
        ok(client, late, api.disp, "dispatch")
        r = client.post(
            f"/api/v1/incidents/{whistled}/whistle",
            json={"departments": ["WATER", "SANITATION"]},
            headers=api.disp,
        )
        assert r.status_code == 201, r.text
    with psycopg.connect(world_db) as conn:
        conn.execute(
            "UPDATE incidents SET due_at = now() - interval '1 hour' WHERE public_id = %s", (late,)
        )

    b = browsers()
    page = b.page
    sign_in_to_console(page, live, "boss")
    # zoomed out: one cluster of 12, ringed because it holds an overdue and a whistled case
    page.evaluate("gridgovMap.setView([39.02, 116.0105], 13, {animate: false})")
    cluster = page.locator(".marker-cluster")
    expect(cluster).to_have_count(1)
    expect(cluster).to_have_text("12")
    expect(cluster).to_have_class(re.compile(r"gg-cluster-overdue"))
    expect(cluster).to_have_class(re.compile(r"gg-cluster-whistled"))
    # zoomed in: each marker on its own, coloured by status, flags on the two
    page.evaluate("gridgovMap.setView([39.02, 116.0105], 20, {animate: false})")
    expect(page.locator(".gg-inc")).to_have_count(12)
    expect(page.locator('.gg-inc[data-overdue="true"]')).to_have_count(1)
    expect(marker(page, late)).to_have_attribute("data-overdue", "true")
    expect(marker(page, late)).to_have_attribute("data-status", "dispatched")
    expect(marker(page, whistled)).to_have_attribute("data-whistled", "true")
    expect(page.locator("#gg-list li")).to_have_count(12)
    # 源头治理: the 12 reports within ~100 m form one hotspot, drawn on its own overlay
    expect(page.locator('[data-hotspot="H1"]')).to_have_count(1)
    expect(page.locator('[data-hotspot="H2"]')).to_have_count(0)
    # likely duplicates: the case of a fresh report lists its same-category neighbours (≤ 50 m)
    page.locator(f'#gg-list li[data-incident="{ids[5]}"]').click()
    expect(page.locator(f'#gg-case[data-incident="{ids[5]}"][data-state="ready"]')).to_have_count(1)
    expect(page.locator(f'#gg-duplicates li[data-duplicate="{ids[4]}"]')).to_have_count(1)
    expect(page.locator(f'#gg-duplicates li[data-duplicate="{ids[11]}"]')).to_have_count(0)

    # filters are query parameters of GET /api/v1/incidents
    def listed() -> list[str]:
        return sorted(str(li.get_attribute("data-incident")) for li in items.all())

    def filtered(query: str, change: Any, expected: list[str]) -> None:
        """Change a filter; the list is asked for with `query` and shows exactly `expected`."""
        with page.expect_request(lambda r: "/api/v1/incidents?" in r.url and query in r.url):
            change()
        for incident in expected:
            expect(page.locator(f'#gg-list li[data-incident="{incident}"]')).to_have_count(1)
        expect(items).to_have_count(len(expected))
        assert listed() == sorted(expected)

    items = page.locator("#gg-list li")
    filters = "#gg-filters "
    filtered("overdue=true", lambda: page.check(filters + "input[name=overdue]"), [late])
    filtered("area=110199", lambda: page.uncheck(filters + "input[name=overdue]"), ids)
    category = filters + "select[name=category]"
    filtered("category=BJ01", lambda: page.select_option(category, "BJ01"), [ids[11]])
    filtered("area=110199", lambda: page.select_option(category, ""), ids)
    status = filters + "select[name=status]"
    filtered("status=dispatched", lambda: page.select_option(status, "dispatched"), [late])

    # the district dispatcher may whistle; clicking the list opens the case
    page.locator(f'#gg-list li[data-incident="{late}"] button').click()
    expect(page.locator("#gg-case")).to_have_attribute("data-incident", late, timeout=WAIT)
    expect(page.locator("#gg-case")).to_have_attribute("data-state", "ready", timeout=WAIT)
    page.locator('#gg-actions button[data-action="whistle"]').click()
    form = page.locator("#gg-action-form")
    form.locator("button.gg-confirm").click()
    expect(form.locator("#gg-action-error")).to_have_text(
        "Choose at least one department to summon."
    )
    form.locator('input[name="departments"][value="WATER"]').check()
    form.locator("button.gg-confirm").click()
    expect(page.locator("#gg-case .gg-whistles li[data-whistle]")).to_have_count(1, timeout=WAIT)
    expect(marker(page, late)).to_have_attribute("data-whistled", "true", timeout=WAIT)
    wait_for_console(page)
    assert b.blocked == [] and b.problems == []

    # a summoned department finds the cases it was whistled to next to its own, and reports in
    give_password(world_db, "water")
    w = browsers()
    sign_in_to_console(w.page, live, "water")
    on_water = w.page.locator("#gg-list li")
    assert sorted(str(li.get_attribute("data-incident")) for li in on_water.all()) == sorted(
        [ids[11], whistled, late]
    )
    open_case(w.page, whistled)
    assert action_buttons(w.page) == ["check_in"]
    w.page.locator('#gg-actions button[data-action="check_in"]').click()
    w.page.locator("#gg-action-form button.gg-confirm").click()
    duty = w.page.locator('#gg-case .gg-whistles li[data-department="WATER"]')
    expect(duty).to_have_attribute("data-state", "on_time", timeout=WAIT)
    expect(
        w.page.locator('#gg-case .gg-whistles li[data-department="SANITATION"]')
    ).to_have_attribute("data-state", "pending")
    assert action_buttons(w.page) == []
    assert w.blocked == [] and w.problems == []
