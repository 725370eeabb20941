"""Interaction mutations: record a call, a visit or a note by hand."""

from __future__ import annotations

from datetime import UTC, timedelta

import strawberry

from socialcrm.resolvers.mutations.base import (
    check_json_object,
    decode_id,
    require_scope,
    services_of,
    transaction,
    user_error,
)
from socialcrm.schema.interaction import Interaction
from socialcrm.schema.mutation_types import RecordInteractionInput, RecordInteractionPayload
from socialcrm.server import communities, customers
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.interactions import record_manual_interaction
from socialcrm.server.sqltypes import utcnow

MAX_CONTENT_LENGTH = 20_000
"""The longest text an operator may record."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future ``occurredAt`` may lie (clients' clocks drift)."""


async def record_interaction(
    info: strawberry.Info, data: RecordInteractionInput
) -> RecordInteractionPayload:
    """Check the input, then store it through the interaction path (observers, bus)."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    try:
        customer_id = decode_id(data.customer_id, "Customer", "customerId")
        community_id = (
            decode_id(data.community_id, "Community", "communityId")
            if data.community_id is not None
            else None
        )
        content = data.content.strip() if data.content else None
        if content is not None and len(content) > MAX_CONTENT_LENGTH:
            raise ChangeRejected(
                f"content is longer than {MAX_CONTENT_LENGTH} characters",
                code="INVALID",
                field="content",
            )
        occurred_at = data.occurred_at
        if occurred_at is not None:
            if occurred_at.tzinfo is None:
                occurred_at = occurred_at.replace(tzinfo=UTC)  # ISO times without zone: UTC
            if occurred_at > utcnow() + CLOCK_SKEW:
                raise ChangeRejected(
                    "occurredAt lies in the future", code="INVALID", field="occurredAt"
                )
        payload = check_json_object(data.data, "data")
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
            kind=str(data.kind.value),
            content=content,
            occurred_at=occurred_at,
            direction=str(data.direction.value),
            community_id=community_id,
            data=payload,
        )
        if row is None:
            raise ChangeRejected(f"no customer {customer_id}", code="NOT_FOUND", field="customerId")
    except ChangeRejected as exc:
        return RecordInteractionPayload(user_errors=[user_error(exc)])
    return RecordInteractionPayload(interaction=Interaction.from_row(row))
