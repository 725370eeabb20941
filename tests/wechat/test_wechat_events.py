"""Every official-account message and event kind, parsed into InboundEvents; safe XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from wechat.wechat_fakes import OPENID, ORIGINAL_ID, xml_message

from socialcrm.plugins import (
    Attachment,
    IdentityRef,
    InboundEvent,
    InteractionKind,
    InvalidPayload,
    Profile,
    Relation,
    RelationKind,
)
from socialcrm.plugins.wechat.events import message_events
from socialcrm.plugins.wechat.xml import build_xml, cdata, parse_xml

CREATED = 1409735668
WHEN = datetime.fromtimestamp(CREATED, tz=UTC)


def parse_one(**fields: str | int) -> InboundEvent:
    body = xml_message(ToUserName=ORIGINAL_ID, FromUserName=OPENID, CreateTime=CREATED, **fields)
    events = message_events(parse_xml(body), "wechat")
    assert len(events) == 1
    event = events[0]
    assert event.sender == IdentityRef(channel="wechat", external_id=OPENID)
    assert event.occurred_at == WHEN
    assert event.raw["FromUserName"] == OPENID
    return event


def test_text() -> None:
    event = parse_one(MsgType="text", Content="  我的订单还没发货 ", MsgId="6054768590064713728")
    assert event.external_id == "6054768590064713728"
    assert event.kind is InteractionKind.MESSAGE
    assert event.content_type == "text"
    assert event.content == "  我的订单还没发货 "  # kept exactly as sent
    assert event.wants_reply is True
    assert event.raw["MsgType"] == "text"


def test_text_from_menu_reply() -> None:
    event = parse_one(MsgType="text", Content="满意", MsgId="1", bizmsgmenuid="101")
    assert event.data == {"bizmsgmenuid": "101"}


def test_image() -> None:
    event = parse_one(MsgType="image", PicUrl="http://mmbiz/x.jpg", MediaId="m1", MsgId="2")
    assert event.content_type == "image"
    assert event.attachments == [Attachment(kind="image", url="http://mmbiz/x.jpg", media_id="m1")]


def test_voice_with_recognition() -> None:
    event = parse_one(MsgType="voice", MediaId="v1", Format="amr", Recognition="退货", MsgId="3")
    assert event.kind is InteractionKind.MESSAGE
    assert event.content == "退货"
    assert event.attachments == [Attachment(kind="voice", media_id="v1", mime_type="audio/amr")]
    assert event.data == {"format": "amr", "recognition": "退货"}


def test_voice_without_recognition() -> None:
    event = parse_one(MsgType="voice", MediaId="v1", Format="speex", MsgId="4")
    assert event.content is None
    assert event.attachments[0].mime_type == "audio/speex"


@pytest.mark.parametrize("msg_type", ["video", "shortvideo"])
def test_video(msg_type: str) -> None:
    event = parse_one(MsgType=msg_type, MediaId="vid", ThumbMediaId="th", MsgId="5")
    assert event.content_type == msg_type
    assert event.attachments == [Attachment(kind="video", media_id="vid")]
    assert event.data == {"thumb_media_id": "th"}


def test_location_message() -> None:
    event = parse_one(
        MsgType="location",
        Location_X="23.134521",
        Location_Y="113.358803",
        Scale="20",
        Label="广州市天河区",
        MsgId="6",
    )
    assert event.kind is InteractionKind.MESSAGE
    assert event.content == "广州市天河区"
    assert event.data == {
        "latitude": 23.134521,
        "longitude": 113.358803,
        "scale": 20.0,
        "label": "广州市天河区",
    }


def test_link() -> None:
    event = parse_one(
        MsgType="link", Title="评测", Description="一篇文章", Url="https://e.com/a", MsgId="7"
    )
    assert event.content == "评测"
    assert event.attachments == [
        Attachment(kind="link", url="https://e.com/a", title="评测", description="一篇文章")
    ]


def test_subscribe_plain() -> None:
    event = parse_one(MsgType="event", Event="subscribe", EventKey="")
    assert event.external_id == f"{OPENID}:{CREATED}:subscribe"
    assert event.kind is InteractionKind.FOLLOW
    assert event.content_type == "event:subscribe"
    assert event.profile == Profile(following=True)
    assert event.relations == []
    assert event.wants_reply is True


def test_subscribe_from_referral_qr_code() -> None:
    event = parse_one(MsgType="event", Event="subscribe", EventKey="qrscene_ref42", Ticket="TICKET")
    assert event.kind is InteractionKind.FOLLOW
    assert event.relations == [Relation(kind=RelationKind.REFERRAL, referral_code="ref42")]
    assert event.data == {"event_key": "qrscene_ref42", "scene": "ref42", "ticket": "TICKET"}


def test_unsubscribe() -> None:
    event = parse_one(MsgType="event", Event="unsubscribe", EventKey="")
    assert event.kind is InteractionKind.UNFOLLOW
    assert event.profile == Profile(following=False)
    assert event.wants_reply is False


def test_scan() -> None:
    event = parse_one(MsgType="event", Event="SCAN", EventKey="ref42", Ticket="T")
    assert event.kind is InteractionKind.SCAN
    assert event.external_id == f"{OPENID}:{CREATED}:SCAN"
    assert event.relations == []  # already a follower: not a referral
    assert event.data == {"event_key": "ref42", "scene": "ref42", "ticket": "T"}


def test_click() -> None:
    event = parse_one(MsgType="event", Event="CLICK", EventKey="V1001_GOOD")
    assert event.kind is InteractionKind.CLICK
    assert event.content == "V1001_GOOD"
    assert event.wants_reply is True


def test_view() -> None:
    event = parse_one(MsgType="event", Event="VIEW", EventKey="https://shop.example/", MenuId="9")
    assert event.kind is InteractionKind.VIEW
    assert event.content == "https://shop.example/"
    assert event.data == {"url": "https://shop.example/", "menu_id": "9"}
    assert event.wants_reply is False


def test_location_event() -> None:
    event = parse_one(
        MsgType="event", Event="LOCATION", Latitude="23.1", Longitude="113.3", Precision="119.4"
    )
    assert event.kind is InteractionKind.LOCATION
    assert event.data == {"latitude": 23.1, "longitude": 113.3, "precision": 119.4}


@pytest.mark.parametrize(
    ("status", "delivered"),
    [("success", True), ("failed:user block", False), ("failed: system failed", False)],
)
def test_template_send_job_finish(status: str, delivered: bool) -> None:
    event = parse_one(
        MsgType="event", Event="TEMPLATESENDJOBFINISH", MsgID="200163836", Status=status
    )
    assert event.kind is InteractionKind.DELIVERY
    assert event.external_id == f"{OPENID}:{CREATED}:TEMPLATESENDJOBFINISH:200163836"
    assert event.content == status
    assert event.data == {"msg_id": "200163836", "status": status, "delivered": delivered}


def test_unknown_event_is_other() -> None:
    event = parse_one(MsgType="event", Event="subscribe_msg_popup_event", EventKey="k")
    assert event.kind is InteractionKind.OTHER
    assert event.content_type == "event:subscribe_msg_popup_event"
    assert event.raw["Event"] == "subscribe_msg_popup_event"


def test_unknown_msg_type_is_other_not_rejected() -> None:
    event = parse_one(MsgType="hologram", MsgId="99", Depth="3")
    assert event.kind is InteractionKind.OTHER
    assert event.content_type == "hologram"
    assert event.external_id == "99"
    assert event.raw["Depth"] == "3"


def test_unknown_msg_type_without_msg_id_gets_a_stable_key() -> None:
    event = parse_one(MsgType="hologram")
    assert event.external_id == f"{OPENID}:{CREATED}:hologram"


def test_same_push_same_events() -> None:
    body = xml_message(FromUserName=OPENID, CreateTime=CREATED, MsgType="event", Event="CLICK")
    assert message_events(parse_xml(body), "wechat") == message_events(parse_xml(body), "wechat")


@pytest.mark.parametrize(
    "body",
    [
        xml_message(CreateTime=CREATED, MsgType="text", MsgId="1"),
        xml_message(FromUserName=OPENID, MsgType="text", MsgId="1"),
        xml_message(FromUserName=OPENID, CreateTime="yesterday", MsgType="text"),
        xml_message(FromUserName=OPENID, CreateTime=CREATED),
        xml_message(FromUserName=OPENID, CreateTime=CREATED, MsgType="event"),
    ],
    ids=["no-sender", "no-time", "bad-time", "no-type", "no-event"],
)
def test_missing_fields(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        message_events(parse_xml(body), "wechat")


# XML ---------------------------------------------------------------------------------------


def test_parse_nested_and_repeated() -> None:
    parsed = parse_xml(b"<xml><A>1</A><L><Item>x</Item><Item>y</Item></L><E/><N><B>2</B></N></xml>")
    assert parsed == {"A": "1", "L": {"Item": ["x", "y"]}, "E": "", "N": {"B": "2"}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x "boom">]>'
            b"<xml><Content>&x;</Content></xml>",
            None,
        ),
        (b'<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml/>', "XML_DTD"),
        (b"<!DOCTYPE xml><xml><A>1</A></xml>", "XML_DTD"),
        (
            b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><xml>&b;</xml>',
            None,
        ),
        (b"<xml><A>1</A>", "XML_MALFORMED"),
        (b"", "XML_MALFORMED"),
        (b"not xml at all", "XML_MALFORMED"),
        (b"<other><A>1</A></other>", "XML_MALFORMED"),
    ],
    ids=[
        "entity",
        "external-dtd",
        "doctype",
        "billion-laughs",
        "unclosed",
        "empty",
        "text",
        "root",
    ],
)
def test_unsafe_or_malformed_xml(body: bytes, code: str | None) -> None:
    with pytest.raises(InvalidPayload) as info:
        parse_xml(body)
    assert info.value.status_code == 400
    if code:
        assert info.value.code == code
    else:
        assert info.value.code in ("XML_DTD", "XML_ENTITY")


def test_build_xml_with_cdata() -> None:
    body = build_xml(
        {
            "ToUserName": "o1",
            "CreateTime": 12,
            "Content": "a]]>b<c>&\x00",
            "Skip": None,
            "Articles": [{"Title": "t1"}, {"Title": "t2"}],
        }
    )
    assert parse_xml(body) == {
        "ToUserName": "o1",
        "CreateTime": "12",
        "Content": "a]]>b<c>&",
        "Articles": {"item": [{"Title": "t1"}, {"Title": "t2"}]},
    }
    assert b"<CreateTime>12</CreateTime>" in body
    assert cdata("x") == "<![CDATA[x]]>"
