"""Open311 with photos: a multipart POST with `media` from a plain HTTP client (urllib, the
body built by hand), `media_url` still accepted, and `media_url` filled in GET."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.photo_util import (
    decoded,
    has_gps,
    jpeg_with_gps,
    not_an_image,
    serve_with_photos,
    stored_files,
)

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def server(world_db: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from serve_with_photos(world_db, tmp_path)


@pytest.fixture
def api_key(world_db: str) -> str:
    from api.services.identity.auth import add_user, create_token

    with psycopg.connect(world_db) as conn:
        add_user(conn, "app311", "resident", None, None)
        return create_token(conn, "app311")


def multipart_body(
    fields: dict[str, str], files: list[tuple[str, str, bytes, str]]
) -> tuple[bytes, str]:
    """multipart/form-data by hand, as RFC 7578 lays it out."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, filename, data, ctype in files:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def send(url: str, body: bytes, ctype: str) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def fetch(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read(), r.headers["Content-Type"]
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers["Content-Type"]


FORM = {
    "service_code": "SJ0102",
    "lat": "39.02",
    "long": "116.01",
    "description": "垃圾堆放，见附图",
    "first_name": "明",
    "last_name": "李",
}


def test_open311_multipart_post_with_media(server: tuple[str, Path], api_key: str) -> None:
    base, photo_dir = server
    body, ctype = multipart_body(
        {**FORM, "api_key": api_key}, [("media", "IMG_0001.JPG", jpeg_with_gps(), "image/jpeg")]
    )
    status, answer = send(f"{base}/open311/v2/requests.json", body, ctype)
    assert status == 201, answer
    rid = answer[0]["service_request_id"]
    status, got = send_get(f"{base}/open311/v2/requests/{rid}.json")
    media = got[0]["media_url"]
    assert media.startswith(base + "/api/v1/photos/")
    code, data, served_type = fetch(media)
    assert code == 200 and served_type == "image/jpeg"
    assert decoded(data).size == (1365, 2048) and not has_gps(data)
    assert len(stored_files(photo_dir)) == 2
    # the list carries it too; XML as well
    _, listed = send_get(f"{base}/open311/v2/requests.json?service_request_id={rid}")
    assert listed[0]["media_url"] == media
    code, xml, _ = fetch(f"{base}/open311/v2/requests/{rid}.xml")
    assert f"<media_url>{media}</media_url>".encode() in xml


def send_get(url: str) -> tuple[int, Any]:
    code, data, _ = fetch(url)
    return code, json.loads(data)


def test_open311_media_url_is_kept_and_bad_media_refused(
    server: tuple[str, Path], api_key: str, world_db: str
) -> None:
    base, photo_dir = server
    body, ctype = multipart_body(
        {**FORM, "api_key": api_key, "media_url": "https://example.org/p/1.jpg"}, []
    )
    status, answer = send(f"{base}/open311/v2/requests.json", body, ctype)
    assert status == 201, answer
    rid = answer[0]["service_request_id"]
    _, got = send_get(f"{base}/open311/v2/requests/{rid}.json")
    assert got[0]["media_url"] == "https://example.org/p/1.jpg"  # kept, never fetched
    # form-encoded still works, with media_url
    form = "&".join(
        f"{k}={urllib.parse.quote(v)}"
        for k, v in {**FORM, "api_key": api_key, "media_url": "http://x.test/a.png"}.items()
    )
    status, answer = send(
        f"{base}/open311/v2/requests.json", form.encode(), "application/x-www-form-urlencoded"
    )
    assert status == 201
    # a media part that is not an image: Open311's 400 with the reason, nothing stored
    body, ctype = multipart_body(
        {**FORM, "api_key": api_key}, [("media", "a.jpg", not_an_image(), "image/jpeg")]
    )
    status, answer = send(f"{base}/open311/v2/requests.json", body, ctype)
    assert status == 400 and answer[0]["code"] == 400 and "not a JPEG" in answer[0]["description"]
    body, ctype = multipart_body({**FORM, "api_key": api_key, "media_url": "ftp://x/y"}, [])
    status, answer = send(f"{base}/open311/v2/requests.json", body, ctype)
    assert status == 400 and "media_url" in answer[0]["description"]
    with psycopg.connect(world_db) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone() == (2,)
    assert stored_files(photo_dir) == []
