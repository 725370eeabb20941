"""Replaying stored payloads with the plugin installed now: what the old parse missed is
stored (scored and announced like a live event), nothing is stored twice, nothing is sent."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from helpers.acme import deliver, message
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from typer.testing import CliRunner

from socialcrm.plugins import OutboundMessage, hookimpl
from socialcrm.server.bus import interactions_topic
from socialcrm.server.cli import app as cli
from socialcrm.server.ingest import MAX_ATTEMPTS
from socialcrm.server.replay import ReplayCriteria, ReplayError, replay_raw_events
from socialcrm.server.settings import Settings
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ChannelAccount, Interaction, RawEvent, Score


class Watcher:
    """Records the observer hooks and offers an inline reply to every message."""

    def __init__(self) -> None:
        self.stored: list[Any] = []

    @hookimpl
    def scrm_interaction_stored(self, interaction: Any) -> None:
        self.stored.append(interaction)

    @hookimpl
    def scrm_passive_reply(self, interaction: Any, event: Any) -> OutboundMessage:
        return OutboundMessage(text="auto reply")


async def _store_raw(
    sessions: async_sessionmaker[AsyncSession],
    account: ChannelAccount,
    body: str,
    status: str,
    age: timedelta = timedelta(hours=1),
) -> int:
    async with sessions() as session, session.begin():
        raw = RawEvent(
            workspace_id=account.workspace_id,
            account_id=account.id,
            channel="acme",
            dedupe_key=uuid.uuid4().hex,
            body=body,
            meta={},
            status=status,
            error="KeyError: 'from'" if status == "failed" else None,
            # Past the retries of the servers' own recovery (a stuck payload, what an operator
            # replays), which leaves them to this test.
            attempts=MAX_ATTEMPTS,
            received_at=utcnow() - age,
        )
        session.add(raw)
    assert raw.id is not None
    return raw.id


async def _interactions(sessions: async_sessionmaker[AsyncSession], account_id: int) -> list[Any]:
    async with sessions() as session:
        rows = await session.execute(
            select(Interaction).where(col(Interaction.account_id) == account_id)
        )
        return list(rows.scalars())


def _batch(*messages: dict[str, Any]) -> str:
    return json.dumps({"messages": list(messages)})


@pytest.fixture
async def stored(
    client: httpx.AsyncClient,
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
) -> dict[str, Any]:
    """An inbox as an old, buggy plugin left it: a payload whose second message was missed,
    one that failed, one the plugin still refuses."""
    first, missed, lost = message(), message(), message()
    assert (await deliver(client, account.slug, first)).status_code == 200
    await services.drain()
    return {
        "first": first,
        "missed": missed,
        "lost": lost,
        "partial": await _store_raw(sessions, account, _batch(first, missed), "processed"),
        "failed": await _store_raw(sessions, account, _batch(lost), "failed"),
        "refused": await _store_raw(sessions, account, "not json", "failed"),
    }


async def test_replay_stores_what_was_missed_once_and_announces_it(
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
    stored: dict[str, Any],
) -> None:
    assert account.id is not None
    watcher = Watcher()
    services.plugins.register(watcher, name="watcher")
    seen: list[tuple[int, int]] = []
    try:
        async with services.bus.subscribe(interactions_topic(account.workspace_id)) as events:
            result = await replay_raw_events(
                services,
                ReplayCriteria("acme", account=account.slug),
                progress=lambda done, total: seen.append((done, total)),
            )
            published = [await asyncio.wait_for(anext(events), 5) for _ in range(2)]
    finally:
        services.plugins.unregister(watcher)
    # The delivered payload, the partial one, the failed one and the refused one.
    assert (result.payloads, result.events, result.stored) == (4, 4, 2)
    assert (result.unchanged, result.differing, result.failed) == (2, 0, 1)
    assert [raw_id for raw_id, _ in result.errors] == [stored["refused"]]
    assert seen[-1] == (4, 4)

    rows = await _interactions(sessions, account.id)
    ids = sorted(row.external_id for row in rows)
    wanted = [stored[name]["id"] for name in ("first", "missed", "lost")]
    assert ids == sorted(wanted), "stored once each, and no inline reply was stored"
    assert {row.direction for row in rows} == {"inbound"}
    new = {stored["missed"]["id"], stored["lost"]["id"]}
    assert {event["id"] for event in published} == {r.id for r in rows if r.external_id in new}
    assert {interaction.external_id for interaction in watcher.stored} == new
    async with sessions() as session:
        customers = [row.customer_id for row in rows if row.external_id in new]
        scored = await session.scalar(
            select(func.count()).select_from(Score).where(col(Score.customer_id).in_(customers))
        )
        statuses = dict(
            (
                await session.execute(
                    select(RawEvent.id, RawEvent.status).where(
                        col(RawEvent.account_id) == account.id
                    )
                )
            ).all()
        )
    assert scored == 2
    assert statuses[stored["failed"]] == "processed" and statuses[stored["partial"]] == "processed"
    assert statuses[stored["refused"]] == "failed"

    again = await replay_raw_events(services, ReplayCriteria("acme", account=account.slug))
    assert (again.payloads, again.stored, again.unchanged, again.failed) == (4, 0, 4, 1)
    assert len(await _interactions(sessions, account.id)) == 3


async def test_replay_selects_by_status_and_time(
    account: ChannelAccount,
    sessions: async_sessionmaker[AsyncSession],
    services: Any,
    stored: dict[str, Any],
) -> None:
    failed = await replay_raw_events(
        services, ReplayCriteria("acme", account=account.slug, status="failed")
    )
    assert (failed.payloads, failed.stored, failed.failed) == (2, 1, 1)
    recent = await replay_raw_events(
        services,
        ReplayCriteria("acme", account=account.slug, since=utcnow() - timedelta(minutes=10)),
    )
    # Only the payload delivered by the fixture is that recent.
    assert (recent.payloads, recent.stored, recent.unchanged) == (1, 0, 1)


async def test_replay_refuses_unknown_channels_accounts_and_statuses(services: Any) -> None:
    with pytest.raises(ReplayError, match="no channel named 'nosuch'"):
        await replay_raw_events(services, ReplayCriteria("nosuch"))
    with pytest.raises(ReplayError, match="no acme account"):
        await replay_raw_events(services, ReplayCriteria("acme", account="nope"))
    with pytest.raises(ReplayError, match="unknown status"):
        await replay_raw_events(services, ReplayCriteria("acme", status="done"))


async def test_scrm_inbox_replay_prints_a_summary(
    account: ChannelAccount, settings: Settings, stored: dict[str, Any]
) -> None:
    env = {"SCRM_DATABASE_URL": settings.database_url, "SCRM_DEBUG": ""}
    args = ["inbox", "replay", "--channel", "acme", "--account", account.slug]
    # The command runs its own event loop, as in a shell.
    result = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    assert result.exit_code == 1, result.output  # the refused payload still fails
    assert "Replayed 4 stored acme payloads: 4 events, 2 stored now" in result.stdout
    assert f"raw event {stored['refused']}: malformed Acme batch" in result.stderr
    bad = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "not an ISO time" in bad.stderr
    unknown = await asyncio.to_thread(
        CliRunner().invoke, cli, ["inbox", "replay", "--channel", "nosuch"], env=env
    )
    assert unknown.exit_code == 2 and "no channel named 'nosuch'" in unknown.stderr
