"""Spatial errors: what went wrong with a geometry or a location, said for the person who sent it.

The API maps each `code` to an HTTP status in one place (api/errors.py); nothing here knows HTTP.
"""

from __future__ import annotations

from typing import Any


class SpatialError(ValueError):
    """Base of spatial problems; `code` is machine-readable, `message` for people."""

    code = "invalid_geometry"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidGeometry(SpatialError):
    """A geometry that is empty, of the wrong type, or not valid (e.g. self-intersecting)."""

    code = "invalid_geometry"


class InvalidCoordinates(SpatialError):
    """Coordinates that are not finite or out of range for their CRS."""

    code = "invalid_coordinates"


class OutsideServiceArea(SpatialError):
    """A location outside every governance area GridGov holds."""

    code = "outside_service_area"


class UnknownCRS(SpatialError):
    """A coordinate reference system name that GridGov cannot use."""

    code = "unknown_crs"


class UnsupportedCRS(UnknownCRS):
    """A known system with no transformation to or from WGS 84 (23 of ~6,100 EPSG codes)."""

    code = "unsupported_crs"


class TopologyError(SpatialError):
    """An area that breaks the rules areas keep: invalid, outside its parent, overlapping."""

    code = "topology_error"
