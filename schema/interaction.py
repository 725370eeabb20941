"""Interactions: what a customer and the brand did or said, on a channel or by hand."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from socialcrm.schema.customer import Customer, FloatRange
from socialcrm.schema.enums import Direction, InteractionKind, enum_of
from socialcrm.schema.node import Node, to_global_id
from socialcrm.schema.pagination import CountFn, PageInfo

if TYPE_CHECKING:
    from socialcrm.schema.community import Community

CommunityRef = Annotated["Community", strawberry.lazy("socialcrm.schema.community")]


@strawberry.type(description="Something a customer and the brand did or said.")
class Interaction(Node):
    """A message, comment, mention, follow, call … stored once per platform id."""

    channel: str = strawberry.field(
        description="The channel's name, or `manual` for interactions recorded by hand."
    )
    kind: InteractionKind = strawberry.field(description="What happened.")
    direction: Direction = strawberry.field(description="Who spoke: customer or brand.")
    content_type: str = strawberry.field(
        description="The platform's own type of the event: text, image, event:subscribe …"
    )
    content: str | None = strawberry.field(
        description="Human-readable text: the message, a voice recognition, a link title."
    )
    occurred_at: datetime = strawberry.field(description="When it happened.")
    sentiment: float | None = strawberry.field(
        description="Sentiment of the content, from -1 (negative) through 0 (neutral) to 1 "
        "(positive); null when not analysed (no text)."
    )
    language: str | None = strawberry.field(
        description="The content's language as a BCP 47 primary tag (`zh`, `en`, `ja` …; `und` "
        "when it cannot be told); null when not analysed."
    )
    is_complaint: bool | None = strawberry.field(
        description="Whether the customer complains here (about a product, a delivery, the "
        "service), which is more than being negative; null when not analysed."
    )
    keywords: list[str] = strawberry.field(
        description="The content's salient words, best first; empty when not analysed."
    )
    amount: float | None = strawberry.field(
        description="A purchase's amount, in `currency`; null for other kinds."
    )
    currency: str | None = strawberry.field(
        description="A purchase's currency (ISO 4217: `CNY`, `USD` …); null for other kinds."
    )
    external_id: str | None = strawberry.field(
        description="The platform's id of the event (unique per channel account)."
    )
    thread_id: str | None = strawberry.field(
        description="The platform's conversation or thread id, if any."
    )
    delivery_status: str | None = strawberry.field(
        description="For outbound messages: sent, delivered or failed."
    )
    data: JSON = strawberry.field(
        description="Structured facts of the event (coordinates, event key, attachments …)."
    )
    pk: strawberry.Private[int]
    customer_pk: strawberry.Private[int]
    community_pk: strawberry.Private[int | None]
    in_reply_to_pk: strawberry.Private[int | None]

    @classmethod
    def from_read_row(cls, row: Any) -> Interaction:
        """Build from a row of ``socialcrm.server.read.INTERACTION_COLUMNS`` (``data`` as JSON).

        A page of 50 customers holds 300 interactions of which a query usually selects a
        field or two: the global id, the enums and the decoded ``data`` are derived on first
        access (``__getattr__``), and stay plain attributes for the executor.
        """
        (pk, channel, kind, direction, content_type, content, occurred_at, sentiment,
         external_id, thread_id, delivery_status, data, customer_pk, community_pk,
         in_reply_to_pk, language, is_complaint, keywords, amount, currency) = row  # fmt: skip
        self = cls.__new__(cls)
        self.__dict__.update(
            pk=pk,
            channel=channel,
            content_type=content_type,
            content=content,
            occurred_at=occurred_at,
            sentiment=sentiment,
            external_id=external_id,
            thread_id=thread_id,
            delivery_status=delivery_status,
            customer_pk=customer_pk,
            community_pk=community_pk,
            in_reply_to_pk=in_reply_to_pk,
            language=language,
            is_complaint=is_complaint,
            amount=amount,
            currency=currency,
            _stored=(kind, direction, data, keywords),
        )
        return self

    if not TYPE_CHECKING:  # keeps mypy checking attribute names

        def __getattr__(self, name: str) -> Any:
            # Only called for attributes not set yet: the derived fields of from_read_row.
            derive = _DERIVED.get(name)
            if derive is None or "_stored" not in self.__dict__:
                raise AttributeError(name)
            value = self.__dict__[name] = derive(self)
            return value

    @classmethod
    def from_row(cls, row: Any) -> Interaction:
        """Build from anything with the interaction table's column names as attributes."""
        return cls(
            id=to_global_id("Interaction", row.id),
            pk=row.id,
            channel=row.channel,
            kind=enum_of(InteractionKind, row.kind, InteractionKind.OTHER),
            direction=enum_of(Direction, row.direction, Direction.INBOUND),
            content_type=row.content_type,
            content=row.content,
            occurred_at=row.occurred_at,
            sentiment=row.sentiment,
            language=row.language,
            is_complaint=row.is_complaint,
            keywords=list(row.keywords or ()),
            amount=row.amount,
            currency=row.currency,
            external_id=row.external_id,
            thread_id=row.thread_id,
            delivery_status=row.delivery_status,
            data=row.data,
            customer_pk=row.customer_id,
            community_pk=row.community_id,
            in_reply_to_pk=row.in_reply_to_id,
        )

    @strawberry.field(description="The customer who interacted (or was contacted).")
    async def customer(self, info: strawberry.Info) -> Customer | None:
        return await info.context.loaders.customers.load(self.customer_pk)  # type: ignore[no-any-return]

    @strawberry.field(description="The community it happened in, if any.")
    async def community(self, info: strawberry.Info) -> CommunityRef | None:
        if self.community_pk is None:
            return None
        return await info.context.loaders.communities.load(self.community_pk)  # type: ignore[no-any-return]

    @strawberry.field(description="The interaction this one answers, if any.")
    async def in_reply_to(self, info: strawberry.Info) -> Interaction | None:
        if self.in_reply_to_pk is None:
            return None
        return await info.context.loaders.interactions.load(self.in_reply_to_pk)  # type: ignore[no-any-return]


