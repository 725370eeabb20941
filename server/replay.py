"""Replaying the inbox: stored raw events parsed again with the channel plugin installed now.

A platform's retry of a payload already stored is answered from the inbox and never parsed
again, so a fix to a plugin's ``parse`` never reaches payloads stored before it. A replay
parses them again and takes every event through the ingest path (``process_event``): an
event stored before is left as it is (the unique (account, external id) constraint
decides), one that the old parse missed or failed on is stored now, scored and announced
like a live one. Nothing is sent: inline replies are for a platform still waiting, long
gone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlmodel import col

from socialcrm.plugins.channel import AccountContext, Channel, ChannelError
from socialcrm.plugins.models import InboundEvent
from socialcrm.server.accounts import account_context
from socialcrm.server.ingest import mark_raw_event, process_event, stored_payload
from socialcrm.server.interactions import announce, find_by_external_id
from socialcrm.server.services import Services
from socialcrm.server.tables import ChannelAccount, RawEvent

STATUSES = ("pending", "processed", "failed")
"""The states of an inbox row, as ``--status`` takes them."""
BATCH = 200
"""Inbox rows read per query: a long replay holds no transaction and little memory."""

Progress = Callable[[int, int], None]
"""Called with (payloads done, payloads in all) after each payload."""


class ReplayError(ValueError):
    """The replay cannot start: an unknown channel, account or status."""


@dataclass(frozen=True, slots=True)
class ReplayCriteria:
    """Which stored payloads to replay."""

    channel: str
    account: str | None = None
    """The account's slug (unique within its channel); None: every account of the channel."""
    since: datetime | None = None
    """Only payloads received at or after this time."""
    status: str | None = None
    """Only payloads in this state (``failed``: the old parse or processing failed)."""


@dataclass(slots=True)
class ReplayResult:
    """What a replay did."""

    payloads: int = 0
    """Stored payloads parsed again."""
    events: int = 0
    """Events the current plugin found in them."""
    stored: int = 0
    """Interactions stored now: events the old parse missed or failed on."""
    unchanged: int = 0
    """Events whose interaction was stored before, left as it is."""
    differing: int = 0
    """Of those, interactions whose stored kind or content differ from what the plugin
    parses now (a replay never rewrites a stored interaction)."""
    failed: int = 0
    """Payloads the current plugin still refuses or that failed to process."""
    errors: list[tuple[int, str]] = field(default_factory=list)
    """(raw event id, error) of the failed payloads."""


async def replay_raw_events(
    services: Services, criteria: ReplayCriteria, progress: Progress | None = None
) -> ReplayResult:
    """Parse the stored payloads that ``criteria`` selects again and store what is new.

    Raises ``ReplayError`` before anything is done when the channel is not installed, the
    account does not exist or the status is unknown.
    """
    channel = services.plugins.channel(criteria.channel)
    if channel is None:
        installed = ", ".join(services.plugins.channels) or "none"
        raise ReplayError(f"no channel named {criteria.channel!r}; installed: {installed}")
    if criteria.status is not None and criteria.status not in STATUSES:
        raise ReplayError(f"unknown status {criteria.status!r}: use one of {', '.join(STATUSES)}")
    accounts = await _accounts(services, criteria)
    conditions: list[ColumnElement[bool]] = [col(RawEvent.account_id).in_(list(accounts))]
    if criteria.since is not None:
        conditions.append(col(RawEvent.received_at) >= criteria.since)
    if criteria.status is not None:
        conditions.append(col(RawEvent.status) == criteria.status)
    async with services.sessions() as session:
        total = int(await session.scalar(select(func.count()).where(*conditions)) or 0)
        last_id = int(await session.scalar(select(func.max(RawEvent.id)).where(*conditions)) or 0)
    result = ReplayResult()
    contexts: dict[int, AccountContext] = {}
    after = 0
    while True:
        async with services.sessions() as session:
            rows = list(
                (
                    await session.execute(
                        select(RawEvent)
                        .where(*conditions, col(RawEvent.id) > after, col(RawEvent.id) <= last_id)
                        .order_by(col(RawEvent.id))
                        .limit(BATCH)
                    )
                ).scalars()
            )
        if not rows:
            return result
        for raw in rows:
            assert raw.id is not None
            after = raw.id
            account = accounts[raw.account_id]
            if raw.account_id not in contexts:
                contexts[raw.account_id] = account_context(
                    services.sessions, account, services.settings.public_url
                )
            await _replay_one(services, channel, account, contexts[raw.account_id], raw, result)
            result.payloads += 1
            if progress is not None:
                progress(result.payloads, total)


async def _accounts(services: Services, criteria: ReplayCriteria) -> dict[int, ChannelAccount]:
    query = select(ChannelAccount).where(col(ChannelAccount.channel) == criteria.channel)
    if criteria.account is not None:
        query = query.where(col(ChannelAccount.slug) == criteria.account)
    async with services.sessions() as session:
        accounts = {row.id: row for row in (await session.execute(query)).scalars() if row.id}
    if criteria.account is not None and not accounts:
        raise ReplayError(f"no {criteria.channel} account with slug {criteria.account!r}")
    return accounts


async def _replay_one(
    services: Services,
    channel: Channel,
    account: ChannelAccount,
    context: AccountContext,
    raw: RawEvent,
    result: ReplayResult,
) -> None:
    """Replay one inbox row into ``result``; its status says how it went."""
    assert raw.id is not None and account.id is not None
    try:
        events = channel.parse(stored_payload(raw), context)
    except Exception as exc:  # a plugin still refusing the payload is this row's failure
        reason = exc.reason if isinstance(exc, ChannelError) else f"{type(exc).__name__}: {exc}"
        await mark_raw_event(services, raw.id, "failed", reason)
        result.failed += 1
        result.errors.append((raw.id, reason))
        return
    result.events += len(events)
    try:
        for event in events:
            await _replay_event(services, channel, account, context, raw, event, result)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        await mark_raw_event(services, raw.id, "failed", reason)
        result.failed += 1
        result.errors.append((raw.id, reason))
        return
    await mark_raw_event(services, raw.id, "processed")


async def _replay_event(
    services: Services,
    channel: Channel,
    account: ChannelAccount,
    context: AccountContext,
    raw: RawEvent,
    event: InboundEvent,
    result: ReplayResult,
) -> None:
    assert account.id is not None
    if event.sender is None and raw.status == "processed":
        # Community changes of a processed payload were applied when it arrived; applying
        # them again could undo what happened since (a member who left rejoining).
        return
    async with services.sessions() as session:
        existing = await find_by_external_id(session, account.id, event.external_id)
    if existing is not None:
        result.unchanged += 1
        if (existing.kind, existing.content) != (str(event.kind), event.content):
            result.differing += 1
        return
    # The platform stopped waiting for an inline answer long ago: ask for none.
    outcome = await process_event(
        services,
        channel,
        account,
        context,
        raw.id,
        dataclasses.replace(event, wants_reply=False),
    )
    if outcome.stored is None:
        return
    result.stored += 1
    await announce(services, outcome.stored, outcome.customer_changes, outcome.scores)
