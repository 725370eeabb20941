"""The demo workspace ``demo``: a small coffee brand with customers on WeChat, Weibo and email.

``scrm demo`` (and ``make run``) loads it so a fresh checkout has something to query: about
forty customers with their identities and tags, four communities with members, admins and
opinion leaders, a few hundred interactions in Chinese and English over the last sixty days
(messages, comments, mentions, reposts, follows and unfollows, complaints) and purchases
over the last year, the customer-to-customer edges they reveal, and connected channel
accounts whose webhook URLs answer.

Nothing about what customers feel or are worth is typed in: every interaction is stored
through the live path, in the order it happened, so the text analysis gives each text its
language, sentiment and complaint flag, and the scores, lifecycle stages and their daily
history follow each interaction as they would have live. A batch rescore then adds
influence from the customer graph and brings every score to ``now``.

Everything comes from one seeded ``random.Random``: the same seed and ``now`` give the same
rows. Loading is idempotent by the workspace slug; the rows are written in one transaction,
and the rescore follows it (a load cut off between the two leaves influence at 0 until the
next rescore).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from socialcrm.plugins.manager import PluginManager
from socialcrm.server.accounts import AccountError, connect_account, webhook_url
from socialcrm.server.scoring.batch import rescore_workspace
from socialcrm.server.scoring.live import on_interaction_stored
from socialcrm.server.scoring.settings import save_settings
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import (
    ChannelAccount,
    Community,
    Customer,
    CustomerTag,
    Identity,
    Interaction,
    Membership,
    ReferralCode,
    Relationship,
    Tag,
    Workspace,
)

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Coffee 示范咖啡"
DEMO_SEED = 20240601
HISTORY_DAYS = 60
"""How far back most customers' social activity goes."""
WINDOWS: dict[str, tuple[int, int]] = {"lapsed": (200, 110), "drifting": (200, 45)}
"""Personas whose activity lies elsewhere: (from, until) in days before now. The lapsed went
quiet months ago (those on WeChat unfollowed); the drifting taper off."""

DEMO_ACCOUNTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # channel: (slug, name, settings). Demo credentials only: nothing here is a real account.
    "wechat": (
        "demo-wechat",
        "示范咖啡 公众号",
        {
            "app_id": "wx00000000demo0001",
            "app_secret": "demo-app-secret-not-real",
            "token": "scrmdemo",
            "mode": "plain",
        },
    ),
    "weibo": (
        "demo-weibo",
        "@示范咖啡",
        {"app_secret": "demo-weibo-secret-not-real", "uid": "5000000001"},
    ),
    "email": (
        "demo-email",
        "hello@demo-coffee.example",
        {"address": "hello@demo-coffee.example", "signing_key": "demo-signing-key-not-real"},
    ),
}


@dataclass
class DemoResult:
    """What ``load_demo`` found or created."""

    workspace_id: int
    created: bool
    customers: int = 0
    communities: int = 0
    interactions: int = 0
    relationships: int = 0
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    """(channel, slug, webhook URL) of each connected demo account."""
    notes: list[str] = field(default_factory=list)
    """Demo accounts that could not be connected, and why."""


# The people --------------------------------------------------------------------------------

