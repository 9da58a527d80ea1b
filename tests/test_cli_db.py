"""`gridgov db up|status|url|down` on a cluster of its own, and `gridgov user`/`token`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from api.cli import app
from api.db.embedded import EmbeddedCluster
from tests.conftest import _free_port


def test_db_up_is_idempotent_and_status_says_where(monkeypatch):
    home = Path(tempfile.mkdtemp(prefix="gridgov-test-cli-"))
    home.chmod(0o755)
    port = _free_port()
    env = {"GRIDGOV_DATA_DIR": str(home), "GRIDGOV_DB_PORT": str(port), "GRIDGOV_DATABASE_URL": ""}
    monkeypatch.delenv("GRIDGOV_DATABASE_URL", raising=False)
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["db", "up"], env=env)
        assert first.exit_code == 0, first.output
        assert "started" in first.output and str(port) in first.output
        second = runner.invoke(app, ["db", "up"], env=env)
        assert second.exit_code == 0 and "already running" in second.output
        status = runner.invoke(app, ["db", "status"], env=env)
        assert status.output.startswith("running") and f"port: {port}" in status.output
        url = runner.invoke(app, ["db", "url"], env=env).output.strip()
        with psycopg.connect(url) as conn:  # the printed URL works as is
            assert conn.execute("SELECT 1").fetchone() == (1,)
        down = runner.invoke(app, ["db", "down"], env=env)
        assert down.exit_code == 0 and "stopped" in down.output
        assert runner.invoke(app, ["db", "status"], env=env).output.startswith("not running")
    finally:
        EmbeddedCluster(home=home, port=port).destroy()
        shutil.rmtree(home, ignore_errors=True)


def test_unreachable_database_is_explained():
    r = CliRunner().invoke(
        app,
        ["user", "list"],
        env={"GRIDGOV_DATABASE_URL": f"postgresql://x:y@127.0.0.1:{_free_port()}/nope"},
    )
    assert r.exit_code == 1
    assert "gridgov db up" in r.output and "Traceback" not in r.output


def test_user_and_token_lifecycle(world_db, world):
    runner = CliRunner()
    env = {"GRIDGOV_DATABASE_URL": world_db}
    r = runner.invoke(
        app, ["user", "add", "li", "--role", "dispatcher", "--area", "110199001"], env=env
    )
    assert r.exit_code == 0, r.output
    bad = runner.invoke(app, ["user", "add", "wang", "--role", "officer"], env=env)
    assert bad.exit_code == 1 and "needs an area" in bad.output
    out = runner.invoke(app, ["token", "create", "li"], env=env).output
    token = out.strip().splitlines()[-1]
    assert token.startswith("ggt_") and len(token) > 40
    with psycopg.connect(world_db) as conn:  # stored hashed, never in clear
        stored = conn.execute("SELECT token_hash FROM api_tokens").fetchone()
        assert stored is not None and token not in stored[0]
    auth = {"Authorization": f"Bearer {token}"}
    assert world.get("/api/v1/incidents", headers=auth).status_code == 200
    assert runner.invoke(app, ["token", "revoke", token], env=env).exit_code == 0
    refused = world.get("/api/v1/incidents", headers=auth)
    assert refused.status_code == 401 and "已吊销" in refused.json()["error"]["message"]


def test_missing_postgresql_names_the_package(monkeypatch, tmp_path):
    import api.db.embedded as embedded

    monkeypatch.setattr(embedded.shutil, "which", lambda _name: None)
    monkeypatch.setattr(embedded.glob, "glob", lambda _pattern: [])
    r = CliRunner().invoke(
        app, ["db", "up"], env={"GRIDGOV_DATA_DIR": str(tmp_path), "GRIDGOV_DATABASE_URL": ""}
    )
    assert r.exit_code == 1
    assert "apt-get install postgresql postgresql-15-postgis-3" in r.output
    assert "Traceback" not in r.output


def test_missing_postgis_names_the_package(monkeypatch, tmp_path):
    import api.db.embedded as embedded

    monkeypatch.setattr(embedded, "_postgis_available", lambda _bindir: False)
    r = CliRunner().invoke(
        app, ["db", "up"], env={"GRIDGOV_DATA_DIR": str(tmp_path), "GRIDGOV_DATABASE_URL": ""}
    )
    assert r.exit_code == 1
    major = embedded._major_version(embedded._pg_bindir())
    assert f"apt-get install postgresql-{major}-postgis-3" in r.output
    assert not (tmp_path / "pg").exists()  # nothing was created
