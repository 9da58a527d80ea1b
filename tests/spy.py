"""Calls counted in tests: a function of a module (or class) replaced by one that records each
call and calls through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def calls_of(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
    record: Callable[..., Any] = lambda *args, **kw: args,
) -> list[Any]:
    """`owner.name` recorded (`record` of each call's arguments) for the test: the list."""
    calls: list[Any] = []
    real = getattr(owner, name)

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(record(*args, **kw))
        return real(*args, **kw)

    monkeypatch.setattr(owner, name, counted)
    return calls
