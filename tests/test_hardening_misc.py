"""Issue 15, item 6: locate is limited for anonymous callers, If-Match compares strongly, common
passwords are refused, and area history names who saved a version to staff only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.main import create_app
from tests.areas_util import G1, etag
from tests.conftest import settings_for

HERE = {"lon": 116.01, "lat": 39.02}


@pytest.fixture
def strict(world_db: str) -> Iterator[TestClient]:
    s = settings_for(world_db)
    s.limits.locate_burst = 2
    s.limits.locate_per_minute = 6  # a token every 10 s: none comes back during the test
    with TestClient(create_app(s)) as client:
        yield client


def test_anonymous_locate_is_rate_limited(strict: TestClient, token_for: Any) -> None:
    codes = [strict.get("/api/v1/locate", params=HERE).status_code for _ in range(2)]
    assert codes == [200, 200]
    for crs in ("EPSG:4547", "EPSG:4548", None):  # a new EPSG code each time costs no more
        params = {**HERE, "crs": crs} if crs else HERE
        r = strict.get("/api/v1/locate", params=params)
        assert r.status_code == 429 and r.json()["error"]["details"]["limit"] == "locate"
        assert int(r.headers["retry-after"]) >= 1
    empty = strict.get("/api/v1/locate", params=HERE, headers={"Authorization": ""})
    assert empty.status_code == 429
    junk = strict.get("/api/v1/locate", params=HERE, headers={"Authorization": "Bearer x"})
    assert junk.status_code == 401  # a token skips the bucket only when it is real
    officer = token_for("off", "officer", G1)
    assert strict.get("/api/v1/locate", params=HERE, headers=officer).status_code == 200


def test_if_match_compares_strongly(world: Any, db: Any, token_for: Any) -> None:
    admin = token_for("boss", "admin")
    tag = etag(world, G1)
    feature = {"type": "Feature", "geometry": None, "properties": {"name": "改名"}}
    weak = world.put(f"/api/v1/areas/{G1}", json=feature, headers={**admin, "If-Match": "W/" + tag})
    assert weak.status_code == 412 and weak.json()["error"]["code"] == "stale_version"
    n = db.execute("SELECT count(*) AS n FROM areas WHERE code = %s", (G1,)).fetchone()["n"]
    assert n == 1
    strong = world.put(f"/api/v1/areas/{G1}", json=feature, headers={**admin, "If-Match": tag})
    assert strong.status_code == 200, strong.text


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", "too few different characters"),
        ("ababababab", "too few different characters"),
        ("password123", "most common"),
        ("Qwertyuiop", "most common"),
        ("1qaz2wsx3edc", "most common"),
        ("woaini5201314", "most common"),
        ("zhangwei123", "most common"),
        ("1234567890", "most common"),
        ("my-name-is-warden", "user name"),
    ],
)
def test_weak_passwords_are_refused(world_db: str, password: str, reason: str) -> None:
    env = {"GRIDGOV_DATABASE_URL": world_db}
    r = CliRunner().invoke(cli, ["user", "add", "warden", "--role", "admin"], env=env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        cli, ["user", "password", "warden", "--password-stdin"], env=env, input=password + "\n"
    )
    assert r.exit_code == 1 and reason in r.output.replace("\n", " "), r.output
    r = CliRunner().invoke(
        cli,
        ["user", "password", "warden", "--password-stdin"],
        env=env,
        input="correct horse battery\n",
    )
    assert r.exit_code == 0, r.output


def test_area_history_names_users_to_staff_only(world: Any, token_for: Any) -> None:
    admin = token_for("boss", "admin")
    feature = {"type": "Feature", "geometry": None, "properties": {"name": "改名", "note": "更名"}}
    r = world.put(
        f"/api/v1/areas/{G1}", json=feature, headers={**admin, "If-Match": etag(world, G1)}
    )
    assert r.status_code == 200, r.text
    url = f"/api/v1/areas/{G1}/history"
    for headers in ({}, token_for("res", "resident")):
        last = world.get(url, headers=headers).json()["features"][-1]["properties"]
        assert (last["created_by"], last["note"]) == (None, "更名")
        assert "boss" not in world.get(url, headers=headers).text
    for headers in (admin, token_for("off", "officer", G1), token_for("d", "dispatcher", G1)):
        last = world.get(url, headers=headers).json()["features"][-1]["properties"]
        assert last["created_by"] == "boss"
