"""Enums shared by several types. Python values are the strings stored in the database."""

from __future__ import annotations

import enum
from typing import Any, TypeVar

import strawberry

E = TypeVar("E", bound=enum.Enum)


@strawberry.enum(description="Where a customer stands in their relationship with the brand.")
class LifecycleStage(enum.Enum):
    """The lifecycle stages, inferred from behaviour."""

    EXPLORATION = strawberry.enum_value(
        "exploration", description="New: the relationship is uncertain."
    )
    FORMATION = strawberry.enum_value(
        "formation", description="Repeat contact: trust is being built."
    )
    STABILITY = strawberry.enum_value("stability", description="Loyal.")
    DECLINE = strawberry.enum_value(
        "decline", description="Drifting away: engagement falls against their own past."
    )
    LOST = strawberry.enum_value(
        "lost", description="Unfollowed everywhere, or silent past the workspace's horizon."
    )


@strawberry.enum(description="Who or what changed a customer's lifecycle stage.")
class StageChangeSource(enum.Enum):
    """The sources of ``socialcrm.server.tables.StageChange``."""

    RULE = strawberry.enum_value(
        "rule", description="The stage rules inferred it from the customer's behaviour."
    )
    MANUAL = strawberry.enum_value(
        "manual",
        description="A person set it by hand (`setLifecycleStage`); the rules leave it alone "
        "until it is cleared.",
    )
    CLEARED = strawberry.enum_value(
        "cleared",
        description="A person gave the stage back to the rules (`clearLifecycleStage`).",
    )


@strawberry.enum(description="What happened: a message, a comment, a follow, a call …")
class InteractionKind(enum.Enum):
    """The kinds of ``socialcrm.plugins.models.InteractionKind``, described for the schema."""

    MESSAGE = strawberry.enum_value(
        "message", description="A direct message to or from the brand (text, image, voice …)."
    )
    COMMENT = strawberry.enum_value("comment", description="A public comment on a post.")
    MENTION = strawberry.enum_value("mention", description="A public post that mentions the brand.")
    REPOST = strawberry.enum_value("repost", description="A public repost of a post.")
    FOLLOW = strawberry.enum_value(
        "follow", description="The customer followed the brand's account."
    )
    UNFOLLOW = strawberry.enum_value(
        "unfollow", description="The customer stopped following the brand's account."
    )
    SCAN = strawberry.enum_value(
        "scan", description="The customer scanned a parametric (channel or referral) QR code."
    )
    CLICK = strawberry.enum_value("click", description="The customer clicked a menu item.")
    VIEW = strawberry.enum_value(
        "view", description="The customer opened a link from the account's menu."
    )
    LOCATION = strawberry.enum_value(
        "location", description="The customer's client reported a location."
    )
    JOIN = strawberry.enum_value("join", description="The customer joined a community.")
    LEAVE = strawberry.enum_value("leave", description="The customer left a community.")
    DELIVERY = strawberry.enum_value(
        "delivery", description="A delivery report for a message the brand sent."
    )
    CALL = strawberry.enum_value("call", description="A phone call, recorded by hand.")
    VISIT = strawberry.enum_value(
        "visit", description="A store visit or meeting, recorded by hand."
    )
    NOTE = strawberry.enum_value("note", description="A note an operator wrote.")
    PURCHASE = strawberry.enum_value(
        "purchase",
        description="A purchase; its data carries `amount` (> 0) and `currency` (ISO 4217).",
    )
    OTHER = strawberry.enum_value("other", description="Anything else.")


@strawberry.enum(description="Who spoke: the customer or the brand.")
class Direction(enum.Enum):
    """The directions of ``socialcrm.plugins.models.Direction``."""

    INBOUND = strawberry.enum_value("inbound", description="From the customer to the brand.")
    OUTBOUND = strawberry.enum_value("outbound", description="From the brand to the customer.")


@strawberry.enum(description="A customer's role in a community.")
class MemberRole(enum.Enum):
    """The roles of ``socialcrm.plugins.models.MemberRole``."""

    MEMBER = strawberry.enum_value("member", description="An ordinary member.")
    ADMIN = strawberry.enum_value("admin", description="An administrator of the community.")
    OPINION_LEADER = strawberry.enum_value(
        "opinion_leader", description="A member whose word carries: a key opinion leader."
    )


def enum_of(enum_type: type[E], value: str | None, default: E) -> E:
    """The member of ``enum_type`` whose value is ``value``, or ``default`` for unknown ones."""
    # A dict lookup: ``enum_type(value)`` costs a microsecond per row.
    members = _BY_VALUE.get(enum_type)
    if members is None:
        members = _BY_VALUE[enum_type] = {member.value: member for member in enum_type}
    return members.get(value, default)  # type: ignore[return-value]


_BY_VALUE: dict[type[enum.Enum], dict[Any, enum.Enum]] = {}


@strawberry.enum(description="What an API token may do; each scope includes the ones before.")
class Scope(enum.Enum):
    """Token scopes."""

    READ = strawberry.enum_value("read", description="Run queries and subscriptions.")
    WRITE = strawberry.enum_value("write", description="Also run mutations that change data.")
    ADMIN = strawberry.enum_value(
        "admin", description="Also connect channel accounts and manage the workspace."
    )


@strawberry.enum(description="Sort direction.")
class OrderDirection(enum.Enum):
    """Ascending or descending."""

    ASC = strawberry.enum_value("asc", description="Smallest first.")
    DESC = strawberry.enum_value("desc", description="Largest first.")


@strawberry.enum(description="What customers can be sorted by; ties are broken by id.")
class CustomerOrderField(enum.Enum):
    """Sort keys of `customers`."""

    ID = strawberry.enum_value("id", description="The order customers were stored in.")
    CREATED_AT = strawberry.enum_value("created_at", description="When the customer was created.")
    LAST_SEEN_AT = strawberry.enum_value(
        "last_seen_at",
        description="When the customer last interacted; never-seen customers count as oldest.",
    )
    ENGAGEMENT = strawberry.enum_value("engagement", description="The engagement score.")
    INFLUENCE = strawberry.enum_value("influence", description="The influence score.")
    SENTIMENT = strawberry.enum_value("sentiment", description="The sentiment score.")
    VALUE = strawberry.enum_value("value", description="The (wallet) value score.")
    SOCIAL_VALUE = strawberry.enum_value(
        "social_value", description="The combined social value score."
    )
    CHURN_RISK = strawberry.enum_value("churn_risk", description="The churn risk.")
