"""The ``wechat`` channel: official accounts (公众号) in plain, compatible and safe mode."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from socialcrm.plugins import (
    AccountContext,
    Channel,
    ChannelConfigError,
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
from socialcrm.plugins.wechat.api import PlatformClient, PlatformError, wechat_token_endpoint
from socialcrm.plugins.wechat.crypto import MessageCrypto, check_signature
from socialcrm.plugins.wechat.custom import UnsupportedMessage, custom_message
from socialcrm.plugins.wechat.events import message_events
from socialcrm.plugins.wechat.replies import UnsupportedReply, build_reply, encrypt_reply
from socialcrm.plugins.wechat.xml import parse_xml

log = logging.getLogger(__name__)

MODES = ("plain", "compatible", "safe")
DEFAULT_API_BASE_URL = "https://api.weixin.qq.com"
UNIONID_NAMESPACE = "wechat.unionid"
"""Identity namespace of unionids: one person across a brand's accounts and mini programs."""
TAG_NAMES_KEY = "tag_names"
TAG_NAMES_TTL = timedelta(hours=1)

SETTINGS = (
    "app_id",
    "app_secret",
    "token",
    "encoding_aes_key",
    "mode",
    "original_id",
    "api_base_url",
    "replay_window_seconds",
)


class WeChatChannel(Channel):
    """A WeChat official account: webhook messages and events in, replies and
    customer-service messages out.

    Settings: ``app_id``, ``app_secret``, ``token``, ``encoding_aes_key`` (required unless
    ``mode`` is ``plain``), ``mode`` (plain | compatible | safe; default safe when a key is
    given, else plain), optional ``original_id`` (gh_…), ``api_base_url`` and
    ``replay_window_seconds`` (see ``config.DEFAULT_REPLAY_WINDOW``).
    """

    name: ClassVar[str] = "wechat"
    title: ClassVar[str] = "WeChat official account"
    description: ClassVar[str] = (
        "Messages and events of a WeChat official account (公众号), passive replies and "
        "customer-service messages."
    )
    secret_settings: ClassVar[frozenset[str]] = frozenset(
        {"app_secret", "token", "encoding_aes_key"}
    )
    reply_deadline: ClassVar[float] = 4.0  # WeChat gives up after 5 s
    reply_window: ClassVar[timedelta | None] = timedelta(hours=48)
    max_body_bytes: ClassVar[int | None] = 64 * 1024  # real pushes are a few kilobytes

    def __init__(self, *, clock: config.Clock = time.time) -> None:
        self.clock = clock

    # Settings ----------------------------------------------------------------------------

    def validate_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Check and normalize an official account's settings."""
        config.check_known(settings, SETTINGS)
        key_given = bool(settings.get("encoding_aes_key"))
        mode = settings.get("mode") or ("safe" if key_given else "plain")
        if mode not in MODES:
            raise ChannelConfigError(
                f"mode must be one of {', '.join(MODES)} (got {mode!r})",
                code="INVALID_SETTING",
                field="mode",
            )
        normalized: dict[str, Any] = {
            "app_id": config.required_str(settings, "app_id", "App ID (AppID)"),
            "app_secret": config.required_str(settings, "app_secret", "App secret (AppSecret)"),
            "token": config.check_token(settings),
            "mode": mode,
            "api_base_url": config.check_base_url(settings, DEFAULT_API_BASE_URL),
            "replay_window_seconds": config.check_replay_window(settings),
        }
        if mode != "plain" or key_given:
            normalized["encoding_aes_key"] = config.check_aes_key(settings)
        original_id = config.optional_str(settings, "original_id", "Original id")
        if original_id:
            normalized["original_id"] = original_id
        return normalized

    def setup_instructions(self, account: AccountContext) -> str:
        """What to paste into 设置与开发 → 基本配置 → 服务器配置 of the WeChat console."""
        settings = account.settings
        mode = settings.get("mode", "plain")
        label = {"plain": "明文模式", "compatible": "兼容模式", "safe": "安全模式"}[mode]
        lines = [
            "In the WeChat Official Accounts console, open 设置与开发 → 基本配置 → 服务器配置 "
            "(Server configuration), click 修改配置 and enter:",
            f"  URL (服务器地址): {account.webhook_url}",
            f"  Token (令牌): {settings.get('token', '')}",
        ]
        if settings.get("encoding_aes_key"):
            lines.append(
                "  EncodingAESKey (消息加解密密钥): the key you entered when connecting the account"
            )
        lines += [
            f"  Message mode (消息加解密方式): {mode} ({label})",
            "Then click 提交 (WeChat checks the URL at once) and 启用 (enable).",
            "Add this server's outbound IP addresses to the IP whitelist (IP白名单) so that "
            "replies and profile look-ups can fetch an access token.",
        ]
        return "\n".join(lines)

    # Webhook -----------------------------------------------------------------------------

    async def handshake(self, request: WebhookRequest, account: AccountContext) -> WebhookResponse:
        """Answer the URL check: the ``echostr`` verbatim when the signature holds."""
        query = request.query
        timestamp = config.query_param(query, "timestamp")
        nonce = config.query_param(query, "nonce")
        echostr = config.query_param(query, "echostr")
        if timestamp is None or nonce is None or echostr is None:
            raise VerificationFailed("missing signature, timestamp, nonce or echostr")
        check_signature(query.get("signature"), account.settings["token"], timestamp, nonce)
        return WebhookResponse(echostr.encode("utf-8"))

    async def verify(self, request: WebhookRequest, account: AccountContext) -> VerifiedPayload:
        """Authenticate a push, decrypt it in safe/compatible mode, and check it parses.

        403 (``VerificationFailed``): bad ``signature``/``msg_signature``, a message
        encrypted for another app id, a plaintext push to a safe-mode account, a stale
        timestamp. 400 (``InvalidPayload``): bad base64, truncated ciphertext, bad padding,
        malformed XML, a DOCTYPE or entities, missing fields.
        """
        settings = account.settings
        limit = self.max_body_bytes
        if limit is not None and len(request.body) > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
        query = request.query
        timestamp = config.query_param(query, "timestamp")
        nonce = config.query_param(query, "nonce")
        if timestamp is None or nonce is None:
            raise VerificationFailed("missing timestamp or nonce")
        token = settings["token"]
        encrypted = query.get("encrypt_type") == "aes"
        if not encrypted or query.get("signature"):
            # In safe mode WeChat also sends the plain signature: check it when present.
            check_signature(query.get("signature"), token, timestamp, nonce)
        window = settings.get("replay_window_seconds", config.DEFAULT_REPLAY_WINDOW)
        config.check_timestamp(timestamp, window, self.clock)
        if encrypted:
            body = self._decrypt(request, account, timestamp, nonce)
        elif settings.get("mode") == "safe":
            # Only the AES envelope proves the sender knows the key, not just the token.
            raise VerificationFailed("the account is in safe mode: plaintext pushes are refused")
        else:
            body = request.body
        payload = VerifiedPayload(
            body=body, meta={"encrypted": encrypted, "timestamp": timestamp, "nonce": nonce}
        )
        if not encrypted:
            # The plain signature covers the timestamp and nonce only, not the body.
            payload.replay_key = f"{timestamp}:{nonce}"
            if window:
                payload.replay_window = timedelta(seconds=window)
        # Parse now, so that a payload that would fail later is refused before it is stored.
        self.parse(payload, account)
        return payload

    def _decrypt(
        self, request: WebhookRequest, account: AccountContext, timestamp: str, nonce: str
    ) -> bytes:
        crypto = _crypto(account)
        if crypto is None:
            raise InvalidPayload(
                "an encrypted push arrived but the account has no EncodingAESKey",
                code="NO_AES_KEY",
            )
        # The envelope is read before its signature can be checked: refuse what lacks one first.
        if not request.query.get("msg_signature"):
            raise VerificationFailed("the encrypted push has no msg_signature")
        envelope = parse_xml(request.body)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt.strip():
            raise InvalidPayload("the encrypted push has no Encrypt element", code="MISSING_FIELD")
        crypto.check_signature(request.query.get("msg_signature"), timestamp, nonce, encrypt)
        return crypto.decrypt(encrypt)

    def parse(self, payload: VerifiedPayload, account: AccountContext) -> list[InboundEvent]:
        """The normalized events of one push (always exactly one)."""
        return message_events(parse_xml(payload.body), self.name)

    def respond(
        self,
        payload: VerifiedPayload,
        account: AccountContext,
        replies: list[tuple[InboundEvent, OutboundMessage]],
    ) -> WebhookResponse:
        """``success``, or the first reply as passive-reply XML (encrypted when the push was)."""
        if not replies:
            return WebhookResponse(b"success")
        event, message = replies[0]
        msg = parse_xml(payload.body)
        if event.sender is None:
            return WebhookResponse(b"success")
        now = str(int(self.clock()))
        try:
            reply = build_reply(
                message,
                to_user=event.sender.external_id,
                from_user=str(msg.get("ToUserName") or account.settings.get("original_id", "")),
                create_time=int(now),
            )
        except UnsupportedReply as exc:
            # Never make the user see "该公众号暂时无法提供服务": acknowledge instead.
            log.warning("wechat %s: passive reply dropped: %s", account.slug, exc)
            return WebhookResponse(b"success")
        if payload.meta.get("encrypted"):
            crypto = _crypto(account)
            if crypto is not None:
                nonce = str(payload.meta.get("nonce") or now)
                reply = encrypt_reply(crypto, reply, timestamp=now, nonce=nonce)
        return WebhookResponse(reply, media_type="application/xml")

    # Platform API ------------------------------------------------------------------------

    async def fetch_profile(self, identity: IdentityRef, account: AccountContext) -> Profile | None:
        """The user's language, subscribe time, tags and unionid from ``/cgi-bin/user/info``.

        Returns None when the platform cannot answer: ingest never waits on WeChat's errors.
        """
        if identity.channel != self.name:
            return None
        client = _client(account)
        try:
            info = await client.get(
                "/cgi-bin/user/info", {"openid": identity.external_id, "lang": "zh_CN"}
            )
        except PlatformError as exc:
            log.info("wechat %s: user/info failed: %s", account.slug, exc)
            return None
        return await _profile_from_user_info(info, client, account)

    async def send(
        self, recipient: IdentityRef, message: OutboundMessage, account: AccountContext
    ) -> SendResult:
        """Send a customer-service message (allowed within 48 h of the user's last push).

        WeChat's refusals come back as ``SendResult(ok=False, error_code=str(errcode))``:
        ``45015`` outside the 48-hour window, ``45047`` too many messages in it.
        """
        if recipient.channel != self.name:
            return _failed("WRONG_CHANNEL", f"{recipient.channel} identities are not openids")
        try:
            body = custom_message(recipient.external_id, message)
        except UnsupportedMessage as exc:
            return _failed("INVALID_MESSAGE", str(exc))
        try:
            data = await _client(account).post("/cgi-bin/message/custom/send", body)
        except PlatformError as exc:
            return _failed(exc.code, exc.message)
        return SendResult(ok=True, status="sent", raw=data)


