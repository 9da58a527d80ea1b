"""The Docker deployment files say what docs/deploy.md promises (Docker itself is not on CI).

`docker compose config` (or Debian's docker-compose) validates the file where it is installed;
the structural checks below hold everywhere: the database check cannot pass during the image's
init server, migrations run once before the app, the image installs at build time and runs as a
non-root user, and every long-running service restarts and reports its health.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from importlib import metadata
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
    assert "pip install -c constraints.txt /src" in runs  # the versions CI tested
    cmd = [ln for ln in lines if ln.startswith("CMD ")]
    assert cmd and "pip" not in cmd[-1] and "gridgov" in cmd[-1]
    assert "HEALTHCHECK" in "\n".join(lines)


def test_every_dependency_is_pinned_and_installed_at_its_pin() -> None:
    """constraints.txt pins each requirement of pyproject.toml (and theirs), and the test
    environment (make setup) holds exactly those versions: CI runs what was tested."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[canonical(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    for requirement in wanted:
        name = canonical(re.split(r"[\[<>=~! ;]", requirement, maxsplit=1)[0])
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert metadata.version(name) == pins[name], name
    for name, version in pins.items():
        assert metadata.version(name) == version, name


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


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


def _pin_tool() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("pin_images", ROOT / "deploy" / "pin_images.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pin_tool_lists_what_is_pinned_by_tag_only() -> None:
    tool = _pin_tool()
    refs = [r for f in tool.FILES for r in tool.unpinned(f.read_text())]
    # the third-party images of compose and the Dockerfile's bases; never the image built here
    assert "postgis/postgis:15-3.4" in refs and "python:3.11-slim-bookworm" in refs
    assert not any(r.startswith("gridgov") for r in refs)
    assert tool.main(["--check"]) == (1 if refs else 0)


def test_pin_tool_rewrites_references_with_the_registry_digest(tmp_path: Path) -> None:
    tool = _pin_tool()
    asked: list[tuple[str, str]] = []

    def resolve(name: str, tag: str) -> str:
        asked.append((name, tag))
        return "sha256:" + f"{len(asked):064x}"

    compose_text = COMPOSE.read_text()
    pinned = tool.pin(compose_text, resolve)
    assert tool.unpinned(pinned) == []
    assert f"image: postgis/postgis:15-3.4@sha256:{1:064x}" in pinned
    assert "image: gridgov:0.1.0\n" in pinned  # built here: untouched
    assert ("postgis/postgis", "15-3.4") in asked and all(n != "gridgov" for n, _ in asked)
    # the result is still a valid compose document with the same services
    assert yaml.safe_load(pinned)["services"].keys() == compose()["services"].keys()
    # idempotent: pinned references are not asked again unless refreshed
    assert tool.pin(pinned, resolve) == pinned and len(asked) == len(set(asked))
    docker = (ROOT / "Dockerfile").read_text()
    stage = tool.pin(docker, resolve)
    assert re.search(r"^FROM python:3\.11-slim-bookworm@sha256:[0-9a-f]{64} AS build$", stage, re.M)
    out = tmp_path / "Dockerfile"
    out.write_text(docker)
    assert tool.main(["--check", str(out)]) == 1
    out.write_text(stage)
    assert tool.main(["--check", str(out)]) == 0
