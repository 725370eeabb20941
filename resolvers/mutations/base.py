"""Helpers every mutation resolver uses: scopes, ids, userErrors, transactions, observers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from socialcrm.plugins.models import CustomerChange
from socialcrm.schema.errors import UserError, UserErrorCode
from socialcrm.schema.node import from_global_id
from socialcrm.server.auth import Viewer
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.interactions import notify_customer_changed
from socialcrm.server.services import Services

MAX_DATA_BYTES = 64_000
"""The largest JSON document a mutation stores in a ``data`` field."""


def services_of(info: strawberry.Info) -> Services:
    """The process's services, from the request context."""
    return info.context.services  # type: ignore[no-any-return]


def require_scope(info: strawberry.Info, scope: str) -> Viewer:
    """The viewer, when its token holds ``scope``; otherwise a FORBIDDEN GraphQL error.

    Checked before anything is read or written, so a refused mutation changes nothing.
    """
    return info.context.require(scope)  # type: ignore[no-any-return]


def user_error(exc: Exception, sent: Mapping[str, str | None] | None = None) -> UserError:
    """The ``UserError`` of a rejected change: any exception with ``code`` and ``field``.

    ``sent`` maps input fields to the global ids the client sent in them. The storage layer
    knows only internal numbers and never puts them in its messages; when the error is about
    one of these fields, the message quotes the id as the client sent it.
    """
    try:
        code = UserErrorCode[getattr(exc, "code", "")]
    except KeyError:
        # A code the schema does not list yet: the nearest general one; the message says more.
        code = UserErrorCode.CONFLICT
    message = getattr(exc, "message", None) or str(exc)
    field = getattr(exc, "field", None)
    given = (sent or {}).get(field) if field is not None else None
    if given is not None and repr(given) not in message:
        message = f"{message} ({field} {given!r})"
    return UserError(field=field, message=message, code=code)


def decode_id(global_id: str, type_name: str, field: str) -> int:
    """The primary key of a global id of ``type_name``.

    Raises ``ChangeRejected``: INVALID for a malformed id, NOT_FOUND for the id of another
    type (nothing of that type has it).
    """
    parsed = from_global_id(global_id)
    if parsed is None:
        raise ChangeRejected(f"{global_id!r} is not a global id", code="INVALID", field=field)
    if parsed[0] != type_name:
        raise ChangeRejected(
            f"no {type_name.lower()} with id {global_id!r}", code="NOT_FOUND", field=field
        )
    return parsed[1]


def check_json_object(value: Any, field: str) -> dict[str, Any]:
    """A JSON argument that must be an object of bounded size."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ChangeRejected(f"{field} must be a JSON object", code="INVALID", field=field)
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_DATA_BYTES:
        raise ChangeRejected(f"{field} exceeds {MAX_DATA_BYTES} bytes", code="INVALID", field=field)
    return value


@asynccontextmanager
async def transaction(services: Services) -> AsyncIterator[AsyncSession]:
    """One session in one transaction: committed on success, rolled back on any error."""
    async with services.sessions() as session, session.begin():
        yield session


async def announce_changes(services: Services, changes: Iterable[CustomerChange]) -> None:
    """Run the ``scrm_customer_changed`` observers for committed changes (failures logged)."""
    for change in changes:
        await notify_customer_changed(services, change)
