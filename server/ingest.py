"""The ingest path: from a verified webhook payload to stored, announced interactions.

    verify → parse → store the payload durably (the inbox) → for each event: identity
    resolution → the interaction, stored once per (account, external id) → relations,
    community, membership → passive reply → answer the platform
    … then, after the answer: observer hooks → the event bus.

The platform gets its answer within the channel's ``reply_deadline`` whatever the database
does: the payload is in the inbox before processing starts, and what is not done by the
deadline goes on in the background (and is redone from the inbox after a crash).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from socialcrm.plugins.channel import (
    AccountContext,
    Channel,
    VerifiedPayload,
    WebhookRequest,
    WebhookResponse,
)
from socialcrm.plugins.manager import await_me_maybe
from socialcrm.plugins.models import (
    CustomerChange,
    Direction,
    InboundEvent,
    InteractionKind,
    OutboundMessage,
    Profile,
    StoredInteraction,
)
from socialcrm.server.accounts import account_context
from socialcrm.server.identities import identity_known, resolve_customer
from socialcrm.server.interactions import (
    NewInteraction,
    add_interaction,
    announce,
    find_by_external_id,
    stored_view,
)
from socialcrm.server.relations import apply_community, apply_relations
from socialcrm.server.replay_keys import check_replay
from socialcrm.server.scoring.announce import ScoreAnnouncement
from socialcrm.server.scoring.live import on_interaction_stored
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ChannelAccount, Interaction, RawEvent

log = logging.getLogger(__name__)

PROFILE_LOOKUP_SECONDS = 2.0
MAX_ATTEMPTS = 5
RECOVERY_AGE = timedelta(seconds=60)
RECOVERY_INTERVAL_SECONDS = 60.0

Reply = tuple[InboundEvent, OutboundMessage]


@dataclass(slots=True)
class Outcome:
    """What processing one event did: the interaction (if new) and an inline reply."""

    stored: StoredInteraction | None = None
    reply: OutboundMessage | None = None
    customer_changes: list[CustomerChange] = field(default_factory=list)
    scores: ScoreAnnouncement | None = None
    """What storing the interaction did to the customer's scores and stage."""


