"""Photos of the case file: stored files, incident photos by stage, require_photos, media_url."""

import sqlalchemy as sa
from alembic import op

from migrations.ddl import (
    TS,
    checks,
    col,
    create_index,
    drop_index,
    fk,
    flag_column,
    now_column,
    pk,
)

revision = "0023_photos"
down_revision = "0001"

OPEN311_MEDIA_URL = "a media_url sent by an Open311 client (not fetched)"


def upgrade() -> None:
    # Defaults fill existing rows, so this runs forward on a populated database.
    op.add_column("categories", flag_column("require_photos", "handle needs an 'after' photo"))
    op.add_column("incidents", col("media_url", sa.Text(), OPEN311_MEDIA_URL))
    op.create_table(
        "photo_files",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("thumb_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        now_column("created_at"),
        *checks(
            "photo_files",
            sha256_hex="sha256 ~ '^[0-9a-f]{64}$'",
            sizes="bytes > 0 AND thumb_bytes > 0 AND width > 0 AND height > 0",
        ),
        pk("photo_files", "sha256"),
    )
    op.create_table(
        "incident_photos",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        col("upload_sha256", sa.Text(), "SHA-256 of the bytes as uploaded", nullable=False),
        sa.Column("original_format", sa.Text(), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.BigInteger(), nullable=True),
        col("captured_at", TS, "EXIF DateTimeOriginal"),
        sa.Column("capture_lon", sa.Double(), nullable=True, comment="EXIF GPS, WGS 84"),
        sa.Column("capture_lat", sa.Double(), nullable=True),
        sa.Column("hidden_at", TS, nullable=True),
        sa.Column("hidden_by", sa.Text(), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        *checks(
            "incident_photos",
            stage="stage IN ('report', 'before', 'after', 'verify', 'info')",
            capture_point="(capture_lon IS NULL) = (capture_lat IS NULL)",
            hidden="(hidden_at IS NULL) = (hidden_reason IS NULL) AND (hidden_at IS NULL) = "
            "(hidden_by IS NULL)",
        ),
        fk("incident_photos", "incident_id", "incidents.id"),
        fk("incident_photos", "sha256", "photo_files.sha256"),
        pk("incident_photos", "id"),
    )
    op.create_index(
        "ix_incident_photos_incident_id", "incident_photos", ["incident_id", "id"], unique=False
    )
    create_index("incident_photos", "sha256")


def downgrade() -> None:
    drop_index("incident_photos", "sha256")
    op.drop_index("ix_incident_photos_incident_id", table_name="incident_photos")
    op.drop_table("incident_photos")
    op.drop_table("photo_files")
    op.drop_column("incidents", "media_url")
    op.drop_column("categories", "require_photos")
