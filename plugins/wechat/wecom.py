"""The ``wecom`` channel: WeCom (企业微信) external contacts and customer group chats."""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from socialcrm.plugins import (
    AccountContext,
    Channel,
    IdentityRef,
    InboundEvent,
    InvalidPayload,
    OutboundMessage,
    PayloadTooLarge,
    Profile,
    SendResult,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
    WebhookResponse,
)
from socialcrm.plugins.wechat import config
from socialcrm.plugins.wechat.api import PlatformClient, PlatformError, wecom_token_endpoint
from socialcrm.plugins.wechat.channel import UNIONID_NAMESPACE
from socialcrm.plugins.wechat.crypto import MessageCrypto
from socialcrm.plugins.wechat.wecom_events import CHANNEL, wecom_events
from socialcrm.plugins.wechat.xml import parse_xml

log = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com"
SETTINGS = (
    "corp_id",
    "corp_secret",
    "token",
    "encoding_aes_key",
    "agent_id",
    "api_base_url",
    "replay_window_seconds",
)


class WeComChannel(Channel):
    """A WeCom corp's customer-contact callbacks: external contacts and their group chats.

    Settings: ``corp_id`` (企业ID), ``token`` and ``encoding_aes_key`` of the callback (WeCom
    always encrypts), optional ``corp_secret`` (the 客户联系 secret, for profile look-ups and
    welcome messages), ``agent_id``, ``api_base_url`` and ``replay_window_seconds``.

    Sending: WeCom has no free-form message to an external contact. ``send`` supports the
    welcome message (``message.data["welcome_code"]`` from the add event, within 20 s);
    anything else is refused with ``UNSUPPORTED``.
    """

    name: ClassVar[str] = CHANNEL
    title: ClassVar[str] = "WeCom external contacts"
    description: ClassVar[str] = (
        "Customers added as WeCom (企业微信) external contacts and their customer group chats."
    )
    secret_settings: ClassVar[frozenset[str]] = frozenset(
        {"corp_secret", "token", "encoding_aes_key"}
    )
    reply_deadline: ClassVar[float] = 4.0
    max_body_bytes: ClassVar[int | None] = 64 * 1024

    def __init__(self, *, clock: config.Clock = time.time) -> None:
        self.clock = clock

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Check and normalize a WeCom corp's callback settings."""
        config.check_known(settings, SETTINGS)
        normalized: dict[str, Any] = {
            "corp_id": config.required_str(settings, "corp_id", "Corp ID (企业ID)"),
            "token": config.check_token(settings),
            "encoding_aes_key": config.check_aes_key(settings),
            "api_base_url": config.check_base_url(settings, DEFAULT_API_BASE_URL),
            "replay_window_seconds": config.check_replay_window(settings),
        }
        for name, label in (("corp_secret", "Corp secret"), ("agent_id", "Agent id")):
            value = settings.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            text = config.optional_str({name: value}, name, label)
            if text:
                normalized[name] = text
        return normalized

    def setup_instructions(self, account: AccountContext) -> str:
        """Where to paste the callback URL in the WeCom admin console."""
        return "\n".join(
            [
                "In the WeCom admin console (管理后台), open 客户与上下游 → 客户联系 → API "
                "(or your self-built app's 接收消息 settings), click 设置接收事件服务器 and "
                "enter:",
                f"  URL: {account.webhook_url}",
                f"  Token: {account.settings.get('token', '')}",
                "  EncodingAESKey: the key you entered when connecting the account",
                "Save: WeCom checks the URL at once. Then make sure the employees who serve "
                "customers are in the 客户联系 usable range (可使用范围).",
            ]
        )

    async def handshake(self, request: WebhookRequest, account: AccountContext) -> WebhookResponse:
        """Decrypt the encrypted ``echostr`` and answer its plaintext (no quotes, no newline)."""
        query = request.query
        timestamp = config.query_param(query, "timestamp")
        nonce = config.query_param(query, "nonce")
        echostr = config.query_param(query, "echostr")
        if timestamp is None or nonce is None or echostr is None:
            raise VerificationFailed("missing msg_signature, timestamp, nonce or echostr")
        # base64 has no spaces: a "+" decoded as a space by a form-style parser is restored.
        echostr = echostr.replace(" ", "+")
        crypto = _crypto(account)
        crypto.check_signature(query.get("msg_signature"), timestamp, nonce, echostr)
        return WebhookResponse(crypto.decrypt(echostr))

    async def verify(self, request: WebhookRequest, account: AccountContext) -> VerifiedPayload:
        """Check ``msg_signature``, decrypt ``Encrypt`` (corp id inside) and check it parses."""
        limit = self.max_body_bytes
        if limit is not None and len(request.body) > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
        query = request.query
        timestamp = config.query_param(query, "timestamp")
        nonce = config.query_param(query, "nonce")
        if timestamp is None or nonce is None or not query.get("msg_signature"):
            raise VerificationFailed("missing msg_signature, timestamp or nonce")
        # What can be checked without reading the body is checked first: parsing it is what
        # an unauthenticated sender could make expensive.
        window = account.settings.get("replay_window_seconds", config.DEFAULT_REPLAY_WINDOW)
        config.check_timestamp(timestamp, window, self.clock)
        envelope = parse_xml(request.body)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt.strip():
            raise InvalidPayload("the callback has no Encrypt element", code="MISSING_FIELD")
        crypto = _crypto(account)
        crypto.check_signature(query.get("msg_signature"), timestamp, nonce, encrypt)
        meta: dict[str, Any] = {"encrypted": True, "timestamp": timestamp, "nonce": nonce}
        agent_id = envelope.get("AgentID")
        if isinstance(agent_id, str) and agent_id:
            meta["agent_id"] = agent_id
        payload = VerifiedPayload(body=crypto.decrypt(encrypt), meta=meta)
        self.parse(payload, account)  # refuse what would fail later, before it is stored
        return payload

    def parse(self, payload: VerifiedPayload, account: AccountContext) -> list[InboundEvent]:
        """The normalized events of one callback (several for a multi-member chat change)."""
        return wecom_events(parse_xml(payload.body))

    def respond(
        self,
        payload: VerifiedPayload,
        account: AccountContext,
        replies: list[tuple[InboundEvent, OutboundMessage]],
    ) -> WebhookResponse:
        """An empty 200: contact and chat events take no passive reply."""
        return WebhookResponse(b"")

    async def fetch_profile(self, identity: IdentityRef, account: AccountContext) -> Profile | None:
        """Name, avatar, tags and unionid of an external contact (``externalcontact/get``)."""
        if identity.channel != self.name or not account.settings.get("corp_secret"):
            return None
        try:
            data = await _client(account).get(
                "/cgi-bin/externalcontact/get", {"external_userid": identity.external_id}
            )
        except PlatformError as exc:
            log.info("wecom %s: externalcontact/get failed: %s", account.slug, exc)
            return None
        return _profile(data)

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        """Send the welcome message of a new contact; WeCom allows nothing else here."""
        welcome_code = message.data.get("welcome_code")
        if not welcome_code:
            return _failed(
                "UNSUPPORTED",
                "WeCom cannot message an external contact freely: only a welcome message "
                "(data.welcome_code, within 20 s of the add event) can be sent",
            )
        if not account.settings.get("corp_secret"):
            return _failed("NOT_CONFIGURED", "the account has no corp_secret")
        body: dict[str, Any] = {"welcome_code": welcome_code}
        if message.text:
            body["text"] = {"content": message.text}
        attachments = message.data.get("attachments")
        if attachments:
            body["attachments"] = attachments
        if len(body) == 1:
            return _failed("INVALID_MESSAGE", "a welcome message needs text or attachments")
        try:
            data = await _client(account).post("/cgi-bin/externalcontact/send_welcome_msg", body)
        except PlatformError as exc:
            return _failed(exc.code, exc.message)
        return SendResult(ok=True, status="sent", raw=data)