# (display name, language, location, e-mail local part or None, persona)
# Personas steer activity: "regular", "fan", "newbie", "lapsed", "drifting", "influencer",
# "critic".
PEOPLE: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("王小明", "zh_CN", "上海", "xiaoming.wang", "fan"),
    ("李娜", "zh_CN", "北京", "li.na", "influencer"),
    ("张伟", "zh_CN", "深圳", None, "regular"),
    ("刘洋", "zh_CN", "杭州", "liuyang88", "regular"),
    ("陈静", "zh_CN", "上海", "chen.jing", "fan"),
    ("杨帆", "zh_CN", "成都", None, "newbie"),
    ("赵敏", "zh_CN", "广州", "zhaomin", "critic"),
    ("黄磊", "zh_CN", "南京", None, "lapsed"),
    ("周杰", "zh_CN", "北京", "zhou.jie", "regular"),
    ("吴倩", "zh_CN", "上海", None, "influencer"),
    ("徐晨", "zh_CN", "苏州", "xuchen", "newbie"),
    ("孙悦", "zh_CN", "武汉", None, "drifting"),
    ("马超", "zh_CN", "西安", None, "lapsed"),
    ("朱琳", "zh_CN", "上海", "zhu.lin", "fan"),
    ("胡歌迷", "zh_CN", "重庆", None, "newbie"),
    ("郭晓雨", "zh_CN", "天津", "guo.xiaoyu", "regular"),
    ("林小咖", "zh_CN", "厦门", None, "fan"),
    ("何思远", "zh_CN", "长沙", None, "critic"),
    ("高原", "zh_CN", "北京", "gaoyuan", "regular"),
    ("罗拉拉", "zh_CN", "杭州", None, "newbie"),
    ("梁晓东", "zh_CN", "广州", "liang.xd", "lapsed"),
    ("宋佳", "zh_CN", "上海", None, "regular"),
    ("Emily Chen", "en", "Shanghai", "emily.chen", "fan"),
    ("James Wilson", "en", "Beijing", "james.wilson", "regular"),
    ("Sophie Martin", "en", "Shanghai", "sophie.martin", "influencer"),
    ("David Li", "en", "Shenzhen", "david.li", "regular"),
    ("Olivia Brown", "en", "Hong Kong", "olivia.b", "newbie"),
    ("Lucas Müller", "de", "Shanghai", "lucas.mueller", "regular"),
    ("Grace Zhang", "en", "Hangzhou", "grace.zhang", "fan"),
    ("Michael Wong", "en", "Guangzhou", "mwong", "critic"),
    ("Hannah Kim", "en", "Beijing", "hannah.kim", "newbie"),
    ("Tom Anderson", "en", "Shanghai", "tom.a", "lapsed"),
    ("Chloé Dubois", "fr", "Shanghai", "chloe.dubois", "regular"),
    ("Ryan Liu", "en", "Chengdu", "ryan.liu", "regular"),
    ("Mia Johnson", "en", "Suzhou", "mia.j", "newbie"),
    ("Kevin Zhao", "en", "Beijing", "kevin.zhao", "influencer"),
    ("Anna Petrova", "en", "Shanghai", "anna.p", "lapsed"),
    ("Daniel Park", "en", "Shenzhen", "daniel.park", "drifting"),
    ("Isabella Rossi", "it", "Shanghai", "isabella.r", "fan"),
    ("Jack Huang", "en", "Xiamen", None, "regular"),
)

# How many inbound interactions a persona makes over the history, roughly.
ACTIVITY = {
    "fan": 14,
    "influencer": 12,
    "regular": 7,
    "critic": 7,
    "newbie": 3,
    "lapsed": 6,
    "drifting": 12,
}

CHANNEL_WEIGHT = {"wechat": 5, "weibo": 3, "email": 1}

# What customers write; the text analysis decides how they feel about it.
MESSAGES_ZH = (
    "今天的燕麦拿铁很好喝！",
    "请问周末门店几点开门？",
    "会员积分怎么兑换？",
    "新出的桂花冷萃太棒了，强烈推荐",
    "外卖可以送到浦东吗？",
    "咖啡豆可以帮忙磨成手冲粗细吗",
    "店员小姐姐服务很贴心，点赞",
    "有没有低因的选择？",
    "生日券什么时候发？",
    "上次买的挂耳包装很好看，送朋友了",
)
MESSAGES_EN = (
    "Loved the oat latte this morning!",
    "What time does the Jing'an store open on Sunday?",
    "How do I redeem my loyalty points?",
    "The new osmanthus cold brew is amazing.",
    "Do you ship beans to Hangzhou?",
    "Could you grind the beans for pour-over next time?",
    "Great service from the barista team, thank you.",
    "Any decaf options?",
    "When will the birthday coupon arrive?",
)
COMMENTS_ZH = (
    "#秋季新品咖啡节# 已打卡，桂花拿铁yyds",
    "排队半小时也值了",
    "求上海更多门店！",
    "杯子设计好可爱",
    "价格有点小贵，不过味道不错",
)
COMMENTS_EN = (
    "#AutumnCoffeeFest# tried the osmanthus latte, so good",
    "Worth the queue.",
    "Please open a store in Pudong!",
    "A bit pricey but tasty.",
)
MENTIONS_ZH = (
    "和 @{other} 一起在 @示范咖啡 喝下午茶",
    "@{other} 快来试试 @示范咖啡 的新品",
    "@示范咖啡 的手冲课程很专业，推荐给 @{other}",
)
MENTIONS_EN = (
    "Coffee date with @{other} at @DemoCoffee",
    "@{other} you have to try the new cold brew at @DemoCoffee",
)
NEWSLETTER = (
    "Brew Notes · 十月：秋季新品与手冲课程",
    "Brew Notes · Your monthly coffee letter",
    "会员日预告：双倍积分",
)
REPLIES_ZH = ("感谢支持！欢迎常来～", "您好，周末门店 8:00 开门。", "已为您记录，稍后客服联系您。")
REPLIES_EN = (
    "Thank you! See you soon.",
    "Hi! Stores open at 8:00 on weekends.",
    "Noted, our team will get back to you shortly.",
)
# What critics say when they are not filing a complaint.
GRUMBLES_ZH = (
    "最近的拿铁越来越淡了，价格倒是涨了",
    "会员积分规则又改了，感觉很不划算",
    "门店排队太久，服务有点慢",
)
GRUMBLES_EN = (
    "The latte tasted burnt today, not great.",
    "Prices went up again and the cups got smaller.",
)
PRODUCTS = (
    ("燕麦拿铁 Oat latte", 32),
    ("桂花冷萃 Osmanthus cold brew", 36),
    ("挂耳咖啡礼盒 Drip bag gift box", 128),
    ("手冲咖啡豆 250g Pour-over beans", 98),
    ("手冲课程 Pour-over class", 299),
)
PURCHASE_CURRENCY = {"zh_CN": "CNY", "en": "USD", "de": "EUR", "fr": "EUR", "it": "EUR"}
"""Foreign customers pay in their own currency some of the time; the workspace converts."""
EXCHANGE_RATES = {"USD": 7.2, "EUR": 7.8}

