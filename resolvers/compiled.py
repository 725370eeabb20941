"""Read queries answered by one SQL statement that writes the whole JSON response.

A page of 50 customers with their identities, tags, scores and latest interactions is about a
thousand resolved fields; graphql-core spends microseconds on each, far more than
PostgreSQL needs to write them. For the reads that lists and dashboards send, this module
turns the validated query into one statement that builds the response with
``json_build_object`` and ``json_agg`` (the way PostGraphile and Hasura do), and the server
returns PostgreSQL's text as it is.

What it compiles: the root ``customers``, ``interactions`` and ``communities`` connections
(every filter, order and cursor), ``customer(id)`` (following merges) and
``community(id)``, and below them every field of ``Customer``, ``Identity``, ``Scores``,
``Interaction`` and ``Community`` with their connections' edges, ``pageInfo`` and
``totalCount``, and ``__typename`` anywhere. Everything else (``node``, ``viewer``,
``channels``, mutations) and anything unusual (directives, a field selected twice under
one key, an interface fragment, SQLite, a request the resolvers must answer with an
error) runs the resolvers as usual.

Statements are cached by query text and the shape of the arguments (filters, order,
whether a cursor is given); the request's values (workspace, page sizes, cursor positions,
ids) are bound parameters, so one built statement serves every request of its shape.
Both paths answer the same JSON: ``tests/graphql/test_compiled_reads.py`` runs queries
through both and compares.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
    is_abstract_type,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    text,
)
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types.arguments import convert_arguments

from resolvers import communities as community_resolvers
from resolvers import customers as customer_resolvers
from resolvers import interactions as interaction_resolvers
from resolvers.context import Context
from resolvers.pagination import CURSOR_SEPARATOR, page_size
from schema.enums import (
    CustomerOrderField,
    Direction,
    InteractionKind,
    LifecycleStage,
    MemberRole,
    OrderDirection,
)
from schema.errors import ApiError, BadUserInput
from schema.node import pk_of
from server import read
from server.read_json import (
    MAX_OBJECT_KEYS,
    cursor,
    enum_name,
    float_text,
    global_id,
    iso_timestamp,
    json_float,
    json_list,
    json_object,
    sql_string,
)
from server.sqltypes import UTCDateTime

if TYPE_CHECKING:
    import strawberry

log = logging.getLogger(__name__)

PREPARED_CACHE_SIZE = 512
"""Distinct query texts whose parse, validation and compilability are remembered."""
STATEMENT_CACHE_SIZE = 1024
"""Built statements remembered, by query text and the shape of its arguments."""
WORKSPACE_PARAMETER = "workspace_id"
"""The bound parameter every statement filters the viewer's workspace by."""


NOT_COMPILABLE = object()


class _Lru:
    """A small least-recently-used map; ``get`` answers None for a missing key."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        if len(self._items) > self._size:
            self._items.popitem(last=False)


@dataclass(slots=True)
class PageArguments:
    """The arguments of one connection field, split into what shapes the statement and the
    values bound when it runs (so a statement serves every request of the same shape)."""

    slot: str
    criteria: Any
    order_field: str
    descending: bool
    has_after: bool
    values: dict[str, Any]

    @property
    def shape(self) -> Hashable:
        """What the statement's text depends on: criteria are few and typed by people."""
        return (self.criteria, self.order_field, self.descending, self.has_after)

    def parameter(self, name: str, type_: Any) -> BindParameter[Any]:
        """The bound parameter ``name`` of this field (its value is in ``values``)."""
        return bindparam(f"{self.slot}_{name}", type_=type_)


Path = tuple[str, ...]
"""Response keys from the root to a field."""


class NotCompilable(Exception):
    """The query's shape needs the resolvers (for every request with this text)."""


class UseResolvers(Exception):
    """This request needs the resolvers, usually to report an error in their words."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed and validated query operation that may be compilable."""

    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]


@dataclass(frozen=True, slots=True)
class Selected:
    """One field of a selection set: its response key, its node and its definition
    (None for ``__typename``)."""

    key: str
    node: FieldNode
    field: GraphQLField | None

    @property
    def name(self) -> str:
        """The field's schema name."""
        return self.node.name.value


# Columns the compiled path reads of an interaction: ``data`` stays JSON here.
_INTERACTION_COLUMNS = tuple(
    read.interaction.c[name]
    for name in (
        "id",
        "channel",
        "kind",
        "direction",
        "content_type",
        "content",
        "occurred_at",
        "sentiment",
        "external_id",
        "thread_id",
        "delivery_status",
        "data",
        "customer_id",
        "community_id",
        "in_reply_to_id",
    )
)

