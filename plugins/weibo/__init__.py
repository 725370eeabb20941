"""The built-in Weibo channel (fans-service push, private messages, mentions, comments)."""

from socialcrm.plugins.weibo.channel import WeiboChannel

__all__ = ["WeiboChannel"]
