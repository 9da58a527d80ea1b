"""The catalogue (Babel/gettext) and the request's language: negotiation, API messages, login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from api.main import create_app
from api.services.identity.sessions import set_password
from tests.conftest import settings_for
from web_map.i18n import (
    LOCALE_DIR,
    PSEUDO,
    MessageTemplates,
    Translator,
    choose_locale,
    messages_for,
)

ROOT = Path(__file__).resolve().parent.parent
PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "gridgov.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
KEYWORDS = {"_": None, "gettext": None, "N_": None, "t": None, "tr": None}


def extracted() -> set[str]:
    """Every text the sources mark for the catalogue, found as `make messages` finds them."""
    method_map = [
        ("api/**.py", "python"),
        ("web_map/**.py", "python"),
        ("web_map/static/*.js", "javascript"),
        ("web_map/templates/**.html", "jinja2.ext:babel_extract"),
    ]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        if isinstance(message, str) and message:
            found.add(message)
    return found


def test_every_marked_text_has_a_chinese_translation() -> None:
    catalogue = read_po(PO.open("rb"), locale="zh_CN")
    missing = sorted(m for m in extracted() if not (catalogue.get(m) and catalogue.get(m).string))
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing[:20])
    assert not any(m.fuzzy for m in catalogue if m.id), "fuzzy entries are not used"


def test_compiled_catalogue_matches_the_po_file() -> None:
    po = {m.id: m.string for m in read_po(PO.open("rb"), locale="zh_CN") if m.id}
    mo = {m.id: m.string for m in read_mo(MO.open("rb")) if m.id}
    assert mo == po, "the .mo is stale: run `make messages`"


def test_the_metrics_chinese_names_are_the_catalogues() -> None:
    """The Chinese name written beside each statistics column (for the code's reader) is the
    one users see: the catalogue's translation of its English id."""
    from api.services.evaluation.stats import METRICS
    from api.services.patrols.figures import PATROL_METRICS
    from web_map.i18n import CHINESE

    written = {m.key: (m.zh, m.en) for m in METRICS}
    written |= {key: (zh, en) for key, zh, en, _kind, _good in PATROL_METRICS}
    assert {k: CHINESE(en) for k, (_, en) in written.items()} == {
        k: zh for k, (zh, _) in written.items()
    }


def test_translations_keep_their_placeholders() -> None:
    for message in read_po(PO.open("rb"), locale="zh_CN"):
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(message.id)) == set(
                PLACEHOLDER.findall(message.string)
            ), message.id


@pytest.mark.parametrize(
    ("asked", "cookie", "header", "default", "expected"),
    [
        (None, None, None, "zh_CN", "zh_CN"),
        (None, None, None, "en", "en"),
        (None, None, "en-US,en;q=0.9", "zh_CN", "en"),
        (None, None, "zh-TW,zh;q=0.9,en;q=0.5", "en", "zh_CN"),
        (None, None, "fr-FR, de;q=0.5", "zh_CN", "zh_CN"),
        (None, None, "en;q=0.2, zh-CN;q=0.8", "en", "zh_CN"),
        (None, "en", "zh-CN", "zh_CN", "en"),
        ("zh_CN", "en", "en", "en", "zh_CN"),
        ("klingon", "also-bad", None, "zh_CN", "zh_CN"),
        ("qps", None, None, "zh_CN", "zh_CN"),  # the pseudo-locale only when switched on
        (None, None, "garbage;;q=x,,", "zh_CN", "zh_CN"),
    ],
)
def test_choose_locale(asked, cookie, header, default, expected) -> None:
    got = choose_locale(asked=asked, cookie=cookie, accept_language=header, default=default)
    assert got == expected


def test_pseudo_locale_brackets_every_catalogued_text() -> None:
    assert choose_locale(asked="qps", cookie=None, accept_language=None, pseudo=True) == PSEUDO
    pseudo = Translator(PSEUDO)
    assert pseudo("Sign in") == "［Sign in］"
    assert pseudo("{n} grids", n=3) == "［3 grids］"
    assert pseudo("not in the catalogue") == "not in the catalogue"
    assert messages_for(PSEUDO)["Loading…"] == "［Loading…］"


