"""Seed a workspace with a year of customer activity and a customer graph, for the rescore.

One workspace holds ``customers`` customers and ``interactions`` interactions over the year
before the day of seeding, drawn with numpy (the same seed gives the same rows):

* customers: a third existed before the year, the rest arrive during it; three in ten stop
  interacting at some point (so some decline and some are lost); activity per customer is
  log-normal (most say little, a few a lot);
* identities: WeChat for everyone, Weibo for a little over half (with ``followers_count`` in
  the profile, heavy-tailed: the opinion leaders have tens of thousands), email for 40%;
* interactions: inbound messages, comments, mentions and reposts with the analysis columns
  the live path writes (language, sentiment, complaint, keywords), views, clicks and scans,
  the brand's outbound messages, follows and unfollows, and purchases with amount and
  currency; ids ascend with time, as they do in a live workspace;
* the customer graph: follow, mention, repost and reply edges whose targets are drawn by a
  Zipf law over a random ranking of the customers (a few opinion leaders with thousands of
  followers and mentions, most customers with a handful of edges), and referral edges from
  4% of the customers to the ones who brought them;
* a score row per customer, as the live path keeps them.

Rows go to PostgreSQL with COPY in text format. A helper process (forked, so it shares the
drawn arrays) encodes the next chunk while the server loads the current one. Everything is
one transaction, so a workspace that exists is complete: :func:`seed_activity` finds it by
its slug and skips the work. Foreign-key triggers are off during the load
(``session_replication_role = replica``): the rows are consistent by construction, and
checking ten million references one by one would triple the load time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import repeat

import asyncpg
import numpy as np

from bench.baseline import asyncpg_dsn
from bench.database import prepare_database
from bench.seed import (
    CITIES,
    CUSTOMER_COLUMNS,
    GIVEN_NAMES,
    IDENTITY_COLUMNS,
    SCORE_COLUMNS,
    SURNAMES,
    SeedResult,
    create_workspace,
    next_id,
)
from bench.texts import TextPool, text_pool

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/scrm_bench_rescore"
DEFAULT_SEED = 20261202
CHUNK_ROWS = 250_000
"""Rows per COPY chunk: large enough to amortize the hand-over, small enough to overlap."""

NULL = "\\N"
DAY_US = 86_400_000_000
YEAR_US = 365 * DAY_US

POPULARITY_EXPONENT = 0.75
"""Zipf exponent of in-edges over the popularity ranking (the leader of a million customers
gets ~25,000 edges, the thousandth ~150, the median one or two)."""
EDGES_PER_CUSTOMER: tuple[tuple[str, float], ...] = (
    ("follow", 2.0),
    ("mention", 0.5),
    ("repost", 0.35),
    ("reply", 0.25),
)
REFERRED_SHARE = 0.04

# The interaction mix: (channel, kind, direction, share, text). ``text`` is "customer" for
# texts customers write (analyzed), "brand" for the brand's messages, None for no text.
MIX: tuple[tuple[str, str, str, float, str | None], ...] = (
    ("wechat", "message", "inbound", 0.24, "customer"),
    ("weibo", "comment", "inbound", 0.10, "customer"),
    ("weibo", "mention", "inbound", 0.05, "customer"),
    ("weibo", "repost", "inbound", 0.04, "customer"),
    ("email", "message", "inbound", 0.02, "customer"),
    ("wechat", "view", "inbound", 0.14, None),
    ("wechat", "click", "inbound", 0.09, None),
    ("wechat", "scan", "inbound", 0.01, None),
    ("wechat", "message", "outbound", 0.15, "brand"),
    ("email", "message", "outbound", 0.02, "brand"),
    ("wechat", "follow", "inbound", 0.025, None),
    ("wechat", "unfollow", "inbound", 0.008, None),
    ("weibo", "follow", "inbound", 0.015, None),
    ("weibo", "unfollow", "inbound", 0.005, None),
    ("manual", "purchase", "inbound", 0.05, None),
)
CURRENCIES: tuple[tuple[str, float], ...] = (("CNY", 0.95), ("USD", 0.05))
STAGES: tuple[tuple[str, float], ...] = (
    ("exploration", 0.35),
    ("formation", 0.25),
    ("stability", 0.2),
    ("decline", 0.12),
    ("lost", 0.08),
)
IDENTITY_CHANNELS: tuple[str, ...] = ("wechat", "weibo", "email")

INTERACTION_COLUMNS = [
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
    "language",
    "is_complaint",
    "keywords",
    "amount",
    "currency",
    "delivery_status",
    "raw",
    "created_at",
]
RELATIONSHIP_COLUMNS = [
    "id",
    "workspace_id",
    "source_id",
    "target_id",
    "kind",
    "count",
    "first_at",
    "last_at",
]


def activity_slug(customers: int, interactions: int) -> str:
    """The slug of the activity workspace of this size (one per size in a database)."""
    return f"activity-{customers}-{interactions}"


def wechat_openid(customer_id: int) -> str:
    """The WeChat openid seeded for a customer (28 characters, as WeChat's are)."""
    return f"obench{customer_id:022d}"


async def prepare_activity(
    url: str, reuse: bool, customers: int, interactions: int, *, seed: int = DEFAULT_SEED
) -> SeedResult:
    """Create (or keep) and migrate the database, then seed the workspace unless present."""
    await prepare_database(url, reuse)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        print(f"seeding {customers:,} customers and {interactions:,} interactions …", flush=True)
        return await seed_activity(conn, customers, interactions, seed=seed)
    finally:
        await conn.close()


async def seed_activity(
    conn: asyncpg.Connection, customers: int, interactions: int, *, seed: int = DEFAULT_SEED
) -> SeedResult:
    """Find or create the activity workspace of this size on a migrated database."""
    slug = activity_slug(customers, interactions)
    existing = await conn.fetchval("SELECT id FROM workspace WHERE slug = $1", slug)
    if existing is not None:
        return SeedResult(existing, slug, customers, interactions, False, 0.0, {})
    started = time.perf_counter()
    now = datetime.now(UTC)
    end_us = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()) * 10**6
    rows: dict[str, int] = {}
    async with conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        await conn.execute("SET LOCAL session_replication_role = replica")
        workspace_id, accounts = await create_workspace(
            conn,
            slug,
            f"Activity ({customers:,} customers, {interactions:,} interactions)",
            now,
        )
        data = draw(
            np.random.default_rng(seed),
            customers,
            interactions,
            end_us,
            workspace_id=workspace_id,
            accounts=accounts,
            first_ids={
                table: await next_id(conn, table)
                for table in ("customer", "identity", "interaction", "relationship")
            },
            pool=text_pool(seed),
        )
        print(
            f"  drawn in {time.perf_counter() - started:.1f} s; graph: {describe_graph(data)}",
            flush=True,
        )
        global _DATA
        _DATA = data
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as encoder:
            for table, columns, count in (
                ("customer", CUSTOMER_COLUMNS, customers),
                ("identity", IDENTITY_COLUMNS, len(data.identity_customer)),
                ("score", SCORE_COLUMNS, customers),
                ("relationship", RELATIONSHIP_COLUMNS, len(data.edge_source)),
                ("interaction", INTERACTION_COLUMNS, interactions),
            ):
                table_started = time.perf_counter()
                status = await conn.copy_to_table(
                    table, source=_encoded(encoder, table, count), columns=columns
                )
                rows[table] = int(status.split()[-1])
                print(
                    f"  {table}: {rows[table]:,} rows in "
                    f"{time.perf_counter() - table_started:.1f} s",
                    flush=True,
                )
        _DATA = None
        for table in ("customer", "identity", "interaction", "relationship"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
    vacuum_started = time.perf_counter()
    # Fresh statistics, hint bits and a visibility map, as a workspace that has lived a year
    # has: without them the first statement to read each row pays for writing them.
    for table in ("customer", "identity", "score", "relationship", "interaction"):
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    print(f"  vacuumed and analyzed in {time.perf_counter() - vacuum_started:.1f} s")
    seconds = time.perf_counter() - started
    return SeedResult(workspace_id, slug, customers, interactions, True, seconds, rows)


# --- drawing ----------------------------------------------------------------------------------


@dataclass
class Drawn:
    """Every array the rows are encoded from (index ``i`` of a customer array is the customer
    with id ``first_ids["customer"] + i``)."""

    workspace_id: int
    accounts: dict[str, int]
    first_ids: dict[str, int]
    pool: TextPool
    end_us: int
    # customers
    english: np.ndarray
    name_parts: np.ndarray
    """(n, 3) indexes: surname, two given names."""
    has_email: np.ndarray
    has_phone: np.ndarray
    city: np.ndarray
    stage: np.ndarray
    created: np.ndarray
    last_seen: np.ndarray
    """Microseconds; -1 for a customer who never wrote."""
    scores: np.ndarray
    """(n, 6): engagement, influence, sentiment, value, social value, churn risk."""
    # identities, ordered by customer then channel
    identity_customer: np.ndarray
    identity_channel: np.ndarray
    followers: np.ndarray
    """Per customer: Weibo followers (0 without Weibo)."""
    following: np.ndarray
    """(n, 2): follows the brand on WeChat, on Weibo."""
    # interactions, in time order
    customer: np.ndarray
    occurred: np.ndarray
    mix: np.ndarray
    text: np.ndarray
    """Index into the pool's customer texts or brand texts (by ``mix``), -1 for none."""
    sentiment_noise: np.ndarray
    amount: np.ndarray
    currency: np.ndarray
    # edges
    edge_source: np.ndarray
    edge_target: np.ndarray
    edge_kind: np.ndarray
    edge_count: np.ndarray
    edge_first: np.ndarray
    edge_last: np.ndarray


def draw(
    rng: np.random.Generator,
    customers: int,
    interactions: int,
    end_us: int,
    *,
    workspace_id: int,
    accounts: dict[str, int],
    first_ids: dict[str, int],
    pool: TextPool,
) -> Drawn:
    """Draw the whole workspace: customers, identities, the year's interactions, the graph."""
    n = customers
    start_us = end_us - YEAR_US
    rank = rng.permutation(n)
    popularity = (rank + 1.0) ** -POPULARITY_EXPONENT
    activity = rng.lognormal(0.0, 1.1, n)
    older = rng.random(n) < 0.35
    created = np.where(
        older,
        start_us - (rng.random(n) * 2 * YEAR_US).astype(np.int64),
        start_us + (rng.random(n) * (YEAR_US - DAY_US)).astype(np.int64),
    )
    window_start = np.maximum(created, start_us)
    churned = rng.random(n) < 0.3
    window_end = np.where(
        churned,
        window_start + (rng.random(n) * (end_us - window_start)).astype(np.int64),
        end_us,
    )
    leaders = rank < max(1, n // 100)
    has_weibo = (rng.random(n) < 0.55) | leaders
    has_email = rng.random(n) < 0.4
    followers = np.where(
        has_weibo,
        np.rint(rng.lognormal(4.0, 1.6, n) * (1 + 2000 * popularity / popularity.max())),
        0,
    ).astype(np.int64)
    english = rng.random(n) < 0.3

    customer, occurred, mix = _draw_interactions(
        rng, interactions, activity, has_weibo, has_email, window_start, window_end
    )
    text = _draw_texts(rng, pool, mix, english[customer])
    kinds = np.array([kind for _, kind, _, _, _ in MIX], dtype=object)
    directions = np.array([direction for _, _, direction, _, _ in MIX], dtype=object)
    channels = np.array([channel for channel, _, _, _, _ in MIX], dtype=object)
    purchases = kinds[mix] == "purchase"
    amount = np.where(purchases, np.round(rng.lognormal(np.log(180.0), 0.9, interactions), 2), 0)
    currency = rng.choice(
        len(CURRENCIES), interactions, p=[share for _, share in CURRENCIES]
    ).astype(np.int8)

    inbound = directions[mix] == "inbound"
    last_seen = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_seen, customer[inbound], occurred[inbound])
    following = np.column_stack(
        [
            _follows(rng, customer, occurred, (channels[mix] == channel), kinds[mix], n, default)
            for channel, default in (("wechat", 1.0), ("weibo", 0.6))
        ]
    )
    identity_customer, identity_channel = _identities(has_weibo, has_email)
    edges = _draw_edges(rng, n, activity, popularity, start_us, end_us)
    return Drawn(
        workspace_id=workspace_id,
        accounts=accounts,
        first_ids=first_ids,
        pool=pool,
        end_us=end_us,
        english=english,
        name_parts=np.column_stack(
            [
                rng.integers(0, len(SURNAMES), n),
                rng.integers(0, len(GIVEN_NAMES), n),
                rng.integers(0, len(GIVEN_NAMES), n),
            ]
        ),
        has_email=has_email,
        has_phone=rng.random(n) < 0.25,
        city=rng.integers(0, len(CITIES), n),
        stage=rng.choice(len(STAGES), n, p=[share for _, share in STAGES]),
        created=created,
        last_seen=last_seen,
        scores=np.column_stack(
            [
                rng.uniform(0, 100, n),
                np.minimum(100, 10 * rng.pareto(2.0, n)),
                rng.uniform(-1, 1, n),
                rng.uniform(0, 100, n),
                rng.uniform(0, 100, n),
                rng.random(n),
            ]
        ),
        identity_customer=identity_customer,
        identity_channel=identity_channel,
        followers=followers,
        following=following,
        customer=customer,
        occurred=occurred,
        mix=mix,
        text=text,
        sentiment_noise=rng.uniform(-0.1, 0.1, interactions),
        amount=amount,
        currency=currency,
        **edges,
    )


def _draw_interactions(
    rng: np.random.Generator,
    count: int,
    activity: np.ndarray,
    has_weibo: np.ndarray,
    has_email: np.ndarray,
    window_start: np.ndarray,
    window_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who, when and what: each interaction's customer (only one who has the channel's
    identity), time within the customer's active window, and index into ``MIX``."""
    shares = np.array([share for _, _, _, share, _ in MIX])
    mix = rng.choice(len(MIX), count, p=shares / shares.sum()).astype(np.int8)
    channel_of = np.array([channel for channel, _, _, _, _ in MIX], dtype=object)[mix]
    customer = np.empty(count, dtype=np.int64)
    everyone = np.ones(len(activity), dtype=bool)
    for rows, eligible in (
        (channel_of == "weibo", has_weibo),
        (channel_of == "email", has_email),
        ((channel_of != "weibo") & (channel_of != "email"), everyone),
    ):
        candidates = np.flatnonzero(eligible)
        weights = activity[candidates]
        customer[rows] = rng.choice(candidates, int(rows.sum()), p=weights / weights.sum())
    span = window_end[customer] - window_start[customer]
    occurred = window_start[customer] + (rng.random(count) * span).astype(np.int64)
    order = np.argsort(occurred, kind="stable")
    return customer[order], occurred[order], mix[order]


def _draw_texts(
    rng: np.random.Generator, pool: TextPool, mix: np.ndarray, english: np.ndarray
) -> np.ndarray:
    """A text for each interaction that has one, in the customer's language (a few customer
    texts are emoji only)."""
    text_kind = np.array([text or "" for _, _, _, _, text in MIX], dtype=object)[mix]
    text = np.full(len(mix), -1, dtype=np.int32)
    for kind, languages in (("customer", pool.language), ("brand", pool.brand_language)):
        for want_english in (False, True):
            rows = (text_kind == kind) & (english == want_english)
            wanted = ("en",) if want_english else ("zh", "und")
            candidates = np.flatnonzero(np.isin(languages, wanted))
            text[rows] = rng.choice(candidates, int(rows.sum()))
    return text


def _follows(
    rng: np.random.Generator,
    customer: np.ndarray,
    occurred: np.ndarray,
    on_channel: np.ndarray,
    kinds: np.ndarray,
    n: int,
    default_share: float,
) -> np.ndarray:
    """Whether each customer follows the brand on a channel: their last follow or unfollow
    decides; without either, ``default_share`` of them do."""
    last = {}
    for kind in ("follow", "unfollow"):
        rows = on_channel & (kinds == kind)
        last[kind] = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last[kind], customer[rows], occurred[rows])
    decided = (last["follow"] >= 0) | (last["unfollow"] >= 0)
    result: np.ndarray = np.where(
        decided, last["follow"] > last["unfollow"], rng.random(n) < default_share
    )
    return result