# GraphQL field name → column, for fields that are a column as it is.
_CUSTOMER_COLUMNS = {
    "displayName": "display_name",
    "handle": "handle",
    "email": "email",
    "phone": "phone",
    "avatarUrl": "avatar_url",
    "language": "language",
    "location": "location",
    "attributes": "attributes",
}
_CUSTOMER_TIMES = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "lastSeenAt": "last_seen_at",
}
_IDENTITY_COLUMNS = {
    "channel": "channel",
    "externalId": "external_id",
    "handle": "handle",
    "following": "following",
}
_SCORE_COLUMNS = {
    "engagement": "engagement",
    "influence": "influence",
    "sentiment": "sentiment",
    "value": "value",
    "socialValue": "social_value",
    "churnRisk": "churn_risk",
}
_INTERACTION_PLAIN = {
    "channel": "channel",
    "contentType": "content_type",
    "content": "content",
    "externalId": "external_id",
    "threadId": "thread_id",
    "deliveryStatus": "delivery_status",
    "data": "data",
}
_COMMUNITY_COLUMNS = {
    "name": "name",
    "description": "description",
    "channel": "channel",
    "externalId": "external_id",
}
_COMMUNITY_TIMES = {"createdAt": "created_at", "dismissedAt": "dismissed_at"}
_DATETIME_ORDERS = frozenset({"created_at", "last_seen_at"})
_ID_CURSOR_KINDS = {
    ("Query", "communities"): "community",
    ("Community", "members"): "member",
    ("Customer", "communities"): "membership",
}
"""Connections sorted by id, and their cursors' kind."""
_ARGUMENTED_FIELDS = frozenset(
    {
        ("Query", "customers"),
        ("Query", "customer"),
        ("Query", "interactions"),
        ("Query", "community"),
        ("Customer", "interactions"),
        *_ID_CURSOR_KINDS,
    }
)
"""The fields with arguments the compiler knows."""


class CompiledReads:
    """Answers the queries it can compile; ``respond`` returns None for the others."""

    def __init__(self, schema: strawberry.Schema, rules: Sequence[Any]) -> None:
        self._strawberry = schema
        self.schema: GraphQLSchema = schema._schema
        self._rules = (*specified_rules, *rules)
        # Query texts that cannot be compiled are remembered as NOT_COMPILABLE.
        self._prepared = _Lru(PREPARED_CACHE_SIZE)
        self._statements = _Lru(STATEMENT_CACHE_SIZE)

    def prepare(self, query: str, operation_name: str | None) -> Prepared | None:
        """The query's operation if it parses, validates and is a query; cached per text."""
        key = (query, operation_name)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepare(query, operation_name) or NOT_COMPILABLE
            self._prepared.put(key, prepared)
        return None if prepared is NOT_COMPILABLE else prepared

    def _prepare(self, query: str, operation_name: str | None) -> Prepared | None:
        try:
            document = parse(query, no_location=True)
        except GraphQLError:
            return None
        if validate(self.schema, document, self._rules):
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        return Prepared(operation, fragments)

    def convert_arguments(self, selected: Selected, variables: VariableValues) -> dict[str, Any]:
        """The field's arguments as its resolver receives them (Strawberry input objects)."""
        assert selected.field is not None
        raw = get_argument_values(selected.field, selected.node, variables)
        definition = selected.field.extensions["strawberry-definition"]
        return convert_arguments(
            raw,
            definition.arguments,
            scalar_registry=self._strawberry.schema_converter.scalar_registry,
            config=self._strawberry.config,
        )

    async def respond(self, request: Request, context: Context) -> Response | None:
        """The response to a query it can compile, or None to run the resolvers."""
        viewer = context.viewer
        if viewer is None or not viewer.allows("read") or not context.db.on_postgresql:
            return None
        parts = await _request_parts(request)
        if parts is None:
            return None
        query, variables, operation_name = parts
        prepared = self.prepare(query, operation_name)
        if prepared is None:
            return None
        coerced = get_variable_values(
            self.schema, prepared.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            return None
        compiler = _Compiler(
            self, prepared, coerced, max_page_size=context.services.settings.max_page_size
        )
        try:
            pages = compiler.page_arguments()
            shape = (query, operation_name, tuple((path, a.shape) for path, a in pages.items()))
            statement = self._statements.get(shape)
            if statement is None:
                statement = compiler.statement(pages)
                self._statements.put(shape, statement)
            values: dict[str, Any] = {WORKSPACE_PARAMETER: viewer.workspace_id}
            for page in pages.values():
                values.update(page.values)
            document = await context.db.scalar(statement, values)
            if not isinstance(document, str):
                raise TypeError(f"the statement answered {type(document).__name__}")
        except NotCompilable:
            self._prepared.put((query, operation_name), NOT_COMPILABLE)
            return None
        except UseResolvers:
            return None
        except Exception:
            # The resolvers answer instead, with an error in GraphQL's shape if they fail too,
            # on a fresh connection: a failed statement aborts the shared one's transaction.
            log.exception("compiled read failed; answering with the resolvers")
            await context.db.close()
            return None
        return Response(b'{"data":' + document.encode() + b"}", media_type="application/json")


async def _request_parts(request: Request) -> tuple[str, dict[str, Any], str | None] | None:
    """(query, variables, operation name) of a GraphQL request over HTTP: a JSON POST or a
    GET with query parameters. None for anything else (a batch, persisted-query extensions,
    a form post), which the resolvers' endpoint handles or refuses in its own words."""
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query_params)
        try:
            if isinstance(raw.get("variables"), str):
                raw["variables"] = json.loads(raw["variables"])
            if isinstance(raw.get("extensions"), str):
                raw["extensions"] = json.loads(raw["extensions"])
        except ValueError:
            return None
    elif request.method == "POST":
        content_type = request.headers.get("content-type", "").partition(";")[0].strip()
        if content_type.lower() != "application/json":
            return None
        try:
            raw = json.loads(await request.body())
        except ValueError:
            return None
    else:
        return None
    if not isinstance(raw, dict) or not raw.keys() <= _REQUEST_KEYS or raw.get("extensions"):
        return None
    query, variables, operation_name = (
        raw.get("query"),
        raw.get("variables"),
        raw.get("operationName"),
    )
    if (
        not isinstance(query, str)
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
    ):
        return None
    return query, variables or {}, operation_name


