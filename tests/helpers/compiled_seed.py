"""Rows for the compiled-reads tests: two workspaces of deliberately awkward data.

Workspace A holds what tends to tell two serializers apart: non-ASCII text, JSON of every
shape, timestamps with and without microseconds, ties in every sort order, scores that are
whole, fractional, negative zero or missing, stored enum values the schema does not know,
null optional fields and a merged customer. Workspace B holds a little of the same, under
names that must never show up in A's answers (and the other way round).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from socialcrm.server import tables
from socialcrm.server.auth import create_token

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_SCORE_NAMES = ("engagement", "influence", "sentiment", "value", "social_value", "churn_risk")


def at(days: float = 0, *, hours: float = 0, seconds: float = 0, micros: int = 0) -> datetime:
    """``T0`` plus an offset; ``micros`` makes the fraction of a second non-zero."""
    return T0 + timedelta(days=days, hours=hours, seconds=seconds, microseconds=micros)


def pk(row: Any) -> int:
    """The primary key of a flushed row."""
    assert row.id is not None
    return int(row.id)


@dataclass
class Workspace:
    """One seeded workspace: its row, tokens and rows by short name."""

    row: tables.Workspace
    token: str = ""
    read_token: str = ""
    customers: dict[str, tables.Customer] = field(default_factory=dict)
    scores: dict[str, tables.Score] = field(default_factory=dict)
    interactions: dict[str, tables.Interaction] = field(default_factory=dict)
    communities: dict[str, tables.Community] = field(default_factory=dict)
    memberships: list[tables.Membership] = field(default_factory=list)
    """In the order they were made (their ids ascend)."""

    @property
    def id(self) -> int:
        """The workspace's primary key."""
        return pk(self.row)


@dataclass
class CompiledSeed:
    """Both workspaces."""

    a: Workspace
    b: Workspace


# -- workspace A ---------------------------------------------------------------------------

_A_CUSTOMERS: dict[str, dict[str, Any]] = {
    "alice": {
        "display_name": "Alice Wang",
        "handle": "alice_w",
        "email": "alice@example.com",
        "phone": "+86 138 0000 0000",
        "avatar_url": "https://img.example.com/a.png",
        "language": "zh-CN",
        "location": "上海",
        "lifecycle_stage": "stability",
        "stage_set_by": "console (token 7)",
        "attributes": {
            "vip": True,
            "level": 3,
            "ratio": 0.75,
            "地址": {"城市": "上海", "邮编": "200000"},
            "history": [1, 2.5, "三", None, {"k": []}],
            "big": 12345678901234567890,
            "whole": 1.0,
        },
        "created_at": at(0),
        "updated_at": at(1, micros=123456),
        "last_seen_at": at(10, micros=654321),
    },
    "bob": {
        "display_name": "bob",
        "lifecycle_stage": "formation",
        "language": "en-US",
        "stage_set_by": 'O\'Brien "运营" \\ desk',
        "created_at": at(hours=1, micros=1),
        "updated_at": at(hours=1, micros=1),
        "last_seen_at": None,
    },
    "chen": {
        "display_name": "陈晨",
        "handle": "chenchen",
        # A value no LifecycleStage has: both paths must read it as EXPLORATION.
        "lifecycle_stage": "churned",
        # Language tags are case-insensitive.
        "language": "ZH",
        "attributes": {"note": 'quote " and backslash \\', "emoji": "🎉", "empty": {}},
        "created_at": at(hours=2, micros=500000),
        "updated_at": at(hours=2, micros=500000),
        "last_seen_at": at(2),
    },
    "dana": {
        "display_name": "Dana",
        "lifecycle_stage": "decline",
        "language": "en",
        # Ties with chen on created_at and with alice on last_seen_at: broken by id.
        "created_at": at(hours=2, micros=500000),
        "updated_at": at(3),
        "last_seen_at": at(10, micros=654321),
    },
    "eve": {
        "display_name": "Eve",
        "lifecycle_stage": "exploration",
        "created_at": at(hours=5),
        "updated_at": at(hours=5),
    },
    "frank": {
        "display_name": "Frank",
        "handle": "frank",
        "lifecycle_stage": "exploration",
        "created_at": at(hours=6, micros=999999),
        "updated_at": at(hours=6, micros=999999),
        "last_seen_at": at(2),
    },
    "gina": {
        "display_name": "Gina 100%_off",
        "lifecycle_stage": "formation",
        # Not a BCP 47 tag: `en` must not match it.
        "language": "english",
        "email": "gina@example.org",
        "created_at": at(hours=7),
        "updated_at": at(hours=7),
        "last_seen_at": at(9, hours=1),
    },
    "hank": {
        "display_name": "Hank",
        "lifecycle_stage": "stability",
        "language": "zh-Hant-TW",
        "attributes": {"source": "import", "score": -3.5},
        "created_at": at(hours=8, micros=10),
        "updated_at": at(hours=8, micros=10),
        "last_seen_at": at(4, micros=1),
    },
    "ivy": {
        "display_name": "Ivy",
        "lifecycle_stage": "decline",
        "created_at": at(hours=9),
        "updated_at": at(hours=9),
        "last_seen_at": at(1),
    },
    "jack": {
        "display_name": "jack",
        "lifecycle_stage": "stability",
        "language": "ja",
        "created_at": at(hours=10),
        "updated_at": at(hours=10),
    },
}