def _identities(has_weibo: np.ndarray, has_email: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, channel index) of every identity, by customer then channel."""
    n = len(has_weibo)
    holders = np.concatenate([np.arange(n), np.flatnonzero(has_weibo), np.flatnonzero(has_email)])
    channel = np.concatenate(
        [
            np.zeros(n, dtype=np.int8),
            np.ones(int(has_weibo.sum()), dtype=np.int8),
            np.full(int(has_email.sum()), 2, dtype=np.int8),
        ]
    )
    order = np.lexsort((channel, holders))
    return holders[order], channel[order]


def _draw_edges(
    rng: np.random.Generator,
    n: int,
    activity: np.ndarray,
    popularity: np.ndarray,
    start_us: int,
    end_us: int,
) -> dict[str, np.ndarray]:
    """The customer graph: sources by activity, targets by popularity (Zipf), repeated
    draws of one pair counted on one edge; referral edges from the referred customer to the
    one who referred them."""
    by_activity = activity / activity.sum()
    by_popularity = popularity / popularity.sum()
    sources, targets, kinds, counts = [], [], [], []
    kind_names = [kind for kind, _ in EDGES_PER_CUSTOMER] + ["referral"]
    for index, (_, per_customer) in enumerate(EDGES_PER_CUSTOMER):
        draws = int(n * per_customer)
        source = rng.choice(n, draws, p=by_activity)
        target = rng.choice(n, draws, p=by_popularity)
        keep = source != target
        pairs, count = np.unique(source[keep] * n + target[keep], return_counts=True)
        sources.append(pairs // n)
        targets.append(pairs % n)
        kinds.append(np.full(len(pairs), index, dtype=np.int8))
        counts.append(count if index else np.ones(len(pairs), dtype=np.int64))
    referred = rng.choice(n, int(n * REFERRED_SHARE), replace=False)
    referrer = rng.choice(n, len(referred), p=by_popularity)
    keep = referred != referrer
    sources.append(referred[keep])
    targets.append(referrer[keep])
    kinds.append(np.full(int(keep.sum()), len(kind_names) - 1, dtype=np.int8))
    counts.append(np.ones(int(keep.sum()), dtype=np.int64))
    source = np.concatenate(sources)
    count = np.concatenate(counts)
    first = start_us + (rng.random(len(source)) * YEAR_US).astype(np.int64)
    last = np.where(
        count > 1, first + (rng.random(len(source)) * (end_us - first)).astype(np.int64), first
    )
    return {
        "edge_source": source,
        "edge_target": np.concatenate(targets),
        "edge_kind": np.concatenate(kinds),
        "edge_count": count,
        "edge_first": first,
        "edge_last": last,
    }


EDGE_KINDS: tuple[str, ...] = (*(kind for kind, _ in EDGES_PER_CUSTOMER), "referral")


# --- encoding (in the helper process) ---------------------------------------------------------

_DATA: Drawn | None = None
"""The drawn arrays; set before the helper process is forked, which inherits them."""


async def _encoded(encoder: ProcessPoolExecutor, table: str, count: int) -> AsyncIterator[bytes]:
    """The COPY text of ``table``'s rows, chunk by chunk, the helper a chunk ahead."""
    loop = asyncio.get_running_loop()
    pending: deque[asyncio.Future[bytes]] = deque()
    for start in range(0, count, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, count)
        pending.append(loop.run_in_executor(encoder, _encode_chunk, table, start, stop))
        if len(pending) > 1:
            yield await pending.popleft()
    while pending:
        yield await pending.popleft()


