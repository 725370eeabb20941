"""The shared normalized models: what a channel plugin hands to the server and gets back.

Every channel, built in or a partner's, turns a network's messages into these plain
dataclasses. They carry no database rows and no server objects, so a plugin depends on
nothing but this package.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class InteractionKind(enum.StrEnum):
    """What happened. Platforms' own sub-types go in ``InboundEvent.content_type``."""

    MESSAGE = "message"
    """A direct message to or from the brand (text, image, voice, link …)."""
    COMMENT = "comment"
    """A public comment on a post."""
    MENTION = "mention"
    """A public post that mentions the brand."""
    REPOST = "repost"
    """A public repost of a post."""
    FOLLOW = "follow"
    """The customer followed (subscribed to) the brand's account."""
    UNFOLLOW = "unfollow"
    """The customer stopped following the brand's account."""
    SCAN = "scan"
    """The customer scanned a parametric (channel or referral) QR code."""
    CLICK = "click"
    """The customer clicked a menu item or button."""
    VIEW = "view"
    """The customer opened a link from the account's menu."""
    LOCATION = "location"
    """The customer's client reported a location."""
    JOIN = "join"
    """The customer joined a community."""
    LEAVE = "leave"
    """The customer left a community."""
    DELIVERY = "delivery"
    """A delivery report for a message the brand sent earlier."""
    CALL = "call"
    """A phone call, recorded by hand."""
    VISIT = "visit"
    """A store visit or meeting, recorded by hand."""
    NOTE = "note"
    """A note an operator wrote about the customer."""
    PURCHASE = "purchase"
    """A purchase; its ``data`` carries ``amount`` (> 0) and ``currency`` (ISO 4217)."""
    OTHER = "other"
    """Anything else: a kind this channel (or its platform version) does not know yet."""


class Direction(enum.StrEnum):
    """Who spoke: the customer (inbound) or the brand (outbound)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class RelationKind(enum.StrEnum):
    """The kinds of customer-to-customer edges an event can reveal."""

    MENTION = "mention"
    REPOST = "repost"
    REPLY = "reply"
    REFERRAL = "referral"
    FOLLOW = "follow"


class MemberRole(enum.StrEnum):
    """A customer's role in a community."""

    MEMBER = "member"
    ADMIN = "admin"
    OPINION_LEADER = "opinion_leader"


@dataclass(slots=True)
class IdentityRef:
    """One identity of a person on a channel.

    ``channel`` is the identity's namespace: usually the channel's name (``wechat``), or a
    finer one where the platform has several (``wechat.unionid``). ``external_id`` is the
    platform's stable id for the person in that namespace (an openid, a uid, an address).
    """

    channel: str
    external_id: str
    handle: str | None = None
    """A human-readable name on the platform: screen name, nickname, address."""


@dataclass(slots=True)
class Profile:
    """Facts about a person that a channel learned; the server copies them to the customer.

    Fields left as None change nothing. ``aliases`` are other identities known to be the same
    person (a WeChat unionid, a verified email): identity resolution joins them into one
    customer.
    """

    display_name: str | None = None
    avatar_url: str | None = None
    language: str | None = None
    location: str | None = None
    email: str | None = None
    phone: str | None = None
    followers_count: int | None = None
    following: bool | None = None
    """Whether the person follows the brand's account on this channel now."""
    tags: list[str] = field(default_factory=list)
    """Platform tags to copy onto the customer (names, not ids)."""
    aliases: list[IdentityRef] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping; stored on the identity as its profile."""


@dataclass(slots=True)
class Attachment:
    """A media item or link that came with an event."""

    kind: str
    """image, voice, video, file, link, sticker …"""
    url: str | None = None
    media_id: str | None = None
    """The platform's id to fetch the media with."""
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None


@dataclass(slots=True)
class Relation:
    """A customer-to-customer edge the event reveals: the sender ``kind`` → target.

    Give either ``target`` (an identity) or ``referral_code`` (a code the server resolves to
    the customer who owns it, such as a WeChat ``qrscene_`` key).
    """

    kind: RelationKind
    target: IdentityRef | None = None
    referral_code: str | None = None


