"""The `customers` connection and `customer(id)`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from sqlalchemy import select

from socialcrm.resolvers.context import Context
from socialcrm.resolvers.interactions import global_pk, range_of
from socialcrm.resolvers.pagination import decode_cursor, encode_cursor, page_info, page_size
from socialcrm.resolvers.prefetch import prefetch_customers
from socialcrm.schema.customer import Customer, CustomerConnection, CustomerEdge
from socialcrm.schema.enums import CustomerOrderField, OrderDirection
from socialcrm.schema.errors import BadUserInput
from socialcrm.server import read
from socialcrm.server.read import CustomerCriteria

if TYPE_CHECKING:
    from socialcrm.schema.customer import CustomerFilter, CustomerOrder

_DATETIME_ORDERS = frozenset({"created_at", "last_seen_at"})


def criteria_of(filter: CustomerFilter | None) -> CustomerCriteria:
    """The storage criteria of a GraphQL customer filter."""
    if filter is None:
        return CustomerCriteria()
    ranges = []
    for name in read.SCORE_FIELDS:
        bounds = range_of(getattr(filter, name))
        if bounds is not None:
            ranges.append((name, bounds))
    search = filter.search.strip() if filter.search else None
    return CustomerCriteria(
        search=search or None,
        channels=tuple(filter.channel or ()),
        tags=tuple(sorted(set(filter.tag or ()))),
        lifecycle_stages=tuple(str(stage.value) for stage in filter.lifecycle_stage or ()),
        score_ranges=tuple(ranges),
        active_since=filter.active_since,
        languages=tuple(sorted(set(filter.language or ()))),
        complained=filter.complained,
        complained_since=filter.complained_since,
    )


def cursor_kind(field: str, descending: bool) -> str:
    """The kind of the cursors of customers sorted by ``field``."""
    return f"customer:{field}:{'desc' if descending else 'asc'}"


def decode_after(after: str | None, kind: str, field: str) -> tuple[Any, int] | None:
    """The keyset position of a customer cursor made for the sort order ``kind``."""
    if after is None:
        return None
    text, pk = decode_cursor(after, kind, 2)
    value: Any
    try:
        if field in _DATETIME_ORDERS:
            value = datetime.fromisoformat(text)
        elif field in read.SCORE_FIELDS:
            value = float(text)
        else:
            value = int(text)
        return value, int(pk)
    except (TypeError, ValueError):
        raise BadUserInput("`after` is not a valid cursor") from None


def _cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def customers(
    info: strawberry.Info,
    filter: CustomerFilter | None,
    order_by: CustomerOrder | None,
    first: int | None,
    after: str | None,
) -> CustomerConnection:
    """The root `customers` field: merged customers are never listed."""
    ctx: Context = info.context
    size = page_size(first, ctx.services.settings.max_page_size)
    field = str((order_by.field if order_by else CustomerOrderField.ID).value)
    descending = order_by is not None and order_by.direction is OrderDirection.DESC
    kind = cursor_kind(field, descending)
    criteria = criteria_of(filter)
    workspace_id = ctx.workspace_id
    statement = read.customers_page(
        workspace_id, criteria, field, descending, decode_after(after, kind, field), size + 1
    )
    rows = await ctx.db.all(statement)
    edges = [
        CustomerEdge(
            cursor=encode_cursor(kind, _cursor_value(row.sort_key), row.id),
            node=Customer.from_row(row),
        )
        for row in rows[:size]
    ]
    await prefetch_customers(info, [edge.node for edge in edges])

    async def count() -> int:
        return int(await ctx.db.scalar(read.customers_count(workspace_id, criteria)))

    return CustomerConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], len(rows) > size, after),
        count=count,
    )


async def customer_by_pk(ctx: Context, pk: int) -> Customer | None:
    """A customer of the viewer's workspace; a merged one's id answers the customer it was
    merged into (``read.survivor_id``), so an id a client kept from before a merge works."""
    found = await ctx.loaders.customers.load(pk)
    if found is not None:
        return found  # type: ignore[no-any-return]
    survivor = await ctx.db.scalar(select(read.survivor_id(ctx.workspace_id, pk)))
    if survivor is None or survivor == pk:
        return None
    return await ctx.loaders.customers.load(survivor)  # type: ignore[no-any-return]


async def customer_argument(ctx: Context, global_id: str, argument: str) -> Customer | None:
    """The customer a customer-id argument names, following merges as `customer(id:)` does:
    None when the viewer's workspace has no such customer. A value that is not the global id
    of a Customer is a BAD_USER_INPUT error that quotes it."""
    pk = global_pk(global_id, "Customer", argument)
    return await customer_by_pk(ctx, pk)
