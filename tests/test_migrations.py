"""The Alembic history and the SQLModel tables describe the same schema, on both databases.

Each test migrates a database of its own (a fresh PostgreSQL database, a fresh SQLite file),
asks Alembic's autogenerate what it would change, and expects nothing. Then it walks the
history down to nothing and up again.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, make_url
from sqlmodel import SQLModel

import socialcrm.server.tables  # noqa: F401 - registers the tables on SQLModel.metadata
from socialcrm.server.db import create_engine
from socialcrm.server.migrations import alembic_config, upgrade_database

DEFAULT_TEST_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def fresh_postgres_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database, dropped after the test."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    name = f"scrm_migrations_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(base))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_asyncpg_dsn(base))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def fresh_sqlite_url(tmp_path: Path) -> str:
    """An SQLite database file that does not exist yet."""
    return f"sqlite+aiosqlite:///{tmp_path / 'scrm.db'}"


def _diff(connection: Connection) -> list[Any]:
    # The same options as alembic/env.py, so the test sees what `alembic revision
    # --autogenerate` would write.
    context = MigrationContext.configure(
        connection,
        opts={
            "target_metadata": SQLModel.metadata,
            "compare_type": True,
            "render_as_batch": connection.dialect.name == "sqlite",
        },
    )
    return list(compare_metadata(context, SQLModel.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _drift(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_diff)
    finally:
        await engine.dispose()


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_tables)
    finally:
        await engine.dispose()


async def _check_history(url: str) -> None:
    await upgrade_database(url)
    drift = await _drift(url)
    assert drift == [], f"the migrations and server/tables.py disagree: {drift}"
    expected = set(SQLModel.metadata.tables)
    assert expected <= await _table_names(url)

    await asyncio.to_thread(command.downgrade, alembic_config(url), "base")
    assert await _table_names(url) <= {"alembic_version"}
    # On the empty database the comparison must see every table missing: proof it looks.
    assert len(await _drift(url)) >= len(expected)

    await upgrade_database(url)
    assert expected <= await _table_names(url)
    assert await _drift(url) == []


async def test_postgres_history_matches_the_tables(fresh_postgres_url: str) -> None:
    await _check_history(fresh_postgres_url)


async def test_sqlite_history_matches_the_tables(fresh_sqlite_url: str) -> None:
    await _check_history(fresh_sqlite_url)


def test_one_head() -> None:
    """A single line of history: two heads mean two branches nobody merged."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    assert len(script.get_heads()) == 1
