"""Request limits enforced before any handler runs."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised inside the app when a streamed body passes the limit."""


class BodySizeLimit:
    """Answers 413 to HTTP requests whose body is larger than ``max_bytes``.

    Checks ``Content-Length`` up front and counts streamed chunks too, so a chunked body
    cannot slip past the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reject(scope, receive, send, 400, "invalid Content-Length")
                    return
                if declared > self.max_bytes:
                    await _reject(scope, receive, send, 413, self._reason())
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(scope, receive, send, 413, self._reason())

    def _reason(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"


async def _reject(scope: Scope, receive: Receive, send: Send, status: int, reason: str) -> None:
    await PlainTextResponse(reason, status_code=status)(scope, receive, send)
