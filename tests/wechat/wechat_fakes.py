"""Test helpers for the WeChat and WeCom channels.

* ``ReferenceCrypto``: an encryptor written from the protocol text (wechat.md) with the
  ``cryptography`` primitives, sharing no code with ``socialcrm.plugins.wechat.crypto``, to
  cross-check it.
* ``FakeWeChat``: a fake of api.weixin.qq.com and qyapi.weixin.qq.com (token, user info,
  tags, custom send, external contact, welcome message) with their documented error codes.
* request builders for signed (and encrypted) webhook calls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from socialcrm.plugins import AccountContext, Channel, WebhookRequest
from socialcrm.plugins.testing import MemoryChannelState

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors.json").read_text(encoding="utf-8")
)

APP_ID = "wxb11529c136998cb6"
APP_SECRET = "s3cr3t-app-secret"
TOKEN = "pamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ORIGINAL_ID = "gh_10f6c3c3ac5a"
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
CORP_ID = "ww1436e0e65a779aee"
CORP_SECRET = "corp-secret"
WECOM_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
WECOM_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"


def make_account(channel: Channel, slug: str = "main", **settings: Any) -> AccountContext:
    """An account context with validated settings and a fresh in-memory state."""
    return AccountContext(
        workspace_id=1,
        account_id=1,
        slug=slug,
        settings=channel.validate_settings(settings),
        webhook_url=f"https://crm.example.com/webhooks/{channel.name}/{slug}",
        state=MemoryChannelState(),
    )


class ReferenceCrypto:
    """The envelope, straight from the protocol text (independent of the plugin's code)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.receive_id = receive_id.encode()

    def sign(self, *parts: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, *parts])).encode()).hexdigest()

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        body = (random16 or os.urandom(16)) + struct.pack(">I", len(message))
        body += message + self.receive_id
        padder = padding.PKCS7(256).padder()  # a 32-byte block, in bits
        padded = padder.update(body) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()

    def decrypt(self, encrypt: str) -> tuple[bytes, bytes]:
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        padded = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
        unpadder = padding.PKCS7(256).unpadder()
        body = unpadder.update(padded) + unpadder.finalize()
        (length,) = struct.unpack(">I", body[16:20])
        return body[20 : 20 + length], body[20 + length :]

    def encrypt_raw(self, padded: bytes) -> str:
        """AES-CBC over bytes as given (for bad-padding tests)."""
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def request(
    method: str, query: dict[str, str], body: bytes = b"", path: str = "/webhooks/wechat/main"
) -> WebhookRequest:
    """A framework-free webhook request."""
    return WebhookRequest(
        method=method,
        url=f"https://crm.example.com{path}?{urlencode(query)}",
        query=query,
        headers={"content-type": "text/xml"},
        body=body,
    )


def plain_query(token: str, timestamp: str, nonce: str = "nonce1", **extra: str) -> dict[str, str]:
    """Query of a plain-mode push, signed with ``token``."""
    sig = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": timestamp, "nonce": nonce, **extra}


def encrypted_push(
    ref: ReferenceCrypto,
    plaintext: bytes,
    timestamp: str,
    nonce: str = "nonce1",
    *,
    outer: dict[str, str] | None = None,
) -> tuple[dict[str, str], bytes]:
    """Query and body of a safe-mode push encrypted by the reference implementation."""
    encrypt = ref.encrypt(plaintext)
    return encrypted_envelope(ref, encrypt, timestamp, nonce, outer=outer)


