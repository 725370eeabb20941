"""Inputs and payloads of the mutations.

Every payload carries ``userErrors``: expected failures (an unknown id, an invalid value) are
data there, and the payload's result field is null when the mutation changed nothing.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from socialcrm.schema.channel import ChannelAccount
from socialcrm.schema.community import Community
from socialcrm.schema.customer import Customer
from socialcrm.schema.enums import Direction, InteractionKind, LifecycleStage, MemberRole
from socialcrm.schema.errors import UserError
from socialcrm.schema.interaction import Interaction

# Customers


@strawberry.input(description="A customer created by hand (an imported contact, a walk-in).")
class CreateCustomerInput:
    """At least one of displayName, handle, email or phone is needed."""

    display_name: str | None = strawberry.field(
        default=None,
        description="The name shown to operators; defaults to the handle, email or phone.",
    )
    handle: str | None = strawberry.field(default=None, description="The customer's main handle.")
    email: str | None = strawberry.field(default=None, description="Email address.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    lifecycle_stage: LifecycleStage | None = strawberry.field(
        default=None,
        description="The initial lifecycle stage, EXPLORATION when not given; the stage rules "
        "take over from the customer's first interaction (`setLifecycleStage` pins one).",
    )
    tags: list[str] | None = strawberry.field(
        default=None,
        description="Tag names to put on the customer (trimmed; created on first use).",
    )
    attributes: JSON | None = strawberry.field(
        default=None, description="Free-form attributes: a JSON object."
    )


@strawberry.input(description="Changes to a customer; fields left out stay as they are.")
class UpdateCustomerInput:
    """Only the fields given change. Null clears handle, email and phone."""

    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The name shown to operators (not empty)."
    )
    handle: str | None = strawberry.field(
        default=strawberry.UNSET, description="The customer's main handle; null clears it."
    )
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="Email address; null clears it."
    )
    phone: str | None = strawberry.field(
        default=strawberry.UNSET, description="Phone number; null clears it."
    )
    lifecycle_stage: LifecycleStage | None = strawberry.field(
        default=strawberry.UNSET,
        description="Lifecycle stage: a different one is set by hand, as `setLifecycleStage` "
        "sets it (the rules leave it alone until `clearLifecycleStage`).",
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The customer's complete set of tags: replaces the current ones.",
    )
    attributes: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Attributes to merge into the stored ones, key by key; a key set to null "
        "is removed.",
    )


@strawberry.type(description="The result of `createCustomer`.")
class CreateCustomerPayload:
    """The new customer, or why it was not created."""

    customer: Customer | None = strawberry.field(
        default=None, description="The customer created; null when nothing was created."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the customer was not created; empty on success."
    )


@strawberry.type(description="The result of `updateCustomer`.")
class UpdateCustomerPayload:
    """The customer as it is now, or why it was not changed."""

    customer: Customer | None = strawberry.field(
        default=None, description="The customer after the change; null when nothing changed."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the customer was not changed; empty on success."
    )


@strawberry.type(description="The result of `tagCustomer` and `untagCustomer`.")
class TagCustomerPayload:
    """The customer with its tags now, and which tags this call changed."""

    customer: Customer | None = strawberry.field(
        default=None, description="The customer; null when the call failed."
    )
    changed_tags: list[str] = strawberry.field(
        default_factory=list,
        description="The tags this call added (or removed); those already there (or absent) "
        "are not listed.",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the tags were not changed; empty on success."
    )


@strawberry.type(description="The result of `mergeCustomers`.")
class MergeCustomersPayload:
    """The surviving customer, with everything of the merged one."""

    customer: Customer | None = strawberry.field(
        default=None, description="The survivor after the merge; null when nothing was merged."
    )
    merged_customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The global id of the merged customer; it now answers the survivor.",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was merged; empty on success."
    )


@strawberry.input(description="A lifecycle stage a person sets on a customer.")
class SetLifecycleStageInput:
    """The stage stays until `clearLifecycleStage`: the stage rules leave it alone."""

    customer_id: strawberry.ID = strawberry.field(
        description="The customer's global id (a merged customer's id means the survivor)."
    )
    stage: LifecycleStage = strawberry.field(description="The stage to set.")


@strawberry.input(description="A customer whose stage goes back to the stage rules.")
class ClearLifecycleStageInput:
    """The rules infer the stage again at once."""

    customer_id: strawberry.ID = strawberry.field(
        description="The customer's global id (a merged customer's id means the survivor)."
    )


@strawberry.type(description="The result of `setLifecycleStage` and `clearLifecycleStage`.")
class LifecycleStagePayload:
    """The customer with its stage now, or why it did not change."""

    customer: Customer | None = strawberry.field(
        default=None,
        description="The customer after the change (`lifecycleStage`, `lifecycleStageSetBy`, "
        "`stageHistory`); null when nothing changed.",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the stage did not change; empty on success."
    )


# Communities


@strawberry.input(description="A community created by hand or mirrored from a platform.")
class CreateCommunityInput:
    """A name is needed; channel and external id tie it to a platform's group or topic."""

    name: str = strawberry.field(description="The community's name.")
    description: str | None = strawberry.field(
        default=None, description="What the community is about."
    )
    channel: str | None = strawberry.field(
        default=None, description="The installed channel it lives on; null for one kept by hand."
    )
    external_id: str | None = strawberry.field(
        default=None,
        description="The platform's id of the community; unique per channel in the workspace.",
    )


