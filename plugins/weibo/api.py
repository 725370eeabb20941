"""A small asynchronous client of the Weibo REST API (v2) and its messages API."""

from __future__ import annotations

from typing import Any

import httpx

from socialcrm.plugins import ChannelError, InvalidPayload
from socialcrm.plugins.weibo.push import load_json

DEFAULT_API_BASE_URL = "https://api.weibo.com/2/"
DEFAULT_MESSAGE_API_BASE_URL = "https://m.api.weibo.com/2/"

RATE_LIMIT_CODES = frozenset({10022, 10023, 10024})
"""IP, user, and user-per-API request limits."""
TOKEN_ERROR_CODES = frozenset({21327, 21332, *range(21314, 21320)})
"""Expired or invalid access tokens: the operator must authorize the app again."""


class WeiboApiError(ChannelError):
    """Weibo answered with an error (or not at all).

    ``code`` is Weibo's ``error_code`` as a string (``"10023"``), or ``HTTP_<status>`` /
    ``NETWORK`` when there was no error JSON.
    """

    status_code = 502

    def __init__(
        self,
        reason: str,
        *,
        code: str,
        http_status: int | None = None,
        rate_limited: bool = False,
        token_invalid: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, code=code)
        self.http_status = http_status
        self.rate_limited = rate_limited
        """True on Weibo's request limits: back off (with jitter) before the next call."""
        self.token_invalid = token_invalid
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_from(response: httpx.Response, doc: Any) -> WeiboApiError | None:
    code: int | None = None
    message = None
    if isinstance(doc, dict) and ("error_code" in doc or "error" in doc):
        raw_code = doc.get("error_code")
        try:
            code = int(raw_code) if raw_code is not None else None
        except (TypeError, ValueError):
            code = None
        message = str(doc.get("error") or "")
    elif response.is_success:
        return None
    rate_limited = response.status_code == 429 or code in RATE_LIMIT_CODES
    token_invalid = code in TOKEN_ERROR_CODES
    reason = message or response.reason_phrase or "request failed"
    if rate_limited:
        reason = f"Weibo rate limit: {reason}"
    elif token_invalid:
        reason = f"Weibo access token rejected (authorize the app again): {reason}"
    return WeiboApiError(
        reason,
        code=str(code) if code is not None else f"HTTP_{response.status_code}",
        http_status=response.status_code,
        rate_limited=rate_limited,
        token_invalid=token_invalid,
        retry_after=_retry_after(response),
    )


class WeiboApi:
    """Calls the Weibo API for one account's ``access_token``.

    Base URLs come from the account's settings so that tests (or a proxy) can stand in for
    Weibo. Errors raise ``WeiboApiError``.
    """

    def __init__(
        self,
        access_token: str,
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        message_api_base_url: str = DEFAULT_MESSAGE_API_BASE_URL,
        timeout: float = 10.0,
    ) -> None:
        self.access_token = access_token
        self.api_base_url = api_base_url.rstrip("/") + "/"
        self.message_api_base_url = message_api_base_url.rstrip("/") + "/"
        self.timeout = timeout

    async def _call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        form: dict[str, Any] | None = None,
    ) -> Any:
        query = {"access_token": self.access_token, **(params or {})} if method == "GET" else None
        body = {"access_token": self.access_token, **(form or {})} if method == "POST" else None
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.request(method, url, params=query, data=body)
        except httpx.TimeoutException as exc:
            raise WeiboApiError(f"Weibo did not answer in time: {exc}", code="TIMEOUT") from exc
        except httpx.HTTPError as exc:
            raise WeiboApiError(f"cannot reach Weibo: {exc}", code="NETWORK") from exc
        try:
            doc = load_json(response.content) if response.content else None
        except InvalidPayload:
            doc = None
        error = _error_from(response, doc)
        if error is not None:
            raise error
        if doc is None:
            raise WeiboApiError(
                "Weibo answered without JSON", code="BAD_RESPONSE", http_status=response.status_code
            )
        return doc

    async def reply(
        self, receiver_id: str, message_type: str, data: str, *, save_sender_box: bool
    ) -> Any:
        """``messages/reply.json``: a private message to a fan inside the reply window."""
        return await self._call(
            "POST",
            self.message_api_base_url + "messages/reply.json",
            form={
                "type": message_type,
                "data": data,
                "receiver_id": receiver_id,
                "save_sender_box": "1" if save_sender_box else "0",
            },
        )

    async def mentions(self, *, since_id: str | None, count: int, page: int) -> Any:
        """``statuses/mentions.json``: posts that mention the account, newest first."""
        params: dict[str, Any] = {"count": count, "page": page}
        if since_id:
            params["since_id"] = since_id
        return await self._call("GET", self.api_base_url + "statuses/mentions.json", params=params)

    async def comments_to_me(self, *, since_id: str | None, count: int, page: int) -> Any:
        """``comments/to_me.json``: comments on the account's posts, newest first."""
        params: dict[str, Any] = {"count": count, "page": page}
        if since_id:
            params["since_id"] = since_id
        return await self._call("GET", self.api_base_url + "comments/to_me.json", params=params)

    async def user(self, user_id: str) -> Any:
        """``users/show.json``: one user's public profile."""
        return await self._call(
            "GET", self.api_base_url + "users/show.json", params={"uid": user_id}
        )

    async def comment(self, status_id: str, text: str, *, reply_to: str | None = None) -> Any:
        """A public comment on a post (``comments/create.json``), or an answer to one of its
        comments (``comments/reply.json``) when ``reply_to`` is a comment id."""
        if reply_to:
            return await self._call(
                "POST",
                self.api_base_url + "comments/reply.json",
                form={"id": status_id, "cid": reply_to, "comment": text},
            )
        return await self._call(
            "POST",
            self.api_base_url + "comments/create.json",
            form={"id": status_id, "comment": text},
        )
