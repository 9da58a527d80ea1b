"""Request bodies for reporting an incident."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, StringConstraints

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class LonLat(BaseModel):
    """A point as lon/lat (or x/y in the given CRS; default EPSG:4326)."""

    model_config = ConfigDict(extra="forbid")

    lon: FiniteFloat = Field(description="longitude, or easting in a projected CRS")
    lat: FiniteFloat = Field(description="latitude, or northing in a projected CRS")
    crs: str | None = Field(
        default=None, description="EPSG:4326 (default), EPSG:4490, GCJ02, BD09 or any EPSG code"
    )


class GeoJSONPoint(BaseModel):
    """A GeoJSON Point geometry (RFC 7946: lon, lat in WGS 84; `crs` may override)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"]
    coordinates: tuple[FiniteFloat, FiniteFloat]
    crs: str | None = None


class Reporter(BaseModel):
    """Who reported; contact details are never shown publicly."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    notify: bool | None = Field(
        default=None, description="agrees to be told of progress at the phone or e-mail given"
    )


class IncidentIn(BaseModel):
    """A new report."""

    model_config = ConfigDict(extra="forbid")

    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    description: Annotated[str, StringConstraints(max_length=4000)] = ""
    location: LonLat | GeoJSONPoint
    source: Literal["resident", "patrol", "hotline", "officer", "api", "open311"] = "resident"
    reporter: Reporter | None = None
    patrol: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="the patrol it was found on (source `patrol`; its leader or a member)",
    )

    def xy_crs(self) -> tuple[float, float, str | None]:
        """The location as (x, y, crs) whichever form it came in."""
        if isinstance(self.location, GeoJSONPoint):
            x, y = self.location.coordinates
            return x, y, self.location.crs
        return self.location.lon, self.location.lat, self.location.crs
