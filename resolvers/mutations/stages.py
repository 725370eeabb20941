"""`setLifecycleStage` and `clearLifecycleStage`: a person pins a customer's stage, or gives
it back to the rules. The scoring engine records the change and announces it."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from socialcrm.resolvers.mutations.base import (
    decode_id,
    require_scope,
    services_of,
    transaction,
    user_error,
)
from socialcrm.schema.customer import Customer
from socialcrm.schema.enums import LifecycleStage
from socialcrm.schema.mutation_types import LifecycleStagePayload
from socialcrm.server import customers
from socialcrm.server.auth import Viewer
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.scoring.manual import set_manual_stage
from socialcrm.server.tables import ApiToken

MAX_SET_BY_LENGTH = 200
"""``customer.stage_set_by`` holds at most this many characters."""


async def token_label(session: AsyncSession, viewer: Viewer) -> str:
    """Who is acting, as the stage history records it: the token's name and id."""
    name = await session.scalar(
        select(col(ApiToken.name)).where(col(ApiToken.id) == viewer.token_id)
    )
    suffix = f"token {viewer.token_id}"
    if not name:
        return suffix
    return f"{name[: MAX_SET_BY_LENGTH - len(suffix) - 3]} ({suffix})"


async def change_stage(
    info: strawberry.Info, customer_global_id: str, stage: LifecycleStage | None
) -> LifecycleStagePayload:
    """Pin ``stage`` on the customer (None: give the stage back to the rules)."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    try:
        customer_id = decode_id(customer_global_id, "Customer", "customerId")
        async with transaction(services) as session:
            row = await customers.get_customer(
                session, viewer.workspace_id, customer_id, lock=True, field_name="customerId"
            )
            set_by = await token_label(session, viewer)
            value = str(stage.value) if stage is not None else None
            await set_manual_stage(session, services, row, value, set_by)
            await session.refresh(row)
    except ChangeRejected as exc:
        return LifecycleStagePayload(
            user_errors=[user_error(exc, {"customerId": customer_global_id})]
        )
    return LifecycleStagePayload(customer=Customer.from_row(row))
