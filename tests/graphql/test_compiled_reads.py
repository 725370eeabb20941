"""Compiled reads answer exactly what the resolvers answer.

``socialcrm.resolvers.compiled`` turns some queries into one SQL statement that writes the JSON
response in PostgreSQL. Two apps run on one database here, one with ``compiled_reads`` and
one without; every query goes to both and the answers must be equal, while the compiled
app's request counter shows it really answered compiled (or, for what it does not support
and for errors, really left the request to the resolvers). The data (``compiled_seed``)
is chosen to tell serializers apart: ties in every order, non-ASCII text, odd JSON, whole
and fractional floats, negative zero, unknown stored enum values, nulls, a merged customer
and a second workspace.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from helpers.compiled_seed import HANK_HISTORY_DAYS, CompiledSeed, at, pk, seed_compiled
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.plugins.manager import PluginManager
from socialcrm.resolvers.pagination import encode_cursor
from socialcrm.schema.customer import MAX_SCORE_HISTORY_POINTS
from socialcrm.schema.node import to_global_id
from socialcrm.server import read
from socialcrm.server.app import create_app
from socialcrm.server.scoring.referrals import referral_counts
from socialcrm.server.settings import Settings

MAX_PAGES = 20
"""A page walk longer than this is a cursor that does not advance."""


# -- two apps on one database -----------------------------------------------------------------


@dataclass
class Reply:
    """One HTTP answer, and how the app says it answered it."""

    status: int
    text: str
    execution: str

    @property
    def body(self) -> Any:
        """The decoded JSON body."""
        return json.loads(self.text)


@dataclass
class Server:
    """A running app and a client of it."""

    app: Any
    client: httpx.AsyncClient

    @property
    def execution(self) -> str:
        """How this app answers the queries the compiler supports."""
        return "compiled" if self.app.state.services.settings.compiled_reads else "resolvers"

    @property
    def operations(self) -> Counter[str]:
        """The app's GraphQL requests by execution (``compiled`` or ``resolvers``)."""
        return self.app.state.services.graphql_operations  # type: ignore[no-any-return]

    async def send(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None,
        operation_name: str | None = None,
    ) -> Reply:
        """POST a query; the counter must grow by exactly one request."""
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            payload["operationName"] = operation_name
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        before = self.operations.copy()
        response = await self.client.post("/graphql", json=payload, headers=headers)
        grown = self.operations - before
        assert sum(grown.values()) == 1, grown
        (execution,) = grown
        return Reply(response.status_code, response.text, execution)


@dataclass
class Servers:
    """The app with compiled reads and the one without, on the same database."""

    compiled: Server
    resolvers: Server

    async def both(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None,
        operation_name: str | None = None,
    ) -> tuple[Reply, Reply]:
        """The compiled app's reply and the resolvers app's reply to the same request."""
        got = await self.compiled.send(query, variables, token=token, operation_name=operation_name)
        expected = await self.resolvers.send(
            query, variables, token=token, operation_name=operation_name
        )
        assert expected.execution == "resolvers"
        return got, expected


@pytest.fixture(scope="module")
async def seeded(sessions: async_sessionmaker[AsyncSession]) -> CompiledSeed:
    """Both workspaces, written once for the module (every test here only reads)."""
    return await seed_compiled(sessions)


@pytest.fixture(scope="module")
async def servers(database_url: str) -> AsyncIterator[Servers]:
    """Both apps, started once for the module; tests look at counter deltas only."""
    # As conftest's `settings` fixture (which is per test, and these apps live longer).
    base = Settings(database_url=database_url, public_url="http://testserver", _env_file=None)  # type: ignore[call-arg]
    async with contextlib.AsyncExitStack() as stack:
        made: list[Server] = []
        for compiled in (True, False):
            app = create_app(base.model_copy(update={"compiled_reads": compiled}), PluginManager())
            await stack.enter_async_context(LifespanManager(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://testserver"
                )
            )
            made.append(Server(app, client))
        yield Servers(*made)


def differences(got: Any, expected: Any, path: str = "$") -> list[str]:
    """Where two decoded JSON values differ, as ``path: got != expected`` lines."""
    if isinstance(got, dict) and isinstance(expected, dict) and got.keys() == expected.keys():
        return [d for k in got for d in differences(got[k], expected[k], f"{path}.{k}")]
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        pairs = zip(got, expected, strict=True)
        return [d for i, (g, e) in enumerate(pairs) for d in differences(g, e, f"{path}[{i}]")]
    return [] if got == expected else [f"{path}: {got!r} != {expected!r}"]


def assert_same(got: Reply, expected: Reply) -> None:
    """Equal status codes and decoded bodies; a failure lists the differing paths."""
    assert got.status == expected.status, (got.status, expected.status, got.text)
    assert got.body == expected.body, "\n".join(differences(got.body, expected.body)[:20])


def gid(row: Any) -> str:
    """The global id of a seeded row."""
    return to_global_id(type(row).__name__, row.id)


def edges_of(connection: dict[str, Any], *path: str) -> list[Any]:
    """The values at ``path`` below each edge of a connection."""
    values = []
    for edge in connection["edges"]:
        value = edge
        for key in path:
            value = value[key]
        values.append(value)
    return values


def customer_names(seeded: CompiledSeed, *keys: str) -> list[str]:
    """Display names of workspace A's customers by seed key."""
    return [seeded.a.customers[key].display_name for key in keys]


def interaction_ids(seeded: CompiledSeed, *keys: str) -> list[str]:
    """Global ids of workspace A's interactions by seed key."""
    return [gid(seeded.a.interactions[key]) for key in keys]


def listed_customers(seeded: CompiledSeed) -> dict[str, Any]:
    """Workspace A's customers that lists show (the merged one is not listed)."""
    return {k: c for k, c in seeded.a.customers.items() if c.merged_into_id is None}


def expected_order(seeded: CompiledSeed, field: str, descending: bool) -> list[str]:
    """Workspace A's customer ids (global) in the order ``field`` sorts them, ties by id."""

    def key(item: tuple[str, Any]) -> tuple[Any, int]:
        name, row = item
        if field == "id":
            return row.id, row.id
        if field == "created_at":
            return row.created_at, row.id
        if field == "last_seen_at":
            return row.last_seen_at or read.EPOCH, row.id
        score = seeded.a.scores.get(name)
        return (getattr(score, field) if score else 0.0), row.id

    ordered = sorted(listed_customers(seeded).items(), key=key, reverse=descending)
    return [gid(row) for _, row in ordered]


def newest_first(seeded: CompiledSeed, keys: list[str] | None = None) -> list[str]:
    """Global ids of workspace A's interactions (all, or ``keys``), newest first, ties by id."""
    if keys is None:
        keys = list(seeded.a.interactions)
    rows = [seeded.a.interactions[key] for key in keys]
    rows.sort(key=lambda row: (row.occurred_at, row.id), reverse=True)
    return [gid(row) for row in rows]


# -- the query corpus -------------------------------------------------------------------------

PAGE_INFO = "pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }"
CUSTOMER_FIELDS = """
fragment CustomerFields on Customer {
  __typename id displayName handle email phone avatarUrl language location lifecycleStage
  lifecycleStageSetBy attributes createdAt updatedAt lastSeenAt
  identities { __typename channel externalId handle following }
  tags
  scores { __typename engagement influence sentiment value socialValue churnRisk updatedAt }
}"""
INTERACTION_FIELDS = """
fragment InteractionFields on Interaction {
  __typename id channel kind direction contentType content occurredAt sentiment externalId
  threadId deliveryStatus data language isComplaint keywords amount currency
}"""