# (customer, channel, external id, handle, following)
_A_IDENTITIES: list[tuple[str, str, str, str | None, bool | None]] = [
    ("alice", "wechat", "o_alice", "小爱", True),
    ("alice", "wechat.unionid", "u_alice", None, None),
    ("alice", "email", "alice@example.com", "alice@example.com", None),
    ("bob", "weibo", "1234567", "Bob_微博", False),
    ("chen", "wechat", "o_chen", "陈晨", True),
    ("chen", "email", "chen@example.cn", None, None),
    ("frank", "wechat", "o_frank", "Ali小号", False),
    ("gina", "email", "gina@example.org", "gina@example.org", None),
    ("hank", "wechat.unionid", "u_hank", None, None),
    ("hank", "weibo", "7654321", "hank_wb", True),
    ("jack", "email", "jack@example.com", None, None),
]

# Names sort differently by byte and by case-insensitive order: Beta, VIP, alpha, vip, 会员.
_A_TAGS: dict[str, tuple[str, ...]] = {
    "alice": ("会员", "VIP", "alpha"),
    "bob": ("Beta", "vip"),
    "dana": ("会员", "gamma"),
    "hank": ("VIP",),
    "merged": ("会员",),
}

_A_SCORES: dict[str, dict[str, Any]] = {
    "alice": {
        "engagement": 12.5,
        "influence": 33.333333333333336,
        "sentiment": 0.5,
        "value": 100.0,
        "social_value": 0.0,
        "churn_risk": 0.25,
        "updated_at": at(3, micros=250000),
        "complaint_count": 2,
        "last_complaint_at": at(4, micros=999999),
    },
    "bob": {
        "engagement": 100.0,
        "influence": 0.0,
        # round(-0.001, 2) is -0.0: the scoring code's rounding stores negative zeros.
        "sentiment": -0.0,
        "value": 12.5,
        "social_value": 33.333333333333336,
        "churn_risk": 1.0,
        "updated_at": at(3),
        "purchase_count": 1,
    },
    "dana": {
        "engagement": 12.5,
        "influence": 50.0,
        "sentiment": -0.75,
        "value": 0.0,
        "social_value": 12.5,
        "churn_risk": 0.5,
        "updated_at": at(3, micros=1),
        "complaint_count": 1,
        "last_complaint_at": at(2),
    },
    # A stored row of zeros: not the same row as "no row", but the same answer.
    "eve": {"updated_at": at(0)},
    "gina": {
        "engagement": 0.001,
        "influence": 99.9,
        "sentiment": 1.0,
        "value": 33.333333333333336,
        "social_value": 99.9,
        "churn_risk": 0.1,
        "updated_at": at(4),
        "purchase_count": 3,
    },
    "hank": {
        "engagement": 12.5,
        "influence": 12.0,
        "sentiment": -1.0,
        "value": 7.0,
        "social_value": 0.0,
        "churn_risk": 0.333,
        "updated_at": at(5, micros=5),
    },
}

