"""A small async client of the WeChat (api.weixin.qq.com) and WeCom (qyapi.weixin.qq.com) APIs.

Both platforms answer HTTP 200 with ``{"errcode": N, "errmsg": "…"}`` on failure and need an
access token in the query. The token is kept in the account's ``ChannelState`` (the database),
so every worker shares one token: a new token invalidates older ones after a short overlap,
and one token per process would keep knocking the others out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from socialcrm.plugins import ChannelState

TOKEN_STATE_KEY = "access_token"
TOKEN_MARGIN = timedelta(minutes=5)
"""Refresh a cached token this long before WeChat says it expires."""
DEFAULT_TIMEOUT = 10.0


class PlatformError(Exception):
    """A failed API call: an ``errcode`` from the platform, or an HTTP/network failure.

    ``code`` is ``str(errcode)`` for platform errors and ``HTTP_ERROR`` otherwise.
    """

    def __init__(self, code: str, message: str, *, errcode: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.errcode = errcode


@dataclass(slots=True)
class TokenEndpoint:
    """How a platform hands out access tokens: path and credential parameters."""

    path: str
    params: dict[str, str]
    expired_codes: frozenset[int]
    """errcodes meaning "this token is no longer valid": refresh once and retry once."""


WECHAT_TOKEN_EXPIRED = frozenset({40001, 40014, 42001})
WECOM_TOKEN_EXPIRED = frozenset({40014, 42001})


def wechat_token_endpoint(app_id: str, app_secret: str) -> TokenEndpoint:
    """``GET /cgi-bin/token`` of an official account."""
    return TokenEndpoint(
        path="/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": app_id, "secret": app_secret},
        expired_codes=WECHAT_TOKEN_EXPIRED,
    )


def wecom_token_endpoint(corp_id: str, corp_secret: str) -> TokenEndpoint:
    """``GET /cgi-bin/gettoken`` of a WeCom corp (with the secret of the app or contact API)."""
    return TokenEndpoint(
        path="/cgi-bin/gettoken",
        params={"corpid": corp_id, "corpsecret": corp_secret},
        expired_codes=WECOM_TOKEN_EXPIRED,
    )


@dataclass(slots=True)
class PlatformClient:
    """Calls one account's API with a shared, cached access token."""

    base_url: str
    token_endpoint: TokenEndpoint
    state: ChannelState
    timeout: float = DEFAULT_TIMEOUT

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``GET path`` with the access token; the JSON answer, or raise ``PlatformError``."""
        return await self._call("GET", path, params=params)

    async def post(
        self, path: str, body: Mapping[str, Any], params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """``POST path`` with a JSON body and the access token."""
        return await self._call("POST", path, params=params, body=body)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            token = await self._token(client)
            data = await self._request(client, method, path, token, params, body)
            if data.get("errcode") in self.token_endpoint.expired_codes:
                # Expired or replaced by another fetch: refresh once, retry once.
                token = await self._token(client, stale=token)
                data = await self._request(client, method, path, token, params, body)
            _raise_for_errcode(data)
            return data

    async def _request(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        query = {**(params or {}), "access_token": token}
        content = None
        headers = {}
        if body is not None:
            # WeChat shows \uXXXX escapes literally in some messages: send real UTF-8.
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        return await _json_request(
            client, method, path, params=query, content=content, headers=headers
        )

    async def _token(self, client: httpx.AsyncClient, *, stale: str | None = None) -> str:
        cached = await self.state.get(TOKEN_STATE_KEY)
        token = cached.get("token") if isinstance(cached, dict) else None
        # Another worker may have refreshed already: use its token rather than fetch again.
        if isinstance(token, str) and token and token != stale:
            return token
        data = await _json_request(
            client, "GET", self.token_endpoint.path, params=self.token_endpoint.params
        )
        _raise_for_errcode(data)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise PlatformError("HTTP_ERROR", "the token endpoint returned no access_token")
        expires_in = _int(data.get("expires_in"), 7200)
        lifetime = max(timedelta(seconds=expires_in) - TOKEN_MARGIN, timedelta(seconds=60))
        expires_at = datetime.now(UTC) + lifetime
        await self.state.set(
            TOKEN_STATE_KEY,
            {"token": token, "expires_at": expires_at.isoformat()},
            expires_at=expires_at,
        )
        return token

    async def forget_token(self) -> None:
        """Drop the cached token (after the secret changed)."""
        await self.state.delete(TOKEN_STATE_KEY)


async def _json_request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    params: Mapping[str, str],
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    try:
        response = await client.request(
            method, path, params=params, content=content, headers=headers
        )
        response.raise_for_status()
        data = response.json()
    except httpx.HTTPError as exc:
        raise PlatformError("HTTP_ERROR", f"{method} {path} failed: {exc}") from exc
    except ValueError as exc:
        raise PlatformError("HTTP_ERROR", f"{method} {path} did not answer JSON") from exc
    if not isinstance(data, dict):
        raise PlatformError("HTTP_ERROR", f"{method} {path} answered {type(data).__name__}")
    return data


def _raise_for_errcode(data: Mapping[str, Any]) -> None:
    errcode = data.get("errcode", 0)
    code = _int(errcode, -1)
    if code != 0:
        raise PlatformError(str(code), str(data.get("errmsg") or "unknown error"), errcode=code)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
