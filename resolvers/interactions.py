"""Interaction lists: the root `interactions` connection and `Customer.interactions`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import strawberry

from socialcrm.resolvers.context import Context
from socialcrm.resolvers.pagination import decode_cursor, encode_cursor, page_info, page_size
from socialcrm.schema.errors import BadUserInput
from socialcrm.schema.interaction import Interaction, InteractionConnection, InteractionEdge
from socialcrm.schema.node import pk_of
from socialcrm.schema.pagination import CountFn
from socialcrm.server import read
from socialcrm.server.read import InteractionCriteria, Range

if TYPE_CHECKING:
    from socialcrm.schema.customer import FloatRange
    from socialcrm.schema.interaction import InteractionFilter

CURSOR_KIND = "interaction"


def global_pk(global_id: str, type_name: str, argument: str) -> int:
    """The primary key of a global id of ``type_name``; raises ``BadUserInput`` otherwise."""
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise BadUserInput(
            f"{argument} must be the global id of a {type_name}, not {global_id!r}", field=argument
        )
    return pk


def criteria_of(filter: InteractionFilter | None, *, nested: bool = False) -> InteractionCriteria:
    """The storage criteria of a GraphQL filter; ``nested`` ignores `customer` (the parent)."""
    if filter is None:
        return InteractionCriteria()
    return InteractionCriteria(
        channels=tuple(filter.channel or ()),
        kinds=tuple(str(kind.value) for kind in filter.kind or ()),
        direction=str(filter.direction.value) if filter.direction is not None else None,
        customer_id=(
            global_pk(filter.customer, "Customer", "filter.customer")
            if filter.customer is not None and not nested
            else None
        ),
        community_id=(
            global_pk(filter.community, "Community", "filter.community")
            if filter.community is not None
            else None
        ),
        occurred_after=filter.occurred_after,
        occurred_before=filter.occurred_before,
        languages=tuple(sorted(set(filter.language or ()))),
        is_complaint=filter.is_complaint,
        sentiment=range_of(filter.sentiment),
    )


def range_of(bounds: FloatRange | None) -> Range | None:
    """The storage range of a GraphQL range; None when neither end is given."""
    if bounds is None or (bounds.min is None and bounds.max is None):
        return None
    return Range(bounds.min, bounds.max)


def decode_after(after: str | None) -> tuple[datetime, int] | None:
    """The keyset position of an interaction cursor."""
    if after is None:
        return None
    occurred_at, pk = decode_cursor(after, CURSOR_KIND, 2)
    try:
        return datetime.fromisoformat(occurred_at), int(pk)
    except (TypeError, ValueError):
        raise BadUserInput("`after` is not a valid cursor") from None


def connection(
    items: Sequence[Interaction], size: int, after: str | None, count: CountFn
) -> InteractionConnection:
    """A connection of the first ``size`` of ``items`` (one more means a next page)."""
    edges = [InteractionEdge.of(item, cursor_of) for item in items[:size]]
    # Only the first and last cursors go into the page info.
    ends = [edges[0].cursor, edges[-1].cursor] if edges else []
    return InteractionConnection(
        edges=edges, page_info=page_info(ends, len(items) > size, after), count=count
    )


def cursor_of(item: Interaction) -> str:
    """The cursor of an interaction in a list sorted newest first."""
    return encode_cursor(CURSOR_KIND, item.occurred_at.isoformat(), item.pk)


async def interactions(
    info: strawberry.Info,
    filter: InteractionFilter | None,
    first: int | None,
    after: str | None,
) -> InteractionConnection:
    """The root `interactions` field."""
    ctx: Context = info.context
    size = page_size(first, ctx.services.settings.max_page_size)
    criteria = criteria_of(filter)
    workspace_id = ctx.workspace_id
    rows = await ctx.db.all(
        read.interactions_page(workspace_id, criteria, decode_after(after), size + 1)
    )

    async def count() -> int:
        return int(await ctx.db.scalar(read.interactions_count(workspace_id, criteria)))

    return connection([Interaction.from_read_row(row) for row in rows], size, after, count)


async def customer_interactions(
    info: strawberry.Info,
    customer_pk: int,
    first: int | None,
    after: str | None,
    filter: InteractionFilter | None,
) -> InteractionConnection:
    """`Customer.interactions`: one statement for the whole page of customers."""
    ctx: Context = info.context
    size = page_size(first, ctx.services.settings.max_page_size)
    criteria = criteria_of(filter, nested=True)
    loaders = ctx.loaders
    items = await loaders.customer_interactions.load(
        (customer_pk, criteria, decode_after(after), size + 1)
    )

    async def count() -> int:
        return await loaders.customer_interaction_counts.load((customer_pk, criteria))

    return connection(items, size, after, count)