# name → (customer, fields); kinds and directions are the stored (lower-case) values.
_A_INTERACTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "alice_hello": (
        "alice",
        {
            "channel": "wechat",
            "kind": "message",
            "direction": "inbound",
            "content": "你好，我想了解会员权益",
            "occurred_at": at(1),
            "sentiment": 0.8,
            "language": "zh",
            "is_complaint": False,
            "keywords": ["会员", "权益"],
            "external_id": "wx-1",
            "thread_id": "t-1",
            "data": {"MsgType": "text", "MsgId": 1234567890123, "nested": {"l": [1, 2.5, "三"]}},
            "community": "group",
        },
    ),
    "alice_reply": (
        "alice",
        {
            "channel": "wechat",
            "kind": "message",
            "direction": "outbound",
            "content": "Hello Alice, welcome!",
            "occurred_at": at(1, seconds=1, micros=250000),
            "delivery_status": "delivered",
            "thread_id": "t-1",
            "reply_to": "alice_hello",
        },
    ),
    "alice_mail": (
        "alice",
        {
            "channel": "email",
            "kind": "message",
            "direction": "inbound",
            "content": None,
            "content_type": "html",
            "occurred_at": at(4, micros=999999),
            "sentiment": -1.0,
            "language": "zh",
            "is_complaint": True,
            "keywords": ["订单", 'quote " and \\', "refund"],
            "data": {"subject": "Re: 订单 #42", "attachments": [], "size": 0.5},
        },
    ),
    "alice_call": (
        "alice",
        {
            "channel": "manual",
            "kind": "call",
            "direction": "outbound",
            "content": "电话回访 follow-up call",
            "occurred_at": at(5),
            "sentiment": 0.0,
        },
    ),
    "alice_reaction": (
        "alice",
        {
            "channel": "wechat",
            # Stored kinds the enum does not know read as OTHER.
            "kind": "reaction",
            "direction": "inbound",
            "content": "👍",
            "occurred_at": at(6),
            "data": [1, "two", {"three": 3}],
        },
    ),
    "bob_comment": (
        "bob",
        {
            "channel": "weibo",
            "kind": "comment",
            "direction": "inbound",
            "content": "Nice post!",
            "occurred_at": at(3, micros=500000),
            "sentiment": 1.0,
            "language": "en",
            "is_complaint": False,
            "keywords": ["post"],
        },
    ),
    "bob_mention": (
        "bob",
        {
            "channel": "weibo",
            "kind": "mention",
            "direction": "inbound",
            "content": "@brand 很好",
            # The same instant as bob_comment: the higher id comes first.
            "occurred_at": at(3, micros=500000),
            "sentiment": 0.33,
            "language": "ZH",
            "is_complaint": True,
        },
    ),
    "bob_repost": (
        "bob",
        {
            "channel": "weibo",
            "kind": "repost",
            # A direction the enum does not know reads as INBOUND.
            "direction": "sideways",
            "content": None,
            "occurred_at": at(3, hours=2),
        },
    ),
    "chen_follow": (
        "chen",
        {
            "channel": "wechat",
            "kind": "follow",
            "direction": "inbound",
            "content_type": "event:subscribe",
            "occurred_at": at(2),
            "data": {"EventKey": "qrscene_42"},
            "community": "group",
        },
    ),
    "chen_scan": (
        "chen",
        {
            "channel": "wechat",
            "kind": "scan",
            "direction": "inbound",
            "content_type": "event:SCAN",
            "occurred_at": at(2),
            "data": {"EventKey": "42"},
        },
    ),
    "dana_shipped": (
        "dana",
        {
            "channel": "email",
            "kind": "message",
            "direction": "outbound",
            "content": "Your order shipped",
            "occurred_at": at(7, micros=1),
            "delivery_status": "failed",
        },
    ),
    "merged_old": (
        "merged",
        {
            "channel": "wechat",
            "kind": "message",
            "direction": "inbound",
            "content": "old account",
            "occurred_at": at(8),
        },
    ),
    "frank_click": (
        "frank",
        {
            "channel": "wechat",
            "kind": "click",
            "direction": "inbound",
            "content_type": "event:CLICK",
            "occurred_at": at(9),
            "data": {"EventKey": "MENU_1"},
        },
    ),
    "gina_note": (
        "gina",
        {
            "channel": "manual",
            "kind": "note",
            "direction": "outbound",
            "content": "备注：VIP 客户\n第二行",
            "occurred_at": at(9, hours=1),
            "sentiment": 0.25,
        },
    ),
    "gina_purchase": (
        "gina",
        {
            "channel": "manual",
            "kind": "purchase",
            "direction": "inbound",
            "content": "两件 T 恤",
            "occurred_at": at(9, hours=2, micros=1),
            "data": {"amount": 199.0, "currency": "CNY", "order": "SO-1"},
            "amount": 199.0,
            "currency": "CNY",
        },
    ),
    # Brought by alice: her referrals count one buyer.
    "chen_purchase": (
        "chen",
        {
            "channel": "shop",
            "kind": "purchase",
            "direction": "inbound",
            "occurred_at": at(20),
            "amount": 0.1,
            "currency": "JPY",
        },
    ),
    "gina_order": (
        "gina",
        {
            "channel": "wechat",
            "kind": "purchase",
            "direction": "inbound",
            "occurred_at": at(9, hours=3),
            "amount": 12.5,
            "currency": "USD",
        },
    ),
}

