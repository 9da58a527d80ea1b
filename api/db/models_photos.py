"""Tables of the case file's photos (migration 0023_photos).

`photo_files` is one row per stored file (content address = SHA-256 of the served JPEG);
`incident_photos` says which incident, stage and uploader each photo belongs to, with what EXIF
said about where and when it was taken (shown to staff only). Categories gain `require_photos`
(an `after` photo before `handle`), incidents the `media_url` an Open311 client sent.
"""

from __future__ import annotations

import sqlalchemy as sa

from api.db.models import (
    categories,
    id_column,
    incident_column,
    incidents,
    metadata,
    now_column,
    required,
)

STAGES = ("report", "before", "after", "verify", "info")

categories.append_column(
    sa.Column(
        "require_photos",
        sa.Boolean,
        nullable=False,
        server_default=sa.text("false"),
        comment="handle needs an 'after' photo",
    )
)
incidents.append_column(
    sa.Column("media_url", sa.Text, comment="a media_url sent by an Open311 client (not fetched)")
)

photo_files = sa.Table(
    "photo_files",
    metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    *required(sa.Integer, "bytes", "thumb_bytes", "width", "height"),
    now_column("created_at"),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    sa.CheckConstraint("bytes > 0 AND thumb_bytes > 0 AND width > 0 AND height > 0", name="sizes"),
)

incident_photos = sa.Table(
    "incident_photos",
    metadata,
    id_column(),
    incident_column(nullable=False),
    sa.Column("stage", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, sa.ForeignKey("photo_files.sha256"), nullable=False),
    sa.Column("upload_sha256", sa.Text, nullable=False, comment="SHA-256 of the bytes as uploaded"),
    sa.Column("original_format", sa.Text, nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("uploaded_by", sa.Text, nullable=False),
    sa.Column("uploaded_by_user_id", sa.BigInteger),
    sa.Column("captured_at", sa.DateTime(timezone=True), comment="EXIF DateTimeOriginal"),
    sa.Column("capture_lon", sa.Double, comment="EXIF GPS, WGS 84"),
    sa.Column("capture_lat", sa.Double),
    sa.Column("hidden_at", sa.DateTime(timezone=True)),
    sa.Column("hidden_by", sa.Text),
    sa.Column("hidden_reason", sa.Text),
    sa.CheckConstraint(
        "stage IN (" + ", ".join(f"'{s}'" for s in STAGES) + ")",
        name="stage",
    ),
    sa.CheckConstraint("(capture_lon IS NULL) = (capture_lat IS NULL)", name="capture_point"),
    sa.CheckConstraint(
        "(hidden_at IS NULL) = (hidden_reason IS NULL) AND (hidden_at IS NULL) = "
        "(hidden_by IS NULL)",
        name="hidden",
    ),
    sa.Index("ix_incident_photos_incident_id", "incident_id", "id"),
    sa.Index("ix_incident_photos_sha256", "sha256"),
)