_REQUEST_KEYS = frozenset({"query", "variables", "operationName", "extensions"})


class _Compiler:
    """Reads one request's arguments and, for a new shape, builds its statement."""

    def __init__(
        self,
        reads: CompiledReads,
        prepared: Prepared,
        variables: VariableValues,
        *,
        max_page_size: int,
    ) -> None:
        self.reads = reads
        self.prepared = prepared
        self.variables = variables
        self.max_page_size = max_page_size
        self.workspace_id = bindparam(WORKSPACE_PARAMETER, type_=BigInteger)
        self.pages: dict[Path, PageArguments] = {}

    def type(self, name: str) -> GraphQLObjectType:
        found = self.reads.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    def collect(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType
    ) -> list[Selected]:
        """The fields of a selection set in response order, fragments flattened."""
        if selection_set is None:
            raise NotCompilable("a composite field without selections")
        selected: list[Selected] = []
        self._collect(selection_set, parent, selected, set())
        if len(selected) > MAX_OBJECT_KEYS:
            raise NotCompilable("too many fields for one JSON object")
        return selected

    def _collect(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType,
        into: list[Selected],
        keys: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompilable("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                if key in keys:
                    raise NotCompilable("a response key selected twice")
                keys.add(key)
                name = selection.name.value
                if name == "__typename":
                    into.append(Selected(key, selection, None))
                    continue
                field = parent.fields.get(name)
                if field is None:
                    raise NotCompilable(f"{parent.name}.{name}")
                into.append(Selected(key, selection, field))
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = selection.selection_set
                condition = selection.type_condition
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = self.prepared.fragments[selection.name.value]
                inner = fragment.selection_set
                condition = fragment.type_condition
            if condition is not None and condition.name.value != parent.name:
                raise NotCompilable("a fragment on another type")
            self._collect(inner, parent, into, keys)

    # -- arguments ---------------------------------------------------------------------------

    def page_arguments(self) -> dict[Path, PageArguments]:
        """The arguments of every connection of the query, by response path."""
        self._walk(self.prepared.operation.selection_set, self.type("Query"), ())
        return self.pages

    def _walk(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType, path: Path
    ) -> None:
        for selected in self.collect(selection_set, parent):
            if selected.field is None:
                continue
            here = (*path, selected.key)
            if selected.field.args:
                self.pages[here] = self._page_arguments(parent.name, selected, len(self.pages))
            named: Any = selected.field.type
            while hasattr(named, "of_type"):
                named = named.of_type
            if isinstance(named, GraphQLObjectType):
                self._walk(selected.node.selection_set, named, here)
            elif is_abstract_type(named):
                raise NotCompilable(f"{parent.name}.{selected.name} is abstract")

    def _page_arguments(self, parent: str, selected: Selected, index: int) -> PageArguments:
        place = (parent, selected.name)
        if place not in _ARGUMENTED_FIELDS:
            raise NotCompilable(f"{parent}.{selected.name}")
        args = self._arguments(selected)
        page = PageArguments(
            slot=f"page{index}",
            criteria=None,
            order_field="id",
            descending=False,
            has_after=False,
            values={},
        )
        try:
            if place in (("Query", "customer"), ("Query", "community")):
                type_name = selected.name.capitalize()
                pk = pk_of(args["id"], type_name)
                if pk is None:
                    raise BadUserInput(f"`id` is not the id of a {type_name}")
                page.values[f"{page.slot}_id"] = pk
                return page
            size = page_size(args.get("first"), self.max_page_size)
            after = args.get("after")
            position: tuple[Any, ...] | None
            if place == ("Query", "customers"):
                order_by = args.get("order_by")
                field = str((order_by.field if order_by else CustomerOrderField.ID).value)
                page.order_field = field
                page.descending = order_by is not None and order_by.direction is OrderDirection.DESC
                page.criteria = customer_resolvers.criteria_of(args.get("filter"))
                kind = customer_resolvers.cursor_kind(field, page.descending)
                position = customer_resolvers.decode_after(after, kind, field)
            elif selected.name == "interactions":
                page.order_field, page.descending = "occurred_at", True
                page.criteria = interaction_resolvers.criteria_of(
                    args.get("filter"), nested=parent == "Customer"
                )
                position = interaction_resolvers.decode_after(after)
            else:
                if place == ("Query", "communities"):
                    page.criteria = community_resolvers.criteria_of(args.get("filter"))
                elif place == ("Community", "members"):
                    page.criteria = community_resolvers.role_values(args.get("role"))
                last_id = community_resolvers.after_id(after, _ID_CURSOR_KINDS[place])
                position = None if last_id is None else (last_id,)
        except ApiError as exc:
            raise UseResolvers(str(exc)) from exc
        page.values[f"{page.slot}_size"] = size
        page.values[f"{page.slot}_limit"] = size + 1
        if position is not None:
            page.has_after = True
            page.values[f"{page.slot}_after_id"] = position[-1]
            if len(position) == 2:
                page.values[f"{page.slot}_after_value"] = position[0]
        return page

    def _arguments(self, selected: Selected) -> dict[str, Any]:
        try:
            return self.reads.convert_arguments(selected, self.variables)
        except (GraphQLError, ApiError, ValueError, TypeError) as exc:
            raise UseResolvers(str(exc)) from exc

    # -- the statement -----------------------------------------------------------------------

    def statement(self, pages: dict[Path, PageArguments]) -> Select[Any]:
        """The statement of this request's shape; its values are bound when it runs."""
        self.pages = pages
        pairs: list[tuple[str, Any]] = []
        for selected in self.collect(self.prepared.operation.selection_set, self.type("Query")):
            path = (selected.key,)
            if selected.field is None:
                pairs.append((selected.key, sql_string("Query")))
            elif selected.name == "customers":
                pairs.append((selected.key, self.customers(selected, path)))
            elif selected.name == "interactions":
                pairs.append((selected.key, self.interactions(selected, path)))
            elif selected.name == "communities":
                pairs.append((selected.key, self.communities(selected, path)))
            elif selected.name == "customer":
                pairs.append((selected.key, self.customer_by_id(selected, path)))
            elif selected.name == "community":
                pairs.append((selected.key, self.community_by_id(selected, path)))
            else:
                raise NotCompilable(f"Query.{selected.name}")
        return sql_select(cast(json_object(pairs), Text))

    def customer_by_id(self, selected: Selected, path: Path) -> Any:
        """`customer(id)`: a merged customer's id answers its survivor, as
        ``resolvers.customers.customer_by_pk`` does (at most ``MAX_MERGE_HOPS`` merges on)."""
        customer = read.customer
        chain = (
            sql_select(customer.c.id, customer.c.merged_into_id, literal_column("0").label("hops"))
            .where(
                customer.c.workspace_id == self.workspace_id,
                customer.c.id == self.pages[path].parameter("id", BigInteger),
            )
            .cte(recursive=True)
        )
        step = customer.alias()
        chain = chain.union_all(
            sql_select(step.c.id, step.c.merged_into_id, chain.c.hops + 1).where(
                step.c.workspace_id == self.workspace_id,
                step.c.id == chain.c.merged_into_id,
                chain.c.hops < customer_resolvers.MAX_MERGE_HOPS,
            )
        )
        survivor = (
            sql_select(chain.c.id).where(chain.c.merged_into_id.is_(None)).limit(1)
        ).scalar_subquery()
        found = customer.alias()
        return (
            sql_select(self.customer(found, selected, path))
            .where(found.c.workspace_id == self.workspace_id, found.c.id == survivor)
            .scalar_subquery()
        )

    def community_by_id(self, selected: Selected, path: Path) -> Any:
        community = read.community.alias()
        return (
            sql_select(self.community(community, selected, path))
            .where(
                community.c.workspace_id == self.workspace_id,
                community.c.id == self.pages[path].parameter("id", BigInteger),
            )
            .scalar_subquery()
        )

    def customers(self, selected: Selected, path: Path) -> Any:
        page_args = self.pages[path]
        field = page_args.order_field
        key_type = read.customer_sort_key(field).type
        position = self._position(page_args, key_type, read.customer.c.id.type)
        page = read.customers_page(
            self.workspace_id,
            page_args.criteria,
            field,
            page_args.descending,
            position,
            page_args.parameter("limit", Integer),
        ).subquery()
        order: list[Any] = [page.c.sort_key, page.c.id]
        if page_args.descending:
            order = [column.desc() for column in order]
        kind = customer_resolvers.cursor_kind(field, page_args.descending)

        def cursor_of(row: Any) -> ColumnElement[str]:
            if field == "id":
                value: Any = row.c.id
            elif field in _DATETIME_ORDERS:
                value = iso_timestamp(row.c.sort_key)
            else:
                value = float_text(row.c.sort_key)
            return cursor(kind, value, row.c.id, separator=CURSOR_SEPARATOR)

        return self.connection(
            selected,
            path,
            page=page,
            order=order,
            cursor_of=cursor_of,
            node_of=self.customer,
            count=read.customers_count(self.workspace_id, page_args.criteria),
        )

    def interactions(self, selected: Selected, path: Path, parent: Any = None) -> Any:
        """The root `interactions`, or `Customer.interactions` of the customer row ``parent``."""
        page_args = self.pages[path]
        position = self._position(page_args, UTCDateTime(), read.interaction.c.id.type)
        page_select = read.interactions_page(
            self.workspace_id,
            page_args.criteria,
            position,
            page_args.parameter("limit", Integer),
            columns=_INTERACTION_COLUMNS,
        )
        count = read.interactions_count(self.workspace_id, page_args.criteria)
        if parent is not None:
            of_parent = read.interaction.c.customer_id == parent.c.id
            page_select = page_select.where(of_parent).correlate(parent)
            count = count.where(of_parent).correlate(parent)
        page = page_select.subquery()

        def cursor_of(row: Any) -> ColumnElement[str]:
            return cursor(
                interaction_resolvers.CURSOR_KIND,
                iso_timestamp(row.c.occurred_at),
                row.c.id,
                separator=CURSOR_SEPARATOR,
            )

        return self.connection(
            selected,
            path,
            page=page,
            order=[page.c.occurred_at.desc(), page.c.id.desc()],
            cursor_of=cursor_of,
            node_of=self.interaction,
            count=count,
        )

    @staticmethod
    def _position(page_args: PageArguments, value_type: Any, id_type: Any) -> Any:
        if not page_args.has_after:
            return None
        return (
            page_args.parameter("after_value", value_type),
            page_args.parameter("after_id", id_type),
        )

    @staticmethod
    def _after_id(page_args: PageArguments) -> Any:
        return page_args.parameter("after_id", BigInteger) if page_args.has_after else None

    def communities(self, selected: Selected, path: Path) -> Any:
        page_args = self.pages[path]
        page = read.communities_page(
            self.workspace_id,
            page_args.criteria,
            self._after_id(page_args),
            page_args.parameter("limit", Integer),
        ).subquery()
        return self.connection(
            selected,
            path,
            page=page,
            order=[page.c.id],
            cursor_of=lambda row: cursor("community", row.c.id, separator=CURSOR_SEPARATOR),
            node_of=self.community,
            count=read.communities_count(self.workspace_id, page_args.criteria),
        )

    def members(self, selected: Selected, path: Path, parent: Any) -> Any:
        """`Community.members` of the community row ``parent``; members merged away are left
        out of the page after it is cut, as ``read.members_of_communities`` does."""
        page_args = self.pages[path]
        memberships = (
            read.memberships_page(
                self.workspace_id,
                community_id=parent.c.id,
                roles=page_args.criteria,
                after=self._after_id(page_args),
                limit=page_args.parameter("limit", Integer),
            )
            .correlate(parent)
            .subquery()
        )
        customer = read.customer
        page = (
            sql_select(
                memberships.c.membership_id,
                memberships.c.role,
                memberships.c.joined_at,
                *read.CUSTOMER_COLUMNS,
            )
            .select_from(memberships.join(customer, customer.c.id == memberships.c.customer_id))
            .where(customer.c.merged_into_id.is_(None))
            .subquery()
        )
        count = read.memberships_count(
            self.workspace_id, community_id=parent.c.id, roles=page_args.criteria
        ).correlate(parent)
        return self.membership_connection(selected, path, page, "member", self.customer, count)

    def customer_communities(self, selected: Selected, path: Path, parent: Any) -> Any:
        """`Customer.communities` of the customer row ``parent``."""
        page_args = self.pages[path]
        memberships = (
            read.memberships_page(
                self.workspace_id,
                customer_id=parent.c.id,
                after=self._after_id(page_args),
                limit=page_args.parameter("limit", Integer),
            )
            .correlate(parent)
            .subquery()
        )
        community = read.community
        page = (
            sql_select(
                memberships.c.membership_id,
                memberships.c.role,
                memberships.c.joined_at,
                *read.COMMUNITY_COLUMNS,
            )
            .select_from(memberships.join(community, community.c.id == memberships.c.community_id))
            .subquery()
        )
        count = read.memberships_count(self.workspace_id, customer_id=parent.c.id).correlate(parent)
        return self.membership_connection(selected, path, page, "membership", self.community, count)

    def membership_connection(
        self,
        selected: Selected,
        path: Path,
        page: Any,
        cursor_kind: str,
        node_of: Callable[[Any, Selected, Path], Any],
        count: Select[Any],
    ) -> Any:
        """A connection of memberships: edges carry the role and when it began."""
        return self.connection(
            selected,
            path,
            page=page,
            order=[page.c.membership_id],
            cursor_of=lambda row: cursor(
                cursor_kind, row.c.membership_id, separator=CURSOR_SEPARATOR
            ),
            node_of=node_of,
            count=count,
            edge_fields={
                "role": lambda row: enum_name(row.c.role, MemberRole, MemberRole.MEMBER),
                "joinedAt": lambda row: iso_timestamp(row.c.joined_at),
            },
        )

    # -- connections -------------------------------------------------------------------------

    def connection(
        self,
        selected: Selected,
        path: Path,
        *,
        page: Any,
        order: list[Any],
        cursor_of: Callable[[Any], ColumnElement[str]],
        node_of: Callable[[Any, Selected, Path], Any],
        count: Select[Any],
        edge_fields: dict[str, Callable[[Any], Any]] | None = None,
    ) -> Any:
        """A connection object over ``page`` (its first ``size + 1`` rows in ``order``);
        ``edge_fields`` writes the edge's own fields besides its cursor and node."""
        assert selected.field is not None
        page_args = self.pages[path]
        connection_type = _object_type(selected.field)
        edge_type = _object_type(connection_type.fields["edges"])
        numbered = sql_select(
            *page.c,
            func.row_number().over(order_by=order).label("rn"),
            func.count().over().label("rows"),
        ).subquery()
        size = page_args.parameter("size", Integer)
        in_page = numbered.c.rn <= size
        pairs: list[tuple[str, Any]] = []
        for part in self.collect(selected.node.selection_set, connection_type):
            if part.field is None:
                pairs.append((part.key, sql_string(connection_type.name)))
            elif part.name == "edges":
                edge_pairs: list[tuple[str, Any]] = []
                for edge_part in self.collect(part.node.selection_set, edge_type):
                    if edge_part.field is None:
                        edge_pairs.append((edge_part.key, sql_string(edge_type.name)))
                    elif edge_part.name == "cursor":
                        edge_pairs.append((edge_part.key, cursor_of(numbered)))
                    elif edge_part.name == "node":
                        node_path = (*path, part.key, edge_part.key)
                        edge_pairs.append((edge_part.key, node_of(numbered, edge_part, node_path)))
                    elif edge_fields and edge_part.name in edge_fields:
                        edge_pairs.append((edge_part.key, edge_fields[edge_part.name](numbered)))
                    else:
                        raise NotCompilable(f"{edge_type.name}.{edge_part.name}")
                edges = json_list(json_object(edge_pairs), [numbered.c.rn], where=in_page)
                pairs.append((part.key, edges))
            elif part.name == "pageInfo":
                info = self.page_info(part, numbered, size, page_args.has_after, cursor_of)
                pairs.append((part.key, info))
            elif part.name == "totalCount":
                pairs.append((part.key, count.scalar_subquery()))
            else:
                raise NotCompilable(f"{connection_type.name}.{part.name}")
        # GROUP BY (): one row, even for an empty page (every column is an aggregate).
        return (
            sql_select(json_object(pairs))
            .select_from(numbered)
            .group_by(text("()"))
            .scalar_subquery()
        )

    def page_info(
        self,
        selected: Selected,
        numbered: Any,
        size: Any,
        has_after: bool,
        cursor_of: Callable[[Any], ColumnElement[str]],
    ) -> Any:
        page_info_type = _object_type(selected.field)
        pairs: list[tuple[str, Any]] = []
        for part in self.collect(selected.node.selection_set, page_info_type):
            if part.field is None:
                pairs.append((part.key, sql_string(page_info_type.name)))
            elif part.name == "hasNextPage":
                pairs.append((part.key, func.count() > size))
            elif part.name == "hasPreviousPage":
                pairs.append((part.key, literal_column("true" if has_after else "false")))
            elif part.name == "startCursor":
                first_row = and_(numbered.c.rn == 1, numbered.c.rn <= size)
                pairs.append((part.key, func.max(cursor_of(numbered)).filter(first_row)))
            elif part.name == "endCursor":
                last_row = numbered.c.rn == func.least(numbered.c.rows, size)
                pairs.append((part.key, func.max(cursor_of(numbered)).filter(last_row)))
            else:
                raise NotCompilable(f"PageInfo.{part.name}")
        return json_object(pairs)

    # -- objects -----------------------------------------------------------------------------

    def customer(self, row: Any, selected: Selected, path: Path) -> Any:
        """A Customer object of ``row`` (which has the customer table's column names)."""
        pairs: list[tuple[str, Any]] = []
        for part in self.collect(selected.node.selection_set, self.type("Customer")):
            name = part.name
            if part.field is None:
                value: Any = sql_string("Customer")
            elif name == "id":
                value = global_id("Customer", row.c.id)
            elif name in _CUSTOMER_COLUMNS:
                value = row.c[_CUSTOMER_COLUMNS[name]]
            elif name in _CUSTOMER_TIMES:
                value = iso_timestamp(row.c[_CUSTOMER_TIMES[name]])
            elif name == "lifecycleStage":
                value = enum_name(row.c.lifecycle_stage, LifecycleStage, LifecycleStage.EXPLORATION)
            elif name == "identities":
                value = self.identities(row, part)
            elif name == "tags":
                value = self.tags(row)
            elif name == "scores":
                value = self.scores(row, part)
            elif name == "interactions":
                value = self.interactions(part, (*path, part.key), parent=row)
            elif name == "communities":
                value = self.customer_communities(part, (*path, part.key), parent=row)
            else:
                raise NotCompilable(f"Customer.{name}")
            pairs.append((part.key, value))
        return json_object(pairs)

    def identities(self, row: Any, selected: Selected) -> Any:
        identity = read.identity
        pairs: list[tuple[str, Any]] = []
        for part in self.collect(selected.node.selection_set, self.type("Identity")):
            if part.field is None:
                pairs.append((part.key, sql_string("Identity")))
            elif part.name in _IDENTITY_COLUMNS:
                pairs.append((part.key, identity.c[_IDENTITY_COLUMNS[part.name]]))
            else:
                raise NotCompilable(f"Identity.{part.name}")
        return (
            sql_select(json_list(json_object(pairs), [identity.c.id]))
            .where(identity.c.workspace_id == self.workspace_id, identity.c.customer_id == row.c.id)
            .correlate(row)
            .scalar_subquery()
        )

    def tags(self, row: Any) -> Any:
        tag, customer_tag = read.tag, read.customer_tag
        return (
            sql_select(json_list(tag.c.name, [tag.c.name]))
            .select_from(customer_tag.join(tag, tag.c.id == customer_tag.c.tag_id))
            .where(
                customer_tag.c.workspace_id == self.workspace_id,
                customer_tag.c.customer_id == row.c.id,
            )
            .correlate(row)
            .scalar_subquery()
        )

    def scores(self, row: Any, selected: Selected) -> Any:
        score = read.score
        stored: list[tuple[str, Any]] = []
        zeros: list[tuple[str, Any]] = []  # a customer without a score row: schema.NO_SCORES
        for part in self.collect(selected.node.selection_set, self.type("Scores")):
            if part.field is None:
                stored.append((part.key, sql_string("Scores")))
                zeros.append((part.key, sql_string("Scores")))
            elif part.name in _SCORE_COLUMNS:
                stored.append((part.key, json_float(score.c[_SCORE_COLUMNS[part.name]])))
                zeros.append((part.key, literal_column("0.0")))
            elif part.name == "updatedAt":
                stored.append((part.key, iso_timestamp(score.c.updated_at)))
                zeros.append((part.key, literal_column("NULL")))
            else:
                raise NotCompilable(f"Scores.{part.name}")
        row_scores = (
            sql_select(json_object(stored))
            .where(score.c.workspace_id == self.workspace_id, score.c.customer_id == row.c.id)
            .correlate(row)
            .limit(1)
            .scalar_subquery()
        )
        return func.coalesce(row_scores, json_object(zeros))

    def interaction(self, row: Any, selected: Selected, path: Path) -> Any:
        """An Interaction object of ``row`` (with ``_INTERACTION_COLUMNS``' names)."""
        pairs: list[tuple[str, Any]] = []
        for part in self.collect(selected.node.selection_set, self.type("Interaction")):
            name = part.name
            if part.field is None:
                value: Any = sql_string("Interaction")
            elif name == "id":
                value = global_id("Interaction", row.c.id)
            elif name == "sentiment":
                value = json_float(row.c.sentiment)
            elif name in _INTERACTION_PLAIN:
                value = row.c[_INTERACTION_PLAIN[name]]
            elif name == "kind":
                value = enum_name(row.c.kind, InteractionKind, InteractionKind.OTHER)
            elif name == "direction":
                value = enum_name(row.c.direction, Direction, Direction.INBOUND)
            elif name == "occurredAt":
                value = iso_timestamp(row.c.occurred_at)
            elif name == "customer":
                value = self.customer_of(row, part, (*path, part.key))
            elif name == "community":
                value = self.community_of(row, part, (*path, part.key))
            elif name == "inReplyTo":
                value = self.interaction_of(row, part, (*path, part.key))
            else:
                raise NotCompilable(f"Interaction.{name}")
            pairs.append((part.key, value))
        return json_object(pairs)

    def customer_of(self, row: Any, selected: Selected, path: Path) -> Any:
        """`Interaction.customer`: null when the customer was merged away (as the loader)."""
        customer = read.customer.alias()
        return (
            sql_select(self.customer(customer, selected, path))
            .where(
                customer.c.workspace_id == self.workspace_id,
                customer.c.id == row.c.customer_id,
                customer.c.merged_into_id.is_(None),
            )
            .correlate(row)
            .scalar_subquery()
        )

    def community_of(self, row: Any, selected: Selected, path: Path) -> Any:
        """`Interaction.community`: null when the interaction is in none."""
        community = read.community.alias()
        return (
            sql_select(self.community(community, selected, path))
            .where(
                community.c.workspace_id == self.workspace_id,
                community.c.id == row.c.community_id,
            )
            .correlate(row)
            .scalar_subquery()
        )

    def interaction_of(self, row: Any, selected: Selected, path: Path) -> Any:
        """`Interaction.inReplyTo`: null when it answers none."""
        interaction = read.interaction.alias()
        return (
            sql_select(self.interaction(interaction, selected, path))
            .where(
                interaction.c.workspace_id == self.workspace_id,
                interaction.c.id == row.c.in_reply_to_id,
            )
            .correlate(row)
            .scalar_subquery()
        )

    def community(self, row: Any, selected: Selected, path: Path) -> Any:
        """A Community object of ``row`` (which has the community table's column names)."""
        pairs: list[tuple[str, Any]] = []
        for part in self.collect(selected.node.selection_set, self.type("Community")):
            name = part.name
            if part.field is None:
                value: Any = sql_string("Community")
            elif name == "id":
                value = global_id("Community", row.c.id)
            elif name in _COMMUNITY_COLUMNS:
                value = row.c[_COMMUNITY_COLUMNS[name]]
            elif name in _COMMUNITY_TIMES:
                value = iso_timestamp(row.c[_COMMUNITY_TIMES[name]])
            elif name == "members":
                value = self.members(part, (*path, part.key), parent=row)
            else:
                raise NotCompilable(f"Community.{name}")
            pairs.append((part.key, value))
        return json_object(pairs)


def _object_type(field: GraphQLField | None) -> GraphQLObjectType:
    assert field is not None
    inner: Any = field.type
    while hasattr(inner, "of_type"):
        inner = inner.of_type
    assert isinstance(inner, GraphQLObjectType)
    return inner


__all__ = ["CompiledReads", "NotCompilable", "UseResolvers"]
