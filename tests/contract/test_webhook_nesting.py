"""A partner's channel that walks a hostile body recursively: the kit says so, and the webhook
still answers 400 with one log line instead of a 500 and a traceback."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from helpers.webhooks import assert_no_traceback, connect, raw_event_count

from socialcrm.plugins.manager import PluginManager
from socialcrm.plugins.testing import (
    ConformanceError,
    check_nesting_refusal,
    make_account,
    nested_json,
    webhook_request,
)
from socialcrm.server.tables import Workspace

DEEP = nested_json(20_000)


async def test_the_kit_fails_a_channel_that_lets_recursion_through(partner_site: Any) -> None:
    import scrm_acme  # reads its batches with json.loads, whose RecursionError escapes

    acme = PluginManager().channels["acme"]
    account = make_account({"secret": "s"}, channel="acme")
    request = webhook_request(DEEP, headers={"X-Acme-Signature": scrm_acme.sign("s", DEEP)})
    with pytest.raises(ConformanceError, match="RecursionError"):
        await check_nesting_refusal(acme, account, request)


async def test_the_webhook_turns_a_channels_recursion_into_400(
    client: httpx.AsyncClient,
    services: Any,
    workspace: Workspace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import scrm_acme

    assert workspace.id is not None
    slug = await connect(services, workspace.id, "acme", {"secret": "s"})
    before = await raw_event_count(services)
    with caplog.at_level(logging.INFO):
        response = await client.post(
            f"/webhooks/acme/{slug}",
            content=DEEP,
            headers={"X-Acme-Signature": scrm_acme.sign("s", DEEP)},
        )
    assert response.status_code == 400
    assert response.text == "the payload nests too deeply"
    assert_no_traceback(caplog.records)
    assert [r.getMessage() for r in caplog.records if r.name == "socialcrm.server.webhooks"] == [
        f"webhook /webhooks/acme/{slug}: refused (400): the payload nests too deeply"
    ]
    assert await raw_event_count(services) == before
