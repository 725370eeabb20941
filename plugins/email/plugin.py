"""Registers the email channel, exactly as a partner's plugin would."""

from __future__ import annotations

from socialcrm.plugins import Channel, hookimpl
from socialcrm.plugins.email.channel import EmailChannel


@hookimpl
def scrm_channels() -> list[Channel]:
    """The email channel."""
    return [EmailChannel()]
