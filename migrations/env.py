"""Alembic environment: URL from GridGov's settings, metadata from api.db.models."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

import api.db.models_early_warning as _early_warning  # noqa: F401  (its indexes)
from api.db import (  # noqa: F401  (tables seen by alembic check)
    models_evaluation,
    models_followup,
    models_lineage,
    models_notify,
    models_patrols,
    models_photos,
    models_sessions,
    models_urge,
    models_workflow,
)
from api.db.models import metadata
from api.db.session import database_url, sqlalchemy_url
from api.settings import DatabaseSettings

config = context.config
url = config.get_main_option("sqlalchemy.url") or sqlalchemy_url(database_url(DatabaseSettings()))

# PostGIS owns these; autogenerate must not try to drop them.
IGNORED_TABLES = {"spatial_ref_sys", "topology", "layer"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and name in IGNORED_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def run_migrations() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("GridGov migrations run online only: use `gridgov migrate`.")
run_migrations()