def _stored(item: Any) -> tuple[str | None, str | None, str | None, str | None]:
    return item.__dict__["_stored"]  # type: ignore[no-any-return]


def _decoded(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


_DERIVED: dict[str, Callable[[Any], Any]] = {
    "id": lambda item: to_global_id("Interaction", item.pk),
    "kind": lambda item: enum_of(InteractionKind, _stored(item)[0], InteractionKind.OTHER),
    "direction": lambda item: enum_of(Direction, _stored(item)[1], Direction.INBOUND),
    "data": lambda item: _decoded(_stored(item)[2]),
    "keywords": lambda item: _decoded(_stored(item)[3]) or [],
}
"""The fields ``Interaction.from_read_row`` leaves to first access, and how to derive them."""


@strawberry.type(description="An interaction in a list, with its cursor.")
class InteractionEdge:
    """An edge of `InteractionConnection`."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: Interaction = strawberry.field(description="The interaction.")

    @classmethod
    def of(cls, node: Interaction, cursor_of: Callable[[Interaction], str]) -> InteractionEdge:
        """An edge whose cursor is ``cursor_of(node)``, computed when first read: most
        queries ask for the nodes only."""
        self = cls.__new__(cls)
        self.__dict__.update(node=node, _cursor_of=cursor_of)
        return self

    if not TYPE_CHECKING:  # keeps mypy checking attribute names

        def __getattr__(self, name: str) -> Any:
            cursor_of = self.__dict__.get("_cursor_of")
            if name != "cursor" or cursor_of is None:
                raise AttributeError(name)
            value = self.__dict__["cursor"] = cursor_of(self.node)
            return value


@strawberry.type(description="A page of interactions, newest first.")
class InteractionConnection:
    """Interactions, a page at a time."""

    edges: list[InteractionEdge] = strawberry.field(description="The interactions of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count: strawberry.Private[CountFn]

    @strawberry.field(description="How many interactions match the filter, in all pages.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.input(description="Which interactions to list; every given condition must hold.")
class InteractionFilter:
    """Filters of `interactions`."""

    channel: list[str] | None = strawberry.field(
        default=None, description="On any of these channels (`manual` for recorded by hand)."
    )
    kind: list[InteractionKind] | None = strawberry.field(
        default=None, description="Of any of these kinds."
    )
    direction: Direction | None = strawberry.field(
        default=None, description="Only inbound or only outbound."
    )
    customer: strawberry.ID | None = strawberry.field(
        default=None,
        description="Of this customer (a global id; a merged customer's id means the customer "
        "it was merged into).",
    )
    community: strawberry.ID | None = strawberry.field(
        default=None, description="In this community (a global id)."
    )
    occurred_after: datetime | None = strawberry.field(
        default=None, description="Occurred at or after this time."
    )
    occurred_before: datetime | None = strawberry.field(
        default=None, description="Occurred before this time."
    )
    language: list[str] | None = strawberry.field(
        default=None,
        description="The content's language is any of these BCP 47 tags (case-insensitive; "
        "`zh` also matches `zh-CN`).",
    )
    is_complaint: bool | None = strawberry.field(
        default=None,
        description="true: flagged as a complaint; false: analysed and not flagged (content "
        "not analysed matches neither).",
    )
    sentiment: FloatRange | None = strawberry.field(
        default=None,
        description="The content's sentiment lies in this range (-1 to 1); content not "
        "analysed never matches.",
    )
