"""Turning an uploaded file into the photo GridGov serves (Pillow; HEIC through pillow-heif).

The bytes decide what a file is, not the name or the declared Content-Type: a file is decoded in
full to prove it is an image, turned upright by its EXIF orientation, and re-encoded as a JPEG
without any metadata (so GPS and camera data never leave the server) at most `photo_max_side`
pixels long, plus a thumbnail. Capture time and place are read from EXIF first and kept in the
database for staff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from api.errors import InvalidImage, PayloadTooLarge, UnsupportedMediaType
from api.settings import PhotoSettings

try:  # HEIC/HEIF (iPhone photos): only when the plugin's wheel installed on this platform
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - depends on the platform's wheels
    HEIF = False

# What the bytes may be: magic numbers → Pillow format name.
FORMATS = ("JPEG", "PNG", "WEBP", *(("HEIF",) if HEIF else ()))
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif")
# Declared types a browser or phone may send for a photo; anything else is refused (415).
ACCEPTED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/heic-sequence",
        "image/heif-sequence",
        "application/octet-stream",  # many HTTP clients' default for a file part
        "",
    }
)
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, OFFSET_ORIGINAL, DATETIME = 0x9003, 0x9011, 0x0132
JPEG_QUALITY, THUMB_QUALITY = 85, 80
# EXIF orientation → the transposition that shows the picture upright (as ImageOps.exif_transpose)
ORIENTATION_TAG = 0x0112
ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Processed:
    """A photo ready to store: served bytes, thumbnail, and what EXIF said (staff only)."""

    photo: bytes
    thumb: bytes
    width: int
    height: int
    original_format: str
    upload_sha256: str
    captured_at: dt.datetime | None
    capture_lon: float | None
    capture_lat: float | None

    @property
    def sha256(self) -> str:
        """The content address of the served bytes."""
        return hashlib.sha256(self.photo).hexdigest()


def sniff(data: bytes) -> str | None:
    """The image format the first bytes announce, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "HEIF"
    return None


def check_declared(content_type: str | None, limits: PhotoSettings, size: int) -> None:
    """Refuse by size (413) or by a declared type that is not a photo (415) before decoding."""
    if size > limits.max_photo_bytes:
        raise PayloadTooLarge(
            f"A photo may be at most {limits.max_photo_bytes // (1024 * 1024)} MB "
            f"({limits.max_photo_bytes} bytes); this one is {size} bytes.",
            {"max_bytes": limits.max_photo_bytes, "bytes": size},
        )
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            f"'{declared}' is not a photo type GridGov accepts; send JPEG, PNG, WebP"
            + (" or HEIC." if HEIF else "."),
            {"content_type": declared, "accepted": sorted(t for t in ACCEPTED_TYPES if t)},
        )


def _invalid(message: str, reason: str, **details: Any) -> InvalidImage:
    return InvalidImage(message, {"reason": reason, **details})


def process_photo(data: bytes, content_type: str | None, limits: PhotoSettings) -> Processed:
    """Check and re-encode one uploaded photo; raises 413/415/422 errors, stores nothing."""
    check_declared(content_type, limits, len(data))
    fmt = sniff(data)
    if fmt is None or fmt not in FORMATS:
        raise _invalid(
            "This file is not a JPEG, PNG, WebP or HEIC photo (whatever its name or type says).",
            "not_an_image",
        )
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice it; here every bomb is an error
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                pixels = im.width * im.height
                if pixels > limits.max_photo_pixels or pixels <= 0:
                    raise _invalid(
                        f"The picture has {im.width} × {im.height} pixels; at most "
                        f"{limits.max_photo_pixels} pixels are accepted.",
                        "too_many_pixels",
                        width=im.width,
                        height=im.height,
                        max_pixels=limits.max_photo_pixels,
                    )
                exif = im.getexif()
                if fmt == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that is enough
                    im.draft("RGB", (limits.photo_max_side, limits.photo_max_side))
                im.load()  # decodes everything: a truncated or corrupt file fails here
                photo = _rgb(im) if im.mode not in ("RGB", "L") else im.copy()
        except InvalidImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _invalid(
                "The picture unpacks to far too many pixels.", "too_many_pixels"
            ) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _invalid(
                f"The {fmt} file could not be decoded (corrupt or incomplete).", "corrupt"
            ) from exc
    captured_at = _captured_at(exif)
    lon, lat = _gps(exif)
    side = limits.photo_max_side
    # shrink first, then turn upright and convert: both cost per pixel
    photo.thumbnail((side, side), Image.Resampling.LANCZOS)
    turn = ORIENTATION.get(exif.get(ORIENTATION_TAG, 1))
    if turn is not None:
        photo = photo.transpose(turn)
    photo = photo.convert("RGB")
    served = _jpeg(photo, JPEG_QUALITY)
    thumb = photo.copy()
    thumb.thumbnail((limits.thumb_side, limits.thumb_side), Image.Resampling.LANCZOS)
    return Processed(
        photo=served,
        thumb=_jpeg(thumb, THUMB_QUALITY),
        width=photo.width,
        height=photo.height,
        original_format=fmt,
        upload_sha256=hashlib.sha256(data).hexdigest(),
        captured_at=captured_at,
        capture_lon=lon,
        capture_lat=lat,
    )


def _rgb(im: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (JPEG has no alpha)."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return im.convert("RGB")


def _jpeg(im: Image.Image, quality: int) -> bytes:
    """JPEG bytes with no EXIF, XMP, ICC or comment: nothing is passed on but pixels."""
    out = io.BytesIO()
    # no `optimize`: it saves a few per cent of bytes for several times the encoding time
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _captured_at(exif: Image.Exif) -> dt.datetime | None:
    """DateTimeOriginal (with its offset when the camera wrote one), else DateTime."""
    sub = exif.get_ifd(EXIF_IFD)
    text = sub.get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(OFFSET_ORIGINAL)
    if isinstance(offset, str):
        try:
            return dt.datetime.fromisoformat(when.isoformat() + offset.strip("\x00 "))
        except ValueError:
            pass
    return when  # naive: the camera's local time; the caller reads it in the service's zone


def _degrees(value: Any) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    return result if math.isfinite(result) else None


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    """(lon, lat) in WGS 84 from the GPS IFD, or (None, None)."""
    gps = exif.get_ifd(GPS_IFD)
    lat, lon = _degrees(gps.get(2)), _degrees(gps.get(4))
    if lat is None or lon is None:
        return None, None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lon, lat
