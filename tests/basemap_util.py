"""Helpers of the base map tests: tile numbers, and finding a Chinese name drawn in an image.

A name counts as drawn when each of its characters, rendered by Pillow in the font the style
uses (Noto Sans CJK SC), matches a spot of the image by normalised cross-correlation: text is
dark on a white halo, so the image's darkness is compared with the glyph's coverage. Missing
glyphs (tofu boxes), other text or a blank map score far lower.
"""

from __future__ import annotations

import io
import math
from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageFont

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SC_INDEX = 2  # faces in the collection: JP, KR, SC, TC, HK
MATCH = 0.7  # a drawn character scores about 0.8–0.95; a missing one below 0.5


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


@cache
def glyph(char: str, size: int) -> np.ndarray:
    """A character's coverage (0…1), trimmed to its ink, as the style's font draws it."""
    font = ImageFont.truetype(CJK_FONT, size, index=SC_INDEX)
    left, top, right, bottom = font.getbbox(char)
    image = Image.new("L", (right - left, bottom - top), 0)
    from PIL import ImageDraw

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
    """Whether every character of `name` is drawn somewhere in the image."""
    return min(name_scores(image, name)) >= MATCH
