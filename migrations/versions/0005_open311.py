"""Open311: incidents keep the answers to their category's attribute questions."""

from alembic import op

from migrations.ddl import jsonb_column

revision = "0005_open311"
down_revision = "0001"


def upgrade() -> None:
    # The default fills existing rows, so this runs forward on a populated database.
    op.add_column(
        "incidents",
        jsonb_column(
            "attributes", comment="answers to the category's attributes (Open311 attribute[code])"
        ),
    )


def downgrade() -> None:
    op.drop_column("incidents", "attributes")