def _failed(code: str, message: str) -> SendResult:
    return SendResult(ok=False, status="failed", error_code=code, error_message=message)


def _crypto(account: AccountContext) -> MessageCrypto:
    settings = account.settings
    return MessageCrypto(settings["token"], settings["encoding_aes_key"], settings["corp_id"])


def _client(account: AccountContext) -> PlatformClient:
    settings = account.settings
    return PlatformClient(
        base_url=settings.get("api_base_url") or DEFAULT_API_BASE_URL,
        token_endpoint=wecom_token_endpoint(settings["corp_id"], settings["corp_secret"]),
        state=account.state,
    )


def _profile(data: dict[str, Any]) -> Profile:
    contact = data.get("external_contact") or {}
    follow_users = [f for f in data.get("follow_user") or [] if isinstance(f, dict)]
    tags: list[str] = []
    for follow in follow_users:
        for tag in follow.get("tags") or []:
            name = tag.get("tag_name") if isinstance(tag, dict) else None
            if name and name not in tags:
                tags.append(name)
    unionid = contact.get("unionid")
    extra = {
        key: contact[key]
        for key in ("type", "gender", "corp_name", "corp_full_name", "position")
        if contact.get(key) not in (None, "")
    }
    extra["follow_users"] = [
        {
            k: follow[k]
            for k in ("userid", "remark", "createtime", "state", "add_way")
            if k in follow
        }
        for follow in follow_users
    ]
    return Profile(
        display_name=contact.get("name") or None,
        avatar_url=contact.get("avatar") or None,
        following=bool(follow_users) if "follow_user" in data else None,
        tags=tags,
        aliases=[IdentityRef(channel=UNIONID_NAMESPACE, external_id=unionid)] if unionid else [],
        extra=extra,
    )