COMPLAINTS = (
    # (channel, kind, text)
    ("wechat", "message", "咖啡里有异物，太失望了！要求退款，请尽快处理。"),
    ("weibo", "mention", "@示范咖啡 外卖送了一个多小时，到手全凉了 #差评#"),
    ("email", "message", "My order arrived an hour late and cold. Very disappointed."),
)

TAG_NAMES = (
    "高消费",
    "VIP",
    "coffee-lover",
    "tea-lover",
    "新客",
    "投诉",
    "意见领袖",
    "early-adopter",
    "手冲爱好者",
)


@dataclass
class _Person:
    """A demo customer while it is being built."""

    index: int
    name: str
    language: str
    location: str
    email: str | None
    persona: str
    customer: Customer | None = None
    wechat_openid: str | None = None
    unionid: str | None = None
    weibo_uid: str | None = None
    weibo_handle: str | None = None
    followers: int = 0
    spend: float = 0.0
    """In CNY, from the generated purchases."""
    orders: int = 0
    tags: set[str] = field(default_factory=set)
    times: list[datetime] = field(default_factory=list)

    @property
    def chinese(self) -> bool:
        return self.language == "zh_CN"

    @property
    def channels(self) -> list[str]:
        return [
            c
            for c, present in (
                ("wechat", self.wechat_openid),
                ("weibo", self.weibo_uid),
                ("email", self.email),
            )
            if present
        ]


async def load_demo(
    services: Services,
    *,
    public_url: str,
    now: datetime | None = None,
    seed: int = DEMO_SEED,
) -> DemoResult:
    """Load the demo workspace unless a workspace with slug ``demo`` exists already."""
    sessions = services.sessions
    existing = await _existing(sessions, public_url)
    if existing is not None:
        return existing
    # Whole minutes keep the generated times readable in the console.
    now = (now or utcnow()).replace(second=0, microsecond=0)
    try:
        async with sessions() as session, session.begin():
            result = await _build(session, services, public_url, now, seed)
    except IntegrityError:
        # Another process loaded it at the same time: the unique slug decided, and theirs won.
        existing = await _existing(sessions, public_url)
        if existing is None:
            raise
        return existing
    # Influence needs the whole graph; the rescore also brings every score to ``now``. The
    # engine alone: a demo load announces nothing to subscribers.
    await rescore_workspace(services.engine, result.workspace_id, now=now)
    return result


async def _existing(
    sessions: async_sessionmaker[AsyncSession], public_url: str
) -> DemoResult | None:
    async with sessions() as session:
        workspace_id = await session.scalar(
            select(col(Workspace.id)).where(col(Workspace.slug) == DEMO_SLUG)
        )
        if workspace_id is None:
            return None

        async def count(table: Any) -> int:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(table.workspace_id == workspace_id)
                )
                or 0
            )

        accounts = (
            await session.execute(
                select(col(ChannelAccount.channel), col(ChannelAccount.slug))
                .where(col(ChannelAccount.workspace_id) == workspace_id)
                .order_by(col(ChannelAccount.channel))
            )
        ).all()
        return DemoResult(
            workspace_id=workspace_id,
            created=False,
            customers=await count(Customer),
            communities=await count(Community),
            interactions=await count(Interaction),
            relationships=await count(Relationship),
            accounts=[(c, s, webhook_url(public_url, c, s)) for c, s in accounts],
        )


