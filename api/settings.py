"""Settings, one class per concern, all read from GRIDGOV_* environment variables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Where the PostGIS store lives: an explicit URL, or the project-local embedded cluster."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="Any PostGIS server; overrides the embedded cluster."
    )
    data_dir: Path = Field(default=Path(".gridgov"), description="Embedded cluster's home.")
    db_port: int = Field(default=54320, ge=1, le=65535)
    db_name: str = "gridgov"
    pool_min: int = Field(default=2, ge=1)
    pool_max: int = Field(default=16, ge=1)


class AssignmentSettings(BaseSettings):
    """Tolerances of spatial assignment, in metres."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    nearest_grid_m: float = Field(default=50.0, ge=0, le=10_000)
    near_boundary_m: float = Field(default=10.0, ge=0, le=1_000)


class ApiSettings(BaseSettings):
    """HTTP behaviour: who may report without a token, page sizes."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    public_reporting: bool = Field(
        default=True, description="Allow POST /api/v1/incidents without a token."
    )
    max_page_size: int = Field(default=1000, ge=1, le=10_000)
    default_page_size: int = Field(default=100, ge=1, le=10_000)
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30, description="page login lifetime")


class CalendarSettings(BaseSettings):
    """The working calendar deadlines count on (GRIDGOV_CALENDAR_*)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_CALENDAR_", extra="ignore")

    timezone: str = "Asia/Shanghai"
    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5], description="ISO weekdays, 1 = Monday")
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(17, 0)
    holidays: list[dt.date] = Field(default_factory=list)
    extra_workdays: list[dt.date] = Field(default_factory=list, description="调休 make-up days")


class MapSettings(BaseSettings):
    """Base map for pages: an XYZ tile URL template, or empty for none (intranet default)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    basemap_url: str = ""
    basemap_attribution: str = ""


class Settings(BaseSettings):
    """All settings of one GridGov process."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    assignment: AssignmentSettings = Field(default_factory=AssignmentSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    map: MapSettings = Field(default_factory=MapSettings)