def _failed(code: str, message: str) -> SendResult:
    return SendResult(ok=False, status="failed", error_code=code, error_message=message)


def _crypto(account: AccountContext) -> MessageCrypto | None:
    settings = account.settings
    key = settings.get("encoding_aes_key")
    if not key:
        return None
    return MessageCrypto(settings["token"], key, settings["app_id"])


def _client(account: AccountContext) -> PlatformClient:
    settings = account.settings
    return PlatformClient(
        base_url=settings.get("api_base_url") or DEFAULT_API_BASE_URL,
        token_endpoint=wechat_token_endpoint(settings["app_id"], settings["app_secret"]),
        state=account.state,
    )


async def _profile_from_user_info(
    info: dict[str, Any], client: PlatformClient, account: AccountContext
) -> Profile:
    extra: dict[str, Any] = {
        key: info[key]
        for key in (
            "subscribe_time",
            "subscribe_scene",
            "qr_scene",
            "qr_scene_str",
            "remark",
            "groupid",
        )
        if info.get(key) not in (None, "")
    }
    unionid = info.get("unionid")
    tag_ids = [str(tag) for tag in info.get("tagid_list") or []]
    return Profile(
        language=info.get("language") or None,
        following=bool(info.get("subscribe")) if "subscribe" in info else None,
        tags=await _tag_names(tag_ids, client, account) if tag_ids else [],
        aliases=[IdentityRef(channel=UNIONID_NAMESPACE, external_id=unionid)] if unionid else [],
        extra=extra,
    )


async def _tag_names(
    tag_ids: list[str], client: PlatformClient, account: AccountContext
) -> list[str]:
    """Tag names for ids (user/info gives ids); cached an hour, ids kept when unknown."""
    names = await account.state.get(TAG_NAMES_KEY)
    if not isinstance(names, dict) or any(tag not in names for tag in tag_ids):
        try:
            data = await client.get("/cgi-bin/tags/get")
        except PlatformError as exc:
            log.info("wechat %s: tags/get failed: %s", account.slug, exc)
            return tag_ids
        names = {
            str(tag.get("id")): str(tag.get("name"))
            for tag in data.get("tags") or []
            if isinstance(tag, dict)
        }
        await account.state.set(TAG_NAMES_KEY, names, expires_at=datetime.now(UTC) + TAG_NAMES_TTL)
    return [names.get(tag, tag) for tag in tag_ids]