def test_templates_translate_finished_messages_with_their_values() -> None:
    templates = MessageTemplates(
        [
            "No incident '{id}'.",
            "Invalid value in {field}: {problem}.",
            "Invalid value in {field}: {problem} (and {n} more problems).",
        ]
    )
    zh = Translator("zh_CN")
    assert templates.translate("No incident 'X-1'.", zh) == "没有事件 'X-1'。"
    assert (
        templates.translate("Invalid value in 'lon': bad (and 2 more problems).", zh)
        == "'lon' 的值无效：bad（另有 2 个问题）。"
    )
    assert templates.translate("Something nobody catalogued.", zh) == "Something nobody catalogued."
    assert templates.translate("No incident 'X-1'.", Translator("en")) == "No incident 'X-1'."


def test_numbers_and_dates_in_the_locale_format() -> None:
    import datetime as dt

    when = dt.datetime(2026, 11, 5, 14, 30)
    assert Translator("en").number(1234567.5) == "1,234,567.5"
    assert Translator("zh_CN").number(1234567.5) == "1,234,567.5"
    assert "2026年11月5日" in Translator("zh_CN").datetime(when)
    assert "Nov 5, 2026" in Translator("en").datetime(when)


@pytest.fixture
def english_server(world_db: str) -> Iterator[TestClient]:
    settings = settings_for(world_db)
    settings.i18n.locale = "en"
    with TestClient(create_app(settings)) as client:
        yield client


def locate_outside(client: TestClient, **headers: str):
    return client.get("/api/v1/locate?lon=121.0&lat=38.5", headers=headers)


def test_api_error_messages_follow_the_language_and_codes_do_not(world, english_server) -> None:
    zh = locate_outside(world).json()["error"]
    en = locate_outside(world, **{"Accept-Language": "en-US,en;q=0.9"}).json()["error"]
    assert zh["code"] == en["code"] == "outside_service_area"
    assert zh["message"] == "该位置不在本系统服务范围内。"
    assert en["message"] == "This location is outside the area GridGov serves."
    assert zh["details"] == en["details"]
    # GRIDGOV_LOCALE=en: English unless the client asks for Chinese
    assert locate_outside(english_server).json()["error"]["message"] == en["message"]
    asked = locate_outside(english_server, **{"Accept-Language": "zh-CN"}).json()["error"]
    assert asked["message"] == zh["message"]
    # a 404 from the router and a validation error are localised too
    assert world.get("/api/v1/nothing-here").json()["error"]["message"] == "没有这个资源。"