@strawberry.type(description="The result of `createCommunity`.")
class CreateCommunityPayload:
    """The new community, or why it was not created."""

    community: Community | None = strawberry.field(
        default=None, description="The community created; null when nothing was created."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the community was not created; empty on success."
    )


@strawberry.type(description="The result of `addCommunityMember` and `removeCommunityMember`.")
class CommunityMemberPayload:
    """The community and the customer whose membership changed."""

    community: Community | None = strawberry.field(
        default=None, description="The community; null when the call failed."
    )
    customer: Customer | None = strawberry.field(
        default=None, description="The customer; null when the call failed."
    )
    role: MemberRole | None = strawberry.field(
        default=None, description="The customer's role now; null when no longer a member."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the membership did not change; empty on success."
    )


# Interactions


@strawberry.input(description="An interaction recorded by hand: a phone call, a store visit.")
class RecordInteractionInput:
    """Stored on the `manual` channel; observers and subscribers see it like any other."""

    customer_id: strawberry.ID = strawberry.field(
        description="The customer's global id (a merged customer's id means the survivor)."
    )
    kind: InteractionKind = strawberry.field(
        description="What happened: CALL, VISIT, NOTE … (not PURCHASE: use `recordPurchase`)."
    )
    content: str | None = strawberry.field(
        default=None, description="What was said or done, for people."
    )
    occurred_at: datetime | None = strawberry.field(
        default=None, description="When it happened (not in the future); now when not given."
    )
    direction: Direction = strawberry.field(
        default=Direction.INBOUND,
        description="INBOUND when the customer came to the brand (the default), OUTBOUND "
        "when the brand reached out.",
    )
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="The global id of the community it happened in, if any."
    )
    data: JSON | None = strawberry.field(
        default=None, description="Structured facts to keep with it: a JSON object."
    )


@strawberry.type(description="The result of `recordInteraction`.")
class RecordInteractionPayload:
    """The stored interaction, or why it was not stored."""

    interaction: Interaction | None = strawberry.field(
        default=None, description="The interaction stored; null when nothing was stored."
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was stored; empty on success."
    )


