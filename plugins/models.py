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
    """The customer to the brand."""
    OUTBOUND = "outbound"
    """The brand to the customer."""


class RelationKind(enum.StrEnum):
    """The kinds of customer-to-customer edges an event can reveal."""

    MENTION = "mention"
    """The sender mentioned the target."""
    REPOST = "repost"
    """The sender reposted the target's post."""
    REPLY = "reply"
    """The sender answered the target in public."""
    REFERRAL = "referral"
    """The target brought the sender ("old brings new"), usually through a referral code."""
    FOLLOW = "follow"
    """The sender follows the target (another customer, not the brand: a follow of the
    brand's account is ``Profile(following=True)``)."""


class MemberRole(enum.StrEnum):
    """A customer's role in a community."""

    MEMBER = "member"
    """An ordinary member."""
    ADMIN = "admin"
    """An owner or administrator of the community."""
    OPINION_LEADER = "opinion_leader"
    """A member whose word carries (set by a channel that knows, or by operators)."""


@dataclass(slots=True)
class IdentityRef:
    """One identity of a person on a channel.

    ``channel`` is the identity's namespace: usually the channel's name (``wechat``), or a
    finer one where the platform has several (``wechat.unionid``). ``external_id`` is the
    platform's stable id for the person in that namespace (an openid, a uid, an address).
    """

    channel: str
    """The identity's namespace: the channel's name, or a finer one (``wechat.unionid``)."""
    external_id: str
    """The platform's stable id for the person in that namespace (openid, uid, address)."""
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
    """The name the person shows on the platform."""
    avatar_url: str | None = None
    """A URL of their picture."""
    language: str | None = None
    """Their language (a BCP 47 tag such as ``zh-CN``)."""
    location: str | None = None
    """Where they say they are (free text: city, region, country)."""
    email: str | None = None
    """An email address the platform vouches for."""
    phone: str | None = None
    """A phone number the platform vouches for."""
    followers_count: int | None = None
    """How many follow them on the platform (feeds the influence score)."""
    following: bool | None = None
    """Whether the person follows the brand's account on this channel now. This is how a
    follow is expressed: an event of kind ``follow`` with ``Profile(following=True)`` (and
    ``unfollow`` with ``following=False``); the server records it on the identity and tells
    observers the customer was ``followed`` or ``unfollowed``. None leaves it as it was."""
    tags: list[str] = field(default_factory=list)
    """Platform tags to copy onto the customer (names, not ids)."""
    aliases: list[IdentityRef] = field(default_factory=list)
    """Other identities of the same person; identity resolution joins them into one customer."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping; stored on the identity as its profile."""


@dataclass(slots=True)
class Attachment:
    """A media item or link that came with an event."""

    kind: str
    """image, voice, video, file, link, sticker …"""
    url: str | None = None
    """Where the item can be fetched or opened."""
    media_id: str | None = None
    """The platform's id to fetch the media with."""
    title: str | None = None
    """A link's or file's title."""
    description: str | None = None
    """A link's summary or a file's description."""
    mime_type: str | None = None
    """The media type (``image/jpeg`` …) when the platform says."""


@dataclass(slots=True)
class Relation:
    """A customer-to-customer edge the event reveals: the sender ``kind`` → target.

    Give either ``target`` (an identity) or ``referral_code`` (a code the server resolves to
    the customer who owns it, such as a WeChat ``qrscene_`` key).
    """

    kind: RelationKind
    """What the sender did to the target."""
    target: IdentityRef | None = None
    """The other customer's identity."""
    referral_code: str | None = None
    """A code the server resolves to the customer who owns it (instead of ``target``)."""


@dataclass(slots=True)
class CommunityRef:
    """The community an event happened in (a group chat, a topic, a mailing list)."""

    external_id: str
    """The platform's stable id of the community (a group chat id, a topic)."""
    name: str | None = None
    """Its current name; a new name renames the stored community."""
    owner: IdentityRef | None = None
    """Who owns it on the platform."""
    dismissed: bool = False
    """True when the platform reports the community dissolved."""