async def _build(
    session: AsyncSession, services: Services, public_url: str, now: datetime, seed: int
) -> DemoResult:
    rng = random.Random(seed)
    workspace = Workspace(slug=DEMO_SLUG, name=DEMO_NAME, created_at=now - timedelta(days=400))
    session.add(workspace)
    await session.flush()
    assert workspace.id is not None
    ws = workspace.id
    result = DemoResult(workspace_id=ws, created=True)

    await save_settings(session, ws, {"exchange_rates": EXCHANGE_RATES})
    accounts = await _connect_accounts(
        session, services.sessions, services.plugins, ws, public_url, result
    )
    people = _people(rng)
    _add_customers(session, ws, people, rng, now)
    await session.flush()  # identities, memberships and interactions need the customer ids
    session.add_all(_identities(ws, people, accounts))
    communities = _add_communities(session, ws, accounts, now)
    await session.flush()
    members = _add_memberships(session, ws, people, communities, rng, now)

    inbound, complaints, edges = _interactions(ws, people, accounts, communities, members, rng, now)
    purchases = _purchases(ws, people, rng, now)
    replies = _replies(ws, inbound, complaints, people, accounts, rng, now)
    _add_referral_codes(session, ws, people, edges)
    relationships = _relationships(ws, people, edges)
    session.add_all(relationships)
    await session.flush()
    await _store_as_they_happened(
        session, services, [(row, None) for row in inbound + purchases] + replies
    )
    _finish_customers(people, now)
    session.add_all(await _add_tags(session, ws, people, now))
    await session.flush()

    result.customers = len(people)
    result.communities = len(communities)
    result.interactions = (
        await session.scalar(
            select(func.count()).select_from(Interaction).where(col(Interaction.workspace_id) == ws)
        )
        or 0
    )
    result.relationships = len(relationships)
    return result


async def _connect_accounts(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    plugins: PluginManager,
    workspace_id: int,
    public_url: str,
    result: DemoResult,
) -> dict[str, ChannelAccount]:
    """Connect the demo accounts through the same path as ``connectChannel``."""
    accounts: dict[str, ChannelAccount] = {}
    for channel, (slug, name, settings) in DEMO_ACCOUNTS.items():
        if plugins.channel(channel) is None:
            result.notes.append(f"{channel}: no such channel installed; demo account skipped")
            continue
        try:
            connected = await connect_account(
                session,
                sessions,
                plugins,
                workspace_id=workspace_id,
                channel=channel,
                slug=slug,
                settings=dict(settings),
                public_url=public_url,
                name=name,
            )
        except AccountError as exc:
            result.notes.append(f"{channel}: {exc}; demo account skipped")
            continue
        accounts[channel] = connected.account
        result.accounts.append((channel, slug, connected.webhook_url))
    return accounts


def _people(rng: random.Random) -> list[_Person]:
    people = []
    for index, (name, language, location, email_local, persona) in enumerate(PEOPLE):
        person = _Person(
            index=index,
            name=name,
            language=language,
            location=location,
            email=None,
            persona=persona,
        )
        if email_local:
            domain = "example.cn" if language == "zh_CN" else "example.com"
            person.email = f"{email_local}@{domain}"
        # Most Chinese customers are on WeChat; about half the others too.
        if language == "zh_CN" or rng.random() < 0.5:
            person.wechat_openid = "oDemo" + _token(rng, 23)
            if rng.random() < 0.7:
                person.unionid = "uDemo" + _token(rng, 23)
        if persona in ("influencer", "critic") or rng.random() < 0.45:
            person.weibo_uid = str(5_100_000_000 + rng.randrange(900_000_000))
            person.weibo_handle = _weibo_handle(name, rng)
        if not person.channels:
            person.wechat_openid = "oDemo" + _token(rng, 23)
        base = {"influencer": 20_000, "critic": 2_000}.get(persona, 300)
        person.followers = int(base * rng.uniform(0.3, 3.0))
        person.orders = {
            "fan": rng.randint(6, 15),
            "regular": rng.randint(1, 4),
            "influencer": rng.randint(1, 5),
            "critic": rng.randint(0, 2),
            "newbie": rng.randint(0, 1),
            "lapsed": rng.randint(2, 5),
            "drifting": rng.randint(2, 5),
        }[persona]
        people.append(person)
    return people


def _token(rng: random.Random, length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(length))


def _weibo_handle(name: str, rng: random.Random) -> str:
    suffix = rng.choice(("的咖啡日记", "_daily", "爱喝咖啡", "_coffee", "小号", ""))
    return f"{name.replace(' ', '_')}{suffix}"


def _add_customers(
    session: AsyncSession,
    workspace_id: int,
    people: list[_Person],
    rng: random.Random,
    now: datetime,
) -> None:
    for person in people:
        if person.persona == "newbie":
            created = now - timedelta(days=rng.randint(3, HISTORY_DAYS - 5))
        elif person.persona in WINDOWS:
            created = now - timedelta(days=rng.randint(WINDOWS[person.persona][0] + 10, 400))
        else:
            created = now - timedelta(days=rng.randint(HISTORY_DAYS + 5, 400))
        customer = Customer(
            workspace_id=workspace_id,
            display_name=person.name,
            handle=person.weibo_handle,
            email=person.email,
            language=person.language,
            location=person.location,
            attributes={"demo": True},
            created_at=created,
            updated_at=created,
        )
        person.customer = customer
        session.add(customer)


