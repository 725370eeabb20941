"""``/webhooks/{channel}/{account}``: where platforms deliver, answered per the channel."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from socialcrm.plugins.channel import ChannelError, WebhookRequest, WebhookResponse
from socialcrm.server import access_log
from socialcrm.server.accounts import account_context, find_account
from socialcrm.server.ingest import receive_webhook
from socialcrm.server.services import Services

log = logging.getLogger(__name__)

# Every worker that serves webhooks keeps their signed query strings out of its access log.
access_log.install()


async def webhook_endpoint(request: Request) -> Response:
    """Route a platform's request to its channel: GET is the URL check, POST a delivery.

    Unknown channel or account: 404. Verification failure: 403. Malformed or nested too
    deeply: 400. Nothing is stored in any of those cases.
    """
    try:
        return await _handle(request)
    except RecursionError:
        # The last line of defence behind the channels' bounded readers: a hostile body nested
        # deep enough to exhaust a recursive walk is refused, and logged in one line.
        log.warning("webhook %s: refused (400): the payload nests too deeply", request.url.path)
        return PlainTextResponse("the payload nests too deeply", status_code=400)
    except (SQLAlchemyError, OSError, TimeoutError):
        # Nothing was acknowledged: the platform keeps the message and retries.
        log.exception("webhook %s: storage unavailable", request.url.path)
        return PlainTextResponse(
            "storage temporarily unavailable; retry later",
            status_code=503,
            headers={"Retry-After": "5"},
        )


async def _handle(request: Request) -> Response:
    services: Services = request.app.state.services
    channel_name = request.path_params["channel"]
    slug = request.path_params["account"]
    channel = services.plugins.channel(channel_name)
    if channel is None:
        return PlainTextResponse(f"unknown channel {channel_name!r}", status_code=404)
    async with services.sessions() as session:
        account = await find_account(session, channel_name, slug)
    if account is None:
        return PlainTextResponse(f"no {channel_name} account {slug!r}", status_code=404)
    body = await request.body()
    if channel.max_body_bytes is not None and len(body) > channel.max_body_bytes:
        return PlainTextResponse(
            f"request body larger than {channel.max_body_bytes} bytes", status_code=413
        )
    webhook_request = WebhookRequest(
        method=request.method,
        url=str(request.url),
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )
    try:
        if request.method == "GET":
            context = account_context(services.sessions, account, services.settings.public_url)
            answer = await channel.handshake(webhook_request, context)
            if answer is None:
                return PlainTextResponse(
                    f"{channel_name} has no URL verification: POST deliveries here",
                    status_code=405,
                )
            return _to_response(answer)
        return _to_response(await receive_webhook(services, channel, account, webhook_request))
    except ChannelError as exc:
        log.info("%s/%s: refused (%s): %s", channel_name, slug, exc.status_code, exc.reason)
        return PlainTextResponse(exc.reason, status_code=exc.status_code)


def _to_response(answer: WebhookResponse) -> Response:
    return Response(
        content=answer.body,
        status_code=answer.status_code,
        media_type=answer.media_type,
        headers=answer.headers,
    )
