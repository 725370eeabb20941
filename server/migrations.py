"""Apply the Alembic migrations programmatically (``scrm migrate``, tests, ``make run``).

The migration scripts are package data (``socialcrm.migrations``, the repository's
``alembic/`` folder), so this works from the installed wheel in any folder; ``alembic.ini``
stays for developers who run ``alembic`` in the checkout.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_PACKAGE = "socialcrm.migrations"


def migrations_folder() -> Path:
    """Where the installed migration scripts (``env.py``, ``versions/``) are."""
    spec = importlib.util.find_spec(MIGRATIONS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise RuntimeError(f"the {MIGRATIONS_PACKAGE} package is not installed")
    return Path(locations[0])


def alembic_config(database_url: str) -> Config:
    """Alembic's config for the installed migrations, aimed at ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


async def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Migrate ``database_url`` to ``revision`` (Alembic runs its own loop, so in a thread)."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), revision)