def _identities(
    workspace_id: int, people: list[_Person], accounts: dict[str, ChannelAccount]
) -> list[Identity]:
    rows = []
    for person in people:
        customer = person.customer
        assert customer is not None and customer.id is not None
        created = customer.created_at

        def add(
            channel: str,
            external_id: str,
            handle: str | None,
            account: str | None,
            following: bool | None,
            profile: dict[str, Any],
            customer_id: int = customer.id,  # bound now: the closure outlives the loop turn
            created_at: datetime = created,
        ) -> None:
            account_row = accounts.get(account) if account else None
            rows.append(
                Identity(
                    workspace_id=workspace_id,
                    customer_id=customer_id,
                    channel=channel,
                    external_id=external_id,
                    handle=handle,
                    account_id=account_row.id if account_row else None,
                    following=following,
                    profile=profile,
                    created_at=created_at,
                    updated_at=created_at,
                )
            )

        lapsed = person.persona == "lapsed"
        if person.wechat_openid:
            add(
                "wechat",
                person.wechat_openid,
                person.name,
                "wechat",
                not lapsed,
                {"language": person.language, "city": person.location},
            )
        if person.unionid:
            add("wechat.unionid", person.unionid, None, None, None, {})
        if person.weibo_uid:
            add(
                "weibo",
                person.weibo_uid,
                person.weibo_handle,
                "weibo",
                True,
                {"followers_count": person.followers, "location": person.location},
            )
        if person.email:
            add("email", person.email, person.name, "email", None, {})
    return rows


def _add_communities(
    session: AsyncSession, workspace_id: int, accounts: dict[str, ChannelAccount], now: datetime
) -> dict[str, Community]:
    def account_id(channel: str) -> int | None:
        account = accounts.get(channel)
        return account.id if account else None

    specs = {
        "coffee-group": (
            "示范咖啡 · 咖啡爱好者群",
            "The brand's main WeChat group: tastings, new drinks, meet-ups.",
            "wechat",
            "demo-wechat-group-coffee",
        ),
        "vip-group": (
            "VIP 会员群",
            "Members with the most orders: early access and events.",
            "wechat",
            "demo-wechat-group-vip",
        ),
        "autumn-topic": (
            "#秋季新品咖啡节#",
            "The Weibo topic of the autumn launch.",
            "weibo",
            "demo-weibo-topic-autumn",
        ),
        "brew-notes": (
            "Brew Notes mailing list",
            "The monthly newsletter in Chinese and English.",
            "email",
            "brew-notes@lists.demo-coffee.example",
        ),
    }
    communities = {}
    for key, (name, description, channel, external_id) in specs.items():
        community = Community(
            workspace_id=workspace_id,
            name=name,
            description=description,
            channel=channel,
            account_id=account_id(channel),
            external_id=external_id,
            created_at=now - timedelta(days=300),
        )
        communities[key] = community
        session.add(community)
    return communities


def _add_memberships(
    session: AsyncSession,
    workspace_id: int,
    people: list[_Person],
    communities: dict[str, Community],
    rng: random.Random,
    now: datetime,
) -> dict[str, list[_Person]]:
    """Put people in communities; returns the members of each community."""
    members: dict[str, list[_Person]] = defaultdict(list)
    by_spend = sorted(people, key=lambda p: p.spend, reverse=True)
    vips = {p.index for p in by_spend[:8]}
    for person in people:
        wanted = []
        if person.wechat_openid and (person.persona in ("fan", "influencer") or rng.random() < 0.4):
            wanted.append("coffee-group")
        if person.wechat_openid and person.index in vips:
            wanted.append("vip-group")
        if person.weibo_uid and rng.random() < 0.75:
            wanted.append("autumn-topic")
        if person.email and rng.random() < 0.7:
            wanted.append("brew-notes")
        for key in wanted:
            members[key].append(person)
    for key, people_in in members.items():
        community = communities[key]
        assert community.id is not None
        influencers = sorted(people_in, key=lambda p: p.followers, reverse=True)
        leaders = {p.index for p in influencers[:2]}
        admin = people_in[0].index  # the earliest member runs the group
        for person in people_in:
            role = "member"
            if person.index == admin:
                role = "admin"
            elif person.index in leaders:
                role = "opinion_leader"
                person.tags.add("意见领袖")
            assert person.customer is not None and person.customer.id is not None
            session.add(
                Membership(
                    workspace_id=workspace_id,
                    community_id=community.id,
                    customer_id=person.customer.id,
                    role=role,
                    joined_at=max(
                        person.customer.created_at, now - timedelta(days=rng.randint(30, 300))
                    ),
                )
            )
    for person in people:
        if person.index in vips:
            person.tags.add("VIP")
    return members


Edge = tuple[int, int, str]


