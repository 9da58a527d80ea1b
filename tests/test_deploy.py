"""The Docker deployment files say what docs/deploy.md promises (Docker itself is not on CI).

`docker compose config` (or Debian's docker-compose) validates the file where it is installed;
the structural checks below hold everywhere: the database check cannot pass during the image's
init server, migrations run once before the app, the image installs at build time and runs as a
non-root user, and every long-running service restarts and reports its health.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_database_ready_only_over_tcp() -> None:
    db = compose()["services"]["db"]
    check = " ".join(db["healthcheck"]["test"])
    assert "pg_isready -h 127.0.0.1" in check  # the init server has no TCP listener
    assert db["restart"] == "unless-stopped"


def test_migrations_run_once_before_the_app() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["gridgov", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    waits = {"condition": "service_completed_successfully"}
    assert services["app"]["depends_on"] == {"migrate": waits}
    assert services["demo"]["depends_on"] == {"migrate": waits}
    assert services["demo"]["profiles"] == ["demo"]


def test_app_is_built_healthy_and_restarts() -> None:
    app = compose()["services"]["app"]
    assert app["build"] == "." and "pip" not in " ".join(app["command"])
    assert app["restart"] == "unless-stopped"
    assert "/healthz" in " ".join(app["healthcheck"]["test"])
    assert app["ports"] == ["127.0.0.1:8000:8000"]  # the proxy publishes to the network
    assert not any(str(v).startswith(".:") for v in app.get("volumes", []))  # no source mount


def test_image_installs_at_build_time_and_runs_unprivileged() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    user = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert user == ["gridgov"]
    runs = " ".join(ln for ln in lines if ln.startswith("RUN "))
    assert "pip install /src" in runs
    cmd = [ln for ln in lines if ln.startswith("CMD ")]
    assert cmd and "pip" not in cmd[-1] and "gridgov" in cmd[-1]
    assert "HEALTHCHECK" in "\n".join(lines)


def test_proxy_config_names_files_that_exist() -> None:
    proxy = compose()["services"]["proxy"]
    assert proxy["profiles"] == ["tls"]
    conf = proxy["volumes"][0].split(":")[0]
    text = (ROOT / conf).read_text()
    assert "proxy_buffering off" in text and "client_header_timeout" in text


def _compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_is_valid() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither 'docker compose' nor 'docker-compose' is installed")
    for profile in ([], ["--profile", "demo"], ["--profile", "tls"]):
        r = subprocess.run(
            [*command, "-f", str(COMPOSE), *profile, "config", "--quiet"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert r.returncode == 0, r.stderr
