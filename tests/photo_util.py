"""Real image files for the photo tests, made here with Pillow and zlib (nothing checked in).

- `jpeg_with_gps`: a camera-like JPEG, 3000×2000 landscape, EXIF orientation 6 (rotate 90°
  clockwise to view), DateTimeOriginal with offset, GPS in WGS 84;
- `png`, `webp`: plain pictures (PNG with transparency);
- `corrupt_jpeg`: a real JPEG cut in half;
- `not_an_image`: text that claims to be a JPEG;
- `png_bomb`: a real, valid 1-bit PNG of 20,000 × 20,000 pixels (400 million) that is a few
  hundred KB on disk, written row by row with zlib so the test never holds it in memory;
- `oversized_png`: a genuine PNG of random pixels over 10 MB.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api.main import create_app
from api.services.photos.store import FileStore
from tests.conftest import settings_for

# A point inside grid G1 of the synthetic world (tests/world.py): 116.0120 E, 39.0180 N.
GPS_LON, GPS_LAT = 116.0120, 39.0180


@pytest.fixture(name="photo_dir")
def photo_dir_fixture(tmp_path: Path) -> Path:
    """`photo_dir`: where the app under test stores photos (import it into a test module)."""
    return tmp_path / "photos"


@pytest.fixture(name="app")
def photo_app_fixture(world_db: str, photo_dir: Path) -> Iterator[TestClient]:
    """`app`: an HTTP client on the world, storing photos in `photo_dir`."""
    settings = settings_for(world_db)
    settings.photos.photo_dir = photo_dir
    with TestClient(create_app(settings)) as client:
        yield client


def serve_with_photos(world_db: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The world served on a free local port (tests.test_pages.serve) storing photos under
    tmp_path; yields (base URL, photo directory)."""
    from tests.test_pages import serve

    settings = settings_for(world_db)
    settings.photos.photo_dir = tmp_path / "photos"
    for url in serve(settings):
        yield url, tmp_path / "photos"


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60, 4)
    return (float(d), float(m), s)


def jpeg_with_gps(
    lon: float = GPS_LON, lat: float = GPS_LAT, size: tuple[int, int] = (3000, 2000)
) -> bytes:
    """A landscape JPEG whose EXIF says: rotate to portrait, taken then, here."""
    im = Image.new("RGB", size, (30, 120, 200))
    # a red block in the top-left corner of the stored pixels, to check the rotation
    im.paste((220, 20, 20), (0, 0, size[0] // 4, size[1] // 4))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the picture must be rotated 90° clockwise
    exif[0x010F] = "TestCam"  # Make
    exif[0x8769] = {0x9003: "2026:11:30 09:08:07", 0x9011: "+08:00"}
    exif[0x8825] = {1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)}
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def png(size: tuple[int, int] = (800, 600)) -> bytes:
    """A PNG with an alpha channel."""
    im = Image.new("RGBA", size, (0, 160, 60, 128))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def webp(size: tuple[int, int] = (640, 480)) -> bytes:
    """A WebP picture."""
    im = Image.new("RGB", size, (250, 200, 0))
    out = io.BytesIO()
    im.save(out, "WEBP", quality=80)
    return out.getvalue()


def heic(size: tuple[int, int] = (400, 300)) -> bytes:
    """An HEIC picture (iPhone's format), encoded by pillow-heif."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    im = Image.new("RGB", size, (10, 200, 30))
    out = io.BytesIO()
    im.save(out, "HEIF")
    return out.getvalue()


def corrupt_jpeg() -> bytes:
    """The first half of a real JPEG."""
    data = jpeg_with_gps(size=(600, 400))
    return data[: len(data) // 2]


def not_an_image() -> bytes:
    """Plain text, to be sent as image/jpeg."""
    return "这不是一张照片 this is not a photo\n".encode() * 50


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def png_bomb(side: int = 20_000) -> bytes:
    """A valid 1-bit greyscale PNG of side × side white pixels, compressed to almost nothing."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((side + 7) // 8)  # filter byte 0, then the packed bits
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def oversized_png(min_bytes: int = 10 * 1024 * 1024 + 1) -> bytes:
    """A PNG of random pixels (incompressible), larger than `min_bytes`."""
    side = int((min_bytes / 3) ** 0.5) + 16
    im = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=1)
    data = out.getvalue()
    assert len(data) > min_bytes
    return data


def stored_files(root: Path) -> list[str]:
    """Every file under a photo store (temporary files included: nothing may be left)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def store(root: Path) -> FileStore:
    """The store the test app writes to."""
    return FileStore(root)


def decoded(data: bytes) -> Image.Image:
    """A served photo, opened."""
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def has_gps(data: bytes) -> bool:
    """Whether any EXIF, GPS or XMP survives in the bytes."""
    im = Image.open(io.BytesIO(data))
    exif = im.getexif()
    return bool(exif) or b"Exif" in data or b"GPS" in data or "xmp" in im.info


def multipart(report: dict[str, Any], *files: tuple[bytes, str]) -> dict[str, Any]:
    """httpx keyword arguments for a multipart report with photos (bytes, content type)."""
    import json

    return {
        "data": {"report": json.dumps(report, ensure_ascii=False)},
        "files": [("photo", (f"p{i}.jpg", data, ctype)) for i, (data, ctype) in enumerate(files)],
    }