@dataclass(slots=True)
class MemberChange:
    """Someone joined or left ``InboundEvent.community``."""

    identity: IdentityRef
    """Who joined or left."""
    joined: bool
    """True for joined, False for left."""
    role: MemberRole = MemberRole.MEMBER
    """Their role in the community from now on."""


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
    """Stable across the platform's retries; the server stores the event once per account
    and id (at most 255 characters)."""
    sender: IdentityRef | None
    """Who did it, or None for an event about no customer."""
    occurred_at: datetime
    """When it happened on the platform; timezone-aware."""
    kind: InteractionKind = InteractionKind.MESSAGE
    """What happened."""
    direction: Direction = Direction.INBOUND
    """Who spoke; outbound for the brand's own messages a platform reports back."""
    content_type: str = "text"
    """The platform's own type of the event: text, image, voice, event:subscribe …"""
    content: str | None = None
    """Human-readable text: the message, a voice recognition, a link title, a menu key."""
    attachments: list[Attachment] = field(default_factory=list)
    """Media and links that came with it."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured facts of the event (coordinates, event key, status) kept with it."""
    profile: Profile | None = None
    """What the event tells about the sender (and a follow: ``Profile(following=True)``)."""
    thread_id: str | None = None
    """The platform's conversation or thread id, when it has one."""
    in_reply_to: str | None = None
    """The external id of the interaction (on the same account) this one answers."""
    relations: list[Relation] = field(default_factory=list)
    """Customer-to-customer edges the event reveals (mentions, reposts, referrals …)."""
    community: CommunityRef | None = None
    """The community it happened in, if any."""
    member_changes: list[MemberChange] = field(default_factory=list)
    """Who joined or left ``community`` with this event."""
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
    """The text to send."""
    media_id: str | None = None
    """The platform's id of media uploaded beforehand (image, voice, video)."""
    articles: list[dict[str, Any]] = field(default_factory=list)
    """For news/article messages: dicts with title, description, url, pic_url."""
    data: dict[str, Any] = field(default_factory=dict)
    """Channel-specific fields (a mini program's app id and page path …)."""


@dataclass(slots=True)
class SendResult:
    """What a channel's ``send`` reports back; errors are results, not exceptions."""

    ok: bool
    """Whether the platform accepted the message."""
    external_id: str | None = None
    """The platform's id of the sent message, when it gives one."""
    status: str = "sent"
    """sent, delivered, failed …"""
    error_code: str | None = None
    """The platform's error code when it refused."""
    error_message: str | None = None
    """The platform's error message when it refused (shown to operators)."""
    raw: dict[str, Any] = field(default_factory=dict)
    """The platform's answer, as parsed (JSON-serializable)."""


@dataclass(slots=True)
class StoredInteraction:
    """An interaction as the server stored it; what observer hooks receive."""

    id: int
    """The interaction's id in the server."""
    workspace_id: int
    """The workspace (tenant) it belongs to."""
    customer_id: int
    """The customer it is about."""
    channel: str
    """The channel it came through (``manual`` for one recorded by hand)."""
    kind: str
    """An ``InteractionKind`` value."""
    direction: str
    """A ``Direction`` value."""
    content_type: str
    """The platform's own type of the event."""
    content: str | None
    """Its human-readable text."""
    occurred_at: datetime
    """When it happened; timezone-aware."""
    account_id: int | None = None
    """The connected account it came through, if any."""
    account_slug: str | None = None
    """That account's slug (the last part of its webhook URL)."""
    external_id: str | None = None
    """The platform's id of the event."""
    community_id: int | None = None
    """The community it happened in, if any."""
    data: dict[str, Any] = field(default_factory=dict)
    """The event's structured facts."""
    sender: IdentityRef | None = None
    """The identity that sent it, for inbound interactions from a channel."""


@dataclass(slots=True)
class CustomerChange:
    """A customer was created, updated, merged or tagged; what observer hooks receive."""

    workspace_id: int
    """The workspace (tenant) the customer belongs to."""
    customer_id: int
    """The customer that changed."""
    change: str
    """created, updated, merged, tagged, untagged, followed, unfollowed, or stage (the
    lifecycle stage moved: ``fields`` has ``from``, ``to``, ``source`` (rule, manual or
    cleared) and ``set_by``)."""
    fields: dict[str, Any] = field(default_factory=dict)
    """The details: the fields that changed and their new values, the tag, the merged
    customer's id, the stage move …"""


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """What the ``scrm_analyze_text`` hook says about a text.

    ``language`` is a BCP 47 primary tag (``zh``, ``en``, ``ja`` …) or ``und`` when nothing
    can be told; ``sentiment`` runs from -1 (negative) through 0 (neutral) to 1 (positive);
    ``is_complaint`` says the customer complains (about a product, a delivery, the service),
    which is more than being negative; ``keywords`` are the text's salient words, best first.
    """

    language: str
    """A BCP 47 primary tag, or ``und``."""
    sentiment: float
    """From -1 (negative) through 0 (neutral) to 1 (positive)."""
    is_complaint: bool = False
    """Whether the customer complains."""
    keywords: tuple[str, ...] = ()
    """The text's salient words, best first."""
