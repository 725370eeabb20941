"""Every message of the real-world corpus parses (through the channel) without an exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from email_fakes import make_account

from socialcrm.plugins import VerifiedPayload
from socialcrm.plugins.email import EmailChannel
from socialcrm.plugins.testing import check_event

CORPUS = Path(__file__).parent / "corpus"
MESSAGES = sorted(CORPUS.rglob("*.eml"))


def test_corpus_is_complete() -> None:
    assert len(MESSAGES) == 48
    assert (CORPUS / "LICENSE").exists() and (CORPUS / "SOURCE.md").exists()


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_message_parses(path: Path) -> None:
    channel = EmailChannel()
    account = make_account(channel)
    payload = VerifiedPayload(path.read_bytes(), meta={"received_at": "2024-01-01T00:00:00+00:00"})
    events = channel.parse(payload, account)
    assert len(events) == 1
    event = events[0]
    check_event(event)
    assert event.external_id
    assert event.sender.channel == "email" and "@" in event.sender.external_id
    assert event.sender.external_id == event.sender.external_id.lower()
    assert event.occurred_at.tzinfo is not None
    # What the server stores must be JSON, and parsing again gives the same event.
    json.dumps(event.data)
    json.dumps(event.raw)
    assert channel.parse(payload, account) == events
