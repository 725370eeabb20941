"""Seeding helpers of the GraphQL read tests: rows written straight into the tables."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.schema.node import to_global_id
from socialcrm.server import tables

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Seed:
    """Adds rows of one or several workspaces; each method returns the row (with its id)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._serial = itertools.count(1)

    async def add(self, *rows: Any) -> Any:
        async with self.sessions() as session, session.begin():
            session.add_all(rows)
        return rows[0] if len(rows) == 1 else rows

    async def customer(self, workspace: tables.Workspace, **fields: Any) -> tables.Customer:
        fields.setdefault("display_name", f"Customer {next(self._serial)}")
        return await self.add(tables.Customer(workspace_id=workspace.id, **fields))  # type: ignore[no-any-return]

    async def identity(
        self, customer: tables.Customer, channel: str = "wechat", **fields: Any
    ) -> tables.Identity:
        fields.setdefault("external_id", f"ext-{next(self._serial)}")
        return await self.add(  # type: ignore[no-any-return]
            tables.Identity(
                workspace_id=customer.workspace_id,
                customer_id=customer.id,
                channel=channel,
                **fields,
            )
        )

    async def tag(self, customer: tables.Customer, *names: str) -> None:
        async with self.sessions() as session, session.begin():
            for name in names:
                tag = tables.Tag(workspace_id=customer.workspace_id, name=name)
                session.add(tag)
                await session.flush()
                session.add(
                    tables.CustomerTag(
                        customer_id=customer.id, tag_id=tag.id, workspace_id=customer.workspace_id
                    )
                )

    async def tag_existing(self, customer: tables.Customer, tag: tables.Tag) -> None:
        await self.add(
            tables.CustomerTag(
                customer_id=customer.id, tag_id=tag.id, workspace_id=customer.workspace_id
            )
        )

    async def score(self, customer: tables.Customer, **fields: Any) -> tables.Score:
        return await self.add(  # type: ignore[no-any-return]
            tables.Score(customer_id=customer.id, workspace_id=customer.workspace_id, **fields)
        )

    async def interaction(
        self, customer: tables.Customer, minutes: int = 0, **fields: Any
    ) -> tables.Interaction:
        fields.setdefault("channel", "wechat")
        fields.setdefault("kind", "message")
        fields.setdefault("direction", "inbound")
        fields.setdefault("occurred_at", T0 + timedelta(minutes=minutes))
        return await self.add(  # type: ignore[no-any-return]
            tables.Interaction(
                workspace_id=customer.workspace_id, customer_id=customer.id, **fields
            )
        )

    async def community(self, workspace: tables.Workspace, **fields: Any) -> tables.Community:
        fields.setdefault("name", f"Community {next(self._serial)}")
        return await self.add(tables.Community(workspace_id=workspace.id, **fields))  # type: ignore[no-any-return]

    async def member(
        self, community: tables.Community, customer: tables.Customer, role: str = "member"
    ) -> tables.Membership:
        return await self.add(  # type: ignore[no-any-return]
            tables.Membership(
                workspace_id=community.workspace_id,
                community_id=community.id,
                customer_id=customer.id,
                role=role,
            )
        )


def gid(row: Any) -> str:
    """The global id of a seeded row."""
    return to_global_id(type(row).__name__, row.id)