def _encode_chunk(table: str, start: int, stop: int) -> bytes:
    data = _DATA
    assert data is not None, "the helper process is forked after the data is drawn"
    encode = {
        "customer": _customer_rows,
        "identity": _identity_rows,
        "score": _score_rows,
        "relationship": _relationship_rows,
        "interaction": _interaction_rows,
    }[table]
    return _tsv(encode(data, start, stop))


def _tsv(columns: list[Iterable[str]]) -> bytes:
    """COPY text format: tab-separated columns, one row a line (no value holds a tab, a
    newline or a backslash, except ``NULL``)."""
    return ("\n".join(map("\t".join, zip(*columns, strict=False))) + "\n").encode()


def _ints(values: np.ndarray) -> list[str]:
    return list(map(str, values.tolist()))


def _floats(values: np.ndarray, digits: int) -> list[str]:
    return list(map(repr, np.round(values, digits).tolist()))


def _timestamps(microseconds: np.ndarray) -> list[str]:
    text: list[str] = np.datetime_as_string(
        microseconds.astype("datetime64[us]"), timezone="UTC"
    ).tolist()
    return text


def _nullable(values: list[str], present: np.ndarray) -> list[str]:
    return [value if keep else NULL for value, keep in zip(values, present.tolist(), strict=True)]