def test_login_page_is_in_one_language_and_the_switch_remembers(world) -> None:
    zh = world.get("/login").text
    assert '<html lang="zh-CN">' in zh and "用户名" in zh and "User name" not in zh
    switched = world.get("/lang/en?next=/login", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "gridgov_lang=en" in switched.headers["set-cookie"]
    en = world.get("/login").text  # the client keeps the cookie
    assert '<html lang="en">' in en and "User name" in en and "用户名" not in en
    # a switch never leads off-site and ignores unknown languages
    evil = world.get("/lang/xx?next=//evil.example/", follow_redirects=False)
    assert evil.headers["location"] == "/" and "set-cookie" not in evil.headers


@pytest.mark.parametrize(
    ("role", "area", "department", "home"),
    [
        ("resident", None, None, "/report"),
        ("dispatcher", "110199001", None, "/map/dispatch"),
        ("admin", None, None, "/map/dispatch"),
    ],
)
def test_sign_in_lands_on_the_roles_home_page(world, db, role, area, department, home) -> None:
    from api.services.identity.auth import add_user

    add_user(db, "u1", role, area, department)
    set_password(db, "u1", "correct horse battery")
    db.commit()
    r = world.post(
        "/login", data={"name": "u1", "password": "correct horse battery"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == home
    # "/" leads on to the same page; the header names the user and role, in one language
    assert world.get("/", follow_redirects=False).headers["location"] == home
    page = world.get(home).text
    assert 'id="gg-shell-user"' in page and "u1" in page
    assert {"resident": "居民", "dispatcher": "调度员", "admin": "管理员"}[role] in page
    menu = re.findall(r'<nav class="gg-menu".*?</nav>', page, re.S)[0]
    links = re.findall(r'href="([^"]+)"', menu)
    expected = {
        "resident": ["/report"],
        "dispatcher": ["/map/dispatch", "/map/stats"],
        "admin": ["/report", "/map/dispatch", "/map/edit", "/map/stats", "/docs"],
    }[role]
    assert links == expected


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        # a catalogued sentence inside a template's value is translated too
        (
            "Not saved: Areas G1 and G2 overlap by 1,234.5 m². (and 2 more)",
            "未保存：区域 G1 与 G2 重叠 1,234.5 平方米。（另有 2 个问题）",
        ),
        # capacities joined by " or ", one of which holds " or " itself
        (
            "Action 'whistle' on incident X-1 is for a street or district dispatcher of the "
            "incident's area or the resident who reported it (or an admin); you are not.",
            "案件 X-1 的操作“whistle”只能由案件所在区域的街道或区县调度员或上报的居民"
            "（或管理员）执行；您不是。",
        ),
        # a placeholder used twice must hold the same value twice
        (
            "PostGIS is not installed for PostgreSQL 15. Install it with `sudo apt-get install "
            "postgresql-15-postgis-3` (or run `make setup`).",
            "PostgreSQL 15 没有安装 PostGIS。请用 `sudo apt-get install postgresql-15-postgis-3` "
            "安装（或运行 `make setup`）。",
        ),
        (  # … else it is no match, and the message stays as it was
            "PostGIS is not installed for PostgreSQL 15. Install it with `sudo apt-get install "
            "postgresql-16-postgis-3` (or run `make setup`).",
            None,
        ),
    ],
)
def test_error_templates_nest_and_repeat(english: str, chinese: str | None) -> None:
    from api.error_messages import localise

    assert localise(english, Translator("zh_CN")) == (chinese or english)
    assert localise(english, Translator("en")) == english


def test_topology_problems_in_error_details_follow_the_language() -> None:
    from api.error_messages import localise_problems

    problem = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [116.0, 39.0]},
        "properties": {"kind": "gap", "message": "12.5 m² of C1 belong to none of its children."},
    }
    doc = {"problems": {"type": "FeatureCollection", "features": [problem]}}
    zh = localise_problems(doc, Translator("zh_CN"))
    assert zh["problems"]["features"][0]["properties"]["message"] == (
        "C1 有 12.5 平方米不属于任何下级区域。"
    )
    assert problem["properties"]["message"].startswith("12.5 m²")  # the input is not changed
    assert localise_problems(doc, Translator("en")) is doc
    # a save's impact (thousands of moved incidents after a grid split) is passed, not copied
    impact = {"incidents": [{"id": "GG-1", "from": {"grid": "G1"}}], "buildings": []}
    saved = localise_problems({"warnings": doc["problems"], "impact": impact}, Translator("zh_CN"))
    assert saved["impact"] is impact
    assert saved["warnings"]["features"][0]["properties"]["message"].startswith("C1 有")


def test_a_workflow_action_missing_its_note_is_told_in_one_language(world, token_for) -> None:
    from tests.loop import act, ok, report

    admin = token_for("root", "admin")
    case = report(world, "SJ0102", headers=admin)
    ok(world, case, admin, "register")
    ok(world, case, admin, "dispatch")
    ok(world, case, admin, "accept")
    # "'note' 的值无效：request_extension needs a written reason。" before: half English
    zh = act(world, case, admin, "request_extension", data={"until": "2099-01-01T00:00:00Z"})
    assert zh.status_code == 422
    assert zh.json()["error"]["message"] == "'note' 的值无效：request_extension 需要填写理由。"
    en = act(world, case, {**admin, "Accept-Language": "en"}, "handle")
    assert en.json()["error"]["message"] == (
        "Invalid value in 'note': handle needs a written account of what was done."
    )
    zh = act(world, case, admin, "handle")
    assert zh.json()["error"]["message"] == "'note' 的值无效：handle 需要填写处置情况说明。"
