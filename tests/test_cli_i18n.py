"""The command line speaks the terminal's language: GRIDGOV_CLI_LOCALE / GRIDGOV_LOCALE, else the
terminal's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else Chinese (api/cli_common.py).

Its own words and the services' error messages (through api/error_messages.py) come from the
catalogue; a message a service raised in English reaches a Chinese terminal in Chinese.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli_common import cli_translator


def run(world_db: str, language: str, *args: str) -> tuple[int, str]:
    env = {"GRIDGOV_DATABASE_URL": world_db, "GRIDGOV_CLI_LOCALE": language, "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("env", "locale"),
    [
        ({}, "zh_CN"),  # nothing said: the product's default
        ({"LANG": "C.UTF-8"}, "zh_CN"),  # C names no language
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh_CN"),  # LC_ALL beats LANG
        ({"LANGUAGE": "zh_TW:en", "LANG": "en_US.UTF-8"}, "zh_CN"),  # any Chinese reads zh_CN
        ({"GRIDGOV_LOCALE": "en", "LANG": "zh_CN.UTF-8"}, "en"),  # the deployment's choice
        ({"GRIDGOV_CLI_LOCALE": "zh_CN", "GRIDGOV_LOCALE": "en"}, "zh_CN"),
        ({"GRIDGOV_LOCALE": "fr"}, "zh_CN"),  # a language GridGov does not have
    ],
)
def test_the_terminal_language(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], locale: str
) -> None:
    for name in ("GRIDGOV_CLI_LOCALE", "GRIDGOV_LOCALE", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_translator().locale == locale


def test_a_service_error_reaches_the_terminal_in_its_language(world_db: str) -> None:
    code, zh = run(world_db, "zh_CN", "user", "add", "ann", "--role", "mayor")
    assert code == 1
    assert "错误：" in zh and "未知角色“mayor”。可用角色：" in zh, zh
    assert "Unknown role" not in zh
    code, en = run(world_db, "en", "user", "add", "ann", "--role", "mayor")
    assert code == 1 and "error:" in en and "Unknown role 'mayor'. Roles:" in en, en


def test_the_commands_own_words_are_translated(world_db: str) -> None:
    code, zh = run(world_db, "zh_CN", "user", "add", "ann", "--role", "admin")
    assert code == 0 and "已创建用户 ann（admin）" in zh, zh
    code, zh = run(world_db, "zh_CN", "user", "disable", "nobody")
    assert code == 1 and "没有名为“nobody”的用户。" in zh, zh
    code, en = run(world_db, "en", "user", "disable", "ann")
    assert code == 0 and "user ann disabled" in en, en
    code, zh = run(world_db, "zh_CN", "user", "list")
    assert code == 0 and "角色" in zh and "已停用" in zh, zh


def test_export_refusals_are_translated(world_db: str, tmp_path: Path) -> None:
    target = str(tmp_path / "grids.dat")
    code, zh = run(world_db, "zh_CN", "export", "areas", target)
    assert code != 0 and "无法从“grids.dat”判断格式" in zh, zh
    code, zh = run(world_db, "zh_CN", "export", "buildings", target + ".csv", "--level", "grid")
    assert code != 0 and "--level 只适用于区域（areas）。" in zh, zh
    code, en = run(world_db, "en", "export", "areas", target)
    assert code != 0 and "Cannot tell the format from 'grids.dat'" in en, en


def test_stats_csv_header_in_the_terminals_language_or_as_codes(
    world_db: str, tmp_path: Path
) -> None:
    def header(language: str, *extra: str) -> list[str]:
        out = tmp_path / f"{language}{len(extra)}.csv"
        code, said = run(world_db, language, "stats", "--csv", str(out), *extra)
        assert code == 0, said
        assert ("已写入" if language == "zh_CN" else "wrote") in said
        text = out.read_bytes().decode("utf-8-sig")
        return next(csv.reader(io.StringIO(text)))

    assert header("zh_CN")[:3] == ["编码", "名称", "上报数"]
    assert header("en")[:3] == ["Code", "Name", "reported"]
    assert header("zh_CN", "--codes")[:3] == ["code", "name", "reported"]


def test_the_help_is_in_the_terminals_language() -> None:
    """typer reads the help at import: a fresh interpreter per language."""

    def help_of(language: str, *args: str) -> str:
        env = {**os.environ, "GRIDGOV_CLI_LOCALE": language, "COLUMNS": "120"}
        code = "from api.cli import app; app()"
        done = subprocess.run(
            [sys.executable, "-c", code, *args, "--help"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    zh = help_of("zh_CN")
    assert "网格治理：网格化治理的空间服务。" in zh and "导入区域、建筑或配置。" in zh
    zh_add = help_of("zh_CN", "user", "add")
    assert "用户所属范围的区域编码" in zh_add
    # typer's own words: panel titles and markers; click's usage line and help option
    assert "─ 参数 ─" in zh_add and "─ 选项 ─" in zh_add and "[必填]" in zh_add
    assert "用法：" in zh_add and "[选项]" in zh_add and "显示本帮助并退出。" in zh_add
    for english in ("─ Options ─", "[required]", "Usage:", "[OPTIONS]", "Show this message"):
        assert english not in zh_add, english
    en = help_of("en", "user", "add")
    assert "Create a user." in en and "area code the user is scoped to" in en
    assert "─ Options ─" in en and "[required]" in en
    assert "Usage:" in en and "Show this message and exit." in en
    assert "大联勤巡防：轨迹与保留期限。" in help_of("zh_CN", "patrols")


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (["user", "add"], "缺少参数 'name'。", "Missing argument 'name'."),
        (
            ["user", "add", "x", "--role"],
            "选项 '--role' 需要一个值。",
            "Option '--role' requires an argument.",
        ),
        (
            ["user", "add", "x", "--role", "admin", "--bogus"],
            "没有此选项：--bogus",
            "No such option: --bogus",
        ),
        (
            ["user", "add", "x", "y", "--role", "admin"],
            "多余的参数（y）",
            "Got unexpected extra argument(s) (y)",
        ),
        (
            ["patrols", "prune", "--days", "0"],
            "'--days' 的值无效：应大于或等于 1",
            "Invalid value for '--days': Input should be greater than or equal to 1",
        ),
        (
            ["patrols", "prune", "--days", "x"],
            "'--days' 的值无效：应为整数",
            "Invalid value for '--days': Input should be a whole number",
        ),
    ],
)
def test_usage_errors_in_the_terminals_language(args: list[str], zh: str, en: str) -> None:
    """click's parameter errors, its usage line and the help hint come from the catalogue; the
    exit code stays click's 2 and nothing runs (no database is reached)."""
    for language, expected, foreign in (("zh_CN", zh, en), ("en", en, zh)):
        env = {"GRIDGOV_CLI_LOCALE": language, "COLUMNS": "200"}
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, result.output
        assert expected in result.output and foreign not in result.output, result.output
        usage = "用法：" if language == "zh_CN" else "Usage:"
        assert usage in result.output, result.output
