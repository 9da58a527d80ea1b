"""One head again: ties the fourteen lines of parallel features into a single revision.

Nothing changes in the schema. From here on a new revision descends from the single head, so
plain `alembic upgrade head` works as well as `gridgov migrate` (docs/decisions.md).
"""

revision = "0030_one_head"
down_revision = (
    "0005_open311",
    "0006",
    "0007_tile_notify",
    "0008",
    "0017_early_warning",
    "0021_lineage",
    "0023_photos",
    "0025_notify",
    "0025_satisfaction",
    "0027_patrols",
    "0027_whistle_end",
    "0028_scale_reads2",
    "0029_eval_times_order",
    "0029_walking",
)


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