def _customer_rows(data: Drawn, start: int, stop: int) -> list[Iterable[str]]:
    ids = data.first_ids["customer"] + np.arange(start, stop)
    id_text = _ints(ids)
    english = data.english[start:stop].tolist()
    parts = data.name_parts[start:stop].tolist()
    names = [
        f"Customer {customer_id}"
        if is_english
        else SURNAMES[surname] + GIVEN_NAMES[first] + GIVEN_NAMES[second]
        for customer_id, is_english, (surname, first, second) in zip(
            id_text, english, parts, strict=True
        )
    ]
    created = _timestamps(data.created[start:stop])
    last_seen = data.last_seen[start:stop]
    return [
        id_text,
        repeat(str(data.workspace_id)),
        names,
        [f"user{customer_id}" for customer_id in id_text],
        _nullable([f"user{i}@example.com" for i in id_text], data.has_email[start:stop]),
        _nullable(
            [f"+86 138{int(i) % 100_000_000:08d}" for i in id_text], data.has_phone[start:stop]
        ),
        ["en" if is_english else "zh" for is_english in english],
        [CITIES[city] for city in data.city[start:stop].tolist()],
        [STAGES[stage][0] for stage in data.stage[start:stop].tolist()],
        repeat("{}"),
        created,
        created,
        _nullable(_timestamps(np.maximum(last_seen, 0)), last_seen >= 0),
    ]


