"""Live path benchmark: what text analysis and live scoring add to each ingested message.

1. Prepares the same database as ``bench/rescore.py`` (``--small``, ``--reuse``), so the
   messages come from customers with a year of history and a place in the customer graph.
2. Connects a plain-mode WeChat official account to the workspace (once; kept with
   ``--reuse``) and builds two servers in this process with ``create_app``: one with
   ``SCRM_TEXT_ANALYSIS`` and ``SCRM_LIVE_SCORING`` off, one with both on (``--split`` adds
   a third with analysis alone). Each is started (its lifespan) and reached through an
   in-process ASGI client, so no HTTP server or socket is measured, only the application's
   own path.
3. Posts signed WeChat text pushes (``/webhooks/wechat/{slug}``, signature, timestamp and
   nonce as WeChat sends them) from the workspace's customers, with short Chinese and
   English texts (``bench/texts.py``): a warm-up on each side, then ``--rounds`` rounds,
   each sending ``--messages / --rounds`` messages to every side in turn, the order turning
   between rounds. A round ends when the server's background work (observers, the event
   bus) has finished.
4. Prints messages per second each way, the CPU this process and PostgreSQL's backends
   used per message, and the milliseconds per message that analysis and scoring add.

It is a benchmark, not a test: it asserts nothing about time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

if __package__ in (None, ""):  # run as a script: import ``bench`` as a package from the root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

from bench.baseline import asyncpg_dsn
from bench.database import add_database_arguments
from bench.procfs import cpu_used, database_cpu_seconds_async
from bench.seed import describe
from bench.seed_activity import DEFAULT_DATABASE_URL, prepare_activity, wechat_openid
from bench.texts import TextGenerator

SWITCHES = ("text_analysis", "live_scoring")
"""The settings turned off and on (``SCRM_TEXT_ANALYSIS``, ``SCRM_LIVE_SCORING``)."""
SIDES: dict[str, tuple[bool, bool]] = {
    "off": (False, False),
    "analysis": (True, False),
    "on": (True, True),
}
"""Each server's (text analysis, live scoring); ``analysis`` runs only with ``--split``."""
TOKEN = "scrmbenchtoken"
ORIGINAL_ID = "gh_scrmbench0001"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        description="Benchmark ingesting WeChat messages with analysis and scoring off and on."
    )
    add_database_arguments(
        parser,
        env="BENCH_RESCORE_DATABASE_URL",
        default_url=DEFAULT_DATABASE_URL,
        small="20,000 customers and 200,000 interactions",
    )
    parser.add_argument(
        "--messages", type=int, default=5_000, help="messages sent to each side (default 5,000)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument(
        "--warmup", type=int, default=100, help="messages sent to each side before measuring"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="messages in flight at once (default 1: the cost of one message alone)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="add a third server with text analysis on and live scoring off, to tell the "
        "two costs apart",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the texts and senders")
    args = parser.parse_args(argv)
    if args.customers is None:
        args.customers = 20_000 if args.small else 1_000_000
    if args.interactions is None:
        args.interactions = 200_000 if args.small else 10_000_000
    if args.rounds < 1 or args.messages < args.rounds:
        parser.error("--rounds must be at least 1 and --messages at least --rounds")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    return args


# --- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Push:
    """One signed WeChat push: its query string, body and message id."""

    query: dict[str, str]
    body: bytes
    msg_id: str


class Messages:
    """Signed plain-mode text pushes from random customers of the workspace."""

    def __init__(self, seed: int, first_customer: int, customers: int) -> None:
        self._rng = random.Random(seed)
        self._texts = TextGenerator(seed)
        self._first = first_customer
        self._customers = customers
        # Message ids unique across runs on a kept database: WeChat's are 64-bit numbers.
        self._next_id = time.time_ns() // 1000

    def batch(self, count: int) -> list[Push]:
        """``count`` pushes, signed now (WeChat's replay window is minutes)."""
        return [self._push() for _ in range(count)]

    def _push(self) -> Push:
        self._next_id += 1
        msg_id = str(self._next_id)
        sender = wechat_openid(self._first + self._rng.randrange(self._customers))
        timestamp = str(int(time.time()))
        nonce = str(self._rng.randrange(10**9))
        content = escape(self._texts.customer_text().content)
        body = (
            f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
        ).encode()
        signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
        return Push({"signature": signature, "timestamp": timestamp, "nonce": nonce}, body, msg_id)


# --- the two servers --------------------------------------------------------------------------


@dataclass
class Side:
    """One server: analysis and scoring on or off, its client and its measurements."""

    name: str
    app: Any
    client: httpx.AsyncClient
    seconds: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    db_cpu: list[float] = field(default_factory=list)
    msg_ids: list[str] = field(default_factory=list)
    errors: int = 0

    def rate(self) -> float:
        """Messages per second over all rounds."""
        return sum(self.counts) / sum(self.seconds)

    def per_message_ms(self, values: list[float]) -> float:
        """Milliseconds of ``values`` (seconds per round) per message, over all rounds."""
        return 1000 * sum(values) / sum(self.counts)


def server_settings(url: str, switches: tuple[bool, ...]) -> Any:
    """Settings for one side: the bench database, no poller and no periodic rescore, the
    switches set."""
    from socialcrm.server.settings import Settings

    values: dict[str, Any] = dict(zip(SWITCHES, switches, strict=True))
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        public_url="http://bench.invalid",
        poll_interval_seconds=0,
        # The periodic batch rescore would rescore the whole workspace inside the rounds.
        rescore_interval_seconds=0,
        graphiql=False,
        **values,
    )


