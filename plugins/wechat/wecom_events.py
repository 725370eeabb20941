"""WeCom (企业微信) callbacks (parsed XML dicts) → normalized ``InboundEvent``.

Pure, like ``events``. The external-contact events are the CRM's business:

* ``change_external_contact``: a customer (``ExternalUserID``) and an employee (``UserID``)
  became contacts, changed, or parted. The customer is the sender; ``State`` (the
  "contact me" channel code) becomes a referral relation.
* ``change_external_chat``: a customer group chat (``ChatId``) was created, changed or
  dismissed. It maps to a community; each customer who joined or left becomes one
  ``join``/``leave`` event with that customer as sender and a ``MemberChange``. Employees
  (the brand's side) joining or leaving are listed in the data of one platform event.

A callback carries ids only: the chat's name, owner and full member list come from
``externalcontact/groupchat/get``, which ``parse`` (no I/O) cannot call. Older callbacks
without ``MemChangeList`` give one community event whose ``data`` says how many changed.

Events that concern no customer (chat created or renamed, tags changed, an employee's own
change) have no sender: the server applies their community changes and records no
interaction. The employee involved, if any, is named in ``data``.
"""

from __future__ import annotations

from typing import Any

from socialcrm.plugins import (
    CommunityRef,
    IdentityRef,
    InboundEvent,
    InteractionKind,
    MemberChange,
    Profile,
    Relation,
    RelationKind,
)
from socialcrm.plugins.wechat.events import create_time, message_events, required, text
from socialcrm.plugins.wechat.xml import as_list

CHANNEL = "wecom"
"""Namespace of external contacts (customers): their ``external_userid``."""
EMPLOYEE_NAMESPACE = "wecom.user"
"""Namespace of the corp's own members (employees): their ``userid``."""

# external_userid values start with "wm" (WeChat users) or "wo" (other WeCom corps'
# members); a corp's own userids are chosen by the corp and, in practice, never do.
_EXTERNAL_PREFIXES = ("wm", "wo")

_CONTACT_KINDS = {
    "add_external_contact": InteractionKind.FOLLOW,
    # The customer added an employee who has not confirmed yet: still the customer's follow.
    "add_half_external_contact": InteractionKind.FOLLOW,
    "edit_external_contact": InteractionKind.OTHER,
    # The employee removed the customer / the customer removed the employee.
    "del_external_contact": InteractionKind.UNFOLLOW,
    "del_follow_user": InteractionKind.UNFOLLOW,
    "transfer_fail": InteractionKind.OTHER,
}


def member_identity(member_id: str) -> IdentityRef:
    """A chat member's identity: a customer (external id) or an employee (userid)."""
    if member_id.startswith(_EXTERNAL_PREFIXES):
        return IdentityRef(channel=CHANNEL, external_id=member_id)
    return IdentityRef(channel=EMPLOYEE_NAMESPACE, external_id=member_id)


def wecom_events(msg: dict[str, Any]) -> list[InboundEvent]:
    """Normalize one parsed WeCom callback."""
    if text(msg, "MsgType") != "event":
        # A member's message to the app: the official-account mapping fits, with the
        # employee's userid as sender.
        return message_events(msg, EMPLOYEE_NAMESPACE)
    event = required(msg, "Event")
    if event == "change_external_contact":
        return [_contact_event(msg)]
    if event == "change_external_chat":
        return _chat_events(msg)
    return [_other_event(msg, event)]


def _contact_event(msg: dict[str, Any]) -> InboundEvent:
    created, occurred_at = create_time(msg)
    change = required(msg, "ChangeType")
    external_user = required(msg, "ExternalUserID")
    employee = text(msg, "UserID")
    state = text(msg, "State")
    kind = _CONTACT_KINDS.get(change, InteractionKind.OTHER)
    event = InboundEvent(
        # No message id: the change, both parties and the time are what a retry repeats.
        external_id=f"change_external_contact:{change}:{employee or ''}:{external_user}:{created}",
        sender=IdentityRef(channel=CHANNEL, external_id=external_user),
        occurred_at=occurred_at,
        kind=kind,
        content_type=f"event:change_external_contact:{change}",
        data={
            key: value
            for key, value in {
                "change_type": change,
                "user_id": employee,
                "state": state,
                "welcome_code": text(msg, "WelcomeCode"),
                "fail_reason": text(msg, "FailReason"),
                "source": text(msg, "Source"),
            }.items()
            if value is not None
        },
        raw=msg,
    )
    if kind is InteractionKind.FOLLOW:
        event.profile = Profile(following=True)
        if state:
            event.relations = [Relation(kind=RelationKind.REFERRAL, referral_code=state)]
    # On a removal the customer may still be a contact of another employee, so "following"
    # stays unknown here; the UNFOLLOW interaction records the loss.
    return event


