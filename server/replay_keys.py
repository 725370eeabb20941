"""Refuse a signed webhook query used again with another body.

Some platforms sign only a timestamp and a nonce or token, not the body: within the replay
window a captured query could carry any body. A channel names what was signed in
``VerifiedPayload.replay_key``; the first use records it with a hash of the body in the
database (so every worker sees it), and a later use must bring the same body.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from socialcrm.plugins.channel import VerificationFailed, VerifiedPayload
from socialcrm.server.services import Services
from socialcrm.server.sqltypes import utcnow
from socialcrm.server.tables import ChannelAccount, WebhookReplayKey


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def check_replay(
    services: Services, account: ChannelAccount, payload: VerifiedPayload
) -> None:
    """Record the payload's replay key, or refuse it when it came before with another body.

    Raises ``VerificationFailed`` (403, code ``REPLAYED``) for a reused key with a different
    body; does nothing when the channel set no key.
    """
    if payload.replay_key is None:
        return
    assert account.id is not None
    key = _sha256(payload.replay_key.encode("utf-8"))
    body = _sha256(payload.body)
    for _ in range(2):
        now = utcnow()
        async with services.sessions() as session:
            # Pruning here keeps the table at one window's worth of keys without a sweeper.
            await session.execute(
                delete(WebhookReplayKey).where(col(WebhookReplayKey.expires_at) < now)
            )
            seen = await session.scalar(
                select(col(WebhookReplayKey.body_sha256)).where(
                    col(WebhookReplayKey.account_id) == account.id,
                    col(WebhookReplayKey.key) == key,
                )
            )
            if seen is None:
                # Twice the window: a timestamp accepted while early stays valid until late.
                expires_at = now + 2 * payload.replay_window
                session.add(
                    WebhookReplayKey(
                        account_id=account.id, key=key, body_sha256=body, expires_at=expires_at
                    )
                )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                continue  # another worker recorded the key first: compare with its row
        if seen is not None and seen != body:
            raise VerificationFailed(
                "this signed request was already used with another body", code="REPLAYED"
            )
        return
    raise RuntimeError("webhook replay key insert raced twice")
