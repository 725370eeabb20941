"""Seed a benchmark workspace fast: rows are generated in Python and sent with COPY.

One workspace holds ``customers`` customers, ``interactions`` interactions spread at random
over them (most recent last), about two identities per customer, a few tags each and one
score row each. Everything is written in one transaction, so a workspace that exists is a
complete one: :func:`seed_workspace` finds it by its slug and skips the work.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

CHANNELS: tuple[str, ...] = ("wechat", "weibo", "email")

TAG_NAMES: tuple[str, ...] = (
    "VIP",
    "高消费",
    "母婴",
    "美妆",
    "数码",
    "运动",
    "旅行",
    "学生",
    "白领",
    "新客",
    "老带新",
    "投诉过",
    "意见领袖",
    "coffee",
    "gadgets",
    "outdoor",
    "gaming",
    "books",
    "pets",
    "fashion",
    "early-adopter",
    "newsletter",
    "wholesale",
    "north",
    "south",
    "east",
    "west",
    "beijing",
    "shanghai",
    "shenzhen",
)

_PHRASES: tuple[str, ...] = (
    "请问订单{n}什么时候发货？",
    "新品很好用，已经推荐给朋友了 #{n}",
    "客服回复太慢了，第{n}次催单",
    "参加了第{n}期直播，抽到了优惠券",
    "Is order {n} shipped yet?",
    "Loved the new flavour, batch {n} was great",
    "Refund for ticket {n} still pending",
    "Shared your post with my {n} followers",
)
_KINDS: tuple[str, ...] = ("message", "comment", "mention", "repost", "email")
_STAGES: tuple[str, ...] = ("exploration", "formation", "stability", "decline")
CITIES: tuple[str, ...] = ("北京", "上海", "深圳", "杭州", "成都", "Hong Kong", "Singapore")
SURNAMES: tuple[str, ...] = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")
GIVEN_NAMES: tuple[str, ...] = tuple("伟芳娜敏静磊洋艳勇军杰娟")
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_EMPTY_JSON = "{}"


@dataclass(frozen=True, slots=True)
class SeedResult:
    """What :func:`seed_workspace` found or made."""

    workspace_id: int
    slug: str
    customers: int
    interactions: int
    seeded: bool
    """False when the workspace was already there and nothing was written."""
    seconds: float
    rows: dict[str, int]


def workspace_slug(customers: int, interactions: int) -> str:
    """The slug of the benchmark workspace of this size (one per size in a database)."""
    return f"bench-{customers}-{interactions}"


async def seed_workspace(
    conn: asyncpg.Connection, customers: int, interactions: int, *, seed: int = 20261101
) -> SeedResult:
    """Find or create the benchmark workspace of this size on a migrated database."""
    slug = workspace_slug(customers, interactions)
    existing = await conn.fetchval("SELECT id FROM workspace WHERE slug = $1", slug)
    if existing is not None:
        return SeedResult(existing, slug, customers, interactions, False, 0.0, {})

    started = time.perf_counter()
    rng = random.Random(seed)
    rows: dict[str, int] = {}
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        now = datetime.now(UTC)
        workspace_id, accounts = await create_workspace(
            conn, slug, f"Benchmark ({customers:,} customers, {interactions:,} interactions)", now
        )
        tag_ids = await _insert_tags(conn, workspace_id, now)

        first_customer = await next_id(conn, "customer")
        customer_ids = range(first_customer, first_customer + customers)
        rows["customer"] = await _copy(
            conn, "customer", CUSTOMER_COLUMNS, _customers(rng, workspace_id, customer_ids)
        )
        rows["identity"] = await _copy(
            conn,
            "identity",
            IDENTITY_COLUMNS,
            _identities(rng, workspace_id, customer_ids, accounts, await next_id(conn, "identity")),
        )
        rows["customer_tag"] = await _copy(
            conn,
            "customer_tag",
            _TAG_COLUMNS,
            _customer_tags(rng, workspace_id, customer_ids, tag_ids),
        )
        rows["score"] = await _copy(
            conn, "score", SCORE_COLUMNS, _scores(rng, workspace_id, customer_ids, now)
        )
        rows["interaction"] = await _copy(
            conn,
            "interaction",
            _INTERACTION_COLUMNS,
            _interactions(
                rng,
                workspace_id,
                customer_ids,
                interactions,
                accounts,
                await next_id(conn, "interaction"),
            ),
        )
        for table in ("customer", "identity", "interaction"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
    # Fresh statistics and a visibility map: the planner and index-only scans need both.
    for table in ("customer", "identity", "customer_tag", "tag", "score", "interaction"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    seconds = time.perf_counter() - started
    return SeedResult(workspace_id, slug, customers, interactions, True, seconds, rows)


async def create_workspace(
    conn: asyncpg.Connection, slug: str, name: str, now: datetime
) -> tuple[int, dict[str, int]]:
    """Insert a workspace and one channel account per channel of ``CHANNELS``; returns the
    workspace's id and the accounts' ids by channel."""
    workspace_id: int = await conn.fetchval(
        "INSERT INTO workspace (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        slug,
        name,
        now,
    )
    accounts: dict[str, int] = {}
    for channel in CHANNELS:
        accounts[channel] = await conn.fetchval(
            "INSERT INTO channel_account (workspace_id, channel, slug, name, settings,"
            " created_at) VALUES ($1, $2, $3, $4, '{}', $5) RETURNING id",
            workspace_id,
            channel,
            f"{slug}-{channel}",
            f"Benchmark {channel} account",
            now,
        )
    return workspace_id, accounts


async def next_id(conn: asyncpg.Connection, table: str) -> int:
    """The first free id of ``table`` (its rows are given explicit ids by COPY)."""
    value: int = await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return value


async def _copy(
    conn: asyncpg.Connection, table: str, columns: list[str], records: Iterator[tuple[Any, ...]]
) -> int:
    status: str = await conn.copy_records_to_table(table, columns=columns, records=records)
    return int(status.split()[-1])


async def _insert_tags(conn: asyncpg.Connection, workspace_id: int, now: datetime) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO tag (workspace_id, name, created_at)"
        " SELECT $1, name, $3 FROM unnest($2::text[]) AS name RETURNING id",
        workspace_id,
        list(TAG_NAMES),
        now,
    )
    return [row["id"] for row in rows]


CUSTOMER_COLUMNS = [
    "id",
    "workspace_id",
    "display_name",
    "handle",
    "email",
    "phone",
    "language",
    "location",
    "lifecycle_stage",
    "attributes",
    "created_at",
    "updated_at",
    "last_seen_at",
]


def _customers(rng: random.Random, workspace_id: int, ids: range) -> Iterator[tuple[Any, ...]]:
    for n, customer_id in enumerate(ids):
        created = _EPOCH + timedelta(seconds=n * 7)
        chinese = n % 3 != 0
        name = (
            rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES) + rng.choice(GIVEN_NAMES)
            if chinese
            else f"Customer {customer_id}"
        )
        yield (
            customer_id,
            workspace_id,
            name,
            f"user{customer_id}",
            f"user{customer_id}@example.com" if n % 2 == 0 else None,
            f"+86 138{customer_id % 100_000_000:08d}" if n % 4 == 0 else None,
            "zh" if chinese else "en",
            rng.choice(CITIES),
            rng.choice(_STAGES),
            _EMPTY_JSON,
            created,
            created,
            created + timedelta(days=rng.randrange(0, 300)),
        )


IDENTITY_COLUMNS = [
    "id",
    "workspace_id",
    "customer_id",
    "channel",
    "external_id",
    "handle",
    "account_id",
    "following",
    "profile",
    "created_at",
    "updated_at",
]


def _identities(
    rng: random.Random,
    workspace_id: int,
    customer_ids: range,
    accounts: dict[str, int],
    first_id: int,
) -> Iterator[tuple[Any, ...]]:
    identity_id = first_id
    for customer_id in customer_ids:
        channels = ["wechat"]
        if rng.random() < 0.6:
            channels.append("weibo")
        if rng.random() < 0.45:
            channels.append("email")
        created = _EPOCH + timedelta(seconds=customer_id * 7)
        for channel in channels:
            external = (
                f"user{customer_id}@example.com"
                if channel == "email"
                else f"{channel[:2]}-{workspace_id}-{customer_id:09d}"
            )
            yield (
                identity_id,
                workspace_id,
                customer_id,
                channel,
                external,
                f"user{customer_id}",
                accounts[channel],
                channel != "email",
                _EMPTY_JSON,
                created,
                created,
            )
            identity_id += 1


_TAG_COLUMNS = ["customer_id", "tag_id", "workspace_id", "created_at"]


def _customer_tags(
    rng: random.Random, workspace_id: int, customer_ids: range, tag_ids: list[int]
) -> Iterator[tuple[Any, ...]]:
    for customer_id in customer_ids:
        created = _EPOCH + timedelta(seconds=customer_id * 7 + 60)
        for tag_id in rng.sample(tag_ids, rng.randrange(0, 4)):
            yield (customer_id, tag_id, workspace_id, created)


SCORE_COLUMNS = [
    "customer_id",
    "workspace_id",
    "engagement",
    "influence",
    "sentiment",
    "value",
    "social_value",
    "churn_risk",
    "updated_at",
]


def _scores(
    rng: random.Random, workspace_id: int, customer_ids: range, now: datetime
) -> Iterator[tuple[Any, ...]]:
    for customer_id in customer_ids:
        engagement = round(rng.uniform(0, 100), 2)
        influence = round(rng.paretovariate(2.0) * 10 % 100, 2)
        value = round(rng.uniform(0, 100), 2)
        yield (
            customer_id,
            workspace_id,
            engagement,
            influence,
            round(rng.uniform(-1, 1), 3),
            value,
            round((engagement + influence + value) / 3, 2),
            round(rng.random(), 3),
            now,
        )


_INTERACTION_COLUMNS = [
    "id",
    "workspace_id",
    "channel",
    "account_id",
    "kind",
    "direction",
    "content_type",
    "customer_id",
    "content",
    "data",
    "occurred_at",
    "external_id",
    "sentiment",
    "raw",
    "created_at",
]


def _interactions(
    rng: random.Random,
    workspace_id: int,
    customer_ids: range,
    count: int,
    accounts: dict[str, int],
    first_id: int,
) -> Iterator[tuple[Any, ...]]:
    # Interactions arrive over time from random customers, as a live workspace's do.
    first_customer, customers = customer_ids.start, len(customer_ids)
    channel_accounts = [(channel, accounts[channel]) for channel in CHANNELS]
    randrange, random_ = rng.randrange, rng.random
    for n in range(count):
        channel, account_id = channel_accounts[n % 3]
        occurred = _EPOCH + timedelta(seconds=n * 3)
        yield (
            first_id + n,
            workspace_id,
            channel,
            account_id,
            _KINDS[n % len(_KINDS)],
            "inbound" if n % 4 else "outbound",
            "text",
            first_customer + randrange(customers),
            _PHRASES[n % len(_PHRASES)].format(n=n),
            _EMPTY_JSON,
            occurred,
            f"ext-{workspace_id}-{n}",
            round(random_() * 2 - 1, 2),
            _EMPTY_JSON,
            occurred,
        )


def describe(result: SeedResult) -> str:
    """A one-line account of the seeding for the report."""
    if not result.seeded:
        return f"workspace {result.slug!r} (id {result.workspace_id}) already seeded: reused"
    counts = json.dumps(result.rows)
    return (
        f"seeded workspace {result.slug!r} (id {result.workspace_id}) in "
        f"{result.seconds:.1f} s: {counts}"
    )
