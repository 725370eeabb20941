"""Registers the built-in WeChat channels, through the same hook a partner's plugin uses."""

from __future__ import annotations

from socialcrm.plugins import Channel, hookimpl
from socialcrm.plugins.wechat.channel import WeChatChannel
from socialcrm.plugins.wechat.wecom import WeComChannel

# One instance each, so that every call of the hook hands out the same channel objects.
_CHANNELS: tuple[Channel, ...] = (WeChatChannel(), WeComChannel())


@hookimpl
def scrm_channels() -> list[Channel]:
    """The official-account channel (``wechat``) and the WeCom channel (``wecom``)."""
    return list(_CHANNELS)