def encrypted_envelope(
    ref: ReferenceCrypto,
    encrypt: str,
    timestamp: str,
    nonce: str = "nonce1",
    *,
    outer: dict[str, str] | None = None,
) -> tuple[dict[str, str], bytes]:
    """Query and body around a given ciphertext, with valid signatures."""
    fields = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in (outer or {}).items())
    body = f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName>{fields}"
    body += f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    query = {
        "signature": ref.sign(timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": OPENID,
        "encrypt_type": "aes",
        "msg_signature": ref.sign(timestamp, nonce, encrypt),
    }
    return query, body.encode()


def xml_message(**fields: str | int) -> bytes:
    """A flat push XML with CDATA strings and bare numbers."""
    parts = []
    for name, value in fields.items():
        inner = str(value) if isinstance(value, int) else f"<![CDATA[{value}]]>"
        parts.append(f"<{name}>{inner}</{name}>")
    return ("<xml>" + "".join(parts) + "</xml>").encode()


# The fake platform API ---------------------------------------------------------------------


@dataclass
class FakeWeChat:
    """State of the fake API; tests arrange users and failures and inspect what was sent."""

    base_url: str = ""
    token_fetches: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    welcome: list[dict[str, Any]] = field(default_factory=list)
    out_of_window: set[str] = field(default_factory=set)
    too_many: set[str] = field(default_factory=set)
    down: set[str] = field(default_factory=set)
    """Paths answering HTTP 500."""

    def reset(self) -> None:
        """Forget everything (between tests)."""
        base_url = self.base_url
        self.__init__()  # type: ignore[misc]
        self.base_url = base_url

    def expire_tokens(self) -> None:
        """Make every issued token expired (WeChat then answers 42001)."""
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    def _issue(self) -> str:
        self.token_fetches += 1
        token = f"ACCESS_TOKEN_{self.token_fetches}"
        self.valid_tokens.add(token)
        return token

    def check_token(self, token: str | None) -> dict[str, Any] | None:
        """The error answer for a bad token, or None when it is valid."""
        if token in self.valid_tokens:
            return None
        if token in self.expired_tokens:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}


def build_fake_app(fake: FakeWeChat) -> Starlette:
    """The Starlette app serving ``fake``."""

    def guard(request: Request) -> JSONResponse | None:
        if request.url.path in fake.down:
            return JSONResponse({"error": "down"}, status_code=500)
        error = fake.check_token(request.query_params.get("access_token"))
        return JSONResponse(error) if error else None

    async def token(request: Request) -> JSONResponse:
        q = request.query_params
        if q.get("grant_type") != "client_credential" or q.get("appid") != APP_ID:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != APP_SECRET:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        return JSONResponse({"access_token": fake._issue(), "expires_in": 7200})

    async def gettoken(request: Request) -> JSONResponse:
        q = request.query_params
        if q.get("corpid") != CORP_ID or q.get("corpsecret") != CORP_SECRET:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid secret"})
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": fake._issue(), "expires_in": 7200}
        )

    async def user_info(request: Request) -> JSONResponse:
        if (error := guard(request)) is not None:
            return error
        user = fake.users.get(request.query_params.get("openid", ""))
        if user is None:
            return JSONResponse({"errcode": 40003, "errmsg": "invalid openid"})
        return JSONResponse(user)

    async def tags_get(request: Request) -> JSONResponse:
        if (error := guard(request)) is not None:
            return error
        return JSONResponse({"tags": fake.tags})

    async def custom_send(request: Request) -> JSONResponse:
        if (error := guard(request)) is not None:
            return error
        body = json.loads(await request.body())
        if body.get("touser") in fake.out_of_window:
            return JSONResponse({"errcode": 45015, "errmsg": "response out of time limit"})
        if body.get("touser") in fake.too_many:
            return JSONResponse({"errcode": 45047, "errmsg": "out of response count limit"})
        fake.sent.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def external_get(request: Request) -> JSONResponse:
        if (error := guard(request)) is not None:
            return error
        contact = fake.contacts.get(request.query_params.get("external_userid", ""))
        if contact is None:
            return JSONResponse({"errcode": 84061, "errmsg": "not external contact"})
        return JSONResponse({"errcode": 0, "errmsg": "ok", **contact})

    async def send_welcome(request: Request) -> JSONResponse:
        if (error := guard(request)) is not None:
            return error
        body = json.loads(await request.body())
        if body.get("welcome_code") != "WELCOMECODE":
            return JSONResponse({"errcode": 41051, "errmsg": "externaluser has started chatting"})
        fake.welcome.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    return Starlette(
        routes=[
            Route("/cgi-bin/token", token),
            Route("/cgi-bin/gettoken", gettoken),
            Route("/cgi-bin/user/info", user_info),
            Route("/cgi-bin/tags/get", tags_get),
            Route("/cgi-bin/message/custom/send", custom_send, methods=["POST"]),
            Route("/cgi-bin/externalcontact/get", external_get),
            Route("/cgi-bin/externalcontact/send_welcome_msg", send_welcome, methods=["POST"]),
        ]
    )
