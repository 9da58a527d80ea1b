"""Run Alembic programmatically against a given database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from api.db.session import sqlalchemy_url


def alembic_config(url: str) -> Config:
    """Alembic config pointing at the packaged migrations and the given database."""
    script_location = Path(migrations.__file__).parent
    cfg = Config(str(script_location / "alembic.ini"))
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate the database at `url` forward to `revision`."""
    command.upgrade(alembic_config(url), revision)


def current_heads(url: str) -> list[str]:
    """The revisions the migration scripts end in."""
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())