HANK_HISTORY_DAYS = 370
"""Hank's score history is longer than `Customer.scoreHistory` returns."""

# name → (day offset, the six scores); the merged customer's points stay with it.
_A_HISTORY: dict[str, list[tuple[int, tuple[float, ...]]]] = {
    "alice": [
        (0, (0.0, 0.0, 0.0, 0.0, 0.0, 0.5)),
        (1, (12.5, 33.333333333333336, -0.0, 100.0, 1.0, 0.25)),
        (3, (13.0, 33.3, 0.5, 100.0, 0.0, 0.25)),
        (30, (7.0, 1e-05, -1.0, 99.99, 12.0, 1.0)),
    ],
    "bob": [(2, (100.0, 0.0, -0.0, 12.5, 33.333333333333336, 1.0))],
    "merged": [(5, (99.0, 0.0, 0.0, 0.0, 0.0, 0.0))],
    "hank": [(day, (day / 10, 12.0, -1.0, 7.0, 0.0, 0.333)) for day in range(HANK_HISTORY_DAYS)],
}

# (customer, from, to, source, set_by, changed_at); "churned" reads as EXPLORATION.
_A_STAGE_CHANGES: list[tuple[str, str | None, str, str, str | None, datetime]] = [
    ("alice", None, "exploration", "rule", None, at(0)),
    ("alice", "exploration", "formation", "rule", None, at(1, micros=1)),
    ("alice", "formation", "stability", "manual", "console (token 7)", at(2)),
    # The same instant as the one before: the later stored comes first.
    ("alice", "stability", "stability", "cleared", "console (token 7)", at(2)),
    ("bob", "churned", "formation", "manual", 'O\'Brien "运营" \\ desk', at(3, micros=5)),
    ("merged", None, "stability", "rule", None, at(1)),
]

# (newcomer, referrer, kind): the newcomer is the edge's source.
_A_EDGES: list[tuple[str, str, str]] = [
    ("bob", "alice", "referral"),
    ("chen", "alice", "referral"),
    ("eve", "alice", "referral"),
    ("gina", "dana", "referral"),
    ("eve", "dana", "referral"),
    # Not referrals: they bring nobody.
    ("frank", "alice", "mention"),
    ("alice", "hank", "repost"),
]

# -- workspace B: names that give themselves away if they leak ------------------------------

_B_CUSTOMERS: dict[str, dict[str, Any]] = {
    "bella": {
        "display_name": "Bella B-only",
        "lifecycle_stage": "stability",
        "created_at": at(0),
        "updated_at": at(0),
        "last_seen_at": at(11),
    },
    "ben": {
        "display_name": "Ben B-only alice",
        "lifecycle_stage": "exploration",
        "created_at": at(1),
        "updated_at": at(1),
    },
}


