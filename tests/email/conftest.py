"""Fixtures: a local SMTP server (aiosmtpd) on 127.0.0.1 for the sending tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from email_fakes import RecordingHandler

from socialcrm.plugins.email import EmailChannel


def _free_port() -> int:
    # aiosmtpd's Controller checks readiness by connecting to its port, so it needs a real one.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, RecordingHandler]]:
    """A running SMTP server that records what it receives."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


@pytest.fixture
def channel() -> EmailChannel:
    return EmailChannel()
