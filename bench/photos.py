"""Photo processing cost (issue 16): what one uploaded photo costs the server before it is stored.

    .venv/bin/python -m bench.photos            # 5 runs per kind
    .venv/bin/python -m bench.photos --runs 2   # a quick run

Pure CPU (no database): decode, EXIF, orientation, re-encode ≤ 2048 px and thumbnail, as
`api/services/photo_image.process_photo` does for every upload. Images are made here with
Pillow (a phone-sized 12 MP JPEG with EXIF, an 8 MP PNG, a WebP, an HEIC) plus the refusals that
must stay cheap (a decompression bomb, a non-image). Figures only: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import time
from collections.abc import Callable

from PIL import Image
from rich.console import Console
from rich.table import Table

from api.errors import DomainError
from api.services.photos.image import process_photo
from api.settings import PhotoSettings
from tests.photo_util import heic, jpeg_with_gps, not_an_image, png_bomb


def _noisy(size: tuple[int, int], fmt: str) -> bytes:
    """A picture with texture (flat colour would flatter the encoders)."""
    im = Image.effect_noise(size, 64).convert("RGB")
    out = io.BytesIO()
    im.save(out, fmt, quality=90) if fmt != "PNG" else im.save(out, fmt)
    return out.getvalue()


KINDS: dict[str, tuple[Callable[[], bytes], str]] = {
    "JPEG 4000×3000 + EXIF, flat": (lambda: jpeg_with_gps(size=(4000, 3000)), "image/jpeg"),
    "JPEG 8000×6000 (48 MP) + EXIF, flat": (lambda: jpeg_with_gps(size=(8000, 6000)), "image/jpeg"),
    "JPEG 4000×3000 textured": (lambda: _noisy((4000, 3000), "JPEG"), "image/jpeg"),
    "PNG 1800×1600 textured": (lambda: _noisy((1800, 1600), "PNG"), "image/png"),
    "WebP 3000×2000 textured": (lambda: _noisy((3000, 2000), "WEBP"), "image/webp"),
    "HEIC 4032×3024": (lambda: heic((4032, 3024)), "image/heic"),
    "PNG bomb 20000×20000 (refused)": (png_bomb, "image/png"),
    "text as image/jpeg (refused)": (not_an_image, "image/jpeg"),
}


def main(argv: list[str] | None = None) -> None:
    """Time each kind `--runs` times; print the median and the served sizes."""
    p = argparse.ArgumentParser(prog="python -m bench.photos")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args(argv)
    limits = PhotoSettings()
    table = Table(title="Photo processing per upload (one core)", title_justify="left")
    for col in ("photo", "upload KB", "median ms", "served KB", "thumb KB", "result"):
        table.add_column(col, justify="left" if col in ("photo", "result") else "right")
    for name, (make, ctype) in KINDS.items():
        data = make()
        times, result, served, thumb = [], "", 0, 0
        for _ in range(a.runs):
            start = time.perf_counter()
            try:
                out = process_photo(data, ctype, limits)
                result = f"{out.width}×{out.height}"
                served, thumb = len(out.photo), len(out.thumb)
            except DomainError as exc:
                result = f"{exc.status} {exc.code}"
            times.append((time.perf_counter() - start) * 1000)
        table.add_row(
            name,
            f"{len(data) / 1024:,.0f}",
            f"{statistics.median(times):,.0f}",
            f"{served / 1024:,.0f}" if served else "—",
            f"{thumb / 1024:,.1f}" if thumb else "—",
            result,
        )
    console = Console()
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