async def _workspace(session: AsyncSession, name: str) -> Workspace:
    row = tables.Workspace(slug=f"compiled-{uuid.uuid4().hex[:10]}", name=name)
    session.add(row)
    await session.flush()
    assert row.id is not None
    seeded = Workspace(row=row)
    seeded.token = await create_token(session, row.id, "admin", name="compiled")
    seeded.read_token = await create_token(session, row.id, "read", name="compiled-read")
    return seeded


async def _customers(
    session: AsyncSession, seeded: Workspace, specs: dict[str, dict[str, Any]]
) -> None:
    for name, spec in specs.items():
        row = tables.Customer(workspace_id=seeded.id, **spec)
        session.add(row)
        # One flush per row: ids follow the order of the specs.
        await session.flush()
        seeded.customers[name] = row


async def _tags(
    session: AsyncSession, seeded: Workspace, specs: dict[str, tuple[str, ...]]
) -> None:
    by_name: dict[str, tables.Tag] = {}
    for customer, names in specs.items():
        for tag_name in names:
            tag = by_name.get(tag_name)
            if tag is None:
                tag = by_name[tag_name] = tables.Tag(workspace_id=seeded.id, name=tag_name)
                session.add(tag)
                await session.flush()
            session.add(
                tables.CustomerTag(
                    customer_id=pk(seeded.customers[customer]),
                    tag_id=pk(tag),
                    workspace_id=seeded.id,
                )
            )