def _chat_events(msg: dict[str, Any]) -> list[InboundEvent]:
    created, occurred_at = create_time(msg)
    chat_id = required(msg, "ChatId")
    change = required(msg, "ChangeType")
    detail = text(msg, "UpdateDetail")
    community = CommunityRef(external_id=chat_id, dismissed=change == "dismiss")
    data = {
        key: value
        for key, value in {
            "change_type": change,
            "update_detail": detail,
            "join_scene": text(msg, "JoinScene"),
            "quit_scene": text(msg, "QuitScene"),
            "mem_change_cnt": text(msg, "MemChangeCnt"),
            "last_mem_ver": text(msg, "LastMemVer"),
            "cur_mem_ver": text(msg, "CurMemVer"),
        }.items()
        if value is not None
    }
    content_type = f"event:change_external_chat:{change}" + (f":{detail}" if detail else "")
    version = text(msg, "CurMemVer") or created
    base_id = f"change_external_chat:{chat_id}:{change}:{detail or ''}:{version}"
    members = [member_identity(member) for member in _member_ids(msg)]
    customers = [m for m in members if m.channel == CHANNEL]
    employees = [m.external_id for m in members if m.channel != CHANNEL]
    events: list[InboundEvent] = []
    if detail in ("add_member", "del_member"):
        joined = detail == "add_member"
        # One event per customer who joined or left: it is their interaction.
        events = [
            InboundEvent(
                external_id=f"{base_id}:{member.external_id}",
                sender=member,
                occurred_at=occurred_at,
                kind=InteractionKind.JOIN if joined else InteractionKind.LEAVE,
                content_type=content_type,
                data=data,
                community=community,
                member_changes=[MemberChange(identity=member, joined=joined)],
                raw=msg,
            )
            for member in customers
        ]
    if not events or employees:
        # The chat's own change, or employees joining or leaving: employees are the brand's
        # side, not customers, so they are listed in data rather than made senders.
        system_data = {**data, "employees": employees} if employees else data
        events.append(
            InboundEvent(
                external_id=base_id,
                sender=None,
                occurred_at=occurred_at,
                kind=InteractionKind.OTHER,
                content_type=content_type,
                data=system_data,
                community=community,
                raw=msg,
            )
        )
    return events


def _member_ids(msg: dict[str, Any]) -> list[str]:
    changes = msg.get("MemChangeList")
    items = changes.get("Item") if isinstance(changes, dict) else None
    return [item.strip() for item in as_list(items) if isinstance(item, str) and item.strip()]


def _other_event(msg: dict[str, Any], event: str) -> InboundEvent:
    created, occurred_at = create_time(msg)
    external_user = text(msg, "ExternalUserID")
    sender = IdentityRef(channel=CHANNEL, external_id=external_user) if external_user else None
    origin = text(msg, "FromUserName")
    employee = origin if origin not in (None, "sys") else None
    change = text(msg, "ChangeType")
    key = ":".join(
        part
        for part in (
            event,
            change,
            text(msg, "Id") or text(msg, "ChatId"),
            external_user or origin,
            created,
        )
        if part
    )
    return InboundEvent(
        external_id=key,
        sender=sender,
        occurred_at=occurred_at,
        kind=InteractionKind.OTHER,
        content_type=f"event:{event}" + (f":{change}" if change else ""),
        data={
            **({"change_type": change} if change else {}),
            **({"employee": employee} if employee else {}),
        },
        raw=msg,
    )
