"""Settings checks and request guards shared by the WeChat and WeCom channels."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from socialcrm.plugins import ChannelConfigError, VerificationFailed
from socialcrm.plugins.wechat.crypto import InvalidAESKey, decode_aes_key

DEFAULT_REPLAY_WINDOW = 600
"""Seconds a signed request's ``timestamp`` may differ from our clock (both ways).

WeChat signs the timestamp, so an old request cannot be re-dated: refusing stale ones stops a
captured request from being replayed later. Ten minutes leaves room for clock drift and for
WeChat's retries (within about 15 seconds). ``0`` turns the check off.
"""

_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{3,32}$")

Clock = Callable[[], float]


def check_known(settings: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse setting names the channel does not know (a typo would be silently ignored)."""
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ChannelConfigError(
            f"unknown setting(s): {', '.join(unknown)}", code="UNKNOWN_SETTING", field=unknown[0]
        )


def required_str(settings: Mapping[str, Any], name: str, label: str) -> str:
    """A non-empty string setting, stripped."""
    value = settings.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ChannelConfigError(f"{label} is required", code="MISSING_SETTING", field=name)
    return value.strip()


def optional_str(settings: Mapping[str, Any], name: str, label: str) -> str | None:
    """A string setting that may be absent or empty (None then)."""
    value = settings.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ChannelConfigError(f"{label} must be a string", code="INVALID_SETTING", field=name)
    return value.strip() or None


def check_token(settings: Mapping[str, Any], name: str = "token") -> str:
    """The callback token: 3 to 32 letters and digits, as the consoles require."""
    token = required_str(settings, name, "Token")
    if not _TOKEN_RE.match(token):
        raise ChannelConfigError(
            "Token must be 3 to 32 letters and digits", code="INVALID_SETTING", field=name
        )
    return token


def check_aes_key(settings: Mapping[str, Any], name: str = "encoding_aes_key") -> str:
    """The EncodingAESKey: exactly 43 letters and digits."""
    key = required_str(settings, name, "EncodingAESKey")
    try:
        decode_aes_key(key)
    except InvalidAESKey as exc:
        raise ChannelConfigError(
            f"EncodingAESKey must be 43 letters and digits (got {len(key)} characters)",
            code="INVALID_SETTING",
            field=name,
        ) from exc
    return key


def check_base_url(settings: Mapping[str, Any], default: str, name: str = "api_base_url") -> str:
    """An http(s) base URL without a trailing slash."""
    value = settings.get(name) or default
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ChannelConfigError(
            f"{name} must be an http(s) URL", code="INVALID_SETTING", field=name
        )
    return value.rstrip("/")


def check_replay_window(settings: Mapping[str, Any], name: str = "replay_window_seconds") -> int:
    """Seconds of clock difference tolerated on signed requests (0 = no check)."""
    value = settings.get(name, DEFAULT_REPLAY_WINDOW)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ChannelConfigError(
            f"{name} must be a whole number of seconds, 0 or more",
            code="INVALID_SETTING",
            field=name,
        )
    return value


def query_param(query: Mapping[str, str], name: str) -> str | None:
    """A query parameter, or None when absent or empty."""
    value = query.get(name)
    return value if value else None


def check_timestamp(timestamp: str, window: int, clock: Clock = time.time) -> None:
    """Refuse a signed request whose timestamp is more than ``window`` seconds off."""
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise VerificationFailed("the timestamp is not a unix time", code="BAD_TIMESTAMP") from exc
    if window and abs(clock() - sent) > window:
        raise VerificationFailed(
            f"the timestamp is more than {window} s away from now (a replay?)",
            code="STALE_TIMESTAMP",
        )
