"""The bench database: created (or kept), then migrated with the project's migrations."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.baseline import asyncpg_dsn


async def prepare_database(url: str, reuse: bool) -> None:
    """Create the database (dropping it first unless ``reuse``) and migrate it."""
    from socialcrm.server.migrations import upgrade_database

    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise SystemExit("the database URL names no database")
    admin = await asyncpg.connect(asyncpg_dsn(render_url(parsed.set(database="postgres"))))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        quoted = '"' + name.replace('"', '""') + '"'
        if exists and not reuse:
            print(f"dropping database {name} (use --reuse to keep it)")
            await admin.execute(f"DROP DATABASE {quoted} WITH (FORCE)")
            exists = False
        if not exists:
            await admin.execute(f"CREATE DATABASE {quoted}")
            print(f"created database {name}")
    finally:
        await admin.close()
    started = time.perf_counter()
    await upgrade_database(url)
    print(f"migrated in {time.perf_counter() - started:.1f} s")


def render_url(url: Any) -> str:
    """The URL as text, password included (to connect with)."""
    rendered: str = url.render_as_string(hide_password=False)
    return rendered
