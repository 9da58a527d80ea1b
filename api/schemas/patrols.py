"""Request bodies of 大联勤 patrols (POST /api/v1/patrols…)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

ClientId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^\S+$")
]
UserName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class PatrolIn(BaseModel):
    """Start a patrol; `client_id` makes a repeated start (offline queue) return the same one."""

    model_config = ConfigDict(extra="forbid")

    client_id: ClientId | None = None
    members: list[UserName] = Field(default_factory=list, max_length=20)
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
    started_at: AwareDatetime | None = Field(
        default=None, description="when the phone started it (offline); default: now"
    )


class FixIn(BaseModel):
    """One GPS fix; `id` is the phone's point id (a repeated id is stored once)."""

    model_config = ConfigDict(extra="forbid")

    id: ClientId
    t: AwareDatetime
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    accuracy: float | None = Field(default=None, ge=0, le=100_000, description="metres")


class FixBatchIn(BaseModel):
    """A batch of fixes in any order."""

    model_config = ConfigDict(extra="forbid")

    fixes: list[FixIn] = Field(min_length=1, max_length=100_000)


class PatrolEndIn(BaseModel):
    """End a patrol (`at`: when the phone ended it, offline; default now)."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = None


def utc(t: dt.datetime) -> dt.datetime:
    """An aware time in UTC."""
    return t.astimezone(dt.UTC)
