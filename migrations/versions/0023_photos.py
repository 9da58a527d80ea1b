"""Photos of the case file: stored files, incident photos by stage, require_photos, media_url.

Revision ID: 0023_photos
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_photos"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Defaults fill existing rows, so this runs forward on a populated database.
    op.add_column(
        "categories",
        sa.Column(
            "require_photos",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="handle needs an 'after' photo",
        ),
    )
    op.add_column(
        "incidents",
        sa.Column(
            "media_url",
            sa.Text(),
            nullable=True,
            comment="a media_url sent by an Open311 client (not fetched)",
        ),
    )
    op.create_table(
        "photo_files",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("thumb_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_photo_files_sha256_hex")),
        sa.CheckConstraint(
            "bytes > 0 AND thumb_bytes > 0 AND width > 0 AND height > 0",
            name=op.f("ck_photo_files_sizes"),
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photo_files")),
    )
    op.create_table(
        "incident_photos",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column(
            "upload_sha256", sa.Text(), nullable=False, comment="SHA-256 of the bytes as uploaded"
        ),
        sa.Column("original_format", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "captured_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="EXIF DateTimeOriginal",
        ),
        sa.Column("capture_lon", sa.Double(), nullable=True, comment="EXIF GPS, WGS 84"),
        sa.Column("capture_lat", sa.Double(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by", sa.Text(), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "stage IN ('report', 'before', 'after', 'verify', 'info')",
            name=op.f("ck_incident_photos_stage"),
        ),
        sa.CheckConstraint(
            "(capture_lon IS NULL) = (capture_lat IS NULL)",
            name=op.f("ck_incident_photos_capture_point"),
        ),
        sa.CheckConstraint(
            "(hidden_at IS NULL) = (hidden_reason IS NULL) AND (hidden_at IS NULL) = "
            "(hidden_by IS NULL)",
            name=op.f("ck_incident_photos_hidden"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_photos_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["photo_files.sha256"], name=op.f("fk_incident_photos_sha256_photo_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_photos")),
    )
    op.create_index(
        "ix_incident_photos_incident_id", "incident_photos", ["incident_id", "id"], unique=False
    )
    op.create_index("ix_incident_photos_sha256", "incident_photos", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incident_photos_sha256", table_name="incident_photos")
    op.drop_index("ix_incident_photos_incident_id", table_name="incident_photos")
    op.drop_table("incident_photos")
    op.drop_table("photo_files")
    op.drop_column("incidents", "media_url")
    op.drop_column("categories", "require_photos")
