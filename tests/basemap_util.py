"""Helpers of the base map tests: tile numbers, and finding a Chinese name drawn in an image.

A name counts as drawn when each of its characters, rendered by Pillow in the font the style
uses (Noto Sans CJK SC), matches a spot of the image by normalised cross-correlation: text is
dark on a white halo, so the image's darkness is compared with the glyph's coverage. Missing
glyphs (tofu boxes), other text or a blank map score far lower.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageDraw, ImageFont

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SC_INDEX = 2  # faces in the collection: JP, KR, SC, TC, HK
# A drawn character scores 0.6–0.95 (small sizes and halos blur it); characters not drawn in
# the image score 0.45–0.57. A name counts as drawn when its characters average MATCH and none
# is below FLOOR.
MATCH, FLOOR = 0.7, 0.58


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding lon/lat at zoom z."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def darkness(png: bytes) -> np.ndarray:
    """The image as 0 (white) … 1 (black), one float per pixel."""
    gray = Image.open(io.BytesIO(png)).convert("L")
    return 1.0 - np.asarray(gray, dtype=np.float64) / 255.0


def colours(png: bytes) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of an image."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    return {(int(r), int(g), int(b)) for r, g, b in np.unique(rgb, axis=0)}


def west_east_line(image: np.ndarray, row: int, half: int = 8) -> bool:
    """Whether a line runs across the image near `row` (a road: casing, fill, casing): in most
    columns the pixels there are not one flat ground colour."""
    rows = image[max(0, row - half) : row + half]
    contrast = rows.max(axis=0) - rows.min(axis=0)
    return bool((contrast >= 0.06).mean() >= 0.75)


@cache
def glyph(char: str, size: int) -> np.ndarray:
    """A character's coverage (0…1), trimmed to its ink, as the style's font draws it."""
    font = ImageFont.truetype(CJK_FONT, size, index=SC_INDEX)
    left, top, right, bottom = font.getbbox(char)
    image = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(image).text((-left, -top), char, fill=255, font=font)
    return np.asarray(image, dtype=np.float64) / 255.0


def best_match(image: np.ndarray, template: np.ndarray) -> float:
    """The highest normalised cross-correlation of the template over the image (-1…1)."""
    h, w = template.shape
    if image.shape[0] < h or image.shape[1] < w:
        return -1.0
    windows = sliding_window_view(image, (h, w))
    t = template - template.mean()
    wm = windows - windows.mean(axis=(2, 3), keepdims=True)
    num = np.einsum("ijkl,kl->ij", wm, t)
    den = np.sqrt(np.einsum("ijkl,ijkl->ij", wm, wm) * (t * t).sum()) + 1e-9
    return float((num / den).max())


def name_scores(image: np.ndarray, name: str, sizes: tuple[int, ...] = (11, 12)) -> list[float]:
    """Per character of `name`: its best match at any of the label sizes of the style."""
    return [max(best_match(image, glyph(c, s)) for s in sizes) for c in name]


def drawn(image: np.ndarray, name: str) -> bool:
    """Whether the characters of `name` are drawn somewhere in the image."""
    scores = name_scores(image, name)
    return sum(scores) / len(scores) >= MATCH and min(scores) >= FLOOR


# A point on 清华东路 (Tsinghua East Road, secondary, runs west–east) in the demo extracts.
ROAD_NAME = "清华东路"
ROAD_POINT = (116.34966, 39.99979)
CONTROL = "猫龍"  # characters no label of the demo area has


def pixel_in_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Where lon/lat falls inside its 256 px tile."""
    n = 2**z
    fx = (lon + 180) / 360 * n
    fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((fx % 1) * 256), int((fy % 1) * 256)


def band(image: np.ndarray, row: int, half: int = 16) -> np.ndarray:
    """The rows of an image around `row` (where a west–east road's label lies)."""
    return image[max(0, row - half) : row + half]


def load_demo_basemap(conn: Any, _url: str = "") -> None:
    """Fill the base map tables from the demo's OSM extracts (a template's build step)."""
    from api.services.basemap.osm_import import import_basemap

    with conn.transaction():
        import_basemap(conn, DEMO_OSM)


DEMO_OSM = sorted(
    (Path(__file__).resolve().parents[1] / "api" / "demo" / "data" / "osm").glob("*.osm.pbf")
)


@pytest.fixture
def basemap_db(databases: Any) -> Iterator[str]:
    """A database holding the synthetic world and the demo base map."""
    from tests.conftest import _fresh
    from tests.world import load_world

    def build(conn: Any, url: str) -> None:
        load_world(conn)
        load_demo_basemap(conn)

    yield from _fresh(databases, databases.template("tpl_world_basemap", build))
