"""Customers: one person joined from all their identities, with scores and tags."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from socialcrm.schema.enums import (
    CustomerOrderField,
    LifecycleStage,
    OrderDirection,
    StageChangeSource,
    enum_of,
)
from socialcrm.schema.node import Node, to_global_id
from socialcrm.schema.pagination import CountFn, PageInfo

if TYPE_CHECKING:
    from socialcrm.schema.community import MembershipConnection
    from socialcrm.schema.interaction import InteractionConnection, InteractionFilter

Interactions = Annotated["InteractionConnection", strawberry.lazy("socialcrm.schema.interaction")]
InteractionsFilter = Annotated["InteractionFilter", strawberry.lazy("socialcrm.schema.interaction")]
Memberships = Annotated["MembershipConnection", strawberry.lazy("socialcrm.schema.community")]


@strawberry.type(description="A customer's identity on one channel.")
class Identity:
    """Who the customer is on a network: a WeChat openid, a Weibo uid, an email address."""

    channel: str = strawberry.field(
        description="The identity's namespace: a channel name (`wechat`) or a finer one "
        "(`wechat.unionid`)."
    )
    external_id: str = strawberry.field(
        description="The platform's stable id of the person in that namespace."
    )
    handle: str | None = strawberry.field(
        description="A human-readable name on the platform: screen name, nickname, address."
    )
    following: bool | None = strawberry.field(
        description="Whether the person follows the brand's account there; null when unknown."
    )


ENGAGEMENT = "How much and how recently the customer interacts (0-100)."
INFLUENCE = "Followers, reach and referrals: how far what they say spreads (0-100)."
SENTIMENT = "Attitude toward the brand, from -1 (negative) to 1 (positive)."
VALUE = "Wallet value: purchases (0-100)."
SOCIAL_VALUE = "The combined social value that ranks customers (0-100)."
CHURN_RISK = "The risk of losing the customer (0-1)."

MAX_SCORE_HISTORY_POINTS = 366
"""The most points `Customer.scoreHistory` returns: a year of days."""
MAX_STAGE_CHANGES = 100
"""The most changes `Customer.stageHistory` returns."""


@strawberry.type(description="A customer's current scores.")
class Scores:
    """Social value beside wallet value: each score 0-100 unless noted."""

    engagement: float = strawberry.field(description=ENGAGEMENT)
    influence: float = strawberry.field(description=INFLUENCE)
    sentiment: float = strawberry.field(description=SENTIMENT)
    value: float = strawberry.field(description=VALUE)
    social_value: float = strawberry.field(description=SOCIAL_VALUE)
    churn_risk: float = strawberry.field(description=CHURN_RISK)
    updated_at: datetime | None = strawberry.field(
        description="When the scores were last computed; null when never."
    )


NO_SCORES = Scores(
    engagement=0.0,
    influence=0.0,
    sentiment=0.0,
    value=0.0,
    social_value=0.0,
    churn_risk=0.0,
    updated_at=None,
)
"""The scores of a customer who has no score row yet."""


@strawberry.type(
    description="A customer's scores at the end of a day (UTC) on which they changed: one "
    "point of a chart."
)
class ScorePoint:
    """A row of the score history; days without a change have no point."""

    day: date = strawberry.field(description="The day (UTC) the scores are the last values of.")
    engagement: float = strawberry.field(description=ENGAGEMENT)
    influence: float = strawberry.field(description=INFLUENCE)
    sentiment: float = strawberry.field(description=SENTIMENT)
    value: float = strawberry.field(description=VALUE)
    social_value: float = strawberry.field(description=SOCIAL_VALUE)
    churn_risk: float = strawberry.field(description=CHURN_RISK)


@strawberry.type(description="A change of a customer's lifecycle stage, by the rules or by hand.")
class StageChange:
    """One row of the stage history."""

    from_stage: LifecycleStage | None = strawberry.field(
        name="from", description="The stage before; null for the customer's first stage."
    )
    to_stage: LifecycleStage = strawberry.field(name="to", description="The stage after.")
    source: StageChangeSource = strawberry.field(
        description="Who or what made the change: the rules, a person, or a person clearing "
        "their stage."
    )
    set_by: str | None = strawberry.field(
        description="Who made a MANUAL or CLEARED change (the API token's name and id); null "
        "for the rules."
    )
    changed_at: datetime = strawberry.field(description="When the stage changed.")


@strawberry.type(
    description="Old brings new: the customers this one brought to the brand through "
    "referrals (a referral QR code, an invite code)."
)
class Referrals:
    """Counts over the customer's referral edges."""

    brought: int = strawberry.field(description="How many customers this one referred.")
    purchased: int = strawberry.field(
        description="How many of those have made at least one purchase."
    )