CUSTOMERS_PAGE = f"""
query Customers($filter: CustomerFilter, $order: CustomerOrder, $first: Int, $after: String) {{
  customers(filter: $filter, orderBy: $order, first: $first, after: $after) {{
    totalCount {PAGE_INFO}
    edges {{ cursor node {{ id displayName lastSeenAt createdAt
      scores {{ engagement influence sentiment value socialValue churnRisk }} }} }}
  }}
}}"""

INTERACTIONS_PAGE = f"""
query Interactions($filter: InteractionFilter, $first: Int, $after: String) {{
  interactions(filter: $filter, first: $first, after: $after) {{
    __typename totalCount {PAGE_INFO}
    edges {{ __typename cursor node {{ ...InteractionFields }} }}
  }}
}}{INTERACTION_FIELDS}"""

NESTED_INTERACTIONS = f"""
query Nested($f: InteractionFilter, $n: Int, $after: String) {{
  customers(first: 100) {{
    edges {{ node {{ displayName
      interactions(first: $n, filter: $f, after: $after) {{
        __typename totalCount {PAGE_INFO}
        edges {{ cursor node {{ ...InteractionFields }} }}
      }}
    }} }}
  }}
}}{INTERACTION_FIELDS}"""

Variables = Callable[[CompiledSeed], dict[str, Any]]
Check = Callable[[dict[str, Any], CompiledSeed], None]


@dataclass(frozen=True)
class Case:
    """A query of the corpus, its variables (from the seeded rows) and what its data must hold."""

    name: str
    query: str
    variables: Variables = field(default=lambda seeded: {})
    check: Check | None = None
    operation_name: str | None = None
    read_token: bool = False


def _every_customer_field(data: dict[str, Any], seeded: CompiledSeed) -> None:
    page = data["customers"]
    nodes = {node["displayName"]: node for node in edges_of(page, "node")}
    assert list(nodes) == customer_names(seeded, *listed_customers(seeded))
    assert page["totalCount"] == len(nodes)
    assert nodes["陈晨"]["lifecycleStage"] == "EXPLORATION"  # stored "churned"
    assert nodes["陈晨"]["scores"]["updatedAt"] is None  # no score row
    assert nodes["Eve"]["scores"]["updatedAt"] == "2026-01-01T00:00:00+00:00"
    alice = nodes["Alice Wang"]
    assert sorted(alice["tags"]) == sorted(["会员", "VIP", "alpha"])
    assert [i["channel"] for i in alice["identities"]] == ["wechat", "wechat.unionid", "email"]
    assert alice["attributes"]["地址"] == {"城市": "上海", "邮编": "200000"}
    assert alice["lastSeenAt"] == "2026-01-11T00:00:00.654321+00:00"


def _names(*keys: str) -> Check:
    def check(data: dict[str, Any], seeded: CompiledSeed) -> None:
        (page,) = data.values()
        assert edges_of(page, "node", "displayName") == customer_names(seeded, *keys)
        assert page["totalCount"] == len(keys)

    return check


def _interactions(*keys: str) -> Check:
    def check(data: dict[str, Any], seeded: CompiledSeed) -> None:
        page = data["interactions"]
        assert edges_of(page, "node", "id") == newest_first(seeded, list(keys))
        assert page["totalCount"] == len(keys)

    return check


def _order_case(field_name: str, direction: str) -> Case:
    stored = field_name.lower()

    def check(data: dict[str, Any], seeded: CompiledSeed) -> None:
        page = data["customers"]
        assert edges_of(page, "node", "id") == expected_order(seeded, stored, direction == "DESC")
        assert page["pageInfo"]["hasNextPage"] is False

    return Case(
        f"order-{stored}-{direction.lower()}",
        CUSTOMERS_PAGE,
        lambda seeded: {"order": {"field": field_name, "direction": direction}, "first": 100},
        check,
    )


def _filter_case(name: str, customer_filter: dict[str, Any], *keys: str) -> Case:
    return Case(
        f"filter-{name}",
        CUSTOMERS_PAGE,
        lambda seeded: {"filter": customer_filter, "first": 100},
        _names(*keys),
    )


def _interaction_filter_case(name: str, make: Variables, *keys: str) -> Case:
    return Case(
        f"interactions-{name}",
        INTERACTIONS_PAGE,
        lambda seeded: {"filter": make(seeded), "first": 100},
        _interactions(*keys),
    )


def _every_interaction_field(data: dict[str, Any], seeded: CompiledSeed) -> None:
    page = data["interactions"]
    assert edges_of(page, "node", "id") == newest_first(seeded)
    assert page["totalCount"] == len(seeded.a.interactions)
    nodes = {node["id"]: node for node in edges_of(page, "node")}
    reaction = nodes[gid(seeded.a.interactions["alice_reaction"])]
    assert (reaction["kind"], reaction["data"]) == ("OTHER", [1, "two", {"three": 3}])
    assert nodes[gid(seeded.a.interactions["bob_repost"])]["direction"] == "INBOUND"
    assert nodes[gid(seeded.a.interactions["alice_reply"])]["occurredAt"] == (
        "2026-01-02T00:00:01.250000+00:00"
    )


def _nested_default(data: dict[str, Any], seeded: CompiledSeed) -> None:
    by_name = {
        e["node"]["displayName"]: e["node"]["interactions"] for e in data["customers"]["edges"]
    }
    alice = by_name["Alice Wang"]
    assert alice["totalCount"] == 5
    assert edges_of(alice, "node", "kind") == ["OTHER", "CALL"]
    assert alice["pageInfo"]["hasNextPage"] is True
    assert by_name["Eve"] == {
        "__typename": "InteractionConnection",
        "totalCount": 0,
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }


def _bob_tie(data: dict[str, Any], seeded: CompiledSeed) -> None:
    bob = next(e["node"] for e in data["customers"]["edges"] if e["node"]["displayName"] == "bob")
    page = bob["interactions"]
    # comment and mention share occurred_at; the later-stored mention comes first.
    assert edges_of(page, "node", "id") == interaction_ids(seeded, "bob_mention", "bob_comment")
    assert edges_of(page, "node", "direction") == ["INBOUND", "INBOUND"]


def _customer_of_interaction(data: dict[str, Any], seeded: CompiledSeed) -> None:
    by_id = {node["id"]: node for node in edges_of(data["interactions"], "node")}
    assert by_id[gid(seeded.a.interactions["merged_old"])]["customer"] is None
    alice = by_id[gid(seeded.a.interactions["alice_hello"])]["customer"]
    assert alice["displayName"] == "Alice Wang"
    assert edges_of(alice["latest"], "node", "id") == interaction_ids(seeded, "alice_reaction")


def _first_zero(data: dict[str, Any], seeded: CompiledSeed) -> None:
    for page in data.values():
        assert page["edges"] == []
        assert page["pageInfo"]["hasNextPage"] is True
        assert page["pageInfo"]["startCursor"] is None
        assert page["pageInfo"]["endCursor"] is None
        assert page["totalCount"] > 0


