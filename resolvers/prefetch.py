"""Prefetching a page of customers' details with the page, and the fields that use it.

`customers(first: 50) { edges { node { identities tags scores interactions(first: 5) } } }`
would otherwise resolve 200 asynchronous fields, each a DataLoader future that graphql-core
wraps in a task. Instead the `customers` resolver looks at what is selected under
`edges.node`, loads those details for the whole page at once (the DataLoaders' batch
functions, called directly with the page's ids: the same statements, without a future per
customer), and hands each customer its values by response key. The fields' resolvers
are then wrapped (``install``) to answer from those values synchronously, and to fall back
to their ordinary resolver for customers that came from anywhere else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from socialcrm.resolvers.context import Context
from socialcrm.resolvers.interactions import connection, decode_after
from socialcrm.resolvers.pagination import page_size
from socialcrm.schema.customer import Customer
from socialcrm.schema.errors import ApiError
from socialcrm.server.read import InteractionCriteria

PREFETCHED_FIELDS: dict[str, tuple[str, ...]] = {
    "Customer": ("identities", "tags", "scores", "interactions"),
}
"""The resolver fields (GraphQL names) that may answer from prefetched values."""

_MISSING = object()

Finish = Callable[[Customer, Any], Any]
"""Turns a customer's loaded value into the field's value."""


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    # Fragments are flattened: their type conditions can only name the one type here.
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, (FragmentSpread, InlineFragment)):
            yield from _fields(selection.selections)


def _children(fields: Iterable[SelectedField], name: str) -> list[SelectedField]:
    return [child for field in fields for child in _fields(field.selections) if child.name == name]


def node_fields(info: strawberry.Info) -> list[SelectedField]:
    """The fields selected on `edges { node { ... } }` of the connection being resolved."""
    connection_fields = [f for f in _fields(info.selected_fields)]
    return [
        field
        for node in _children(_children(connection_fields, "edges"), "node")
        for field in _fields(node.selections)
    ]


async def prefetch_customers(info: strawberry.Info, customers: Sequence[Customer]) -> None:
    """Load the selected details of a page of customers at once and attach them."""
    if not customers:
        return
    ctx: Context = info.context
    loaders = ctx.loaders
    ids = [customer.pk for customer in customers]
    # Awaited one after the other: the request's statements take turns on one connection
    # anyway, and gathering them would cost a task each. A batch is loaded once per
    # distinct job, whatever the number of aliases selecting it.
    jobs: list[tuple[str, Hashable, Callable[[], Awaitable[Any]], Finish]] = []
    for field in node_fields(info):
        key = field.alias or field.name
        if field.name == "identities":
            jobs.append((key, "identities", partial(loaders.identities.load_fn, ids), _same))
        elif field.name == "tags":
            jobs.append((key, "tags", partial(loaders.tags.load_fn, ids), _same))
        elif field.name == "scores":
            jobs.append((key, "scores", partial(loaders.scores.load_fn, ids), _same))
        elif field.name == "interactions":
            job = _interactions_job(ctx, ids, field.arguments)
            if job is not None:
                jobs.append((key, *job))
    if not jobs:
        return
    loaded: dict[Hashable, Any] = {}
    for _, batch, load, _ in jobs:
        if batch not in loaded:
            loaded[batch] = await load()
    for customer in customers:
        customer.prefetched = {}
    for key, batch, _, finish in jobs:
        for customer, value in zip(customers, loaded[batch], strict=True):
            customer.prefetched[key] = finish(customer, value)  # type: ignore[index]


def _same(customer: Customer, value: Any) -> Any:
    return value


def _interactions_job(
    ctx: Context, ids: list[int], arguments: dict[str, Any]
) -> tuple[Hashable, Callable[[], Awaitable[Any]], Finish] | None:
    # Filters go the ordinary way; so do invalid arguments, whose error belongs to the field.
    if arguments.get("filter") is not None:
        return None
    # Selected-field arguments are not coerced: a literal `5` arrives as the string "5".
    first, after_text = arguments.get("first"), arguments.get("after")
    if isinstance(first, str):
        first = int(first) if first.lstrip("-").isdigit() else _MISSING
    if not (first is None or isinstance(first, int)) or not (
        after_text is None or isinstance(after_text, str)
    ):
        return None
    try:
        size = page_size(first, ctx.services.settings.max_page_size)
        after = decode_after(after_text)
    except ApiError:
        return None
    criteria = InteractionCriteria()
    loaders = ctx.loaders
    keys = [(pk, criteria, after, size + 1) for pk in ids]
    load = partial(loaders.customer_interactions.load_fn, keys)

    def finish(customer: Customer, items: Any) -> Any:
        pk = customer.pk

        async def count() -> int:
            return await loaders.customer_interaction_counts.load((pk, criteria))

        return connection(items, size, after_text, count)

    return ("interactions", criteria, after, size), load, finish


def _answer_prefetched(resolve: Callable[..., Any]) -> Callable[..., Any]:
    def resolver(source: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        prefetched = getattr(source, "prefetched", None)
        if prefetched is not None:
            value = prefetched.get(info.path.key, _MISSING)
            if value is not _MISSING:
                return value
        return resolve(source, info, **arguments)

    return resolver


def install(schema: GraphQLSchema) -> None:
    """Wrap the resolvers of ``PREFETCHED_FIELDS`` in ``schema`` to use prefetched values."""
    for type_name, field_names in PREFETCHED_FIELDS.items():
        graphql_type = schema.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)
        for name in field_names:
            field = graphql_type.fields[name]
            assert field.resolve is not None
            field.resolve = _answer_prefetched(field.resolve)