async def receive_webhook(
    services: Services,
    channel: Channel,
    account: ChannelAccount,
    request: WebhookRequest,
) -> WebhookResponse:
    """Handle one POST from a platform and build the answer it expects.

    Raises the channel's ``VerificationFailed``/``InvalidPayload`` before anything is
    stored, and ``VerificationFailed`` for a signed query reused with another body (see
    ``replay_keys``); the caller turns them into 403/400.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + channel.reply_deadline
    context = account_context(services.sessions, account, services.settings.public_url)
    payload = await channel.verify(request, context)
    events = channel.parse(payload, context)
    await check_replay(services, account, payload)
    # Bounded: past the deadline the platform stops listening, so answering then is moot;
    # a failure here is a 503 and the platform retries (nothing was acknowledged).
    raw, is_new = await asyncio.wait_for(
        store_raw_event(services, account, payload, events), max(deadline - loop.time(), 0.1)
    )
    if not is_new and raw.status == "processed":
        # A platform retry: answer as the first time, store nothing.
        return channel.respond(payload, context, await stored_replies(services, account, events))
    assert raw.id is not None
    task = services.spawn(
        process_raw_event(services, channel, account, context, raw.id, events),
        name=f"ingest-{channel.name}-{raw.id}",
    )
    # One deadline for the whole request: what the inbox write took is not given twice.
    done, _ = await asyncio.wait({task}, timeout=max(deadline - loop.time(), 0.0))
    replies: list[Reply] = []
    if task in done and task.exception() is None:
        replies = task.result()
    elif task not in done:
        log.warning(
            "%s/%s: raw event %s not processed within %.1fs; answering now, processing goes on",
            channel.name,
            account.slug,
            raw.id,
            channel.reply_deadline,
        )
    return channel.respond(payload, context, replies)


def dedupe_key(payload: VerifiedPayload, events: list[InboundEvent]) -> str:
    """The inbox key of a payload: its events' ids, so a platform's retry maps to one row."""
    if events:
        material = "\x1f".join(sorted(e.external_id for e in events)).encode()
    else:
        material = payload.body
    return hashlib.sha256(material).hexdigest()


def _encode_body(body: bytes) -> tuple[str, str]:
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def stored_payload(raw: RawEvent) -> VerifiedPayload:
    """The verified payload kept in the inbox row ``raw``."""
    meta = dict(raw.meta)
    encoding = meta.pop("_body_encoding", "utf-8")
    body = base64.b64decode(raw.body) if encoding == "base64" else raw.body.encode("utf-8")
    return VerifiedPayload(body=body, meta=meta)


async def store_raw_event(
    services: Services,
    account: ChannelAccount,
    payload: VerifiedPayload,
    events: list[InboundEvent],
) -> tuple[RawEvent, bool]:
    """Put the payload in the inbox (committed) unless it is already there.

    Returns the row and whether it is new.
    """
    assert account.id is not None
    key = dedupe_key(payload, events)
    body, encoding = _encode_body(payload.body)
    meta = {**payload.meta, "_body_encoding": encoding}
    for _ in range(2):
        async with services.sessions() as session:
            existing = await session.scalar(
                select(RawEvent).where(
                    col(RawEvent.account_id) == account.id, col(RawEvent.dedupe_key) == key
                )
            )
            if existing is not None:
                return existing, False
            raw = RawEvent(
                workspace_id=account.workspace_id,
                account_id=account.id,
                channel=account.channel,
                dedupe_key=key,
                body=body,
                meta=meta,
            )
            session.add(raw)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                continue  # the same payload arrived concurrently: read the other row
            return raw, True
    raise RuntimeError("raw event insert raced twice")


async def process_raw_event(
    services: Services,
    channel: Channel,
    account: ChannelAccount,
    context: AccountContext,
    raw_id: int,
    events: list[InboundEvent],
) -> list[Reply]:
    """Store every event of an inbox row, mark it processed, and schedule announcements.

    Idempotent: running it again for the same row stores nothing new.
    """
    replies: list[Reply] = []
    try:
        for event in events:
            outcome = await process_event(services, channel, account, context, raw_id, event)
            if outcome.reply is not None:
                replies.append((event, outcome.reply))
            if outcome.stored is not None:
                services.spawn(
                    announce(services, outcome.stored, outcome.customer_changes, outcome.scores),
                    name=f"announce-{outcome.stored.id}",
                )
    except Exception as exc:
        await mark_raw_event(services, raw_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    await mark_raw_event(services, raw_id, "processed")
    return replies


async def mark_raw_event(
    services: Services, raw_id: int, status: str, error: str | None = None
) -> None:
    """Record how processing a stored payload ended (``processed`` or ``failed``), counting
    the attempt."""
    async with services.sessions() as session, session.begin():
        await session.execute(
            update(RawEvent)
            .where(col(RawEvent.id) == raw_id)
            .values(
                status=status,
                error=error[:2000] if error else None,
                attempts=RawEvent.attempts + 1,
                processed_at=utcnow() if status == "processed" else None,
            )
        )


async def process_event(
    services: Services,
    channel: Channel,
    account: ChannelAccount,
    context: AccountContext,
    raw_id: int | None,
    event: InboundEvent,
) -> Outcome:
    """Resolve the sender, store the interaction once, apply relations; reply inline."""
    assert account.id is not None
    profile = await _profile_with_lookup(services, channel, account, context, event)
    for attempt in range(3):
        try:
            outcome = await _store_event(services, channel, account, raw_id, event, profile)
            break
        except IntegrityError:
            # A concurrent delivery of the same event or sender won the insert: look again.
            if attempt == 2:
                raise
    if outcome.stored is not None and event.wants_reply:
        outcome.reply = await _passive_reply(services, account, outcome.stored, event)
    return outcome


async def _profile_with_lookup(
    services: Services,
    channel: Channel,
    account: ChannelAccount,
    context: AccountContext,
    event: InboundEvent,
) -> Profile | None:
    """The event's profile, completed by the channel's lookup for a sender never seen."""
    if event.sender is None:
        return None
    async with services.sessions() as session:
        if await identity_known(session, account.workspace_id, event.sender):
            return event.profile
        if await find_by_external_id(session, context.account_id, event.external_id):
            return event.profile
    try:
        fetched = await asyncio.wait_for(
            channel.fetch_profile(event.sender, context), PROFILE_LOOKUP_SECONDS
        )
    except Exception:
        log.warning("%s: profile lookup failed for a new sender", channel.name, exc_info=True)
        fetched = None
    return merge_profiles(event.profile, fetched)


def merge_profiles(first: Profile | None, second: Profile | None) -> Profile | None:
    """``first`` with its empty fields filled from ``second``."""
    if first is None or second is None:
        return first or second
    merged = Profile(**{k: v for k, v in asdict(first).items() if k not in ("aliases",)})
    merged.aliases = [*first.aliases, *second.aliases]
    for name in ("display_name", "avatar_url", "language", "location", "email", "phone"):
        if getattr(merged, name) is None:
            setattr(merged, name, getattr(second, name))
    if merged.followers_count is None:
        merged.followers_count = second.followers_count
    if merged.following is None:
        merged.following = second.following
    merged.tags = sorted({*first.tags, *second.tags})
    merged.extra = {**second.extra, **first.extra}
    return merged


async def _store_event(
    services: Services,
    channel: Channel,
    account: ChannelAccount,
    raw_id: int | None,
    event: InboundEvent,
    profile: Profile | None,
) -> Outcome:
    assert account.id is not None
    workspace_id = account.workspace_id
    async with services.sessions() as session, session.begin():
        if await find_by_external_id(session, account.id, event.external_id) is not None:
            return Outcome()
        if event.sender is None:
            # About a community, not a person: membership changes only, no interaction.
            await apply_community(session, workspace_id, account, event)
            return Outcome()
        inbound = event.direction == Direction.INBOUND
        resolution = await resolve_customer(
            session,
            workspace_id,
            event.sender,
            profile=profile,
            account_id=account.id,
            seen_at=event.occurred_at if inbound else None,
        )
        customer = resolution.customer
        assert customer.id is not None
        community_id = await apply_community(session, workspace_id, account, event)
        in_reply_to_id = None
        if event.in_reply_to:
            parent = await find_by_external_id(session, account.id, event.in_reply_to)
            in_reply_to_id = parent.id if parent is not None else None
        data = dict(event.data)
        if event.attachments:
            data["attachments"] = [asdict(a) for a in event.attachments]
        row = await add_interaction(
            session,
            NewInteraction(
                workspace_id=workspace_id,
                customer_id=customer.id,
                channel=channel.name,
                kind=str(event.kind),
                direction=str(event.direction),
                occurred_at=event.occurred_at,
                content_type=event.content_type,
                content=event.content,
                account_id=account.id,
                external_id=event.external_id,
                community_id=community_id,
                thread_id=event.thread_id,
                in_reply_to_id=in_reply_to_id,
                raw_event_id=raw_id,
                data=data,
                raw=event.raw,
            ),
        )
        scores = await on_interaction_stored(session, services, row)
        unresolved = await apply_relations(
            session, workspace_id, customer.id, event.relations, event.occurred_at
        )
        if unresolved:
            row.data = {**row.data, "unresolved_referral_codes": unresolved}
    changes = _customer_changes(workspace_id, customer.id, resolution, event)
    return Outcome(
        stored=stored_view(row, account_slug=account.slug, sender=event.sender),
        customer_changes=changes,
        scores=scores,
    )


def _customer_changes(
    workspace_id: int, customer_id: int, resolution: Any, event: InboundEvent
) -> list[CustomerChange]:
    sender = event.sender
    assert sender is not None  # events without a sender store no interaction
    changes = []
    if resolution.created:
        changes.append(
            CustomerChange(workspace_id, customer_id, "created", {"channel": sender.channel})
        )
    elif resolution.changed_fields:
        changes.append(
            CustomerChange(workspace_id, customer_id, "updated", dict(resolution.changed_fields))
        )
    if resolution.followed is not None or event.kind in (
        InteractionKind.FOLLOW,
        InteractionKind.UNFOLLOW,
    ):
        followed = (
            resolution.followed
            if resolution.followed is not None
            else event.kind == InteractionKind.FOLLOW
        )
        changes.append(
            CustomerChange(
                workspace_id,
                customer_id,
                "followed" if followed else "unfollowed",
                {"channel": sender.channel},
            )
        )
    return changes


def reply_external_id(inbound_external_id: str) -> str:
    """The external id of the inline reply to an inbound event (one reply per event)."""
    return f"reply:{inbound_external_id}"


async def _passive_reply(
    services: Services, account: ChannelAccount, stored: StoredInteraction, event: InboundEvent
) -> OutboundMessage | None:
    """Ask the plugins for an inline reply and store the first one as outbound."""
    reply: OutboundMessage | None = None
    for result in services.plugins.hook.scrm_passive_reply(interaction=stored, event=event):
        try:
            reply = await await_me_maybe(result)
        except Exception:
            log.exception("an scrm_passive_reply implementation failed")
            continue
        if reply is not None:
            break
    if reply is None:
        return None
    assert account.id is not None
    try:
        async with services.sessions() as session, session.begin():
            row = await add_interaction(
                session,
                NewInteraction(
                    workspace_id=stored.workspace_id,
                    customer_id=stored.customer_id,
                    channel=stored.channel,
                    kind=str(InteractionKind.MESSAGE),
                    direction=str(Direction.OUTBOUND),
                    occurred_at=utcnow(),
                    content_type=reply.content_type,
                    content=reply.text,
                    account_id=account.id,
                    external_id=reply_external_id(event.external_id),
                    community_id=stored.community_id,
                    in_reply_to_id=stored.id,
                    delivery_status="sent",
                    data={"passive": True, "message": asdict(reply)},
                ),
            )
            scores = await on_interaction_stored(session, services, row)
    except IntegrityError:
        return None  # another delivery of this event already answered it
    services.spawn(
        announce(services, stored_view(row, account_slug=account.slug), scores=scores),
        name="announce-reply",
    )
    return reply


async def stored_replies(
    services: Services, account: ChannelAccount, events: list[InboundEvent]
) -> list[Reply]:
    """The inline replies stored for ``events`` (to answer a retry as the first time)."""
    if not events:
        return []
    wanted = {reply_external_id(e.external_id): e for e in events if e.wants_reply}
    if not wanted:
        return []
    async with services.sessions() as session:
        rows = (
            await session.execute(
                select(col(Interaction.external_id), col(Interaction.data)).where(
                    col(Interaction.account_id) == account.id,
                    col(Interaction.external_id).in_(list(wanted)),
                )
            )
        ).all()
    replies = []
    for external_id, data in rows:
        message = data.get("message")
        if external_id in wanted and isinstance(message, dict):
            replies.append((wanted[external_id], OutboundMessage(**message)))
    return replies


async def reprocess_raw_event(services: Services, raw: RawEvent) -> None:
    """Process an inbox row again from its stored payload (after a crash or a failure)."""
    async with services.sessions() as session:
        account = await session.get(ChannelAccount, raw.account_id)
    channel = services.plugins.channel(raw.channel)
    if account is None or channel is None:
        await mark_raw_event(
            services, raw.id or 0, "failed", error="channel or account no longer exists"
        )
        return
    context = account_context(services.sessions, account, services.settings.public_url)
    events = channel.parse(stored_payload(raw), context)
    assert raw.id is not None
    await process_raw_event(services, channel, account, context, raw.id, events)


async def recover_pending(services: Services, *, once: bool = False) -> int:
    """Process inbox rows left pending or failed (a crash, a database outage).

    Runs at start-up and then every minute; only rows older than a minute are taken, so a
    live request's own processing is not raced. Returns how many rows were processed.
    """
    total = 0
    while True:
        try:
            total += await _recover_batch(services)
        except Exception:
            log.exception("recovering pending raw events failed")
        if once:
            return total
        await asyncio.sleep(RECOVERY_INTERVAL_SECONDS)


async def _recover_batch(services: Services, limit: int = 100) -> int:
    cutoff = utcnow() - RECOVERY_AGE
    async with services.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(RawEvent)
                    .where(
                        or_(col(RawEvent.status) == "pending", col(RawEvent.status) == "failed"),
                        col(RawEvent.attempts) < MAX_ATTEMPTS,
                        col(RawEvent.received_at) < cutoff,
                    )
                    .order_by(col(RawEvent.id))
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
    done = 0
    for raw in rows:
        try:
            await reprocess_raw_event(services, raw)
            done += 1
        except Exception:
            log.exception("raw event %s failed again", raw.id)
    return done