def _identity_rows(data: Drawn, start: int, stop: int) -> list[Iterable[str]]:
    customer = data.identity_customer[start:stop]
    channel = data.identity_channel[start:stop].tolist()
    first_customer = data.first_ids["customer"]
    customer_ids = (first_customer + customer).tolist()
    followers = data.followers[customer].tolist()
    following = data.following[customer].tolist()
    external, follows, profiles = [], [], []
    for customer_id, index, audience, (wechat, weibo) in zip(
        customer_ids, channel, followers, following, strict=True
    ):
        if index == 0:
            external.append(wechat_openid(customer_id))
            follows.append("t" if wechat else "f")
            profiles.append("{}")
        elif index == 1:
            external.append(str(5_000_000_000 + customer_id))
            follows.append("t" if weibo else "f")
            profiles.append(f'{{"followers_count": {audience}}}')
        else:
            external.append(f"user{customer_id}@example.com")
            follows.append(NULL)
            profiles.append("{}")
    created = _timestamps(data.created[customer])
    account_ids = [str(data.accounts[name]) for name in IDENTITY_CHANNELS]
    return [
        _ints(data.first_ids["identity"] + np.arange(start, stop)),
        repeat(str(data.workspace_id)),
        list(map(str, customer_ids)),
        [IDENTITY_CHANNELS[index] for index in channel],
        external,
        [f"user{customer_id}" for customer_id in customer_ids],
        [account_ids[index] for index in channel],
        follows,
        profiles,
        created,
        created,
    ]


