"""Unit tests for gis.crs: CRS names, pyproj conversions, GCJ-02 and BD-09."""

import math
import random

import pytest
from pyproj import Geod, Transformer

from gis import crs
from gis.crs import (
    UnknownCRS,
    bd09_to_gcj02,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalize_crs,
    outside_china,
    to_wgs84,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two (lon, lat) points."""
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def china_points() -> list[tuple[float, float]]:
    """A 2-degree grid over mainland China plus seeded random points and awkward spots."""
    grid = [(73.0 + 2 * i, 18.0 + 2 * j) for i in range(32) for j in range(18)]
    rng = random.Random(20240501)
    scattered = [(rng.uniform(73.5, 135.0), rng.uniform(18.0, 53.5)) for _ in range(2000)]
    awkward = [
        (105.0, 35.0),  # origin of the GCJ-02 polynomial, where sqrt(|x|) has no derivative
        (105.0 + 1e-12, 35.0),
        (104.999999, 30.0),
        (116.3975, 39.9087),  # Tiananmen
        (121.4737, 31.2304),  # Shanghai
        (113.2644, 23.1291),  # Guangzhou
        (87.6168, 43.8256),  # Urumqi
        (126.6424, 45.7560),  # Harbin
        (109.5119, 18.2528),  # Sanya
    ]
    return grid + scattered + awkward


# --- normalize_crs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        None,
        "",
        "  ",
        "WGS84",
        "wgs84",
        "WGS 84",
        "EPSG:4326",
        "epsg:4326",
        "4326",
        "urn:ogc:def:crs:EPSG::4326",
        "urn:ogc:def:crs:EPSG:9.9.1:4326",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
        "CRS84",
        "OGC:CRS84",
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    ],
)
def test_normalize_wgs84_aliases(name: str | None) -> None:
    assert normalize_crs(name) == "EPSG:4326"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GCJ02", "GCJ02"),
        ("gcj-02", "GCJ02"),
        ("gcj02", "GCJ02"),
        ("GCJ_02", "GCJ02"),
        ("BD09", "BD09"),
        ("bd-09", "BD09"),
        ("BD09LL", "BD09"),
        ("bd09ll", "BD09"),
        ("CGCS2000", "EPSG:4490"),
        ("cgcs2000", "EPSG:4490"),
        ("EPSG:4490", "EPSG:4490"),
        ("4547", "EPSG:4547"),
        ("EPSG:4547", "EPSG:4547"),
        (" epsg:32650 ", "EPSG:32650"),
        ("urn:ogc:def:crs:EPSG::3857", "EPSG:3857"),
        ("http://www.opengis.net/def/crs/EPSG/0/4528", "EPSG:4528"),
    ],
)
def test_normalize_other_names(name: str, expected: str) -> None:
    assert normalize_crs(name) == expected


@pytest.mark.parametrize(
    "name", ["EPSG:99999", "99999", "EPSG:7030", "MARS", "BD09MC", "EPSG:", "x"]
)
def test_unknown_crs_raises_with_helpful_message(name: str) -> None:
    with pytest.raises(UnknownCRS) as caught:
        normalize_crs(name)
    message = str(caught.value)
    assert message.startswith(f"Unknown coordinate reference system {name.strip()!r}.")
    for hint in ("EPSG:4326", "EPSG:4490", "GCJ02", "BD09"):
        assert hint in message
    assert caught.value.details == {"crs": name.strip()}
    assert isinstance(caught.value, ValueError)


def test_unknown_crs_message_exact() -> None:
    with pytest.raises(UnknownCRS) as caught:
        normalize_crs("EPSG:99999")
    assert str(caught.value) == (
        "Unknown coordinate reference system 'EPSG:99999'. Use EPSG:4326 (WGS 84, default), "
        "EPSG:4490 (CGCS2000), GCJ02, BD09 or another EPSG code."
    )


@pytest.mark.parametrize("name", ["EPSG:5773", "EPSG:4978"])  # EGM96 height; WGS 84 geocentric
def test_known_but_non_horizontal_crs_is_refused(name: str) -> None:
    with pytest.raises(UnknownCRS, match="not a geographic or projected system"):
        normalize_crs(name)


def test_to_wgs84_rejects_unknown_crs() -> None:
    with pytest.raises(UnknownCRS):
        to_wgs84(116.4, 39.9, "EPSG:99999")


# --- pyproj-backed systems -------------------------------------------------------------


def test_wgs84_passes_through() -> None:
    assert to_wgs84(116.4, 39.9) == (116.4, 39.9)
    assert to_wgs84(116.4, 39.9, "CRS84") == (116.4, 39.9)
    assert from_wgs84(116.4, 39.9, None) == (116.4, 39.9)


def test_cgcs2000_is_wgs84_within_pyproj_precision() -> None:
    # EPSG:4490 is lat/lon in the EPSG registry; the result must still come back lon/lat.
    lon, lat = to_wgs84(116.3975, 39.9087, "EPSG:4490")
    assert lon == pytest.approx(116.3975, abs=1e-6)
    assert lat == pytest.approx(39.9087, abs=1e-6)
    assert to_wgs84(116.3975, 39.9087, "CGCS2000") == (lon, lat)


@pytest.mark.parametrize("code", ["EPSG:4547", "EPSG:32650"])
def test_projected_point_back_to_wgs84(code: str) -> None:
    lon, lat = 116.3975, 39.9087  # Tiananmen, Beijing
    easting, northing = Transformer.from_crs("EPSG:4326", code, always_xy=True).transform(lon, lat)
    # Beijing is ~2.4 degrees east of 114E (4547) / 117E (UTM 50N): easting first, then northing.
    assert 400_000 < easting < 800_000
    assert 4_400_000 < northing < 4_450_000
    back = to_wgs84(easting, northing, code)
    assert back[0] == pytest.approx(lon, abs=1e-7)
    assert back[1] == pytest.approx(lat, abs=1e-7)
    assert from_wgs84(lon, lat, code) == pytest.approx((easting, northing), abs=1e-6)


def test_projected_point_outside_its_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be converted"):
        to_wgs84(1e30, 1e30, "EPSG:4547")


def test_transformers_are_cached() -> None:
    to_wgs84(700_000.0, 4_420_000.0, "EPSG:4547")
    before = crs._cached_transformer.cache_info().hits
    to_wgs84(700_001.0, 4_420_001.0, "EPSG:4547")
    assert crs._cached_transformer.cache_info().hits == before + 1


# --- GCJ-02 and BD-09 against published values -----------------------------------------
# Published pairs (facts, not code):
# - wandergis/coordtransform README.md and test/app.js ("result" comments), input (116.404, 39.915):
#     wgs84togcj02 -> (116.41024449916938, 39.91640428150164)
#     gcj02tobd09  -> (116.41036949371029, 39.92133699351021)
#     bd09togcj02  -> (116.39762729119315, 39.90865673957631)  (one-step closed-form inverse)
#     gcj02towgs84 -> (116.39775550083061, 39.91359571849836)  (one-step approximate inverse)
# - googollee/eviltransform python/test.py, TESTS (wgsLat, wgsLng, gcjLat, gcjLng), given here as
#   lon/lat: Shanghai, Shenzhen and Beijing.
PUBLISHED_WGS84_TO_GCJ02 = [
    ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),  # wandergis/coordtransform
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # eviltransform, Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # eviltransform, Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # eviltransform, Beijing
]
PUBLISHED_GCJ02_TO_BD09 = [
    ((116.404, 39.915), (116.41036949371029, 39.92133699351021)),  # wandergis/coordtransform
]
# Closed-form (approximate) inverses published by wandergis/coordtransform.
PUBLISHED_BD09_TO_GCJ02_APPROX = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))
PUBLISHED_GCJ02_TO_WGS84_APPROX = ((116.404, 39.915), (116.39775550083061, 39.91359571849836))


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED_WGS84_TO_GCJ02)
def test_gcj02_forward_matches_published(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
    assert from_wgs84(*wgs, "GCJ02") == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("gcj", "bd"), PUBLISHED_GCJ02_TO_BD09)
def test_bd09_forward_matches_published(gcj: tuple[float, float], bd: tuple[float, float]) -> None:
    assert gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-9)


def test_wgs84_to_bd09_is_gcj02_then_bd09() -> None:
    wgs = (116.404, 39.915)
    assert from_wgs84(*wgs, "BD09") == gcj02_to_bd09(*wgs84_to_gcj02(*wgs))


def test_iterative_inverses_improve_on_published_closed_forms() -> None:
    # The published inverses are one-step approximations: ours must agree with them to
    # within their approximation error, and must reproduce the input exactly when pushed
    # forward again, which theirs do not.
    bd, approx_gcj = PUBLISHED_BD09_TO_GCJ02_APPROX
    gcj = bd09_to_gcj02(*bd)
    assert gcj == pytest.approx(approx_gcj, abs=1e-5)
    assert metres_between(gcj02_to_bd09(*gcj), bd) < 1e-6
    assert metres_between(gcj02_to_bd09(*approx_gcj), bd) > metres_between(gcj02_to_bd09(*gcj), bd)

    gcj_in, approx_wgs = PUBLISHED_GCJ02_TO_WGS84_APPROX
    wgs = gcj02_to_wgs84(*gcj_in)
    assert wgs == pytest.approx(approx_wgs, abs=1e-5)
    assert metres_between(wgs84_to_gcj02(*wgs), gcj_in) < 1e-6
    assert metres_between(wgs84_to_gcj02(*approx_wgs), gcj_in) > metres_between(
        wgs84_to_gcj02(*wgs), gcj_in
    )


def test_to_wgs84_from_published_gcj02_and_bd09() -> None:
    for wgs, gcj in PUBLISHED_WGS84_TO_GCJ02:
        assert metres_between(to_wgs84(*gcj, "GCJ02"), wgs) < 0.01
    wgs = (116.404, 39.915)
    bd = gcj02_to_bd09(*wgs84_to_gcj02(*wgs))
    assert metres_between(to_wgs84(*bd, "bd-09"), wgs) < 0.01


# --- outside China ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "point",
    [(24.94, 60.17), (26.93, 60.47), (-0.1276, 51.5072), (139.6917, 35.6895), (0.0, 0.0)],
)  # Helsinki, Kotka, London, Tokyo, null island
def test_gcj02_passes_points_outside_china_unchanged(point: tuple[float, float]) -> None:
    assert outside_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    assert to_wgs84(*point, "GCJ02") == point
    assert from_wgs84(*point, "GCJ02") == point


def test_beijing_is_inside_china_and_offset() -> None:
    assert not outside_china(116.3975, 39.9087)
    offset = metres_between(wgs84_to_gcj02(116.3975, 39.9087), (116.3975, 39.9087))
    assert 100 < offset < 1000


# --- round trips -----------------------------------------------------------------------


ROUND_TRIPS = {
    "gcj02": lambda p: to_wgs84(*from_wgs84(*p, "GCJ02"), "GCJ02"),
    "bd09": lambda p: to_wgs84(*from_wgs84(*p, "BD09"), "BD09"),
    "bd09_gcj02": lambda p: bd09_to_gcj02(*gcj02_to_bd09(*p)),  # from GCJ-02 and back
}


@pytest.mark.parametrize("trip", ROUND_TRIPS)
def test_round_trip_across_china_below_1_cm(trip: str) -> None:
    there_and_back = ROUND_TRIPS[trip]
    worst = max(metres_between(p, there_and_back(p)) for p in china_points())
    assert worst < 0.01


def test_gcj02_inverse_converges_at_the_polynomial_origin() -> None:
    # sqrt(|lon - 105|) has an infinite slope at lon 105: the iteration must still settle.
    for gcj in [(105.0, 35.0), wgs84_to_gcj02(105.0, 35.0), wgs84_to_gcj02(105.0, 22.0)]:
        lon, lat = gcj02_to_wgs84(*gcj)
        assert math.isfinite(lon) and math.isfinite(lat)
        assert metres_between(wgs84_to_gcj02(lon, lat), gcj) < 0.001


@pytest.mark.parametrize("crs_name", [None, "GCJ02", "BD09", "EPSG:4547"])
def test_non_finite_coordinates_are_refused(crs_name: str | None) -> None:
    with pytest.raises(ValueError, match="must be finite numbers"):
        to_wgs84(math.nan, 39.9, crs_name)
    with pytest.raises(ValueError, match="must be finite numbers"):
        from_wgs84(116.4, math.inf, crs_name)


def test_a_missing_transformation_is_cached_too() -> None:
    """EPSG:2963 is known but has no transformation to WGS 84: 422 unsupported_crs, and asking
    again does not rebuild the (failing) transformer (issue 15)."""
    from gis.errors import UnsupportedCRS

    with pytest.raises(UnsupportedCRS) as first:
        to_wgs84(500_000.0, 4_400_000.0, "EPSG:2963")
    assert first.value.code == "unsupported_crs" and first.value.details == {"crs": "EPSG:2963"}
    before = crs._cached_transformer.cache_info()
    with pytest.raises(UnsupportedCRS):
        to_wgs84(500_000.0, 4_400_000.0, "EPSG:2963")
    after = crs._cached_transformer.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
