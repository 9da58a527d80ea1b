"""A Mapnik render process: reads tile requests on stdin, writes PNG tiles on stdout.

Run by the system Python that Debian's python3-mapnik is built for (`/usr/bin/python3 …`), so it
imports nothing but the standard library and mapnik: the app's venv may run another Python build
(Boost.Python in python3-mapnik crashes on import there). Protocol, all on pipes:
  start:    b"<length>\\n" and that many bytes of Mapnik XML (it holds the database password,
            so it goes through the pipe, not a file); the worker answers b"ready\\n".
  request:  b"z x y n\\n": the n×n block of 256 px tiles whose top-left tile is (z, x, y).
  answer:   b"ok k\\n" then k times (4-byte big-endian length, PNG bytes), row by row;
            or b"err message\\n" (the worker stays up).
"""

import struct
import sys

import mapnik

TILE = 256
HALF = 20037508.342789244  # half the Web Mercator square's side, metres


def render(m: "mapnik.Map", z: int, x: int, y: int, n: int, fmt: str) -> list[bytes]:
    """Render the block and cut it into tiles."""
    size = TILE * n
    span = 2 * HALF / 2**z
    x0, y1 = -HALF + x * span, HALF - y * span
    m.resize(size, size)
    m.zoom_to_box(mapnik.Box2d(x0, y1 - n * span, x0 + n * span, y1))
    image = mapnik.Image(size, size)
    mapnik.render(m, image)
    return [
        image.view(i * TILE, j * TILE, TILE, TILE).tostring(fmt) for j in range(n) for i in range(n)
    ]


def main() -> None:
    """Serve requests until stdin closes."""
    stdin = sys.stdin.buffer
    xml = stdin.read(int(stdin.readline())).decode()
    m = mapnik.Map(TILE, TILE)
    mapnik.load_map_from_string(m, xml)
    fmt = sys.argv[1] if len(sys.argv) > 1 else "png8:z=1"
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for line in iter(stdin.readline, b""):
        try:
            z, x, y, n = (int(v) for v in line.split())
            tiles = render(m, z, x, y, n, fmt)
        except Exception as exc:  # reported to the app; the worker lives on
            out.write(b"err " + str(exc).replace("\n", " ").encode() + b"\n")
            out.flush()
            continue
        out.write(b"ok %d\n" % len(tiles))
        for data in tiles:
            out.write(struct.pack(">I", len(data)))
            out.write(data)
        out.flush()


if __name__ == "__main__":
    main()
