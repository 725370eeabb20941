"""Read queries answered by one SQL statement that writes the whole JSON response.

A page of 50 customers with their identities, tags, scores and latest interactions is about a
thousand resolved fields; graphql-core spends microseconds on each, far more than
PostgreSQL needs to write them. For the reads that lists and dashboards send, this module
turns the validated query into one statement that builds the response with
``json_build_object`` and ``json_agg`` (the way PostGraphile and Hasura do), and the server
returns PostgreSQL's text as it is.

What it compiles: the root ``customers``, ``interactions`` and ``communities`` connections
(every filter, order and cursor), ``customer(id)`` (following merges) and
``community(id)``, and below them every field of ``Customer`` (its score history, stage
history and referrals too), ``Identity``, ``Scores``, ``ScorePoint``, ``StageChange``,
``Referrals``, ``Interaction`` and ``Community`` with their connections' edges,
``pageInfo`` and ``totalCount``, and ``__typename`` anywhere. Everything else (``node``, ``viewer``,
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

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
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
    Date,
    Float,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    text,
)
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types.arguments import convert_arguments

from socialcrm.resolvers import communities as community_resolvers
from socialcrm.resolvers import customers as customer_resolvers
from socialcrm.resolvers import history as history_resolvers
from socialcrm.resolvers import interactions as interaction_resolvers
from socialcrm.resolvers.context import Context
from socialcrm.resolvers.pagination import CURSOR_SEPARATOR, page_size
from socialcrm.schema.customer import MAX_SCORE_HISTORY_POINTS, MAX_STAGE_CHANGES, NO_SCORES
from socialcrm.schema.enums import (
    CustomerOrderField,
    Direction,
    InteractionKind,
    LifecycleStage,
    MemberRole,
    OrderDirection,
    StageChangeSource,
)
from socialcrm.schema.errors import ApiError
from socialcrm.server import read
from socialcrm.server.json_body import load_json
from socialcrm.server.read_json import (
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
from socialcrm.server.sqltypes import UTCDateTime

if TYPE_CHECKING:
    import strawberry

log = logging.getLogger(__name__)

PREPARED_CACHE_SIZE = 512
"""Distinct query texts whose parse, validation and compilability are remembered."""
STATEMENT_CACHE_SIZE = 1024
"""Built statements remembered, by query text and the shape of its arguments."""
WORKSPACE_PARAMETER = "workspace_id"
"""The bound parameter every statement filters the viewer's workspace by."""
DAY_BOUNDS = ("since", "until")
"""The arguments of `Customer.scoreHistory`, each bound as a day."""


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


