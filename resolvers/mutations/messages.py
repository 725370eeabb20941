"""Message mutations: the brand sends a message to a customer through a channel."""

from __future__ import annotations

import strawberry

from socialcrm.plugins.models import OutboundMessage
from socialcrm.resolvers.mutations.base import (
    check_json_object,
    decode_id,
    require_scope,
    services_of,
    transaction,
    user_error,
)
from socialcrm.schema.errors import UserError, UserErrorCode
from socialcrm.schema.interaction import Interaction
from socialcrm.schema.mutation_types import SendMessageInput, SendMessagePayload
from socialcrm.server import customers
from socialcrm.server.errors import ChangeRejected
from socialcrm.server.outbound import SendRefused, send_message

MAX_TEXT_LENGTH = 20_000
"""The longest text accepted here; channels enforce their own, lower limits."""


def _message(data: SendMessageInput) -> OutboundMessage:
    """The outbound message of the input, with the checks every channel shares."""
    content_type = data.content_type.strip().lower()
    if not content_type:
        raise ChangeRejected("contentType cannot be empty", code="REQUIRED", field="contentType")
    if content_type == "text" and not (data.text and data.text.strip()):
        raise ChangeRejected("a text message needs text", code="REQUIRED", field="text")
    if data.text is not None and len(data.text) > MAX_TEXT_LENGTH:
        raise ChangeRejected(
            f"text is longer than {MAX_TEXT_LENGTH} characters", code="INVALID", field="text"
        )
    articles = [
        {
            key: value
            for key, value in (
                ("title", article.title),
                ("description", article.description),
                ("url", article.url),
                ("pic_url", article.pic_url),
            )
            if value is not None
        }
        for article in data.articles or ()
    ]
    if content_type == "news" and not articles:
        raise ChangeRejected("a news message needs articles", code="REQUIRED", field="articles")
    return OutboundMessage(
        content_type=content_type,
        text=data.text,
        media_id=data.media_id,
        articles=articles,
        data=check_json_object(data.data, "data"),
    )


async def send(info: strawberry.Info, data: SendMessageInput) -> SendMessagePayload:
    """Send through ``socialcrm.server.outbound``; a platform's refusal is a CHANNEL_ERROR userError
    next to the stored (failed) outbound interaction."""
    viewer = require_scope(info, "write")
    services = services_of(info)
    try:
        customer_id = decode_id(data.customer_id, "Customer", "customerId")
        account_id = (
            decode_id(data.account_id, "ChannelAccount", "accountId")
            if data.account_id is not None
            else None
        )
        message = _message(data)
        async with transaction(services) as session:
            customer = await customers.get_customer(
                session, viewer.workspace_id, customer_id, field_name="customerId"
            )
        assert customer.id is not None
        outcome = await send_message(
            services,
            viewer.workspace_id,
            customer.id,
            message,
            channel=(data.channel or "").strip() or None,
            account_id=account_id,
        )
    except (ChangeRejected, SendRefused) as exc:
        sent = {"customerId": data.customer_id, "accountId": data.account_id}
        return SendMessagePayload(user_errors=[user_error(exc, sent)])
    interaction = Interaction.from_row(outcome.interaction)
    result = outcome.result
    if result.ok:
        return SendMessagePayload(interaction=interaction)
    reason = result.error_message or "the platform refused the message"
    if result.error_code:
        reason = f"{result.error_code}: {reason}"
    error = UserError(field=None, message=reason, code=UserErrorCode.CHANNEL_ERROR)
    return SendMessagePayload(interaction=interaction, user_errors=[error])