def _score_rows(data: Drawn, start: int, stop: int) -> list[Iterable[str]]:
    scores = data.scores[start:stop]
    social = (scores[:, 0] + scores[:, 1] + scores[:, 3]) / 3
    return [
        _ints(data.first_ids["customer"] + np.arange(start, stop)),
        repeat(str(data.workspace_id)),
        _floats(scores[:, 0], 2),
        _floats(scores[:, 1], 2),
        _floats(scores[:, 2], 3),
        _floats(scores[:, 3], 2),
        _floats(social, 2),
        _floats(scores[:, 5], 3),
        repeat(_timestamps(np.array([data.end_us]))[0]),
    ]


def _relationship_rows(data: Drawn, start: int, stop: int) -> list[Iterable[str]]:
    first_customer = data.first_ids["customer"]
    return [
        _ints(data.first_ids["relationship"] + np.arange(start, stop)),
        repeat(str(data.workspace_id)),
        _ints(first_customer + data.edge_source[start:stop]),
        _ints(first_customer + data.edge_target[start:stop]),
        [EDGE_KINDS[kind] for kind in data.edge_kind[start:stop].tolist()],
        _ints(data.edge_count[start:stop]),
        _timestamps(data.edge_first[start:stop]),
        _timestamps(data.edge_last[start:stop]),
    ]


