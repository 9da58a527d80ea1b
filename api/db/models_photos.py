"""Tables of the case file's photos (migration 0023_photos).

`photo_files` is one row per stored file (content address = SHA-256 of the served JPEG);
`incident_photos` says which incident, stage and uploader each photo belongs to, with what EXIF
said about where and when it was taken (shown to staff only). Categories gain `require_photos`
(an `after` photo before `handle`), incidents the `media_url` an Open311 client sent.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)

from api.db.models import categories, incidents, metadata

STAGES = ("report", "before", "after", "verify", "info")

categories.append_column(
    Column(
        "require_photos",
        Boolean,
        nullable=False,
        server_default=text("false"),
        comment="handle needs an 'after' photo",
    )
)
incidents.append_column(
    Column("media_url", Text, comment="a media_url sent by an Open311 client (not fetched)")
)

photo_files = Table(
    "photo_files",
    metadata,
    Column("sha256", Text, primary_key=True),
    Column("bytes", Integer, nullable=False),
    Column("thumb_bytes", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    CheckConstraint("bytes > 0 AND thumb_bytes > 0 AND width > 0 AND height > 0", name="sizes"),
)

incident_photos = Table(
    "incident_photos",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), nullable=False),
    Column("stage", Text, nullable=False),
    Column("sha256", Text, ForeignKey("photo_files.sha256"), nullable=False),
    Column("upload_sha256", Text, nullable=False, comment="SHA-256 of the bytes as uploaded"),
    Column("original_format", Text, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("uploaded_by", Text, nullable=False),
    Column("uploaded_by_user_id", BigInteger),
    Column("captured_at", DateTime(timezone=True), comment="EXIF DateTimeOriginal"),
    Column("capture_lon", Double, comment="EXIF GPS, WGS 84"),
    Column("capture_lat", Double),
    Column("hidden_at", DateTime(timezone=True)),
    Column("hidden_by", Text),
    Column("hidden_reason", Text),
    CheckConstraint(
        "stage IN (" + ", ".join(f"'{s}'" for s in STAGES) + ")",
        name="stage",
    ),
    CheckConstraint("(capture_lon IS NULL) = (capture_lat IS NULL)", name="capture_point"),
    CheckConstraint(
        "(hidden_at IS NULL) = (hidden_reason IS NULL) AND (hidden_at IS NULL) = "
        "(hidden_by IS NULL)",
        name="hidden",
    ),
    Index("ix_incident_photos_incident_id", "incident_id", "id"),
    Index("ix_incident_photos_sha256", "sha256"),
)
