"""The socialcrm plugin contract: everything a channel plugin may import.

Partners import from here only::

    from socialcrm.plugins import Channel, InboundEvent, IdentityRef, hookimpl
"""

from socialcrm.plugins.channel import (
    AccountContext,
    Channel,
    ChannelConfigError,
    ChannelError,
    ChannelState,
    InvalidPayload,
    PayloadTooLarge,
    PollResult,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
    WebhookResponse,
)
from socialcrm.plugins.models import (
    Attachment,
    CommunityRef,
    CustomerChange,
    Direction,
    IdentityRef,
    InboundEvent,
    InteractionKind,
    MemberChange,
    MemberRole,
    OutboundMessage,
    Profile,
    Relation,
    RelationKind,
    SendResult,
    StoredInteraction,
    TextAnalysis,
)
from socialcrm.plugins.payload import MAX_NESTING, read_json, read_xml
from socialcrm.plugins.spec import hookimpl, hookspec

__all__ = [
    "MAX_NESTING",
    "AccountContext",
    "Attachment",
    "Channel",
    "ChannelConfigError",
    "ChannelError",
    "ChannelState",
    "CommunityRef",
    "CustomerChange",
    "Direction",
    "IdentityRef",
    "InboundEvent",
    "InteractionKind",
    "InvalidPayload",
    "MemberChange",
    "MemberRole",
    "OutboundMessage",
    "PayloadTooLarge",
    "PollResult",
    "Profile",
    "Relation",
    "RelationKind",
    "SendResult",
    "StoredInteraction",
    "TextAnalysis",
    "VerificationFailed",
    "VerifiedPayload",
    "WebhookRequest",
    "WebhookResponse",
    "hookimpl",
    "hookspec",
    "read_json",
    "read_xml",
]