@strawberry.input(description="A purchase recorded by hand (a sale in a store, an order).")
class RecordPurchaseInput:
    """Stored as an inbound PURCHASE interaction on the `manual` channel; live scoring
    counts it toward the customer's value score."""

    customer_id: strawberry.ID = strawberry.field(
        description="The customer's global id (a merged customer's id means the survivor)."
    )
    amount: float = strawberry.field(description="What was paid, in `currency`: above zero.")
    currency: str = strawberry.field(
        description="The ISO 4217 code of the currency (`CNY`, `USD` …; case-insensitive)."
    )
    occurred_at: datetime | None = strawberry.field(
        default=None, description="When it happened (not in the future); now when not given."
    )
    data: JSON | None = strawberry.field(
        default=None,
        description="Structured facts to keep with it (an order number, the items): a JSON "
        "object. Its `amount` and `currency` are always the input's.",
    )
    note: str | None = strawberry.field(
        default=None, description="What was bought, for people (the interaction's content)."
    )


@strawberry.type(description="The result of `recordPurchase`.")
class RecordPurchasePayload:
    """The stored purchase, or why it was not stored."""

    interaction: Interaction | None = strawberry.field(
        default=None,
        description="The PURCHASE interaction stored; null when nothing was stored.",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was stored; empty on success."
    )


# Channels and messages


@strawberry.input(description="A channel account to connect: a WeChat official account …")
class ConnectChannelInput:
    """The channel plugin checks the settings; secret ones are stored, never shown."""

    channel: str = strawberry.field(description="The installed channel's name: `wechat`.")
    slug: str = strawberry.field(
        description="The account's part of its webhook URL (lower-case letters, digits, "
        "dashes); unique per channel."
    )
    name: str | None = strawberry.field(default=None, description="A name for operators.")
    settings: JSON = strawberry.field(
        description="The channel's settings as a JSON object (app id, secrets, modes …)."
    )


@strawberry.type(description="The result of `connectChannel`.")
class ConnectChannelPayload:
    """The connected account and what to do on the platform's side."""

    account: ChannelAccount | None = strawberry.field(
        default=None, description="The account connected; null when nothing was connected."
    )
    setup_instructions: str | None = strawberry.field(
        default=None,
        description="What the operator must do on the platform now (paste the webhook URL …).",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was connected; empty on success."
    )


@strawberry.input(description="An article of a news message.")
class ArticleInput:
    """One item of a news (article list) message."""

    title: str = strawberry.field(description="The article's title.")
    description: str | None = strawberry.field(default=None, description="A short summary.")
    url: str | None = strawberry.field(default=None, description="Where the article opens.")
    pic_url: str | None = strawberry.field(default=None, description="The cover picture's URL.")


@strawberry.input(description="A message from the brand to a customer.")
class SendMessageInput:
    """Sent through a connected account; by default the one the customer last wrote to."""

    customer_id: strawberry.ID = strawberry.field(description="The customer's global id.")
    channel: str | None = strawberry.field(
        default=None, description="Send on this channel (`wechat`); any of the customer's."
    )
    account_id: strawberry.ID | None = strawberry.field(
        default=None, description="Send through this connected account (a global id)."
    )
    content_type: str = strawberry.field(
        default="text",
        description="text, image, voice, video, news, miniprogram … as the channel supports.",
    )
    text: str | None = strawberry.field(default=None, description="The text, for text messages.")
    media_id: str | None = strawberry.field(
        default=None, description="The platform's media id, for image, voice and video."
    )
    articles: list[ArticleInput] | None = strawberry.field(
        default=None, description="The articles, for news messages."
    )
    data: JSON | None = strawberry.field(
        default=None,
        description="Channel-specific fields as a JSON object (a mini program's app id and "
        "page path …).",
    )


@strawberry.type(description="The result of `sendMessage`.")
class SendMessagePayload:
    """The outbound interaction, with its delivery status."""

    interaction: Interaction | None = strawberry.field(
        default=None,
        description="The outbound interaction stored; it records a platform's refusal with "
        "delivery status `failed`. Null when nothing was attempted.",
    )
    user_errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why the message was not sent; empty on success."
    )
