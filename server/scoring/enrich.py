"""Facts the server adds to a stored interaction: the text analysis and a purchase's money."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from socialcrm.plugins.models import InteractionKind
from socialcrm.server.analysis import analyze_text
from socialcrm.server.scoring.settings import CURRENCY_CODE, ScoringParameters
from socialcrm.server.services import Services
from socialcrm.server.tables import Customer, Interaction

log = logging.getLogger(__name__)

UNDETERMINED = "und"


@dataclass(frozen=True, slots=True)
class Money:
    """A purchase's amount (None when unusable) and currency (None when unknown)."""

    amount: float | None
    currency: str | None


def purchase_money(data: dict[str, Any], p: ScoringParameters) -> Money:
    """The amount and currency of a purchase's ``data``.

    The amount must be a finite number (or a numeric string) above zero: anything else is
    None, and the purchase counts without money. A missing currency is the workspace's; one
    that is not three letters is None (unknown).
    """
    raw = data.get("amount")
    amount: float | None = None
    if isinstance(raw, int | float | str) and not isinstance(raw, bool):
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number > 0:
            amount = number
    code = data.get("currency")
    currency: str | None
    if code is None:
        currency = p.currency
    elif isinstance(code, str) and CURRENCY_CODE.match(code.strip().upper()):
        currency = code.strip().upper()
    else:
        currency = None
    return Money(amount, currency)


async def enrich(
    services: Services, row: Interaction, customer: Customer, p: ScoringParameters
) -> None:
    """Fill the row's analysis and purchase columns; set the customer's language when it is
    still unknown (from what the customer wrote, never from what the brand sent)."""
    if row.kind == str(InteractionKind.PURCHASE):
        money = purchase_money(row.data, p)
        row.amount, row.currency = money.amount, money.currency
        if money.amount is None:
            log.warning(
                "purchase %s of customer %s has no usable amount (%r): counted without money",
                row.id,
                row.customer_id,
                row.data.get("amount"),
            )
    if not services.settings.text_analysis or not (row.content or "").strip():
        return
    analysis = await analyze_text(
        services.plugins, row.content or "", channel=row.channel, language_hint=customer.language
    )
    if analysis is None:
        return
    row.language = analysis.language
    row.sentiment = analysis.sentiment
    # A complaint is the customer's: what the brand sends ("our service team will call you")
    # may read like one, but is not.
    row.is_complaint = analysis.is_complaint and row.direction == "inbound"
    row.keywords = list(analysis.keywords)
    if (
        customer.language is None
        and row.direction == "inbound"
        and analysis.language != UNDETERMINED
    ):
        customer.language = analysis.language
