"""Tags on customers: names trimmed, case kept, created per workspace on first use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.server.customers import get_customer
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.tables import CustomerTag, Tag

MAX_TAG_LENGTH = 100
"""The longest tag name (the column's limit)."""
MAX_TAGS_PER_CHANGE = 100
"""The most tags one call may add or remove."""


def clean_tag_names(names: Iterable[str], *, field: str = "tags") -> list[str]:
    """Trim names and drop repeats, keeping their case and first-seen order.

    Raises ``ChangeRejected`` (INVALID) for an empty name, one over ``MAX_TAG_LENGTH`` or
    more than ``MAX_TAGS_PER_CHANGE`` names.
    """
    cleaned: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            raise ChangeRejected("a tag name cannot be empty", code="INVALID", field=field)
        if len(name) > MAX_TAG_LENGTH:
            raise ChangeRejected(
                f"tag {name[:20]!r}… is longer than {MAX_TAG_LENGTH} characters",
                code="INVALID",
                field=field,
            )
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS_PER_CHANGE:
        raise ChangeRejected(
            f"at most {MAX_TAGS_PER_CHANGE} tags at once", code="INVALID", field=field
        )
    return cleaned


def _insert_ignoring_duplicates(session: AsyncSession, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in the session's SQL dialect.

    Two requests may create the same tag at once; the loser must not fail.
    """
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


async def ensure_tags(session: AsyncSession, workspace_id: int, names: list[str]) -> dict[str, int]:
    """The ids of the workspace's tags ``names``, creating the missing ones."""
    if not names:
        return {}
    await session.execute(
        _insert_ignoring_duplicates(session, Tag),
        [{"workspace_id": workspace_id, "name": name} for name in names],
    )
    rows = await session.execute(
        select(col(Tag.name), col(Tag.id)).where(
            col(Tag.workspace_id) == workspace_id,
            col(Tag.name).in_(names),
        )
    )
    ids: dict[str, int] = {}
    for name, tag_id in rows:
        assert tag_id is not None  # a stored row's primary key
        ids[name] = tag_id
    return ids


async def customer_tags(session: AsyncSession, workspace_id: int, customer_id: int) -> list[str]:
    """The names of a customer's tags, sorted."""
    rows = await session.execute(
        select(col(Tag.name))
        .join(CustomerTag, col(CustomerTag.tag_id) == col(Tag.id))
        .where(
            col(CustomerTag.workspace_id) == workspace_id,
            col(CustomerTag.customer_id) == customer_id,
        )
        .order_by(Tag.name)
    )
    return list(rows.scalars())


async def tag_customer(
    session: AsyncSession, workspace_id: int, customer_id: int, names: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Put tags on a customer; returns (all its tags, the ones newly added)."""
    cleaned = clean_tag_names(names)
    await get_customer(session, workspace_id, customer_id, lock=True, field_name="customerId")
    before = set(await customer_tags(session, workspace_id, customer_id))
    ids = await ensure_tags(session, workspace_id, cleaned)
    added = [name for name in cleaned if name not in before]
    if added:
        await session.execute(
            _insert_ignoring_duplicates(session, CustomerTag),
            [
                {"customer_id": customer_id, "tag_id": ids[name], "workspace_id": workspace_id}
                for name in added
            ],
        )
    return await customer_tags(session, workspace_id, customer_id), added


async def untag_customer(
    session: AsyncSession, workspace_id: int, customer_id: int, names: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Take tags off a customer; returns (its remaining tags, the ones removed).

    Names the customer does not carry are ignored; the tags themselves stay in the workspace.
    """
    cleaned = clean_tag_names(names)
    await get_customer(session, workspace_id, customer_id, lock=True, field_name="customerId")
    return await _remove_tags(session, workspace_id, customer_id, cleaned)


async def _remove_tags(
    session: AsyncSession, workspace_id: int, customer_id: int, names: list[str]
) -> tuple[list[str], list[str]]:
    before = set(await customer_tags(session, workspace_id, customer_id))
    removed = [name for name in names if name in before]
    if removed:
        tag_ids = select(col(Tag.id)).where(
            col(Tag.workspace_id) == workspace_id,
            col(Tag.name).in_(removed),
        )
        await session.execute(
            delete(CustomerTag).where(
                col(CustomerTag.workspace_id) == workspace_id,
                col(CustomerTag.customer_id) == customer_id,
                col(CustomerTag.tag_id).in_(tag_ids.scalar_subquery()),
            )
        )
    return await customer_tags(session, workspace_id, customer_id), removed


async def set_customer_tags(
    session: AsyncSession, workspace_id: int, customer_id: int, names: Iterable[str]
) -> tuple[list[str], list[str], list[str]]:
    """Make a customer's tags exactly ``names``; returns (its tags, added, removed)."""
    cleaned = clean_tag_names(names)
    before = await customer_tags(session, workspace_id, customer_id)
    _, added = await tag_customer(session, workspace_id, customer_id, cleaned)
    gone = [name for name in before if name not in cleaned]
    tags, removed = await _remove_tags(session, workspace_id, customer_id, gone)
    return tags, added, removed
