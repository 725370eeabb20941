"""Helpers for driving the partner test channel ``acme`` (tests/partner/scrm_acme.py)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

SECRET = "acme-secret"


def message(**fields: Any) -> dict[str, Any]:
    """One Acme message with defaults."""
    return {
        "id": uuid.uuid4().hex,
        "from": f"u-{uuid.uuid4().hex[:8]}",
        "name": "李雷",
        "text": "你好，我想咨询一下会员积分",
        "ts": int(time.time()),
        **fields,
    }


async def deliver(
    client: httpx.AsyncClient, slug: str, *messages: dict[str, Any], secret: str = SECRET
) -> httpx.Response:
    """POST a signed Acme batch to the account's webhook."""
    import scrm_acme

    body = json.dumps({"messages": list(messages)}).encode()
    return await client.post(
        f"/webhooks/acme/{slug}",
        content=body,
        headers={
            "X-Acme-Signature": scrm_acme.sign(secret, body),
            "Content-Type": "application/json",
        },
    )
