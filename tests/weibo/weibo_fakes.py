"""A local fake of the Weibo API (a Starlette app) and helpers for the Weibo tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from socialcrm.plugins import AccountContext
from socialcrm.plugins.testing import MemoryChannelState
from socialcrm.plugins.weibo import WeiboChannel

TOKEN = "test-token"
BRAND_UID = "1902538057"


@dataclass
class FakeWeibo:
    """What the fake API holds and records; tests fill and inspect it."""

    base_url: str = ""
    statuses: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, tuple[int, dict[str, Any] | str]] = field(default_factory=dict)
    """path → (HTTP status, body) to answer instead of the normal response."""

    def reset(self) -> None:
        self.statuses.clear()
        self.comments.clear()
        self.users.clear()
        self.requests.clear()
        self.sent.clear()
        self.fail.clear()


def _timeline(items: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
    since = int(params.get("since_id") or 0)
    count = int(params.get("count") or 20)
    page = int(params.get("page") or 1)
    newer = sorted((i for i in items if i["id"] > since), key=lambda i: -i["id"])
    return newer[(page - 1) * count : page * count]


def build_app(fake: FakeWeibo) -> Starlette:
    """The fake Weibo API: the handful of endpoints the channel calls."""

    async def handle(request: Request) -> Response:
        path = request.url.path
        if request.method == "POST":
            params = {k: str(v) for k, v in (await request.form()).items()}
        else:
            params = dict(request.query_params)
        fake.requests.append((request.method, path, params))
        if path in fake.fail:
            status, body = fake.fail[path]
            if isinstance(body, str):
                return Response(body, status_code=status)
            return JSONResponse(body, status_code=status)
        if params.get("access_token") != TOKEN:
            return JSONResponse(
                {"error": "invalid_access_token", "error_code": 21332, "request": path},
                status_code=401,
            )
        if path == "/m/2/messages/reply.json":
            data = json.loads(unquote(params["data"]))
            fake.sent.append({**params, "data": data})
            return JSONResponse({"id": 4000000000000000001 + len(fake.sent), "result": True})
        if path == "/api/2/statuses/mentions.json":
            return JSONResponse({"statuses": _timeline(fake.statuses, params)})
        if path == "/api/2/comments/to_me.json":
            return JSONResponse({"comments": _timeline(fake.comments, params)})
        if path == "/api/2/users/show.json":
            user = fake.users.get(params.get("uid", ""))
            if user is None:
                return JSONResponse(
                    {"error": "User does not exists!", "error_code": 20003}, status_code=400
                )
            return JSONResponse(user)
        if path in ("/api/2/comments/create.json", "/api/2/comments/reply.json"):
            fake.sent.append({"path": path, **params})
            return JSONResponse({"id": 5000000000000000001, "idstr": "5000000000000000001"})
        return JSONResponse({"error": "not found", "error_code": 10001}, status_code=404)

    return Starlette(
        routes=[Route("/{path:path}", handle, methods=["GET", "POST"])],
    )


def make_account(channel: WeiboChannel, **settings: Any) -> AccountContext:
    """An account context with validated settings."""
    return AccountContext(
        workspace_id=1,
        account_id=7,
        slug="brand",
        settings=channel.validate_settings({"app_secret": "xyz123xyz", **settings}),
        webhook_url="https://crm.example.com/webhooks/weibo/brand",
        state=MemoryChannelState(),
    )
