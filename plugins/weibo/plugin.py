"""Registers the Weibo channel, exactly as a partner's plugin would."""

from __future__ import annotations

from socialcrm.plugins import Channel, hookimpl
from socialcrm.plugins.weibo.channel import WeiboChannel


@hookimpl
def scrm_channels() -> list[Channel]:
    """The Weibo channel."""
    return [WeiboChannel()]