@dataclass(slots=True)
class CommunityRef:
    """The community an event happened in (a group chat, a topic, a mailing list)."""

    external_id: str
    name: str | None = None
    owner: IdentityRef | None = None
    dismissed: bool = False
    """True when the platform reports the community dissolved."""


@dataclass(slots=True)
class MemberChange:
    """Someone joined or left ``InboundEvent.community``."""

    identity: IdentityRef
    joined: bool
    role: MemberRole = MemberRole.MEMBER


@dataclass(slots=True)
class InboundEvent:
    """One normalized thing that happened on a channel.

    ``external_id`` must be stable across the platform's retries: the server stores an event
    once per (account, external_id). Use the platform's message id where it has one, and a
    key built from the event's own fields (sender, time, type) where it has none.

    ``sender`` is None for an event that concerns no customer (a group chat renamed or
    dismissed, a platform notice): the server applies its ``community`` and
    ``member_changes`` and keeps the payload in its inbox, but records no interaction.
    """

    external_id: str
    sender: IdentityRef | None
    occurred_at: datetime
    """Timezone-aware."""
    kind: InteractionKind = InteractionKind.MESSAGE
    direction: Direction = Direction.INBOUND
    content_type: str = "text"
    """The platform's own type of the event: text, image, voice, event:subscribe …"""
    content: str | None = None
    """Human-readable text: the message, a voice recognition, a link title, a menu key."""
    attachments: list[Attachment] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """Structured facts of the event (coordinates, event key, status) kept with it."""
    profile: Profile | None = None
    thread_id: str | None = None
    in_reply_to: str | None = None
    """The external id of the interaction (on the same account) this one answers."""
    relations: list[Relation] = field(default_factory=list)
    community: CommunityRef | None = None
    member_changes: list[MemberChange] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    """The platform's payload for this event, as parsed (JSON-serializable)."""
    wants_reply: bool = False
    """True when the platform lets the server answer this event inline (a passive reply)."""


@dataclass(slots=True)
class OutboundMessage:
    """A message the brand sends: an inline (passive) reply or an active send."""

    content_type: str = "text"
    """text, image, voice, video, news, miniprogram … as the channel supports."""
    text: str | None = None
    media_id: str | None = None
    articles: list[dict[str, Any]] = field(default_factory=list)
    """For news/article messages: dicts with title, description, url, pic_url."""
    data: dict[str, Any] = field(default_factory=dict)
    """Channel-specific fields (a mini program's app id and page path …)."""


@dataclass(slots=True)
class SendResult:
    """What a channel's ``send`` reports back; errors are results, not exceptions."""

    ok: bool
    external_id: str | None = None
    status: str = "sent"
    """sent, delivered, failed …"""
    error_code: str | None = None
    error_message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class StoredInteraction:
    """An interaction as the server stored it; what observer hooks receive."""

    id: int
    workspace_id: int
    customer_id: int
    channel: str
    kind: str
    direction: str
    content_type: str
    content: str | None
    occurred_at: datetime
    account_id: int | None = None
    account_slug: str | None = None
    external_id: str | None = None
    community_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    sender: IdentityRef | None = None


@dataclass(slots=True)
class CustomerChange:
    """A customer was created, updated, merged or tagged; what observer hooks receive."""

    workspace_id: int
    customer_id: int
    change: str
    """created, updated, merged, tagged, untagged, followed, unfollowed, or stage (the
    lifecycle stage moved: ``fields`` has ``from``, ``to``, ``source`` (rule, manual or
    cleared) and ``set_by``)."""
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """What the ``scrm_analyze_text`` hook says about a text.

    ``language`` is a BCP 47 primary tag (``zh``, ``en``, ``ja`` …) or ``und`` when nothing
    can be told; ``sentiment`` runs from -1 (negative) through 0 (neutral) to 1 (positive);
    ``is_complaint`` says the customer complains (about a product, a delivery, the service),
    which is more than being negative; ``keywords`` are the text's salient words, best first.
    """

    language: str
    sentiment: float
    is_complaint: bool = False
    keywords: tuple[str, ...] = ()