async def _interactions(
    session: AsyncSession,
    seeded: Workspace,
    specs: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    for name, (customer, spec) in specs.items():
        fields = dict(spec)
        community = fields.pop("community", None)
        reply_to = fields.pop("reply_to", None)
        row = tables.Interaction(
            workspace_id=seeded.id,
            customer_id=pk(seeded.customers[customer]),
            community_id=pk(seeded.communities[community]) if community else None,
            in_reply_to_id=pk(seeded.interactions[reply_to]) if reply_to else None,
            **fields,
        )
        session.add(row)
        await session.flush()
        seeded.interactions[name] = row


async def seed_compiled(sessions: async_sessionmaker[AsyncSession]) -> CompiledSeed:
    """Write both workspaces (with a token of each scope needed) and return their rows."""
    async with sessions() as session, session.begin():
        a = await _workspace(session, "Compiled A")
        b = await _workspace(session, "Compiled B")

        await _customers(session, a, _A_CUSTOMERS)
        # Merged into alice: hidden from every list, null as an interaction's customer.
        await _customers(
            session,
            a,
            {
                "merged": {
                    "display_name": "Alice (duplicate)",
                    "lifecycle_stage": "stability",
                    "merged_into_id": pk(a.customers["alice"]),
                    "created_at": at(0, micros=5),
                    "updated_at": at(0, micros=5),
                    "last_seen_at": at(12),
                }
            },
        )
        for customer, channel, external_id, handle, following in _A_IDENTITIES:
            session.add(
                tables.Identity(
                    workspace_id=a.id,
                    customer_id=pk(a.customers[customer]),
                    channel=channel,
                    external_id=external_id,
                    handle=handle,
                    following=following,
                )
            )
        session.add(
            tables.Identity(
                workspace_id=a.id,
                customer_id=pk(a.customers["merged"]),
                channel="wechat",
                external_id="o_alice_old",
                handle="Alice old",
            )
        )
        await _tags(session, a, _A_TAGS)
        for customer, scores in {**_A_SCORES, "merged": {"engagement": 99.0}}.items():
            score = tables.Score(customer_id=pk(a.customers[customer]), workspace_id=a.id, **scores)
            session.add(score)
            a.scores[customer] = score
        group = tables.Community(
            workspace_id=a.id,
            name="上海会员群",
            channel="wechat",
            external_id="grp-1",
            created_at=at(0),
        )
        session.add(group)
        await session.flush()
        a.communities["group"] = group
        # A dissolved Weibo topic and a mailing list with no channel id, so the community
        # filters and `includeDismissed` have something to tell apart.
        topic = tables.Community(
            workspace_id=a.id,
            name="Weibo topic #新品#",
            description="A dissolved topic",
            channel="weibo",
            external_id="topic-1",
            created_at=at(2),
            dismissed_at=at(40),
        )
        letters = tables.Community(
            workspace_id=a.id,
            name="Newsletter readers",
            description="Email subscribers",
            channel="email",
            created_at=at(3, micros=250_000),
        )
        session.add_all([topic, letters])
        await session.flush()
        a.communities["topic"] = topic
        a.communities["letters"] = letters
        # Every role, one role value the enum does not know (it reads as MEMBER), and a
        # membership of the merged customer (members merged away are left out of pages).
        for community, customer, role, joined in (
            ("group", "alice", "admin", at(1)),
            ("group", "merged", "member", at(2)),
            ("group", "bob", "opinion_leader", at(3, micros=500_000)),
            ("group", "chen", "member", at(4)),
            ("group", "dana", "moderator", at(5)),
            ("topic", "alice", "member", at(6)),
            ("letters", "alice", "member", at(7)),
            ("letters", "chen", "admin", at(8)),
        ):
            membership = tables.Membership(
                workspace_id=a.id,
                community_id=pk(a.communities[community]),
                customer_id=pk(a.customers[customer]),
                role=role,
                joined_at=joined,
            )
            session.add(membership)
            await session.flush()
            a.memberships.append(membership)
        await _interactions(session, a, _A_INTERACTIONS)
        for customer, points in _A_HISTORY.items():
            for offset, scores in points:
                session.add(
                    tables.ScoreHistory(
                        workspace_id=a.id,
                        customer_id=pk(a.customers[customer]),
                        day=(T0 + timedelta(days=offset)).date(),
                        **dict(zip(_SCORE_NAMES, scores, strict=True)),
                    )
                )
        for customer, from_stage, to_stage, source, set_by, changed_at in _A_STAGE_CHANGES:
            session.add(
                tables.StageChange(
                    workspace_id=a.id,
                    customer_id=pk(a.customers[customer]),
                    from_stage=from_stage,
                    to_stage=to_stage,
                    source=source,
                    set_by=set_by,
                    changed_at=changed_at,
                )
            )
            await session.flush()
        for source_name, target_name, kind in _A_EDGES:
            session.add(
                tables.Relationship(
                    workspace_id=a.id,
                    source_id=pk(a.customers[source_name]),
                    target_id=pk(a.customers[target_name]),
                    kind=kind,
                )
            )

        await _customers(session, b, _B_CUSTOMERS)
        session.add(
            tables.Identity(
                workspace_id=b.id,
                customer_id=pk(b.customers["bella"]),
                # The same channel and external id as alice's in A.
                channel="wechat",
                external_id="o_alice",
                handle="alice in B",
            )
        )
        await _tags(session, b, {"bella": ("会员", "B-only")})
        session.add_all(
            [
                tables.Relationship(
                    workspace_id=b.id,
                    source_id=pk(b.customers["ben"]),
                    target_id=pk(b.customers["bella"]),
                    kind="referral",
                ),
                tables.ScoreHistory(
                    workspace_id=b.id,
                    customer_id=pk(b.customers["bella"]),
                    day=T0.date(),
                    **dict.fromkeys(_SCORE_NAMES, 55.5),
                ),
                tables.StageChange(
                    workspace_id=b.id,
                    customer_id=pk(b.customers["bella"]),
                    to_stage="stability",
                    source="manual",
                    set_by="B-only desk",
                    changed_at=at(1),
                ),
            ]
        )
        session.add(
            tables.Score(
                customer_id=pk(b.customers["bella"]),
                workspace_id=b.id,
                engagement=77.0,
                social_value=55.5,
            )
        )
        b_group = tables.Community(workspace_id=b.id, name="B-only group", created_at=at(0))
        session.add(b_group)
        await session.flush()
        b.communities["group"] = b_group
        await _interactions(
            session,
            b,
            {
                "bella_hi": (
                    "bella",
                    {
                        "channel": "wechat",
                        "kind": "message",
                        "direction": "inbound",
                        "content": "B-only message",
                        "occurred_at": at(11),
                        "community": "group",
                    },
                ),
                "ben_call": (
                    "ben",
                    {
                        "channel": "manual",
                        "kind": "call",
                        "direction": "outbound",
                        "content": "B-only call",
                        "occurred_at": at(1),
                    },
                ),
            },
        )
    return CompiledSeed(a=a, b=b)