NO_REFERRALS = Referrals(brought=0, purchased=0)
"""The referrals of a customer who brought nobody."""


@strawberry.type(description="One person, joined from all their identities on every channel.")
class Customer(Node):
    """A customer profile. Merged customers disappear; their history moves to the survivor."""

    display_name: str = strawberry.field(description="The name shown to operators.")
    handle: str | None = strawberry.field(description="The customer's main handle, if any.")
    email: str | None = strawberry.field(description="Email address, if known.")
    phone: str | None = strawberry.field(description="Phone number, if known.")
    avatar_url: str | None = strawberry.field(description="Picture URL, if known.")
    language: str | None = strawberry.field(description="Preferred language, if known.")
    location: str | None = strawberry.field(description="Where the customer is, if known.")
    lifecycle_stage: LifecycleStage = strawberry.field(
        description="Where the customer stands in the lifecycle: inferred by the stage rules, "
        "unless a person set it by hand (then `lifecycleStageSetBy` says who)."
    )
    stage_set_by: str | None = strawberry.field(
        name="lifecycleStageSetBy",
        description="Who set `lifecycleStage` by hand (the API token's name and id); null "
        "while the rules decide it.",
    )
    attributes: JSON = strawberry.field(
        description="Free-form attributes (imported CRM fields and the like)."
    )
    created_at: datetime = strawberry.field(description="When the customer was created.")
    updated_at: datetime = strawberry.field(description="When the profile last changed.")
    last_seen_at: datetime | None = strawberry.field(
        description="When the customer last interacted; null when never."
    )
    pk: strawberry.Private[int]
    prefetched: strawberry.Private[dict[str, Any] | None] = None
    """Values of resolver fields loaded with the page, by response key (see
    ``socialcrm.resolvers.prefetch``)."""

    @classmethod
    def from_row(cls, row: Any) -> Customer:
        """Build from anything with the customer table's column names as attributes."""
        return cls(
            id=to_global_id("Customer", row.id),
            pk=row.id,
            display_name=row.display_name,
            handle=row.handle,
            email=row.email,
            phone=row.phone,
            avatar_url=row.avatar_url,
            language=row.language,
            location=row.location,
            lifecycle_stage=enum_of(
                LifecycleStage, row.lifecycle_stage, LifecycleStage.EXPLORATION
            ),
            stage_set_by=row.stage_set_by,
            attributes=row.attributes,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_seen_at=row.last_seen_at,
        )

    @strawberry.field(description="The customer's identities on every channel.")
    async def identities(self, info: strawberry.Info) -> list[Identity]:
        return await info.context.loaders.identities.load(self.pk)  # type: ignore[no-any-return]

    @strawberry.field(description="The names of the customer's tags, sorted.")
    async def tags(self, info: strawberry.Info) -> list[str]:
        return await info.context.loaders.tags.load(self.pk)  # type: ignore[no-any-return]

    @strawberry.field(description="The customer's current scores (zeros before the first run).")
    async def scores(self, info: strawberry.Info) -> Scores:
        return await info.context.loaders.scores.load(self.pk)  # type: ignore[no-any-return]

    @strawberry.field(
        description="The customer's daily scores, oldest first: one point for each day "
        f"(UTC) on which they changed. At most {MAX_SCORE_HISTORY_POINTS} points: when more "
        "days match, the newest ones."
    )
    async def score_history(
        self,
        info: strawberry.Info,
        since: Annotated[
            datetime | None,
            strawberry.argument(description="From the day (UTC) of this time on (inclusive)."),
        ] = None,
        until: Annotated[
            datetime | None,
            strawberry.argument(description="Up to the day (UTC) of this time (inclusive)."),
        ] = None,
    ) -> list[ScorePoint]:
        from socialcrm.resolvers.history import score_history

        return await score_history(info, self.pk, since, until)

    @strawberry.field(
        description="The customer's lifecycle stage changes, newest first (at most "
        f"{MAX_STAGE_CHANGES})."
    )
    async def stage_history(self, info: strawberry.Info) -> list[StageChange]:
        return await info.context.loaders.stage_history.load(self.pk)  # type: ignore[no-any-return]

    @strawberry.field(
        description="Old brings new: whom the customer brought through referrals, and how "
        "many of them went on to purchase."
    )
    async def referrals(self, info: strawberry.Info) -> Referrals:
        return await info.context.loaders.referrals.load(self.pk)  # type: ignore[no-any-return]

    @strawberry.field(description="The customer's interactions, newest first.")
    async def interactions(
        self,
        info: strawberry.Info,
        first: Annotated[
            int | None, strawberry.argument(description="How many to return (capped).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The `endCursor` of the previous page.")
        ] = None,
        filter: Annotated[
            InteractionsFilter | None,
            strawberry.argument(description="Which interactions; `customer` is this one."),
        ] = None,
    ) -> Interactions:
        from socialcrm.resolvers.interactions import customer_interactions

        return await customer_interactions(info, self.pk, first, after, filter)

    @strawberry.field(description="The communities the customer belongs to, with their role.")
    async def communities(
        self,
        info: strawberry.Info,
        first: Annotated[
            int | None, strawberry.argument(description="How many to return (capped).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The `endCursor` of the previous page.")
        ] = None,
    ) -> Memberships:
        from socialcrm.resolvers.communities import customer_communities

        return await customer_communities(info, self.pk, first, after)


