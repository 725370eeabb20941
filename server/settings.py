"""Server settings, read from ``SCRM_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WILDCARD_HOSTS = ("", "0.0.0.0", "::")
"""Hosts that bind every interface; a URL names the loopback address instead."""


def local_url(host: str, port: int) -> str:
    """``http://host:port`` of a bound interface, as a browser on this machine reaches it."""
    name = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in name:
        name = f"[{name}]"  # an IPv6 address
    return f"http://{name}:{port}"


class Settings(BaseSettings):
    """Every knob of the server; each field is the ``SCRM_``-prefixed variable of its name."""

    model_config = SettingsConfigDict(env_prefix="SCRM_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./scrm.db"
    """``sqlite+aiosqlite:///path`` (embedded) or ``postgresql+asyncpg://user@host/db``."""
    broker_url: str | None = None
    """Event bus: unset for in-memory (one process); ``postgresql://…`` for LISTEN/NOTIFY."""
    public_url: str = ""
    """Where platforms reach this server; webhook URLs are built from it. Unset, it is
    ``http://{host}:{port}`` (see ``local_url``), so changing the port alone is enough."""
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_000_000
    """Larger request bodies are refused with 413."""
    max_page_size: int = 100
    """The most items a connection returns at once (``first``)."""
    max_query_depth: int = 12
    max_aliases: int = 30
    subscriber_queue_size: int = 1000
    """Events buffered per subscription; beyond it the oldest are dropped."""
    token_recheck_seconds: float = 10.0
    """How often each open WebSocket's token is read again from the database; a connection
    whose token was revoked or expired (or whose workspace is gone) closes with 4403 within it."""
    poll_interval_seconds: float = 60.0
    """How often pull-based channels are polled; 0 turns polling off."""
    db_pool_size: int = 10
    graphiql: bool = False
    """Serve GraphiQL on a GET of ``/graphql`` from a browser; on in the demo (``make run``)."""
    introspection: Literal["on", "token", "off"] = "token"
    """Who may read the schema (``__schema``, ``__type``): anyone (``on``, the demo), only
    requests with a valid token (``token``), or nobody (``off``)."""
    metrics: Literal["on", "off"] = "off"
    """Serve ``/metrics`` (Prometheus) on the API port; off, it answers 404. Turn it on only
    where the port is not reachable from outside, or scrape it through a proxy that guards it."""
    text_analysis: bool = True
    """Analyze the text of every stored interaction (language, sentiment, complaint,
    keywords); off to measure its cost."""
    compiled_reads: bool = True
    """Answer the queries ``socialcrm.resolvers.compiled`` knows with one SQL statement that builds
    the JSON in PostgreSQL; every other query (and every query on SQLite) runs the resolvers."""
    live_scoring: bool = True
    """Update a customer's scores and stage as each of their interactions is stored; off, only
    the batch rescore (``scrm rescore``, the periodic rescore) moves them."""
    rescore_interval_seconds: float = 3600.0
    """How often each workspace is rescored in the background (docs/scoring.md); 0 turns the
    periodic rescore off."""

    @model_validator(mode="after")
    def _derive_public_url(self) -> Settings:
        if not self.public_url:
            self.public_url = local_url(self.host, self.port)
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings``)."""
    return Settings()
