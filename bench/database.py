"""The bench database: created (or kept), then migrated with the project's migrations."""

from __future__ import annotations

import argparse
import os
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


def add_database_arguments(
    parser: argparse.ArgumentParser, *, env: str, default_url: str, small: str
) -> None:
    """The options every bench shares: its database (``--database-url``, or the variable
    ``env``), ``--reuse``, and the data's size (``--small``, whose size ``small`` says,
    ``--customers``, ``--interactions``)."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get(env, default_url),
        help=f"postgresql+asyncpg:// URL of the bench database (env {env})",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database if it exists (seeding is skipped when the data is there); "
        "without it the database is dropped and created anew",
    )
    parser.add_argument("--small", action="store_true", help=small)
    parser.add_argument("--customers", type=int, help="override the number of customers")
    parser.add_argument("--interactions", type=int, help="override the number of interactions")