@strawberry.type(description="A customer in a list, with its cursor.")
class CustomerEdge:
    """An edge of `CustomerConnection`."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: Customer = strawberry.field(description="The customer.")


@strawberry.type(description="A page of customers.")
class CustomerConnection:
    """Customers, a page at a time."""

    edges: list[CustomerEdge] = strawberry.field(description="The customers of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count: strawberry.Private[CountFn]

    @strawberry.field(description="How many customers match the filter, in all pages.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.input(description="A closed range of numbers; either end may be left open.")
class FloatRange:
    """Bounds for a score filter."""

    min: float | None = strawberry.field(default=None, description="At least this (inclusive).")
    max: float | None = strawberry.field(default=None, description="At most this (inclusive).")


@strawberry.input(description="Which customers to list; every given condition must hold.")
class CustomerFilter:
    """Filters of `customers`. Customers without scores count as scoring 0."""

    search: str | None = strawberry.field(
        default=None,
        description="Text the display name, handle or an identity's handle contains "
        "(case-insensitive).",
    )
    channel: list[str] | None = strawberry.field(
        default=None,
        description="Has an identity on any of these channels (`wechat` includes "
        "`wechat.unionid`).",
    )
    tag: list[str] | None = strawberry.field(
        default=None, description="Has every one of these tags (by name)."
    )
    lifecycle_stage: list[LifecycleStage] | None = strawberry.field(
        default=None, description="Is in any of these lifecycle stages."
    )
    engagement: FloatRange | None = strawberry.field(
        default=None, description="Engagement score range."
    )
    influence: FloatRange | None = strawberry.field(
        default=None, description="Influence score range."
    )
    sentiment: FloatRange | None = strawberry.field(
        default=None, description="Sentiment score range."
    )
    value: FloatRange | None = strawberry.field(default=None, description="Value score range.")
    social_value: FloatRange | None = strawberry.field(
        default=None, description="Social value score range."
    )
    churn_risk: FloatRange | None = strawberry.field(default=None, description="Churn risk range.")
    active_since: datetime | None = strawberry.field(
        default=None, description="Last seen at or after this time."
    )
    language: list[str] | None = strawberry.field(
        default=None,
        description="The customer's language is any of these BCP 47 tags (case-insensitive; "
        "`zh` also matches `zh-CN`).",
    )
    complained: bool | None = strawberry.field(
        default=None,
        description="true: has at least one complaint interaction; false: has none.",
    )
    complained_since: datetime | None = strawberry.field(
        default=None, description="Complained at or after this time (the latest complaint)."
    )


@strawberry.input(description="How to sort customers.")
class CustomerOrder:
    """A sort key and direction; ties are broken by id in the same direction."""

    field: CustomerOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="Ascending or descending."
    )