def _interactions(
    workspace_id: int,
    people: list[_Person],
    accounts: dict[str, ChannelAccount],
    communities: dict[str, Community],
    members: dict[str, list[_Person]],
    rng: random.Random,
    now: datetime,
) -> tuple[list[Interaction], list[Interaction], dict[Edge, list[datetime]]]:
    """The inbound history, its complaints, and the customer-to-customer edges it reveals
    (with times)."""
    rows: list[Interaction] = []
    complaints: list[Interaction] = []
    edges: dict[Edge, list[datetime]] = defaultdict(list)
    counter = Counter[str]()
    start = now - timedelta(days=HISTORY_DAYS)
    membership = {key: {p.index for p in people_in} for key, people_in in members.items()}

    def when(person: _Person) -> datetime:
        assert person.customer is not None
        first = max(start, person.customer.created_at)
        last = now - timedelta(minutes=5)
        if person.persona in WINDOWS:
            since, until = WINDOWS[person.persona]
            first = max(now - timedelta(days=since), person.customer.created_at)
            last = now - timedelta(days=until)
        span = max((last - first).total_seconds(), 60.0)
        share = rng.random()
        if person.persona == "drifting":
            share **= 2  # most of it early, thinning out
        moment = first + timedelta(seconds=share * span)
        # Business hours in China (UTC+8): 08:00-22:00 local is 00:00-14:00 UTC.
        moment = moment.replace(hour=rng.randint(0, 13), minute=rng.randint(0, 59), second=0)
        if moment > last:
            moment -= timedelta(days=1)
        return max(moment, first)

    def add(
        person: _Person,
        channel: str,
        kind: str,
        content: str | None,
        occurred: datetime,
        *,
        community: str | None = None,
        content_type: str = "text",
        data: dict[str, Any] | None = None,
    ) -> Interaction:
        assert person.customer is not None and person.customer.id is not None
        account = accounts.get(channel)
        counter[channel] += 1
        community_row = communities[community] if community else None
        row = Interaction(
            workspace_id=workspace_id,
            channel=channel,
            account_id=account.id if account else None,
            kind=kind,
            direction="inbound",
            content_type=content_type,
            customer_id=person.customer.id,
            community_id=community_row.id if community_row else None,
            content=content,
            data=data or {},
            occurred_at=occurred,
            external_id=f"demo-{channel}-{counter[channel]:05d}",
            raw={"demo": True},
        )
        rows.append(row)
        person.times.append(occurred)
        return row

    # Newcomers arrive with a follow; some were brought by a friend's referral code.
    regulars = [p for p in people if p.persona in ("fan", "regular", "influencer")]
    for person in people:
        assert person.customer is not None
        if person.persona != "newbie":
            continue
        channel = person.channels[0]  # WeChat first, where most newcomers arrive
        referrer = rng.choice(regulars) if rng.random() < 0.6 else None
        data: dict[str, Any] = {}
        if referrer is not None and channel == "wechat":
            data["event_key"] = f"qrscene_ref-{referrer.index:03d}"
            edges[(person.index, referrer.index, "referral")].append(person.customer.created_at)
        add(
            person,
            channel,
            "join" if channel == "email" else "follow",
            None,
            person.customer.created_at,
            community="brew-notes" if person.index in membership.get("brew-notes", ()) else None,
            content_type={"wechat": "event:subscribe", "weibo": "follow"}.get(channel, "subscribe"),
            data=data,
        )

    for person in people:
        for _ in range(max(1, int(ACTIVITY[person.persona] * rng.uniform(0.6, 1.4)))):
            # WeChat is where customers talk most, email least.
            channel = rng.choices(person.channels, [CHANNEL_WEIGHT[c] for c in person.channels])[0]
            occurred = when(person)
            if channel == "wechat":
                in_group = "coffee-group" in membership and person.index in membership.get(
                    "coffee-group", set()
                )
                text = _message(person, rng)
                if rng.random() < 0.15:
                    add(
                        person,
                        "wechat",
                        "click",
                        "会员中心" if person.chinese else "Membership",
                        occurred,
                        content_type="event:CLICK",
                        data={"event_key": "MENU_MEMBER"},
                    )
                    continue
                add(
                    person,
                    "wechat",
                    "message",
                    text,
                    occurred,
                    community="coffee-group" if in_group and rng.random() < 0.35 else None,
                )
            elif channel == "weibo":
                roll = rng.random()
                others = [p for p in people if p.weibo_uid and p.index != person.index]
                if roll < 0.4:
                    text = rng.choice(COMMENTS_ZH if person.chinese else COMMENTS_EN)
                    in_topic = person.index in membership.get("autumn-topic", set())
                    add(
                        person,
                        "weibo",
                        "comment",
                        text,
                        occurred,
                        community="autumn-topic" if in_topic else None,
                    )
                elif roll < 0.7 and others:
                    other = rng.choice(others)
                    template = rng.choice(MENTIONS_ZH if person.chinese else MENTIONS_EN)
                    add(
                        person,
                        "weibo",
                        "mention",
                        template.format(other=other.weibo_handle),
                        occurred,
                        data={"mentions": [other.weibo_uid]},
                    )
                    edges[(person.index, other.index, "mention")].append(occurred)
                else:
                    # Reposts flow toward the people with an audience.
                    sources = [p for p in others if p.persona in ("influencer", "fan")] or others
                    if not sources:
                        continue
                    source = rng.choice(sources)
                    add(
                        person,
                        "weibo",
                        "repost",
                        f"//@{source.weibo_handle}: " + ("转发好物" if person.chinese else "RT"),
                        occurred,
                        data={"original_author": source.weibo_uid},
                    )
                    edges[(person.index, source.index, "repost")].append(occurred)
            else:
                add(
                    person,
                    "email",
                    "message",
                    _message(person, rng),
                    occurred,
                    content_type="email",
                    data={"subject": "Re: Brew Notes" if rng.random() < 0.5 else "Question"},
                )

    # Weibo follows between customers: fans follow the influencers.
    influencers = [p for p in people if p.persona == "influencer" and p.weibo_uid]
    for person in people:
        if not person.weibo_uid:
            continue
        for star in influencers:
            if star.index != person.index and rng.random() < 0.35:
                edges[(person.index, star.index, "follow")].append(when(person))

    # The complaints: public, negative, recent; each from a critic on that channel.
    critics = [p for p in people if p.persona == "critic"]
    for offset, (channel, kind, text) in enumerate(COMPLAINTS):
        able = [p for p in critics if channel in p.channels]
        critic = able[offset % len(able)] if able else None
        if critic is None:
            continue
        complaint = add(
            critic,
            channel,
            kind,
            text,
            now - timedelta(hours=3 + 20 * offset),
            content_type="email" if channel == "email" else "text",
        )
        complaints.append(complaint)
        critic.tags.add("投诉")

    # The lapsed customers who followed on WeChat have unfollowed since they went quiet.
    for person in people:
        if person.persona == "lapsed" and person.wechat_openid and person.times:
            add(
                person,
                "wechat",
                "unfollow",
                None,
                max(person.times) + timedelta(days=rng.randint(2, 10)),
                content_type="event:unsubscribe",
            )
    return rows, complaints, edges