def _interaction_rows(data: Drawn, start: int, stop: int) -> list[Iterable[str]]:
    pool = data.pool
    mix = data.mix[start:stop]
    text = data.text[start:stop]
    customer_text = np.array([t == "customer" for *_, t in MIX])[mix]
    brand_text = np.array([t == "brand" for *_, t in MIX])[mix]
    purchase = np.array([kind == "purchase" for _, kind, *_ in MIX])[mix]
    safe_text = np.maximum(text, 0)

    content = np.full(len(mix), NULL, dtype=object)
    content[customer_text] = pool.content[safe_text[customer_text]]
    content[brand_text] = pool.brand_content[safe_text[brand_text]]
    language = np.full(len(mix), NULL, dtype=object)
    language[customer_text] = pool.language[safe_text[customer_text]]
    sentiment_value = np.clip(
        pool.sentiment[safe_text] + data.sentiment_noise[start:stop], -1.0, 1.0
    )
    sentiment = _nullable(_floats(sentiment_value, 3), customer_text)
    complaint = np.where(
        customer_text, np.where(pool.complaint[safe_text], "t", "f"), NULL
    ).tolist()
    keywords = np.where(customer_text, pool.keywords[safe_text], "[]").tolist()

    ids = _ints(data.first_ids["interaction"] + np.arange(start, stop))
    amounts = _floats(data.amount[start:stop], 2)
    currencies = [CURRENCIES[c][0] for c in data.currency[start:stop].tolist()]
    data_json = [
        f'{{"amount": {amount}, "currency": "{currency}"}}' if is_purchase else "{}"
        for amount, currency, is_purchase in zip(
            amounts, currencies, purchase.tolist(), strict=True
        )
    ]
    account_of = [
        str(data.accounts[channel]) if channel in data.accounts else NULL for channel, *_ in MIX
    ]
    occurred = _timestamps(data.occurred[start:stop])
    mix_list = mix.tolist()
    return [
        ids,
        repeat(str(data.workspace_id)),
        [MIX[m][0] for m in mix_list],
        [account_of[m] for m in mix_list],
        [MIX[m][1] for m in mix_list],
        [MIX[m][2] for m in mix_list],
        repeat("text"),
        _ints(data.first_ids["customer"] + data.customer[start:stop]),
        content.tolist(),
        data_json,
        occurred,
        [
            f"order-{row_id}" if is_purchase else row_id
            for row_id, is_purchase in zip(ids, purchase.tolist(), strict=True)
        ],
        sentiment,
        language.tolist(),
        complaint,
        keywords,
        _nullable(amounts, purchase),
        _nullable(currencies, purchase),
        np.where(brand_text, "delivered", NULL).tolist(),
        repeat("{}"),
        occurred,
    ]


def describe_graph(data: Drawn) -> str:
    """The drawn graph in one line: edges, and in-degrees at the top and at quantiles (to
    see that its tail is heavy)."""
    degree = np.bincount(data.edge_target, minlength=len(data.english))
    top = np.sort(degree)[::-1][:5].tolist()
    p50, p90, p99, p999 = (int(q) for q in np.percentile(degree, [50, 90, 99, 99.9]))
    audience = np.sort(data.followers)[::-1][:3].tolist()
    return (
        f"{len(data.edge_source):,} edges; in-degree top {top}, p50 {p50}, p90 {p90}, "
        f"p99 {p99}, p99.9 {p999}; most Weibo followers {audience}"
    )
