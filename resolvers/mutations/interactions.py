"""Interaction mutations: record a call, a visit or a note by hand.

``record_manual`` is the one way a mutation stores an interaction (purchases included):
the interaction path of ``socialcrm.server.interactions``, so observers, live scoring and
subscribers see it like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry

from socialcrm.resolvers.mutations.base import (
    check_json_object,
    decode_id,
    require_scope,
    services_of,
    transaction,
    user_error,
)
from socialcrm.schema.enums import InteractionKind
from socialcrm.schema.interaction import Interaction
from socialcrm.schema.mutation_types import RecordInteractionInput, RecordInteractionPayload
from socialcrm.server import communities, customers
from socialcrm.server.auth import Viewer
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.interactions import record_manual_interaction
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import Interaction as InteractionRow

MAX_CONTENT_LENGTH = 20_000
"""The longest text an operator may record."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future ``occurredAt`` may lie (clients' clocks drift)."""


def check_content(text: str | None, field: str) -> str | None:
    """Trimmed text of bounded length; None for nothing but blanks."""
    content = text.strip() if text else None
    if content is not None and len(content) > MAX_CONTENT_LENGTH:
        raise ChangeRejected(
            f"{field} is longer than {MAX_CONTENT_LENGTH} characters", code="INVALID", field=field
        )
    return content or None


def check_occurred_at(occurred_at: datetime | None) -> datetime | None:
    """A time that is not in the future (a time without a zone is UTC)."""
    if occurred_at is None:
        return None
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    if occurred_at > utcnow() + CLOCK_SKEW:
        raise ChangeRejected("occurredAt lies in the future", code="INVALID", field="occurredAt")
    return occurred_at


async def record_manual(
    services: Services,
    viewer: Viewer,
    customer_global_id: str,
    *,
    kind: str,
    content: str | None,
    occurred_at: datetime | None,
    direction: str,
    community_global_id: str | None,
    data: dict[str, Any],
) -> InteractionRow:
    """Store an interaction recorded by hand, once every value has been checked."""
    customer_id = decode_id(customer_global_id, "Customer", "customerId")
    community_id = (
        decode_id(community_global_id, "Community", "communityId")
        if community_global_id is not None
        else None
    )
    # Read-only checks; the store below runs in its own transaction.
    async with transaction(services) as session:
        customer = await customers.get_customer(
            session, viewer.workspace_id, customer_id, field_name="customerId"
        )
        if community_id is not None:
            await communities.get_community(session, viewer.workspace_id, community_id)
    assert customer.id is not None
    row = await record_manual_interaction(
        services,
        viewer.workspace_id,
        customer.id,
        kind=kind,
        content=content,
        occurred_at=occurred_at,
        direction=direction,
        community_id=community_id,
        data=data,
    )
    if row is None:
        raise ChangeRejected("no such customer", code="NOT_FOUND", field="customerId")
    return row


async def record_interaction(
    info: strawberry.Info, data: RecordInteractionInput
) -> RecordInteractionPayload:
    """Check the input, then store it through the interaction path (observers, bus)."""
    viewer = require_scope(info, "write")
    try:
        if data.kind is InteractionKind.PURCHASE:
            raise ChangeRejected(
                "record purchases with recordPurchase, which takes their amount and currency",
                code="INVALID",
                field="kind",
            )
        row = await record_manual(
            services_of(info),
            viewer,
            data.customer_id,
            kind=str(data.kind.value),
            content=check_content(data.content, "content"),
            occurred_at=check_occurred_at(data.occurred_at),
            direction=str(data.direction.value),
            community_global_id=data.community_id,
            data=check_json_object(data.data, "data"),
        )
    except ChangeRejected as exc:
        sent = {"customerId": data.customer_id, "communityId": data.community_id}
        return RecordInteractionPayload(user_errors=[user_error(exc, sent)])
    return RecordInteractionPayload(interaction=Interaction.from_row(row))