def _message(person: _Person, rng: random.Random) -> str:
    """A message in the person's language; critics grumble half the time."""
    if person.persona == "critic" and rng.random() < 0.5:
        return rng.choice(GRUMBLES_ZH if person.chinese else GRUMBLES_EN)
    return rng.choice(MESSAGES_ZH if person.chinese else MESSAGES_EN)


def _purchases(
    workspace_id: int, people: list[_Person], rng: random.Random, now: datetime
) -> list[Interaction]:
    """Each person's orders over their time as a customer, as the shop system records them:
    lapsed customers stopped buying months ago, newcomers bought at most once."""
    rows = []
    for person in people:
        customer = person.customer
        assert customer is not None and customer.id is not None
        first = customer.created_at + timedelta(days=1)
        last = now - timedelta(days=WINDOWS[person.persona][1] if person.persona in WINDOWS else 1)
        if last <= first:
            continue
        span = (last - first).total_seconds()
        local = PURCHASE_CURRENCY.get(person.language, "CNY")
        for _ in range(person.orders):
            product, price = rng.choice(PRODUCTS)
            quantity = rng.choice((1, 1, 1, 2, 3))
            amount_cny = price * quantity
            currency = local if rng.random() < 0.5 else "CNY"
            amount = round(amount_cny / EXCHANGE_RATES.get(currency, 1.0), 2)
            person.spend += amount_cny
            rows.append(
                Interaction(
                    workspace_id=workspace_id,
                    channel="manual",
                    kind="purchase",
                    direction="inbound",
                    content_type="order",
                    customer_id=customer.id,
                    content=None,
                    data={
                        "amount": amount,
                        "currency": currency,
                        "items": [{"name": product, "quantity": quantity}],
                    },
                    occurred_at=first + timedelta(seconds=rng.uniform(0, span)),
                    raw={"demo": True},
                )
            )
    return rows


