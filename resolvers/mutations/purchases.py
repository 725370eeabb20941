"""`recordPurchase`: a purchase recorded by hand, stored the way every interaction is."""

from __future__ import annotations

import math

import pycountry
import strawberry

from socialcrm.resolvers.mutations.base import (
    check_json_object,
    require_scope,
    services_of,
    user_error,
)
from socialcrm.resolvers.mutations.interactions import (
    check_content,
    check_occurred_at,
    record_manual,
)
from socialcrm.schema.interaction import Interaction
from socialcrm.schema.mutation_types import RecordPurchaseInput, RecordPurchasePayload
from socialcrm.server.errors import ChangeRejected

MAX_AMOUNT = 1e12
"""The largest amount a purchase may have: beyond it, a typing slip rather than a sale."""


def check_amount(amount: float) -> float:
    """A finite amount above zero (and below ``MAX_AMOUNT``)."""
    if not math.isfinite(amount) or amount <= 0:
        raise ChangeRejected("amount must be a number above zero", code="INVALID", field="amount")
    if amount > MAX_AMOUNT:
        raise ChangeRejected(
            f"amount must be at most {MAX_AMOUNT:.0f}", code="INVALID", field="amount"
        )
    return float(amount)


def check_currency(code: str) -> str:
    """An ISO 4217 currency code, upper-cased (``cny`` is ``CNY``)."""
    normalized = code.strip().upper()
    if len(normalized) != 3 or pycountry.currencies.get(alpha_3=normalized) is None:
        raise ChangeRejected(
            f"{code!r} is not an ISO 4217 currency code (CNY, USD, EUR …)",
            code="INVALID",
            field="currency",
        )
    return normalized


async def record_purchase(
    info: strawberry.Info, data: RecordPurchaseInput
) -> RecordPurchasePayload:
    """Check the purchase, then store it as an inbound PURCHASE interaction on the manual
    channel: observers, live scoring and subscribers see it like any other."""
    viewer = require_scope(info, "write")
    try:
        amount = check_amount(data.amount)
        currency = check_currency(data.currency)
        facts = check_json_object(data.data, "data")
        row = await record_manual(
            services_of(info),
            viewer,
            data.customer_id,
            kind="purchase",
            content=check_content(data.note, "note"),
            occurred_at=check_occurred_at(data.occurred_at),
            direction="inbound",
            community_global_id=None,
            # The input's amount and currency are the purchase's, whatever `data` says.
            data={**facts, "amount": amount, "currency": currency},
        )
    except ChangeRejected as exc:
        return RecordPurchasePayload(
            user_errors=[user_error(exc, {"customerId": data.customer_id})]
        )
    return RecordPurchasePayload(interaction=Interaction.from_row(row))