async def ensure_account(url: str, workspace_id: int) -> str:
    """The slug of the workspace's plain-mode WeChat account for this benchmark (made once)."""
    from socialcrm.plugins.manager import PluginManager
    from socialcrm.server.accounts import connect_account, find_account
    from socialcrm.server.db import create_engine, session_factory, transaction

    slug = f"bench-ingest-{workspace_id}"
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        async with transaction(sessions) as session:
            if await find_account(session, "wechat", slug) is None:
                await connect_account(
                    session,
                    sessions,
                    PluginManager(),
                    workspace_id=workspace_id,
                    channel="wechat",
                    slug=slug,
                    settings={
                        "app_id": "wxbench0000000001",
                        "app_secret": "bench-secret",
                        "token": TOKEN,
                        "mode": "plain",
                        "original_id": ORIGINAL_ID,
                        # Never called: every sender is a known customer (no profile look-up).
                        "api_base_url": "http://127.0.0.1:9",
                    },
                    public_url="http://bench.invalid",
                    name="Ingest benchmark",
                )
    finally:
        await engine.dispose()
    return slug


async def send(side: Side, slug: str, pushes: list[Push], concurrency: int) -> None:
    """Post the pushes, ``concurrency`` at a time, then wait for the background work."""
    queue = iter(pushes)

    async def worker() -> None:
        for push in queue:
            response = await side.client.post(
                f"/webhooks/wechat/{slug}", params=push.query, content=push.body
            )
            if response.status_code != 200:
                side.errors += 1
                if side.errors <= 3:
                    print(f"  {side.name}: {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await side.app.state.services.drain(60.0)


async def measure(side: Side, slug: str, pushes: list[Push], args: argparse.Namespace) -> None:
    """One round on one side: wall time, this process's CPU, PostgreSQL's CPU."""
    # The servers' pooled connections stay open: their backends' CPU is the whole cost.
    db_before = await database_cpu_seconds_async(args.database_url, exited=False)
    cpu_before = time.process_time()
    started = time.perf_counter()
    await send(side, slug, pushes, args.concurrency)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    db_after = await database_cpu_seconds_async(args.database_url, exited=False)
    db_cpu = cpu_used(db_before, db_after)
    side.seconds.append(seconds)
    side.counts.append(len(pushes))
    side.cpu.append(cpu)
    side.db_cpu.append(db_cpu)
    side.msg_ids.extend(push.msg_id for push in pushes)
    print(
        f"  {side.name:<8} {len(pushes) / seconds:8.1f} msg/s  {1000 * seconds / len(pushes):7.2f}"
        f" ms/msg  CPU {1000 * cpu / len(pushes):6.2f} ms/msg  PostgreSQL CPU "
        f"{1000 * db_cpu / len(pushes):6.2f} ms/msg",
        flush=True,
    )


async def stored(url: str, slug: str, msg_ids: list[str]) -> tuple[int, int]:
    """How many of the messages were stored, and how many of those carry an analysis."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS stored, count(i.language) AS analyzed FROM interaction i"
            " JOIN channel_account a ON a.id = i.account_id"
            " WHERE a.channel = 'wechat' AND a.slug = $1 AND i.external_id = ANY($2::text[])",
            slug,
            msg_ids,
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["stored"]), int(row["analyzed"])


async def run(args: argparse.Namespace) -> None:
    """Seed, connect the account, start both servers, alternate the rounds, report."""
    from socialcrm.plugins.manager import PluginManager
    from socialcrm.server.app import create_app
    from socialcrm.server.settings import Settings

    url = args.database_url
    seeded = await prepare_activity(url, args.reuse, args.customers, args.interactions)
    print(describe(seeded))
    slug = await ensure_account(url, seeded.workspace_id)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        first = await conn.fetchval(
            "SELECT min(id) FROM customer WHERE workspace_id = $1", seeded.workspace_id
        )
    finally:
        await conn.close()
    messages = Messages(args.seed, first, seeded.customers)
    missing = [name for name in SWITCHES if name not in Settings.model_fields]
    if missing:
        print(f"warning: the server has no setting {', '.join(missing)}: both sides are the same")
    async with AsyncExitStack() as stack:
        sides = []
        for name, switches in SIDES.items():
            if name == "analysis" and not args.split:
                continue
            app = create_app(server_settings(url, switches), PluginManager())
            await stack.enter_async_context(LifespanManager(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench.invalid"
                )
            )
            sides.append(Side(name, app, client))
        print(
            f"\n{args.messages:,} messages to each side in {args.rounds} rounds after "
            f"{args.warmup} warm-up messages each; {args.concurrency} in flight; "
            f"WeChat account {slug!r} of workspace {seeded.slug!r}"
        )
        for side in sides:
            await send(side, slug, messages.batch(args.warmup), args.concurrency)
        per_round = args.messages // args.rounds
        for number in range(args.rounds):
            print(f"round {number + 1}:")
            # The order turns each round, so a drift of the machine's load falls on every side.
            for side in sides[number % len(sides) :] + sides[: number % len(sides)]:
                await measure(side, slug, messages.batch(per_round), args)
    await report(sides, url, slug)


async def report(sides: list[Side], url: str, slug: str) -> None:
    """The summary: each side's rate and costs, and what analysis and scoring add."""
    print(
        f"\n{'':<8} {'msg/s':>8} {'ms/msg':>8} {'CPU ms/msg':>11} {'PG CPU ms/msg':>14} "
        f"{'errors':>7}  stored / analyzed"
    )
    for side in sides:
        count, analyzed = await stored(url, slug, side.msg_ids)
        print(
            f"{side.name:<8} {side.rate():8.1f} {side.per_message_ms(side.seconds):8.2f} "
            f"{side.per_message_ms(side.cpu):11.2f} {side.per_message_ms(side.db_cpu):14.2f} "
            f"{side.errors:7d}  {count:,} / {analyzed:,}"
        )
    off = sides[0]
    for side in sides[1:]:
        added = side.per_message_ms(side.seconds) - off.per_message_ms(off.seconds)
        # Each round sends to every side in turn: the median of the rounds' differences is
        # the figure a busy round (another process on the machine) moves least.
        paired = [
            1000 * (seconds / count - off_seconds / off_count)
            for seconds, count, off_seconds, off_count in zip(
                side.seconds, side.counts, off.seconds, off.counts, strict=True
            )
        ]
        what = "analysis and live scoring" if side.name == "on" else "analysis alone"
        print(
            f"\n{what} add {statistics.median(paired):+.2f} ms per message "
            f"(median of the rounds' differences; {added:+.2f} ms over all rounds, "
            f"{side.per_message_ms(side.seconds) / off.per_message_ms(off.seconds):.2f}× the "
            f"time): {side.per_message_ms(side.cpu) - off.per_message_ms(off.cpu):+.2f} ms of "
            f"this process's CPU, "
            f"{side.per_message_ms(side.db_cpu) - off.per_message_ms(off.db_cpu):+.2f} ms of "
            "PostgreSQL's"
        )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark."""
    args = parse_args(argv)
    print(f"database: {make_url(args.database_url).render_as_string(hide_password=True)}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
