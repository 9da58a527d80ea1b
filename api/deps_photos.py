"""Dependencies of photo uploads: multipart parts read within limits, and files tied to commit.

`PhotoWritesDep` yields the request's `PhotoWrites` and, when it wrote files, commits the
request's transaction itself before the connection goes back to the pool: if the request fails,
or the commit does, the files are removed *before* the rollback (so a concurrent upload of the
same picture, waiting on our uncommitted `photo_files` row, writes its own copy afterwards).
It must run at function scope, inside `ConnDep`, so it is torn down before the connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.deps import ConnDep, SettingsDep
from api.errors import BadRequest, PayloadTooLarge, ValidationFailed
from api.schemas.incidents import IncidentIn
from api.services.photos.image import check_declared
from api.services.photos.incident_photos import store_for
from api.services.photos.store import PhotoWrites
from api.settings import PhotoSettings

MAX_FIELDS = 100  # non-file parts of one upload
MAX_FIELD_BYTES = 256 * 1024  # the `report` JSON or one form value
MULTIPART = "multipart/form-data"


@dataclass
class Upload:
    """One uploaded file: its bytes and what the client said it is."""

    data: bytes
    content_type: str | None
    filename: str | None


@dataclass
class Parts:
    """A multipart body: text fields and the files of the photo field."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)  # every text field, in order


def is_multipart(request: Request) -> bool:
    """Whether the request body is multipart/form-data."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == MULTIPART


async def read_parts(request: Request, limits: PhotoSettings, photo_field: str) -> Parts:
    """Read a multipart body: at most `max_photos` files named `photo_field`, each within the
    byte limit (413 before it is read into memory), declared types checked (415)."""
    try:
        form: FormData = await request.form(
            max_files=MAX_FIELDS, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
    except Exception as exc:  # Starlette: HTTPException(400) for a malformed body
        raise BadRequest(f"The multipart body could not be read: {exc}.") from exc
    parts = Parts()
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == photo_field:
                    parts.files.append(await _read_photo(value, limits, photo_field))
                elif name == "report":  # the JSON part sent as a Blob
                    parts.fields[name] = (await value.read(MAX_FIELD_BYTES + 1)).decode(
                        "utf-8", errors="replace"
                    )
                else:
                    raise _unknown_part(name, photo_field)
            elif name == photo_field:
                raise ValidationFailed(
                    f"'{photo_field}' must be a file part (a photo), not a text value.",
                    {"problems": [{"field": photo_field, "problem": "not a file"}]},
                )
            else:
                parts.fields[name] = value
                parts.pairs.append((name, value))
            if len(parts.files) > limits.max_photos:
                raise ValidationFailed(
                    f"At most {limits.max_photos} photos per request.",
                    {"problems": [{"field": photo_field, "problem": "too many photos"}]},
                )
    finally:
        await form.close()
    return parts


def _unknown_part(name: str, photo_field: str) -> ValidationFailed:
    return ValidationFailed(
        f"Unexpected file part '{name}': photos go in parts named '{photo_field}'.",
        {"problems": [{"field": name, "problem": "unexpected file"}]},
    )


async def _read_photo(upload: UploadFile, limits: PhotoSettings, name: str) -> Upload:
    size = upload.size if upload.size is not None else 0
    if size > limits.max_photo_bytes:
        check_declared(upload.content_type, limits, size)  # 413 before reading it in
    data = await upload.read(limits.max_photo_bytes + 1)
    if len(data) > limits.max_photo_bytes:
        raise PayloadTooLarge(
            f"A photo may be at most {limits.max_photo_bytes} bytes.",
            {"max_bytes": limits.max_photo_bytes},
        )
    return Upload(data, upload.content_type, upload.filename)


@dataclass
class ReportUpload:
    """POST /api/v1/incidents: the report and any photos sent with it."""

    report: IncidentIn
    photos: list[Upload]


def _validated(raw: bytes | str) -> IncidentIn:
    """The report as FastAPI would validate a JSON body (same errors: 400 or 422)."""
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        return IncidentIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


async def report_upload(request: Request, settings: SettingsDep) -> ReportUpload:
    """The body of POST /api/v1/incidents: JSON, or multipart with `report` and `photo` parts."""
    if not is_multipart(request):
        return ReportUpload(_validated(await request.body()), [])
    parts = await read_parts(request, settings.photos, "photo")
    report = parts.fields.get("report")
    if report is None:
        raise ValidationFailed(
            "A multipart report needs a part named 'report' holding the report as JSON.",
            {"problems": [{"field": "report", "problem": "missing"}]},
        )
    return ReportUpload(_validated(report), parts.files)


ReportUploadDep = Annotated[ReportUpload, Depends(report_upload)]


async def photo_writes(
    request: Request, conn: ConnDep, settings: SettingsDep
) -> AsyncIterator[PhotoWrites]:
    """The request's file writes; removed again unless its transaction commits."""
    writes = PhotoWrites(store_for(settings))
    try:
        yield writes
        if writes.created:
            await run_in_threadpool(conn.commit)
    except BaseException:
        if writes.created:
            await run_in_threadpool(writes.discard)
        raise


PhotoWritesDep = Annotated[PhotoWrites, Depends(photo_writes, scope="function")]


def form_value(parts: Parts, name: str, default: str | None = None) -> Any:
    """A text field of a multipart body (stripped), or `default`."""
    value = parts.fields.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else default