_DATETIME_ORDERS = frozenset({"created_at", "last_seen_at"})
_ID_CURSOR_KINDS = {
    ("Query", "communities"): community_resolvers.COMMUNITY_CURSOR,
    ("Community", "members"): community_resolvers.MEMBER_CURSOR,
    ("Customer", "communities"): community_resolvers.MEMBERSHIP_CURSOR,
}
"""Connections sorted by id, and their cursors' kind."""
_ARGUMENTED_FIELDS = frozenset(
    {
        ("Query", "customers"),
        ("Query", "customer"),
        ("Query", "interactions"),
        ("Query", "community"),
        ("Customer", "interactions"),
        ("Customer", "scoreHistory"),
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
            # The resolvers answer instead, with an error in GraphQL's shape if they fail too.
            log.exception("compiled read failed; answering with the resolvers")
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
                raw["variables"] = load_json(raw["variables"])
            if isinstance(raw.get("extensions"), str):
                raw["extensions"] = load_json(raw["extensions"])
        except ValueError:
            return None
    elif request.method == "POST":
        content_type = request.headers.get("content-type", "").partition(";")[0].strip()
        if content_type.lower() != "application/json":
            return None
        try:
            raw = load_json(await request.body())
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
                pk = interaction_resolvers.global_pk(args["id"], type_name, "id")
                page.values[f"{page.slot}_id"] = pk
                return page
            if place == ("Customer", "scoreHistory"):
                days = {name: history_resolvers.utc_day(args.get(name)) for name in DAY_BOUNDS}
                page.criteria = tuple(day is not None for day in days.values())
                for name, day in days.items():
                    if day is not None:
                        page.values[f"{page.slot}_{name}"] = day
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
        roots = {
            "customers": self.customers,
            "interactions": self.interactions,
            "communities": self.communities,
            "customer": self.customer_by_id,
            "community": self.community_by_id,
        }

        def value_of(part: Selected) -> Any:
            if part.name not in roots:
                raise NotCompilable(f"Query.{part.name}")
            return roots[part.name](part, (part.key,))

        root = self.object(self.prepared.operation.selection_set, self.type("Query"), value_of)
        return sql_select(cast(root, Text))

    def customer_by_id(self, selected: Selected, path: Path) -> Any:
        """`customer(id)`: a merged customer's id answers its survivor (``read.survivor_id``,
        as ``socialcrm.resolvers.customers.customer_by_pk`` answers it)."""
        pk = self.pages[path].parameter("id", BigInteger)
        survivor = read.survivor_id(self.workspace_id, pk)
        return self.lookup(read.customer, survivor, self.customer, selected, path)

    def community_by_id(self, selected: Selected, path: Path) -> Any:
        pk = self.pages[path].parameter("id", BigInteger)
        return self.lookup(read.community, pk, self.community, selected, path)

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
            columns=read.INTERACTION_ROW_COLUMNS,
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
            cursor_of=lambda row: cursor(
                community_resolvers.COMMUNITY_CURSOR, row.c.id, separator=CURSOR_SEPARATOR
            ),
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
        return self.membership_connection(
            selected, path, page, community_resolvers.MEMBER_CURSOR, self.customer, count
        )

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
        return self.membership_connection(
            selected, path, page, community_resolvers.MEMBERSHIP_CURSOR, self.community, count
        )

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

        def edge_value(edges_key: str, part: Selected) -> Any:
            if part.name == "cursor":
                return cursor_of(numbered)
            if part.name == "node":
                return node_of(numbered, part, (*path, edges_key, part.key))
            if edge_fields and part.name in edge_fields:
                return edge_fields[part.name](numbered)
            raise NotCompilable(f"{edge_type.name}.{part.name}")

        def value_of(part: Selected) -> Any:
            if part.name == "edges":
                edge = self.object(
                    part.node.selection_set, edge_type, partial(edge_value, part.key)
                )
                return json_list(edge, [numbered.c.rn], where=in_page)
            if part.name == "pageInfo":
                return self.page_info(part, numbered, size, page_args.has_after, cursor_of)
            if part.name == "totalCount":
                return count.scalar_subquery()
            raise NotCompilable(f"{connection_type.name}.{part.name}")

        connection = self.object(selected.node.selection_set, connection_type, value_of)
        # GROUP BY (): one row, even for an empty page (every column is an aggregate).
        return sql_select(connection).select_from(numbered).group_by(text("()")).scalar_subquery()

    def page_info(
        self,
        selected: Selected,
        numbered: Any,
        size: Any,
        has_after: bool,
        cursor_of: Callable[[Any], ColumnElement[str]],
    ) -> Any:
        def value_of(part: Selected) -> Any:
            if part.name == "hasNextPage":
                return func.count() > size
            if part.name == "hasPreviousPage":
                return literal_column("true" if has_after else "false")
            if part.name == "startCursor":
                first_row = and_(numbered.c.rn == 1, numbered.c.rn <= size)
                return func.max(cursor_of(numbered)).filter(first_row)
            if part.name == "endCursor":
                last_row = numbered.c.rn == func.least(numbered.c.rows, size)
                return func.max(cursor_of(numbered)).filter(last_row)
            raise NotCompilable(f"PageInfo.{part.name}")

        return self.object(selected.node.selection_set, _object_type(selected.field), value_of)

    # -- objects -----------------------------------------------------------------------------

    def object(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLObjectType,
        value_of: Callable[[Selected], Any],
    ) -> Any:
        """A JSON object of a selection set: ``__typename`` and ``value_of`` each field."""
        return json_object(
            [
                (part.key, sql_string(parent.name) if part.field is None else value_of(part))
                for part in self.collect(selection_set, parent)
            ]
        )

    @staticmethod
    def column(row: Any, part: Selected) -> Any:
        """The column of ``row`` a plain field reads (its Python name), written as the
        GraphQL layer writes it; NotCompilable for a field with a resolver."""
        name = _plain_field_name(part)
        if name not in row.c:
            raise NotCompilable(f"the field {part.name}")
        column = row.c[name]
        if isinstance(column.type, UTCDateTime):
            return iso_timestamp(column)
        if isinstance(column.type, Float):
            return json_float(column)
        return column

    def lookup(
        self,
        table: Any,
        pk: Any,
        build: Callable[[Any, Selected, Path], Any],
        selected: Selected,
        path: Path,
        *,
        parent: Any = None,
        live_only: bool = False,
    ) -> Any:
        """The object of ``table``'s row ``pk`` (an expression on ``parent``'s row, if
        given), or null; ``live_only`` leaves merged customers out, as the loader does."""
        found = table.alias()
        conditions = [found.c.workspace_id == self.workspace_id, found.c.id == pk]
        if live_only:
            conditions.append(found.c.merged_into_id.is_(None))
        statement = sql_select(build(found, selected, path)).where(*conditions)
        if parent is not None:
            statement = statement.correlate(parent)
        return statement.scalar_subquery()

    def customer(self, row: Any, selected: Selected, path: Path) -> Any:
        """A Customer object of ``row`` (which has the customer table's column names)."""

        def value_of(part: Selected) -> Any:
            here = (*path, part.key)
            if part.name == "id":
                return global_id("Customer", row.c.id)
            if part.name == "lifecycleStage":
                return enum_name(row.c.lifecycle_stage, LifecycleStage, LifecycleStage.EXPLORATION)
            if part.name == "identities":
                return self.identities(row, part)
            if part.name == "tags":
                return self.tags(row)
            if part.name == "scores":
                return self.scores(row, part)
            if part.name == "interactions":
                return self.interactions(part, here, parent=row)
            if part.name == "communities":
                return self.customer_communities(part, here, parent=row)
            if part.name == "scoreHistory":
                return self.score_history(row, part, here)
            if part.name == "stageHistory":
                return self.stage_history(row, part)
            if part.name == "referrals":
                return self.referrals(row, part)
            return self.column(row, part)

        return self.object(selected.node.selection_set, self.type("Customer"), value_of)

    def identities(self, row: Any, selected: Selected) -> Any:
        identity = read.identity
        element = self.object(
            selected.node.selection_set,
            self.type("Identity"),
            lambda part: self.column(identity, part),
        )
        return (
            sql_select(json_list(element, [identity.c.id]))
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

    def score_history(self, row: Any, selected: Selected, path: Path) -> Any:
        """`Customer.scoreHistory`: the newest points in the range, written oldest first."""
        page_args = self.pages[path]
        has_since, has_until = page_args.criteria
        days = [
            page_args.parameter(name, Date) if given else None
            for name, given in zip(DAY_BOUNDS, (has_since, has_until), strict=True)
        ]
        points = (
            read.score_history_page(
                self.workspace_id, row.c.id, days[0], days[1], MAX_SCORE_HISTORY_POINTS
            )
            .correlate(row)
            .subquery()
        )
        element = self.object(
            selected.node.selection_set,
            self.type("ScorePoint"),
            lambda part: self.column(points, part),
        )
        return sql_select(json_list(element, [points.c.day])).scalar_subquery()

    def stage_history(self, row: Any, selected: Selected) -> Any:
        """`Customer.stageHistory`: the newest changes, newest first."""
        changes = (
            read.stage_changes_page(self.workspace_id, row.c.id, MAX_STAGE_CHANGES)
            .correlate(row)
            .subquery()
        )

        def value_of(part: Selected) -> Any:
            if part.name == "from":
                stage = changes.c.from_stage
                named = enum_name(stage, LifecycleStage, LifecycleStage.EXPLORATION)
                return case((stage.is_(None), null()), else_=named)
            if part.name == "to":
                return enum_name(changes.c.to_stage, LifecycleStage, LifecycleStage.EXPLORATION)
            if part.name == "source":
                return enum_name(changes.c.source, StageChangeSource, StageChangeSource.RULE)
            return self.column(changes, part)

        element = self.object(selected.node.selection_set, self.type("StageChange"), value_of)
        order = [changes.c.changed_at.desc(), changes.c.id.desc()]
        return sql_select(json_list(element, order)).scalar_subquery()

    def referrals(self, row: Any, selected: Selected) -> Any:
        """`Customer.referrals`: zeros for a customer who brought nobody."""
        counts = read.referrals_of(self.workspace_id, row.c.id).correlate(row).subquery()
        referrals_type = self.type("Referrals")
        stored = (
            sql_select(
                self.object(
                    selected.node.selection_set,
                    referrals_type,
                    lambda part: counts.c[_plain_field_name(part)],
                )
            )
            .select_from(counts)
            .scalar_subquery()
        )
        nobody = self.object(
            selected.node.selection_set, referrals_type, lambda part: literal_column("0")
        )
        return func.coalesce(stored, nobody)

    def scores(self, row: Any, selected: Selected) -> Any:
        score = read.score
        scores_type = self.type("Scores")

        def no_score(part: Selected) -> Any:
            # A customer without a score row has ``socialcrm.schema.customer.NO_SCORES``.
            value = getattr(NO_SCORES, _plain_field_name(part))
            return literal_column("NULL" if value is None else repr(float(value)))

        stored = (
            sql_select(
                self.object(
                    selected.node.selection_set,
                    scores_type,
                    lambda part: self.column(score, part),
                )
            )
            .where(score.c.workspace_id == self.workspace_id, score.c.customer_id == row.c.id)
            .correlate(row)
            .limit(1)
            .scalar_subquery()
        )
        return func.coalesce(
            stored, self.object(selected.node.selection_set, scores_type, no_score)
        )

    def interaction(self, row: Any, selected: Selected, path: Path) -> Any:
        """An Interaction object of ``row`` (with ``read.INTERACTION_ROW_COLUMNS``' names)."""

        def value_of(part: Selected) -> Any:
            here = (*path, part.key)
            if part.name == "id":
                return global_id("Interaction", row.c.id)
            if part.name == "kind":
                return enum_name(row.c.kind, InteractionKind, InteractionKind.OTHER)
            if part.name == "direction":
                return enum_name(row.c.direction, Direction, Direction.INBOUND)
            if part.name == "customer":
                customer = row.c.customer_id
                return self.lookup(
                    read.customer, customer, self.customer, part, here, parent=row, live_only=True
                )
            if part.name == "community":
                community = row.c.community_id
                return self.lookup(
                    read.community, community, self.community, part, here, parent=row
                )
            if part.name == "inReplyTo":
                answered = row.c.in_reply_to_id
                return self.lookup(
                    read.interaction, answered, self.interaction, part, here, parent=row
                )
            return self.column(row, part)

        return self.object(selected.node.selection_set, self.type("Interaction"), value_of)

    def community(self, row: Any, selected: Selected, path: Path) -> Any:
        """A Community object of ``row`` (which has the community table's column names)."""

        def value_of(part: Selected) -> Any:
            if part.name == "id":
                return global_id("Community", row.c.id)
            if part.name == "members":
                return self.members(part, (*path, part.key), parent=row)
            return self.column(row, part)

        return self.object(selected.node.selection_set, self.type("Community"), value_of)


def _plain_field_name(part: Selected) -> str:
    """The Python name of a field without a resolver (an attribute of its object)."""
    assert part.field is not None
    definition = part.field.extensions["strawberry-definition"]
    if definition.base_resolver is not None:
        raise NotCompilable(f"the field {part.name} has a resolver")
    return str(definition.python_name)


def _object_type(field: GraphQLField | None) -> GraphQLObjectType:
    assert field is not None
    inner: Any = field.type
    while hasattr(inner, "of_type"):
        inner = inner.of_type
    assert isinstance(inner, GraphQLObjectType)
    return inner


__all__ = ["CompiledReads", "NotCompilable", "UseResolvers"]