def _empty(data: dict[str, Any], seeded: CompiledSeed) -> None:
    assert data["customers"] == {
        "totalCount": 0,
        "pageInfo": {
            "__typename": "PageInfo",
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
    }


def _after_alice(data: dict[str, Any], seeded: CompiledSeed) -> None:
    page = data["customers"]
    assert edges_of(page, "node", "id") == expected_order(seeded, "id", False)[1:4]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["totalCount"] == len(listed_customers(seeded))


def _typename_only(data: dict[str, Any], seeded: CompiledSeed) -> None:
    assert data == {
        "__typename": "Query",
        "customers": {
            "__typename": "CustomerConnection",
            "edges": [{"__typename": "CustomerEdge", "node": {"__typename": "Customer"}}],
            "pageInfo": {"__typename": "PageInfo"},
        },
    }


def _aliased(data: dict[str, Any], seeded: CompiledSeed) -> None:
    assert set(data) == {"top", "newest", "feed"}
    top = data["top"]
    keys = [edge["n"]["key"] for edge in top["list"]]
    assert keys == expected_order(seeded, "social_value", True)[:2]
    assert top["info"]["more"] is True
    assert set(top["list"][0]) == {"c", "n"}
    assert [e["node"]["who"]["name"] for e in data["feed"]["edges"]] == ["Alice Wang"] * 2


SORT_FIELDS = (
    "ID",
    "CREATED_AT",
    "LAST_SEEN_AT",
    "ENGAGEMENT",
    "INFLUENCE",
    "SENTIMENT",
    "VALUE",
    "SOCIAL_VALUE",
    "CHURN_RISK",
)

CORPUS: list[Case] = [
    Case(
        "customers-every-field",
        f"""query Everything($first: Int) {{
          customers(first: $first) {{
            __typename totalCount {PAGE_INFO}
            edges {{ __typename cursor node {{ ...CustomerFields }} }}
          }}
        }}{CUSTOMER_FIELDS}""",
        lambda seeded: {"first": 100},
        _every_customer_field,
    ),
    Case(
        "customers-default-page-size-no-variables",
        "{ customers { totalCount edges { cursor node { id tags } } pageInfo { endCursor } } }",
    ),
    Case(
        "customers-explicit-null-arguments",
        CUSTOMERS_PAGE,
        lambda seeded: {"filter": None, "order": None, "first": None, "after": None},
    ),
    Case(
        "customers-read-token",
        f"query {{ customers(first: 4) {{ edges {{ node {{ ...CustomerFields }} }} }} }}"
        f"{CUSTOMER_FIELDS}",
        read_token=True,
    ),
    *(_order_case(f, d) for f in SORT_FIELDS for d in ("ASC", "DESC")),
    Case(
        "order-literal-last-seen-desc",
        """{ customers(orderBy: {field: LAST_SEEN_AT, direction: DESC}, first: 5) {
            edges { cursor node { displayName lastSeenAt } } pageInfo { hasNextPage endCursor }
        } }""",
    ),
    Case(
        "order-default-direction",
        "{ customers(orderBy: {field: CHURN_RISK}, first: 4) { edges { cursor node { id } } } }",
    ),
    _filter_case("search", {"search": "ali"}, "alice", "frank"),
    _filter_case("search-trimmed-upper", {"search": "  ALICE  "}, "alice"),
    _filter_case("search-percent", {"search": "100%"}, "gina"),
    # "_" is no wildcard: "_w" is in alice's handle and in hank's Weibo handle only.
    _filter_case("search-underscore", {"search": "_w"}, "alice", "hank"),
    _filter_case("search-chinese-identity", {"search": "微博"}, "bob"),
    _filter_case("channel-prefix", {"channel": ["wechat"]}, "alice", "chen", "frank", "hank"),
    _filter_case("channel-namespace", {"channel": ["wechat.unionid"]}, "alice", "hank"),
    _filter_case(
        "channel-any",
        {"channel": ["email", "weibo"]},
        "alice",
        "bob",
        "chen",
        "gina",
        "hank",
        "jack",
    ),
    _filter_case("tag-chinese", {"tag": ["会员"]}, "alice", "dana"),
    _filter_case("tag-every", {"tag": ["会员", "VIP"]}, "alice"),
    _filter_case("tag-case-sensitive", {"tag": ["vip"]}, "bob"),
    _filter_case("tag-unknown", {"tag": ["nope"]}),
    _filter_case(
        "lifecycle-any",
        {"lifecycleStage": ["STABILITY", "DECLINE"]},
        "alice",
        "dana",
        "hank",
        "ivy",
        "jack",
    ),
    # The unknown stored stage reads as EXPLORATION but does not match it.
    _filter_case("lifecycle-exploration", {"lifecycleStage": ["EXPLORATION"]}, "eve", "frank"),
    _filter_case("engagement-min", {"engagement": {"min": 12.5}}, "alice", "bob", "dana", "hank"),
    _filter_case("influence-range", {"influence": {"min": 10, "max": 50}}, "alice", "dana", "hank"),
    _filter_case(
        "social-value-max-zero",
        {"socialValue": {"max": 0}},
        "alice",
        "chen",
        "eve",
        "frank",
        "hank",
        "ivy",
        "jack",
    ),
    _filter_case(
        "sentiment-range",
        {"sentiment": {"min": -0.75, "max": 0}},
        "bob",
        "chen",
        "dana",
        "eve",
        "frank",
        "ivy",
        "jack",
    ),
    _filter_case("value-min", {"value": {"min": 33.333333333333336}}, "alice", "gina"),
    _filter_case("churn-risk-min", {"churnRisk": {"min": 0.5}}, "bob", "dana"),
    _filter_case(
        "active-since", {"activeSince": "2026-01-05T00:00:00Z"}, "alice", "dana", "gina", "hank"
    ),
    _filter_case(
        "active-since-offset",
        {"activeSince": "2026-01-05T08:00:00+08:00"},
        "alice",
        "dana",
        "gina",
        "hank",
    ),
    Case(
        "filter-combined-ordered",
        CUSTOMERS_PAGE,
        lambda seeded: {
            "filter": {
                "channel": ["wechat", "weibo"],
                "lifecycleStage": ["STABILITY", "FORMATION"],
                "engagement": {"min": 1},
            },
            "order": {"field": "ENGAGEMENT", "direction": "DESC"},
            "first": 100,
        },
        _names("bob", "hank", "alice"),
    ),
    Case(
        "customers-empty",
        f"""query($s: String) {{ customers(filter: {{search: $s}}) {{
            totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }} }} }}""",
        lambda seeded: {"s": "no such customer"},
        _empty,
    ),
    Case(
        "customers-after",
        CUSTOMERS_PAGE,
        lambda seeded: {
            "first": 3,
            "after": encode_cursor(
                "customer:id:asc", seeded.a.customers["alice"].id, seeded.a.customers["alice"].id
            ),
        },
        _after_alice,
    ),
    Case(
        "customers-after-last-seen-desc",
        CUSTOMERS_PAGE,
        lambda seeded: {
            "order": {"field": "LAST_SEEN_AT", "direction": "DESC"},
            "first": 4,
            "after": encode_cursor(
                "customer:last_seen_at:desc",
                seeded.a.customers["dana"].last_seen_at.isoformat(),  # type: ignore[union-attr]
                seeded.a.customers["dana"].id,
            ),
        },
    ),
    Case(
        "interactions-every-field",
        INTERACTIONS_PAGE,
        lambda seeded: {"first": 100},
        _every_interaction_field,
    ),
    Case(
        "interactions-default-page", "{ interactions { totalCount edges { cursor node { id } } } }"
    ),
    _interaction_filter_case(
        "channel",
        lambda seeded: {"channel": ["email", "manual"]},
        "alice_mail",
        "alice_call",
        "dana_shipped",
        "gina_note",
        "gina_purchase",
    ),
    # "reaction" is stored: it reads as OTHER, but OTHER matches only what is stored as such.
    _interaction_filter_case("kind-other", lambda seeded: {"kind": ["OTHER"]}),
    _interaction_filter_case(
        "kind-any",
        lambda seeded: {"kind": ["COMMENT", "MENTION", "CALL"]},
        "bob_comment",
        "bob_mention",
        "alice_call",
    ),
    _interaction_filter_case(
        "direction",
        lambda seeded: {"direction": "OUTBOUND"},
        "alice_reply",
        "alice_call",
        "dana_shipped",
        "gina_note",
    ),
    _interaction_filter_case(
        "customer",
        lambda seeded: {"customer": gid(seeded.a.customers["bob"])},
        "bob_comment",
        "bob_mention",
        "bob_repost",
    ),
    # A merged customer's id means the customer it was merged into, as customer(id:) does.
    _interaction_filter_case(
        "merged-customer",
        lambda seeded: {"customer": gid(seeded.a.customers["merged"])},
        "alice_hello",
        "alice_reply",
        "alice_mail",
        "alice_call",
        "alice_reaction",
    ),
    _interaction_filter_case(
        "community",
        lambda seeded: {"community": gid(seeded.a.communities["group"])},
        "alice_hello",
        "chen_follow",
    ),
    # occurredAfter includes its instant, occurredBefore excludes its own.
    _interaction_filter_case(
        "occurred-window",
        lambda seeded: {"occurredAfter": at(2).isoformat(), "occurredBefore": at(5).isoformat()},
        "chen_follow",
        "chen_scan",
        "bob_comment",
        "bob_mention",
        "bob_repost",
        "alice_mail",
    ),
    _interaction_filter_case(
        "combined",
        lambda seeded: {
            "channel": ["wechat"],
            "kind": ["MESSAGE", "FOLLOW"],
            "direction": "INBOUND",
            "occurredAfter": "2026-01-02T08:00:00+08:00",
        },
        "alice_hello",
        "chen_follow",
        "merged_old",
    ),
    Case(
        "interactions-after-tie",
        INTERACTIONS_PAGE,
        lambda seeded: {
            "first": 2,
            "after": encode_cursor(
                "interaction",
                seeded.a.interactions["bob_mention"].occurred_at.isoformat(),
                seeded.a.interactions["bob_mention"].id,
            ),
        },
    ),
    Case("nested-interactions", NESTED_INTERACTIONS, lambda seeded: {"n": 2}, _nested_default),
    Case(
        "nested-interactions-filter-ignores-customer",
        NESTED_INTERACTIONS,
        lambda seeded: {
            "n": 3,
            "f": {"direction": "INBOUND", "customer": gid(seeded.a.customers["chen"])},
        },
        _bob_tie,
    ),
    Case(
        "nested-interactions-filter-and-after",
        NESTED_INTERACTIONS,
        lambda seeded: {
            "n": 5,
            "f": {"kind": ["MESSAGE", "COMMENT"], "channel": ["wechat", "email", "weibo"]},
            "after": encode_cursor(
                "interaction",
                seeded.a.interactions["alice_mail"].occurred_at.isoformat(),
                seeded.a.interactions["alice_mail"].id,
            ),
        },
    ),
    Case("nested-interactions-first-zero", NESTED_INTERACTIONS, lambda seeded: {"n": 0}),
    Case(
        "interaction-customer",
        f"""{{ interactions(first: 100) {{ edges {{ node {{ id kind
            customer {{ ...CustomerFields
              latest: interactions(first: 1) {{
                totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }}
              }}
            }}
        }} }} }} }}{CUSTOMER_FIELDS}""",
        check=_customer_of_interaction,
    ),
    Case(
        "customers-interactions-customer-interactions",
        """query($f: InteractionFilter) {
          customers(first: 4, orderBy: {field: VALUE, direction: DESC}) {
            edges { node { displayName interactions(first: 2, filter: $f) { edges { node { content
              customer { displayName tags interactions(first: 1) { totalCount edges { cursor } } }
            } } } } }
        } }""",
        lambda seeded: {"f": {"direction": "INBOUND"}},
    ),
    Case(
        "aliases",
        """query Aliased($id: ID) {
          top: customers(first: 2, orderBy: {field: SOCIAL_VALUE, direction: DESC}) {
            count: totalCount info: pageInfo { more: hasNextPage last: endCursor }
            list: edges { c: cursor n: node { key: id name: displayName stage: lifecycleStage
              labels: tags ids: identities { ch: channel ext: externalId }
              s: scores { sv: socialValue }
              recent: interactions(first: 1) { edges { node { kind } } }
              inbound: interactions(first: 2, filter: {direction: INBOUND}) { total: totalCount }
            } }
          }
          newest: customers(first: 2, orderBy: {field: CREATED_AT, direction: DESC}) {
            edges { node { name: displayName at: createdAt } }
          }
          feed: interactions(first: 2, filter: {customer: $id}) {
            total: totalCount
            edges { node { what: kind when: occurredAt who: customer { name: displayName } } }
          }
        }""",
        lambda seeded: {"id": gid(seeded.a.customers["alice"])},
        _aliased,
    ),
    Case(
        "fragments",
        """query Fragments {
          customers(first: 3, orderBy: {field: INFLUENCE, direction: DESC}) { ...Conn }
          interactions(first: 3) {
            ... on InteractionConnection { totalCount edges { ... { cursor } node { ...Inter } } }
          }
        }
        fragment Conn on CustomerConnection { totalCount pageInfo { ...Info } edges { ...Edge } }
        fragment Edge on CustomerEdge { cursor node { ...Cust ... on Customer { tags } } }
        fragment Cust on Customer {
          id displayName scores { ...Sc } identities { ... on Identity { handle } }
        }
        fragment Sc on Scores { engagement socialValue __typename }
        fragment Info on PageInfo { hasNextPage endCursor }
        fragment Inter on Interaction {
          id kind content customer { ... on Customer { displayName } }
        }""",
    ),
    Case(
        "first-zero",
        f"""{{ customers(first: 0) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }} }}
            interactions(first: 0) {{ totalCount {PAGE_INFO} edges {{ cursor }} }} }}""",
        check=_first_zero,
    ),
    Case(
        "typename-only",
        "{ __typename customers(first: 1) { __typename edges { __typename node { __typename } }"
        " pageInfo { __typename } } }",
        check=_typename_only,
    ),
    Case(
        "operation-name",
        """query First { customers(first: 1) { edges { node { id } } } }
        query Second($n: Int) { interactions(first: $n) { edges { node { id content } } } }""",
        lambda seeded: {"n": 3},
        operation_name="Second",
    ),
    Case(
        "variable-defaults",
        """query($n: Int = 3, $order: CustomerOrder = {field: VALUE, direction: DESC}) {
            customers(first: $n, orderBy: $order) { edges { cursor node { displayName } } }
        }""",
    ),
]


MEMBERSHIP_FIELDS = """
fragment CommunityFields on Community {
  __typename id name description channel externalId createdAt dismissedAt
}"""

COMMUNITY_CORPUS = [
    Case(
        "customer-by-id-follows-merges",
        """query($id: ID!) { customer(id: $id) { displayName tags scores { socialValue }
            interactions(first: 2) { edges { node { id } } } } }""",
        lambda seeded: {"id": gid(seeded.a.customers["merged"])},
    ),
    Case(
        "customer-by-id",
        "query($id: ID!) { customer(id: $id) { __typename id displayName lastSeenAt } }",
        lambda seeded: {"id": gid(seeded.a.customers["bob"])},
    ),
    Case(
        "customer-by-id-of-another-workspace",
        "query($id: ID!) { customer(id: $id) { id } }",
        lambda seeded: {"id": gid(seeded.b.customers["bella"])},
    ),
    Case(
        "communities",
        "{ communities { totalCount edges { node { name channel } } } }",
    ),
    Case(
        "communities-every-field",
        f"""{{ communities(filter: {{includeDismissed: true}}) {{
            __typename totalCount {PAGE_INFO}
            edges {{ __typename cursor node {{ ...CommunityFields }} }} }} }}
        {MEMBERSHIP_FIELDS}""",
    ),
    Case(
        "communities-filtered",
        """query($f: CommunityFilter) { communities(filter: $f) { totalCount
            edges { node { name } } } }""",
        lambda seeded: {"f": {"search": "会员", "channel": ["wechat", "email"]}},
    ),
    Case(
        "communities-after",
        """query($after: String) { communities(first: 1, after: $after,
            filter: {includeDismissed: true}) { pageInfo { hasNextPage hasPreviousPage
            startCursor endCursor } edges { cursor node { name } } } }""",
        lambda seeded: {"after": encode_cursor("community", seeded.a.communities["group"].id)},
    ),
    Case(
        "community-by-id-with-members",
        f"""query($id: ID!, $after: String) {{ community(id: $id) {{ ...CommunityFields
            members {{ totalCount {PAGE_INFO}
                edges {{ __typename cursor role joinedAt node {{ displayName }} }} }}
            admins: members(role: [ADMIN, OPINION_LEADER]) {{ totalCount
                edges {{ role node {{ displayName }} }} }}
            later: members(first: 2, after: $after) {{ {PAGE_INFO} edges {{ node {{ id }} }} }}
        }} }}{MEMBERSHIP_FIELDS}""",
        lambda seeded: {
            "id": gid(seeded.a.communities["group"]),
            "after": encode_cursor("member", seeded.a.memberships[0].id),
        },
    ),
    Case(
        "community-by-id-dismissed",
        "query($id: ID!) { community(id: $id) { name dismissedAt members { totalCount } } }",
        lambda seeded: {"id": gid(seeded.a.communities["topic"])},
    ),
    Case(
        "community-of-another-workspace",
        "query($id: ID!) { community(id: $id) { name } }",
        lambda seeded: {"id": gid(seeded.b.communities["group"])},
    ),
    Case(
        "customer-communities",
        "{ customers(first: 3) { edges { node { displayName"
        " communities { totalCount edges { role node { name } } } } } } }",
    ),
    Case(
        "customer-communities-paged",
        f"""{{ customers(first: 20) {{ edges {{ node {{ displayName
            communities(first: 1) {{ totalCount {PAGE_INFO}
                edges {{ __typename cursor role joinedAt node {{ ...CommunityFields
                    members(first: 2) {{ edges {{ node {{ displayName }} }} }} }} }} }}
        }} }} }} }}{MEMBERSHIP_FIELDS}""",
    ),
    Case(
        "interaction-community-and-reply",
        "{ interactions(first: 100) { edges { node { id"
        " community { name } inReplyTo { id content inReplyTo { id } customer { displayName }"
        " community { id } } } } } }",
    ),
]


HISTORY_FIELDS = """
fragment HistoryFields on Customer {
  displayName lifecycleStage lifecycleStageSetBy
  scoreHistory { __typename day engagement influence sentiment value socialValue churnRisk }
  stageHistory { __typename from to source setBy changedAt }
  referrals { __typename brought purchased }
}"""


def _history(data: dict[str, Any], seeded: CompiledSeed) -> None:
    nodes = {node["displayName"]: node for node in edges_of(data["customers"], "node")}
    alice, bob, hank = nodes["Alice Wang"], nodes["bob"], nodes["Hank"]
    assert [point["day"] for point in alice["scoreHistory"]] == [
        "2026-01-01",
        "2026-01-02",
        "2026-01-04",
        "2026-01-31",
    ]
    assert alice["lifecycleStageSetBy"] == "console (token 7)"
    assert [(c["from"], c["to"], c["source"]) for c in alice["stageHistory"]] == [
        ("STABILITY", "STABILITY", "CLEARED"),
        ("FORMATION", "STABILITY", "MANUAL"),
        ("EXPLORATION", "FORMATION", "RULE"),
        (None, "EXPLORATION", "RULE"),
    ]
    assert bob["stageHistory"][0]["from"] == "EXPLORATION"  # stored "churned"
    assert alice["referrals"] == {"__typename": "Referrals", "brought": 3, "purchased": 1}
    assert nodes["Dana"]["referrals"] == {"__typename": "Referrals", "brought": 2, "purchased": 1}
    assert hank["referrals"]["brought"] == 0 and nodes["Eve"]["stageHistory"] == []
    # Hank has more days than a history holds: the newest ones, oldest first.
    days = [point["day"] for point in hank["scoreHistory"]]
    assert len(days) == MAX_SCORE_HISTORY_POINTS
    assert days == sorted(days)
    assert days[-1] == (at(HANK_HISTORY_DAYS - 1)).date().isoformat()


def _history_window(data: dict[str, Any], seeded: CompiledSeed) -> None:
    nodes = {node["displayName"]: node for node in edges_of(data["customers"], "node")}
    assert [p["day"] for p in nodes["Alice Wang"]["window"]] == ["2026-01-02", "2026-01-04"]
    assert [p["day"] for p in nodes["Alice Wang"]["since"]] == ["2026-01-04", "2026-01-31"]
    assert [p["day"] for p in nodes["Hank"]["until"]] == ["2026-01-01", "2026-01-02"]
    assert nodes["Hank"]["empty"] == []


def _interaction_analysis(data: dict[str, Any], seeded: CompiledSeed) -> None:
    nodes = {node["id"]: node for node in edges_of(data["interactions"], "node")}
    mail = nodes[gid(seeded.a.interactions["alice_mail"])]
    assert (mail["language"], mail["isComplaint"]) == ("zh", True)
    assert mail["keywords"] == ["订单", 'quote " and \\', "refund"]
    purchase = nodes[gid(seeded.a.interactions["gina_purchase"])]
    bought = (purchase["kind"], purchase["amount"], purchase["currency"])
    assert bought == ("PURCHASE", 199.0, "CNY")
    call = nodes[gid(seeded.a.interactions["alice_call"])]
    assert (call["language"], call["isComplaint"], call["keywords"], call["amount"]) == (
        None,
        None,
        [],
        None,
    )


UNDERSTANDING_CORPUS = [
    _filter_case("language-primary", {"language": ["zh"]}, "alice", "chen", "hank"),
    _filter_case("language-any-case", {"language": ["EN", "ja"]}, "bob", "dana", "jack"),
    _filter_case("language-regional", {"language": ["zh-cn"]}, "alice"),
    _filter_case("complained", {"complained": True}, "alice", "dana"),
    _filter_case(
        "not-complained",
        {"complained": False},
        "bob",
        "chen",
        "eve",
        "frank",
        "gina",
        "hank",
        "ivy",
        "jack",
    ),
    _filter_case("complained-since", {"complainedSince": at(3).isoformat()}, "alice"),
    _filter_case(
        "complained-language-score",
        {"complained": True, "language": ["zh", "en"], "sentiment": {"max": 0.5}},
        "alice",
        "dana",
    ),
    Case(
        "complained-ordered-by-social-value",
        CUSTOMERS_PAGE,
        lambda seeded: {
            "filter": {"complainedSince": at(1).isoformat()},
            "order": {"field": "SOCIAL_VALUE", "direction": "DESC"},
            "first": 100,
        },
        _names("dana", "alice"),
    ),
    _interaction_filter_case(
        "language", lambda seeded: {"language": ["zh"]}, "alice_hello", "alice_mail", "bob_mention"
    ),
    _interaction_filter_case(
        "complaint", lambda seeded: {"isComplaint": True}, "alice_mail", "bob_mention"
    ),
    _interaction_filter_case(
        "not-complaint", lambda seeded: {"isComplaint": False}, "alice_hello", "bob_comment"
    ),
    _interaction_filter_case(
        "sentiment",
        lambda seeded: {"sentiment": {"min": 0.3}},
        "alice_hello",
        "bob_comment",
        "bob_mention",
    ),
    _interaction_filter_case(
        "sentiment-negative-english",
        lambda seeded: {"sentiment": {"max": 0}, "language": ["zh", "en"]},
        "alice_mail",
    ),
    _interaction_filter_case(
        "kind-purchase",
        lambda seeded: {"kind": ["PURCHASE"]},
        "gina_purchase",
        "gina_order",
        "chen_purchase",
    ),
    Case(
        "interactions-analysis",
        INTERACTIONS_PAGE,
        lambda seeded: {"first": 100},
        _interaction_analysis,
    ),
    Case(
        "nested-interactions-analysis-filter",
        NESTED_INTERACTIONS,
        lambda seeded: {"n": 3, "f": {"isComplaint": True, "sentiment": {"min": -1, "max": 1}}},
    ),
    Case(
        "customer-history",
        f"""{{ customers(first: 100) {{ edges {{ node {{ ...HistoryFields }} }} }} }}
        {HISTORY_FIELDS}""",
        check=_history,
    ),
    Case(
        "customer-history-window",
        """query($since: DateTime, $until: DateTime) { customers(first: 100) { edges { node {
            displayName
            window: scoreHistory(since: $since, until: $until) { day socialValue }
            since: scoreHistory(since: "2026-01-03T23:59:59-08:00") { day }
            until: scoreHistory(until: "2026-01-02T00:00:00Z") { day churnRisk }
            empty: scoreHistory(since: "2026-02-01T00:00:00Z", until: "2026-01-01T00:00:00Z") {
              day }
        } } } }""",
        lambda seeded: {"since": "2026-01-02T08:00:00+08:00", "until": "2026-01-30T23:00:00Z"},
        _history_window,
    ),
    Case(
        "customer-by-id-history-follows-merges",
        f"""query($id: ID!) {{ customer(id: $id) {{ ...HistoryFields }} }}{HISTORY_FIELDS}""",
        lambda seeded: {"id": gid(seeded.a.customers["merged"])},
    ),
    Case(
        "interaction-customer-history",
        """{ interactions(first: 100, filter: {kind: [PURCHASE, MESSAGE]}) { edges { node {
            amount customer { lifecycleStageSetBy referrals { purchased }
              stageHistory { to setBy } scoreHistory(since: "2026-01-02T00:00:00Z") { day } }
        } } } }""",
    ),
    Case(
        "community-members-history",
        """query($id: ID!) { community(id: $id) { members { edges { node {
            displayName lifecycleStageSetBy referrals { brought } stageHistory { from }
        } } } } }""",
        lambda seeded: {"id": gid(seeded.a.communities["group"])},
    ),
]


@pytest.mark.parametrize(
    "case", CORPUS + COMMUNITY_CORPUS + UNDERSTANDING_CORPUS, ids=lambda case: case.name
)
async def test_compiled_answer_equals_resolvers_answer(
    servers: Servers, seeded: CompiledSeed, case: Case
) -> None:
    token = seeded.a.read_token if case.read_token else seeded.a.token
    got, expected = await servers.both(
        case.query, case.variables(seeded), token=token, operation_name=case.operation_name
    )
    assert expected.status == 200
    assert "errors" not in expected.body, expected.body
    assert_same(got, expected)
    assert got.execution == "compiled"
    if case.check is not None:
        case.check(expected.body["data"], seeded)


def test_corpus_covers_what_it_must() -> None:
    # A guard against the corpus shrinking below what this module promises to compare.
    names = {case.name for case in CORPUS}
    assert len(CORPUS) >= 20
    assert {f"order-{f.lower()}-{d}" for f in SORT_FIELDS for d in ("asc", "desc")} <= names


def _typed(value: Any) -> Any:
    """``value`` with every number tagged by its JSON type (``12`` is not ``12.0`` here)."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, int) and not isinstance(value, bool):
        return ("int", value)
    return value


async def test_float_fields_are_written_as_floats(servers: Servers, seeded: CompiledSeed) -> None:
    # Python's 12 == 12.0 hides it, but a client decoding the JSON sees an int for "12".
    query = """{ customers(first: 100) { edges { node { displayName
        scores { engagement influence sentiment value socialValue churnRisk } } } }
      interactions(first: 100) { edges { node { id sentiment amount } } }
      history: customers(filter: {search: "alice_w"}) { edges { node { scoreHistory {
        engagement influence sentiment value socialValue churnRisk } } } } }"""
    got, expected = await servers.both(query, token=seeded.a.token)
    assert got.execution == "compiled"
    typed_got, typed_expected = _typed(got.body), _typed(expected.body)
    assert typed_got == typed_expected, "\n".join(differences(typed_got, typed_expected)[:20])


async def test_referrals_count_as_the_scoring_engine_does(
    servers: Servers, seeded: CompiledSeed, sessions: async_sessionmaker[AsyncSession]
) -> None:
    query = "{ customers(first: 100) { edges { node { id referrals { brought purchased } } } } }"
    got, expected = await servers.both(query, token=seeded.a.token)
    assert got.execution == "compiled"
    assert_same(got, expected)
    listed = listed_customers(seeded)
    async with sessions() as session:
        counts = await referral_counts(session, [pk(row) for row in listed.values()])
    answered = {
        node["id"]: (node["referrals"]["brought"], node["referrals"]["purchased"])
        for node in edges_of(expected.body["data"]["customers"], "node")
    }
    assert answered == {gid(row): counts[pk(row)] for row in listed.values()}
    assert answered[gid(seeded.a.customers["alice"])] == (3, 1)


# -- page walks ---------------------------------------------------------------------------------


async def walk(
    primary: Server,
    other: Server,
    query: str,
    variables: dict[str, Any],
    token: str,
    connection: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Follow ``endCursor`` on ``primary`` until the last page; the pages, in order.

    Each cursor ``primary`` hands out is also given to ``other``, which must answer the
    same next page: cursors of either path work on the other.
    """
    pages: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        request = {**variables, "after": after}
        reply = await primary.send(query, request, token=token)
        assert reply.status == 200 and "errors" not in reply.body, reply.body
        assert reply.execution == primary.execution
        if after is not None:
            crossed = await other.send(query, request, token=token)
            assert crossed.execution == other.execution
            assert_same(crossed, reply)
        page = connection(reply.body["data"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
    raise AssertionError(f"more than {MAX_PAGES} pages: the cursor does not advance")


async def walk_both(
    servers: Servers,
    query: str,
    variables: dict[str, Any],
    token: str,
    connection: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """Walk on both apps; the pages (ids, cursors, page info) must be the same."""
    compiled = await walk(servers.compiled, servers.resolvers, query, variables, token, connection)
    resolvers = await walk(servers.resolvers, servers.compiled, query, variables, token, connection)
    assert compiled == resolvers, "\n".join(differences(compiled, resolvers)[:20])
    return resolvers


WALKED_ORDERS = [
    ("ID", "ASC"),
    ("CREATED_AT", "DESC"),
    ("LAST_SEEN_AT", "DESC"),
    ("LAST_SEEN_AT", "ASC"),
    ("ENGAGEMENT", "ASC"),
    ("SOCIAL_VALUE", "DESC"),
    ("SENTIMENT", "DESC"),
    ("CHURN_RISK", "ASC"),
]


@pytest.mark.parametrize(("order_field", "direction"), WALKED_ORDERS)
async def test_walking_customer_pages(
    servers: Servers, seeded: CompiledSeed, order_field: str, direction: str
) -> None:
    pages = await walk_both(
        servers,
        CUSTOMERS_PAGE,
        {"order": {"field": order_field, "direction": direction}, "first": 3},
        seeded.a.token,
        lambda data: data["customers"],
    )
    ids = [node_id for page in pages for node_id in edges_of(page, "node", "id")]
    assert ids == expected_order(seeded, order_field.lower(), direction == "DESC")
    assert len(pages) == -(-len(ids) // 3)
    for page in pages:
        cursors = edges_of(page, "cursor")
        assert page["pageInfo"]["startCursor"] == cursors[0]
        assert page["pageInfo"]["endCursor"] == cursors[-1]


async def test_walking_filtered_customer_pages(servers: Servers, seeded: CompiledSeed) -> None:
    pages = await walk_both(
        servers,
        CUSTOMERS_PAGE,
        {
            "filter": {"lifecycleStage": ["STABILITY", "FORMATION", "DECLINE"]},
            "order": {"field": "INFLUENCE", "direction": "DESC"},
            "first": 2,
        },
        seeded.a.token,
        lambda data: data["customers"],
    )
    names = [name for page in pages for name in edges_of(page, "node", "displayName")]
    assert sorted(names) == sorted(
        customer_names(seeded, "alice", "bob", "dana", "gina", "hank", "ivy", "jack")
    )
    assert {page["totalCount"] for page in pages} == {7}


async def test_walking_interaction_pages(servers: Servers, seeded: CompiledSeed) -> None:
    pages = await walk_both(
        servers, INTERACTIONS_PAGE, {"first": 4}, seeded.a.token, lambda data: data["interactions"]
    )
    ids = [node_id for page in pages for node_id in edges_of(page, "node", "id")]
    assert ids == newest_first(seeded)


async def test_walking_nested_interaction_pages(servers: Servers, seeded: CompiledSeed) -> None:
    query = f"""query($after: String) {{
      customers(filter: {{search: "alice_w"}}) {{ edges {{ node {{
        interactions(first: 2, after: $after) {{
          totalCount {PAGE_INFO} edges {{ cursor node {{ id }} }}
        }}
      }} }} }}
    }}"""
    pages = await walk_both(
        servers,
        query,
        {},
        seeded.a.token,
        lambda data: data["customers"]["edges"][0]["node"]["interactions"],
    )
    ids = [node_id for page in pages for node_id in edges_of(page, "node", "id")]
    alice = [k for k in seeded.a.interactions if k.startswith("alice_")]
    assert ids == newest_first(seeded, alice)
    assert len(pages) == 3


async def test_cursor_of_one_app_works_on_the_other(servers: Servers, seeded: CompiledSeed) -> None:
    variables = {"order": {"field": "VALUE", "direction": "DESC"}, "first": 4}
    token = seeded.a.token
    first_compiled = await servers.compiled.send(CUSTOMERS_PAGE, variables, token=token)
    first_resolvers = await servers.resolvers.send(CUSTOMERS_PAGE, variables, token=token)
    assert first_compiled.body == first_resolvers.body
    compiled_cursor = first_compiled.body["data"]["customers"]["pageInfo"]["endCursor"]
    resolvers_cursor = first_resolvers.body["data"]["customers"]["pageInfo"]["endCursor"]
    on_resolvers = await servers.resolvers.send(
        CUSTOMERS_PAGE, {**variables, "after": compiled_cursor}, token=token
    )
    on_compiled = await servers.compiled.send(
        CUSTOMERS_PAGE, {**variables, "after": resolvers_cursor}, token=token
    )
    assert on_compiled.execution == "compiled"
    assert on_compiled.body == on_resolvers.body
    ids = edges_of(on_compiled.body["data"]["customers"], "node", "id")
    assert ids == expected_order(seeded, "value", True)[4:8]


# -- fallbacks and errors --------------------------------------------------------------------


@dataclass(frozen=True)
class Fallback:
    """A query the compiler leaves to the resolvers; it still answers without errors."""

    name: str
    query: str
    variables: Variables = field(default=lambda seeded: {})


INCLUDE_QUERY = """query($x: Boolean!) {
  customers(first: 3) { edges { node { id displayName @include(if: $x) } } }
}"""

FALLBACKS = [
    Fallback(
        "node",
        "query($id: ID!) { node(id: $id) { id ... on Customer { displayName } } }",
        lambda seeded: {"id": gid(seeded.a.customers["alice"])},
    ),
    Fallback(
        "include-true",
        INCLUDE_QUERY,
        lambda seeded: {"x": True},
    ),
    Fallback(
        "include-false",
        INCLUDE_QUERY,
        lambda seeded: {"x": False},
    ),
    Fallback(
        "skip-fragment",
        "{ interactions(first: 2) { edges { node { id"
        " ... on Interaction @skip(if: true) { content } } } } }",
    ),
    Fallback(
        "same-key-twice",
        "{ customers(first: 2) { totalCount totalCount edges { node { id } } } }",
    ),
    Fallback(
        "interface-fragment",
        "{ customers(first: 2) { edges { node { ... on Node { id } displayName } } } }",
    ),
    Fallback("with-viewer", "{ viewer { scopes } customers(first: 1) { totalCount } }"),
]


@pytest.mark.parametrize("case", FALLBACKS, ids=lambda case: case.name)
async def test_unsupported_queries_run_the_resolvers(
    servers: Servers, seeded: CompiledSeed, case: Fallback
) -> None:
    got, expected = await servers.both(case.query, case.variables(seeded), token=seeded.a.token)
    assert got.execution == "resolvers"
    assert expected.status == 200 and "errors" not in expected.body, expected.body
    assert_same(got, expected)


async def test_fallback_leaves_the_compiled_shape_alone(
    servers: Servers, seeded: CompiledSeed
) -> None:
    # A query text that fell back once must not stop another text from compiling.
    query = "query($x: Boolean!) { customers(first: 1) { totalCount @include(if: $x) } }"
    first, _ = await servers.both(query, {"x": True}, token=seeded.a.token)
    assert first.execution == "resolvers"
    plain, expected = await servers.both(
        "{ customers(first: 1) { totalCount } }", token=seeded.a.token
    )
    assert plain.execution == "compiled"
    assert plain.body == expected.body == {"data": {"customers": {"totalCount": 10}}}


@dataclass(frozen=True)
class Failure:
    """A request that must fail the same way on both apps."""

    name: str
    query: str
    variables: Variables = field(default=lambda seeded: {})
    token: str = "a"
    """``a`` (workspace A's admin token), ``none`` or ``unknown``."""


FAILURES = [
    Failure("first-over-cap", CUSTOMERS_PAGE, lambda seeded: {"first": 101}),
    Failure("first-negative", CUSTOMERS_PAGE, lambda seeded: {"first": -1}),
    Failure("interactions-first-over-cap", INTERACTIONS_PAGE, lambda seeded: {"first": 1000}),
    Failure("nested-first-over-cap", NESTED_INTERACTIONS, lambda seeded: {"n": 101}),
    Failure("after-malformed", CUSTOMERS_PAGE, lambda seeded: {"after": "not a cursor!"}),
    Failure("after-not-base64-text", CUSTOMERS_PAGE, lambda seeded: {"after": "//79"}),
    Failure(
        "after-of-another-order",
        CUSTOMERS_PAGE,
        lambda seeded: {
            "order": {"field": "ENGAGEMENT"},
            "after": encode_cursor("customer:id:asc", 1, 1),
        },
    ),
    Failure(
        "after-bad-timestamp",
        INTERACTIONS_PAGE,
        lambda seeded: {"after": encode_cursor("interaction", "yesterday", 1)},
    ),
    Failure(
        "nested-after-malformed",
        NESTED_INTERACTIONS,
        lambda seeded: {"n": 2, "after": encode_cursor("customer:id:asc", 1, 1)},
    ),
    Failure("variable-wrong-type", CUSTOMERS_PAGE, lambda seeded: {"first": "ten"}),
    Failure(
        "variable-bad-enum", CUSTOMERS_PAGE, lambda seeded: {"order": {"field": "DISPLAY_NAME"}}
    ),
    Failure(
        "variable-unknown-input-field", CUSTOMERS_PAGE, lambda seeded: {"filter": {"name": "x"}}
    ),
    Failure(
        "variable-missing",
        "query($order: CustomerOrder!) { customers(orderBy: $order) { totalCount } }",
    ),
    Failure(
        "filter-customer-not-an-id",
        INTERACTIONS_PAGE,
        lambda seeded: {"filter": {"customer": "garbage"}},
    ),
    Failure(
        "filter-community-of-another-type",
        INTERACTIONS_PAGE,
        lambda seeded: {"filter": {"community": gid(seeded.a.customers["alice"])}},
    ),
    # Naive timestamps pass GraphQL's DateTime but not the column type: an internal error.
    Failure(
        "active-since-naive",
        CUSTOMERS_PAGE,
        lambda seeded: {"filter": {"activeSince": "2026-01-05T00:00:00"}},
    ),
    Failure(
        "after-naive-timestamp",
        CUSTOMERS_PAGE,
        lambda seeded: {
            "order": {"field": "LAST_SEEN_AT"},
            "after": encode_cursor("customer:last_seen_at:asc", "2026-01-05T00:00:00", 3),
        },
    ),
    # PostgreSQL refuses NUL in text: the statement fails in the database, not before.
    Failure("search-nul", CUSTOMERS_PAGE, lambda seeded: {"filter": {"search": "a\u0000b"}}),
    # The same below a nullable field: the resolvers null only the customers, so the
    # fallback must still be able to read after the compiled statement failed.
    Failure(
        "nested-channel-nul",
        """query($c: [String!]) { interactions(first: 2) { edges { node { id
            customer { displayName interactions(filter: {channel: $c}) { totalCount } }
        } } } }""",
        lambda seeded: {"c": ["we\u0000chat"]},
    ),
    Failure("unknown-field", "{ customers { edges { node { password } } } }"),
    Failure("syntax-error", "{ customers { edges "),
    Failure("no-token", CUSTOMERS_PAGE, token="none"),
    Failure("unknown-token", CUSTOMERS_PAGE, token="unknown"),
]


@pytest.mark.parametrize("case", FAILURES, ids=lambda case: case.name)
async def test_errors_are_the_resolvers_errors(
    servers: Servers, seeded: CompiledSeed, case: Failure
) -> None:
    token = {"a": seeded.a.token, "none": None, "unknown": "scrm_not-a-real-token"}[case.token]
    got, expected = await servers.both(case.query, case.variables(seeded), token=token)
    assert expected.body.get("errors"), expected.body
    assert got.execution == "resolvers"
    assert_same(got, expected)


# -- workspaces ---------------------------------------------------------------------------------

ISOLATION_QUERY = f"""query($f: InteractionFilter, $c: CustomerFilter) {{
  customers(first: 100, filter: $c) {{ totalCount edges {{ node {{ ...CustomerFields
    interactions(first: 10) {{ totalCount edges {{ node {{ content }} }} }} }} }} }}
  interactions(first: 100, filter: $f) {{
    totalCount edges {{ node {{ content customer {{ displayName }} }} }}
  }}
}}{CUSTOMER_FIELDS}"""


async def test_workspace_b_sees_only_its_own_rows(servers: Servers, seeded: CompiledSeed) -> None:
    got, expected = await servers.both(ISOLATION_QUERY, token=seeded.b.read_token)
    assert got.execution == "compiled"
    assert_same(got, expected)
    data = got.body["data"]
    customers = data["customers"]
    assert customers["totalCount"] == 2
    assert edges_of(customers, "node", "displayName") == ["Bella B-only", "Ben B-only alice"]
    bella = customers["edges"][0]["node"]
    assert sorted(bella["tags"]) == sorted(["B-only", "会员"])
    assert bella["identities"] == [
        {
            "__typename": "Identity",
            "channel": "wechat",
            "externalId": "o_alice",
            "handle": "alice in B",
            "following": None,
        }
    ]
    assert bella["scores"]["engagement"] == 77.0
    assert data["interactions"]["totalCount"] == 2
    assert edges_of(data["interactions"], "node", "content") == ["B-only message", "B-only call"]
    assert "B-only" in json.dumps(data, ensure_ascii=False)
    assert "Alice Wang" not in json.dumps(data, ensure_ascii=False)


async def test_workspace_b_filters_by_ids_of_workspace_a(
    servers: Servers, seeded: CompiledSeed
) -> None:
    # A's ids are valid ids, so nothing fails: they just match nothing of B's.
    variables = {
        "f": {"customer": gid(seeded.a.customers["alice"])},
        "c": {"tag": ["VIP"], "search": "alice"},
    }
    got, expected = await servers.both(ISOLATION_QUERY, variables, token=seeded.b.token)
    assert got.execution == "compiled"
    assert_same(got, expected)
    assert got.body["data"]["customers"]["totalCount"] == 0
    assert got.body["data"]["interactions"] == {"totalCount": 0, "edges": []}
    community = {"f": {"community": gid(seeded.a.communities["group"])}, "c": {"search": "alice"}}
    got, expected = await servers.both(ISOLATION_QUERY, community, token=seeded.b.token)
    assert got.execution == "compiled"
    assert_same(got, expected)
    assert got.body["data"]["interactions"]["totalCount"] == 0
    # B's own matches (a display name, an identity handle); A's Alice does not leak in.
    names = edges_of(got.body["data"]["customers"], "node", "displayName")
    assert names == ["Bella B-only", "Ben B-only alice"]


async def test_token_of_another_workspace_reads_nothing_of_a(
    servers: Servers, seeded: CompiledSeed
) -> None:
    alice = gid(seeded.a.customers["alice"])
    by_id = """query($id: ID!) { customer(id: $id) { displayName }
        node(id: $id) { id } }"""
    got, expected = await servers.both(by_id, {"id": alice}, token=seeded.b.token)
    assert got.execution == "resolvers"
    assert_same(got, expected)
    assert got.body == {"data": {"customer": None, "node": None}}
    page = """query($f: InteractionFilter) { interactions(filter: $f) { totalCount }
        customers { edges { node { interactions(filter: $f) { totalCount } } } } }"""
    got, expected = await servers.both(page, {"f": {"customer": alice}}, token=seeded.b.token)
    assert got.execution == "compiled"
    assert_same(got, expected)
    assert got.body["data"]["interactions"]["totalCount"] == 0


async def test_workspace_a_never_sees_workspace_b(servers: Servers, seeded: CompiledSeed) -> None:
    got, expected = await servers.both(ISOLATION_QUERY, token=seeded.a.token)
    assert got.execution == "compiled"
    assert_same(got, expected)
    text = json.dumps(got.body, ensure_ascii=False)
    assert "B-only" not in text and "alice in B" not in text
    assert got.body["data"]["customers"]["totalCount"] == len(listed_customers(seeded))


async def _request(server: Server, method: str, token: str, **kwargs: Any) -> Reply:
    """One request of any form; the counter must grow by exactly one."""
    before = server.operations.copy()
    response = await server.client.request(
        method, "/graphql", headers={"Authorization": f"Bearer {token}"}, **kwargs
    )
    grown = server.operations - before
    assert sum(grown.values()) == 1, grown
    (execution,) = grown
    return Reply(response.status_code, response.text, execution)


GET_QUERY = "query($n: Int) { customers(first: $n) { totalCount edges { node { displayName } } } }"


@pytest.mark.parametrize(
    ("method", "request_args", "execution"),
    [
        ("GET", {"params": {"query": GET_QUERY, "variables": '{"n": 3}'}}, "compiled"),
        (
            "POST",
            {"json": {"query": GET_QUERY, "variables": {"n": 3}, "extensions": {}}},
            "compiled",
        ),
        # Persisted-query extensions are the endpoint's business: left to the resolvers.
        (
            "POST",
            {
                "json": {
                    "query": GET_QUERY,
                    "variables": {"n": 3},
                    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}},
                }
            },
            "resolvers",
        ),
        ("GET", {"params": {"query": GET_QUERY, "variables": "{not json"}}, "resolvers"),
    ],
    ids=["get", "empty-extensions", "persisted-query", "get-bad-variables"],
)
async def test_request_forms(
    servers: Servers,
    seeded: CompiledSeed,
    method: str,
    request_args: dict[str, Any],
    execution: str,
) -> None:
    got = await _request(servers.compiled, method, seeded.a.token, **request_args)
    expected = await _request(servers.resolvers, method, seeded.a.token, **request_args)
    assert got.execution == execution
    assert_same(got, expected)
