"""The Weibo channel: fans-service pushes in, private messages and comments out, and a poller
for the public side (posts that mention the brand, comments on its posts)."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from socialcrm.plugins import (
    AccountContext,
    Channel,
    ChannelConfigError,
    IdentityRef,
    InboundEvent,
    InvalidPayload,
    OutboundMessage,
    PollResult,
    Profile,
    SendResult,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
    WebhookResponse,
)
from socialcrm.plugins.weibo.api import (
    DEFAULT_API_BASE_URL,
    DEFAULT_MESSAGE_API_BASE_URL,
    WeiboApi,
    WeiboApiError,
)
from socialcrm.plugins.weibo.push import (
    CHANNEL,
    MAX_TEXT_CHARS,
    check_signature,
    encode_data,
    jsonable,
    load_json,
    parse_push,
    passive_reply_body,
    reply_data,
    timestamp_seconds,
    uid,
)
from socialcrm.plugins.weibo.timeline import comment_event, profile_of, status_event

logger = logging.getLogger(__name__)

POLL_SOURCES = ("mentions", "comments")
"""What the poller can read: ``statuses/mentions.json`` and ``comments/to_me.json``."""
MAX_COMMENT_CHARS = 140

DEFAULTS: dict[str, Any] = {
    "api_base_url": DEFAULT_API_BASE_URL,
    "message_api_base_url": DEFAULT_MESSAGE_API_BASE_URL,
    "poll_sources": list(POLL_SOURCES),
    "poll_count": 50,
    "poll_max_pages": 5,
    "save_sender_box": False,
    "replay_window_seconds": 600,
    "timeout_seconds": 10.0,
}


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class WeiboChannel(Channel):
    """Sina Weibo for a brand account bound to the fans-service platform.

    Settings: ``app_secret`` (required; signs the pushes), ``access_token`` (for sending,
    polling and profiles), ``uid`` and ``screen_name`` of the brand account (optional;
    pushes to another account are refused, self-mentions are skipped), ``app_key``,
    ``api_base_url``, ``message_api_base_url``, ``poll_sources`` (``mentions``,
    ``comments``), ``poll_count`` (1-200), ``poll_max_pages``, ``save_sender_box``,
    ``replay_window_seconds`` (0 turns the timestamp check off), ``timeout_seconds``.
    """

    name: ClassVar[str] = CHANNEL
    title: ClassVar[str] = "Weibo"
    description: ClassVar[str] = (
        "Sina Weibo: private messages and follows through the fans-service push, mentions, "
        "reposts and comments by polling, replies as private messages or comments."
    )
    secret_settings: ClassVar[frozenset[str]] = frozenset({"app_secret", "access_token"})
    reply_deadline: ClassVar[float] = 4.0
    """Weibo waits 5 seconds for the push's answer."""
    reply_window: ClassVar[timedelta | None] = timedelta(hours=48)
    max_body_bytes: ClassVar[int | None] = 64 * 1024
    """A push is a small JSON object; nothing legitimate comes close."""

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Check an account's settings and fill in defaults; raise ``ChannelConfigError``."""
        result = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
        problems: list[str] = []
        for key in ("app_secret",):
            if not isinstance(result.get(key), str) or not result[key].strip():
                problems.append(
                    f"{key} is required: the App Secret of the app bound to the "
                    "fans-service platform"
                )
        for key in ("access_token", "app_key", "screen_name"):
            if key in result and not isinstance(result[key], str):
                problems.append(f"{key} must be a string")
        if "uid" in result and uid(result["uid"]) is None:
            problems.append("uid must be the brand account's numeric Weibo uid")
        elif "uid" in result:
            result["uid"] = uid(result["uid"])
        for key in ("api_base_url", "message_api_base_url"):
            if not _is_http_url(result[key]):
                problems.append(f"{key} must be an http(s) URL")
        sources = result["poll_sources"]
        if not isinstance(sources, list) or any(s not in POLL_SOURCES for s in sources):
            problems.append(f"poll_sources must be a list drawn from {', '.join(POLL_SOURCES)}")
        for key, low, high in (
            ("poll_count", 1, 200),
            ("poll_max_pages", 1, 50),
            ("replay_window_seconds", 0, 86400),
        ):
            value = result[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(f"{key} must be an integer from {low} to {high}")
        timeout = result["timeout_seconds"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            problems.append("timeout_seconds must be a positive number")
        if not isinstance(result["save_sender_box"], bool):
            problems.append("save_sender_box must be true or false")
        if problems:
            # Every problem starts with its setting's name; the first one is pointed at.
            raise ChannelConfigError(
                "; ".join(problems), code="INVALID_SETTINGS", field=problems[0].split(" ", 1)[0]
            )
        return result

    def setup_instructions(self, account: AccountContext) -> str:
        """Where to paste the push URL on the Weibo side, and what else to authorize."""
        return (
            "In the Weibo fans-service platform (粉丝服务平台 → 高级功能 → 开发模式), set the "
            f"URL to {account.webhook_url} and bind the app whose App Secret you entered; "
            "Weibo checks the URL with a signed GET. For sending, polling and profiles, "
            "authorize the app on the brand account (OAuth2 with the 'direct_messages_write' "
            "and comment scopes) and store its access_token in the account settings."
        )

    def _settings(self, account: AccountContext) -> dict[str, Any]:
        return {**DEFAULTS, **account.settings}

    def _check(self, request: WebhookRequest, settings: dict[str, Any]) -> None:
        secret = settings.get("app_secret") or ""
        if not secret or not check_signature(secret, request.query):
            raise VerificationFailed("bad or missing signature", code="BAD_SIGNATURE")
        window = settings.get("replay_window_seconds") or 0
        if window:
            sent = timestamp_seconds(request.query.get("timestamp", ""))
            if sent is None or abs(time.time() - sent) > window:
                raise VerificationFailed(
                    "timestamp outside the replay window", code="STALE_TIMESTAMP"
                )

    async def handshake(
        self, request: WebhookRequest, account: AccountContext
    ) -> WebhookResponse | None:
        """Answer Weibo's URL check: the ``echostr`` unchanged, once the signature holds."""
        self._check(request, self._settings(account))
        echostr = request.query.get("echostr")
        if echostr is None:
            raise InvalidPayload("echostr is missing")
        return WebhookResponse(echostr, media_type="text/plain")

    async def verify(self, request: WebhookRequest, account: AccountContext) -> VerifiedPayload:
        """Check the signed query of a push; refuse pushes addressed to another account."""
        settings = self._settings(account)
        self._check(request, settings)
        if not request.body.strip():
            raise InvalidPayload("the push has no body")
        brand_uid = settings.get("uid")
        if brand_uid:
            doc = load_json(request.body)
            receiver = uid(doc.get("receiver_id")) if isinstance(doc, dict) else None
            if receiver is not None and receiver != str(brand_uid):
                raise VerificationFailed(
                    f"push for account {receiver}, not {brand_uid}", code="WRONG_RECEIVER"
                )
        timestamp = request.query.get("timestamp")
        nonce = request.query.get("nonce")
        window = settings.get("replay_window_seconds") or 0
        payload = VerifiedPayload(
            body=request.body,
            meta={
                "received_at": datetime.now(UTC).isoformat(),
                "timestamp": timestamp,
                "nonce": nonce,
            },
            # The signature covers the timestamp and nonce only, not the body.
            replay_key=f"{timestamp}:{nonce}",
        )
        if window:
            payload.replay_window = timedelta(seconds=window)
        return payload

    def parse(self, payload: VerifiedPayload, account: AccountContext) -> list[InboundEvent]:
        """One event per push (Weibo pushes one message at a time)."""
        return [parse_push(payload.body, payload.meta)]

    def respond(
        self,
        payload: VerifiedPayload,
        account: AccountContext,
        replies: list[tuple[InboundEvent, OutboundMessage]],
    ) -> WebhookResponse:
        """The first reply Weibo can carry, as the push's JSON answer; else an empty ack."""
        for event, message in replies:
            brand = event.data.get("receiver_id") or account.settings.get("uid")
            if not brand:
                logger.warning("weibo: cannot reply inline without the brand's uid")
                continue
            if message.content_type == "text" and len(message.text or "") > MAX_TEXT_CHARS:
                logger.warning("weibo: inline reply cut to 300 characters")
            if event.sender is None:
                continue
            body = passive_reply_body(str(brand), event.sender.external_id, message)
            if body is not None:
                return WebhookResponse(_dumps(body), media_type="application/json; charset=utf-8")
            logger.warning("weibo: no inline form for %r replies", message.content_type)
        return WebhookResponse(b"")

    def _api(self, settings: dict[str, Any]) -> WeiboApi:
        return WeiboApi(
            settings["access_token"],
            api_base_url=settings["api_base_url"],
            message_api_base_url=settings["message_api_base_url"],
            timeout=float(settings["timeout_seconds"]),
        )

    async def fetch_profile(self, identity: IdentityRef, account: AccountContext) -> Profile | None:
        """``users/show.json`` for a uid; None without a token or on an API error."""
        settings = self._settings(account)
        user_id = uid(identity.external_id)
        if identity.channel != CHANNEL or user_id is None or not settings.get("access_token"):
            return None
        try:
            user = await self._api(settings).user(user_id)
        except WeiboApiError as exc:
            logger.warning(
                "weibo: profile of %s not fetched: %s (%s)", user_id, exc.reason, exc.code
            )
            return None
        return profile_of(user) if isinstance(user, dict) else None

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        """A private message (``messages/reply.json``) or, for ``content_type="comment"``
        with ``data.status_id`` (and ``data.comment_id`` to answer a comment), a public
        comment. Failures come back as ``SendResult(ok=False)``."""
        settings = self._settings(account)
        if not settings.get("access_token"):
            return _failed("NOT_CONFIGURED", "the account has no access_token to send with")
        receiver = uid(recipient.external_id)
        if recipient.channel != CHANNEL or receiver is None:
            return _failed(
                "INVALID_RECIPIENT",
                f"{recipient.channel}/{recipient.external_id} is not a Weibo uid",
            )
        api = self._api(settings)
        try:
            if message.content_type == "comment":
                return await self._comment(api, message)
            message_type, data = reply_data(message)
            if message_type is None:
                return _failed(data.get("code", "UNSUPPORTED_MESSAGE"), data["error"])
            doc = await api.reply(
                receiver,
                message_type,
                encode_data(data),
                save_sender_box=bool(settings["save_sender_box"]),
            )
        except WeiboApiError as exc:
            return _api_failure(exc)
        return SendResult(ok=True, external_id=_result_id(doc), raw=_raw(doc))

    async def _comment(self, api: WeiboApi, message: OutboundMessage) -> SendResult:
        status_id = uid(message.data.get("status_id"))
        if status_id is None:
            return _failed("INVALID_MESSAGE", "a comment needs data.status_id (the post's id)")
        text = message.text or ""
        if not text.strip():
            return _failed("INVALID_MESSAGE", "a comment needs text")
        if len(text) > MAX_COMMENT_CHARS:
            return _failed(
                "TEXT_TOO_LONG",
                f"Weibo comments are limited to {MAX_COMMENT_CHARS} characters; "
                f"this one has {len(text)}",
            )
        doc = await api.comment(status_id, text, reply_to=uid(message.data.get("comment_id")))
        comment_id = _result_id(doc)
        return SendResult(
            ok=True, external_id=f"comment:{comment_id}" if comment_id else None, raw=_raw(doc)
        )

    async def poll(self, account: AccountContext, cursor: Any) -> PollResult | None:
        """New mentions and comments since the last poll; None without an access_token.

        The cursor holds each source's ``since_id``. A source that fails keeps its old
        cursor and is retried next time; when every source fails the first error is raised
        (a ``WeiboApiError``, with ``rate_limited`` set on Weibo's request limits).
        """
        settings = self._settings(account)
        if not settings.get("access_token"):
            return None
        api = self._api(settings)
        old = dict(cursor) if isinstance(cursor, dict) else {}
        new_cursor = dict(old)
        events: list[InboundEvent] = []
        errors: list[WeiboApiError] = []
        brand_uid = settings.get("uid")
        brand_name = settings.get("screen_name")
        for source in settings["poll_sources"]:
            try:
                items, since_id = await self._fetch(api, source, old.get(source), settings)
            except WeiboApiError as exc:
                errors.append(exc)
                logger.warning("weibo: polling %s failed: %s (%s)", source, exc.reason, exc.code)
                continue
            if since_id:
                new_cursor[source] = since_id
            for item in items:
                if source == "mentions":
                    event = status_event(item, brand_uid=brand_uid, brand_name=brand_name)
                else:
                    event = comment_event(item, brand_uid=brand_uid, brand_name=brand_name)
                if event is not None and event.sender and event.sender.external_id != brand_uid:
                    events.append(event)
        if errors and len(errors) == len(settings["poll_sources"]):
            raise errors[0]
        events.sort(key=lambda e: e.occurred_at)
        return PollResult(events=events, cursor=new_cursor)

    async def _fetch(
        self, api: WeiboApi, source: str, since_id: str | None, settings: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every item newer than ``since_id`` (up to ``poll_max_pages`` pages) and the new
        ``since_id``."""
        count = int(settings["poll_count"])
        call = api.mentions if source == "mentions" else api.comments_to_me
        key = "statuses" if source == "mentions" else "comments"
        items: list[dict[str, Any]] = []
        newest = int(since_id) if since_id and since_id.isdigit() else 0
        for page in range(1, int(settings["poll_max_pages"]) + 1):
            doc = await call(since_id=since_id, count=count, page=page)
            page_items = doc.get(key) if isinstance(doc, dict) else None
            if not isinstance(page_items, list):
                break
            for item in page_items:
                if not isinstance(item, dict):
                    continue
                item_id = uid(item.get("idstr")) or uid(item.get("id"))
                if item_id is None:
                    continue
                newest = max(newest, int(item_id))
                items.append(item)
            if len(page_items) < count:
                break
        return items, (str(newest) if newest else since_id)


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _failed(code: str, message: str) -> SendResult:
    return SendResult(ok=False, status="failed", error_code=code, error_message=message)


def _api_failure(exc: WeiboApiError) -> SendResult:
    return SendResult(
        ok=False,
        status="failed",
        error_code=exc.code,
        error_message=exc.reason,
        raw={
            "http_status": exc.http_status,
            "rate_limited": exc.rate_limited,
            "token_invalid": exc.token_invalid,
            "retry_after": exc.retry_after,
        },
    )


def _result_id(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    for key in ("idstr", "id", "msg_id", "mid"):
        value = uid(doc.get(key))
        if value:
            return value
    return None


def _raw(doc: Any) -> dict[str, Any]:
    value = jsonable(doc)
    return value if isinstance(value, dict) else {"response": value}
