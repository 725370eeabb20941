"""`Customer.scoreHistory`: the arguments' times as days, then the page's loader."""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry

from socialcrm.schema.customer import ScorePoint


def utc_day(moment: datetime | None) -> date | None:
    """The UTC day of ``moment`` (a time without a zone is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


async def score_history(
    info: strawberry.Info, customer_pk: int, since: datetime | None, until: datetime | None
) -> list[ScorePoint]:
    """The customer's daily points from the day of ``since`` to the day of ``until``."""
    key = (customer_pk, utc_day(since), utc_day(until))
    return await info.context.loaders.score_history.load(key)  # type: ignore[no-any-return]