def _replies(
    workspace_id: int,
    inbound: list[Interaction],
    complaints: list[Interaction],
    people: list[_Person],
    accounts: dict[str, ChannelAccount],
    rng: random.Random,
    now: datetime,
) -> list[tuple[Interaction, Interaction | None]]:
    """The brand's answers to some messages (with the message each answers), plus the
    newsletters sent to the list."""
    by_customer = {p.customer.id: p for p in people if p.customer is not None}
    rows: list[tuple[Interaction, Interaction | None]] = []
    for number, interaction in enumerate(inbound):
        person = by_customer[interaction.customer_id]
        complaint = interaction in complaints
        if interaction.kind != "message" and not complaint:
            continue
        if not complaint and rng.random() > 0.45:
            continue
        if complaint:
            text = (
                "非常抱歉给您带来不好的体验，客服已私信您处理退款。"
                if person.chinese or interaction.channel != "email"
                else "We are very sorry. Our team has contacted you about a refund."
            )
        else:
            text = rng.choice(REPLIES_ZH if person.chinese else REPLIES_EN)
        occurred = min(now, interaction.occurred_at + timedelta(minutes=rng.randint(2, 40)))
        rows.append(
            (
                Interaction(
                    workspace_id=workspace_id,
                    channel=interaction.channel,
                    account_id=interaction.account_id,
                    kind="message",
                    direction="outbound",
                    content_type=interaction.content_type,
                    customer_id=interaction.customer_id,
                    community_id=interaction.community_id,
                    content=text,
                    occurred_at=occurred,
                    external_id=f"demo-{interaction.channel}-reply-{number:05d}",
                    delivery_status="delivered",
                    raw={"demo": True},
                ),
                interaction,
            )
        )
    email_account = accounts.get("email")
    for month, subject in enumerate(NEWSLETTER):
        sent = now - timedelta(days=5 + 20 * month, hours=2)
        for person in people:
            if not person.email or person.customer is None or person.customer.id is None:
                continue
            newsletter = Interaction(
                workspace_id=workspace_id,
                channel="email",
                account_id=email_account.id if email_account else None,
                kind="message",
                direction="outbound",
                content_type="email",
                customer_id=person.customer.id,
                content=subject,
                data={"subject": subject, "campaign": f"brew-notes-{month}"},
                occurred_at=sent,
                external_id=f"demo-email-newsletter-{month}-{person.index:03d}",
                delivery_status="delivered",
                raw={"demo": True},
            )
            rows.append((newsletter, None))
    return rows


async def _store_as_they_happened(
    session: AsyncSession,
    services: Services,
    rows: list[tuple[Interaction, Interaction | None]],
) -> None:
    """Store each interaction through the live path in the order it happened, so the text
    analysis, the scores, the stages and their history are what live ingestion makes of
    them. A reply is stored after the message it answers and points to it."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0].occurred_at, i))
    for index in order:
        row, answered = rows[index]
        if answered is not None:
            row.in_reply_to_id = answered.id
        session.add(row)
        await session.flush()
        await on_interaction_stored(session, services, row)


def _add_referral_codes(
    session: AsyncSession, workspace_id: int, people: list[_Person], edges: dict[Edge, Any]
) -> None:
    referrers = sorted({target for (_, target, kind) in edges if kind == "referral"})
    for index in referrers:
        customer = people[index].customer
        assert customer is not None and customer.id is not None
        session.add(
            ReferralCode(
                workspace_id=workspace_id,
                code=f"ref-{index:03d}",
                customer_id=customer.id,
                created_at=customer.created_at,
            )
        )


def _relationships(
    workspace_id: int, people: list[_Person], edges: dict[Edge, list[datetime]]
) -> list[Relationship]:
    ids = {p.index: p.customer.id for p in people if p.customer is not None}
    rows = []
    for (source, target, kind), times in sorted(edges.items()):
        source_id, target_id = ids[source], ids[target]
        assert source_id is not None and target_id is not None
        rows.append(
            Relationship(
                workspace_id=workspace_id,
                source_id=source_id,
                target_id=target_id,
                kind=kind,
                count=len(times),
                first_at=min(times),
                last_at=max(times),
            )
        )
    return rows


def _finish_customers(people: list[_Person], now: datetime) -> None:
    """Last seen and the rule-like tags, from the generated history."""
    for person in people:
        customer = person.customer
        assert customer is not None
        last = max(person.times) if person.times else None
        customer.last_seen_at = last
        customer.updated_at = last or customer.created_at
        if person.spend >= 2500:
            person.tags.add("高消费")
        if customer.created_at > now - timedelta(days=HISTORY_DAYS):
            person.tags.add("新客")
        if person.index % 3 != 2:
            person.tags.add("coffee-lover")
        if person.index % 7 == 3:
            person.tags.add("tea-lover")
        if person.index % 5 == 1:
            person.tags.add("手冲爱好者")
        if customer.created_at < now - timedelta(days=350):
            person.tags.add("early-adopter")


async def _add_tags(
    session: AsyncSession, workspace_id: int, people: list[_Person], now: datetime
) -> list[CustomerTag]:
    tags = {name: Tag(workspace_id=workspace_id, name=name, created_at=now) for name in TAG_NAMES}
    session.add_all(tags.values())
    await session.flush()
    rows = []
    for person in people:
        assert person.customer is not None and person.customer.id is not None
        for name in sorted(person.tags):
            tag_id = tags[name].id
            assert tag_id is not None
            rows.append(
                CustomerTag(
                    customer_id=person.customer.id,
                    tag_id=tag_id,
                    workspace_id=workspace_id,
                    created_at=now,
                )
            )
    return rows
