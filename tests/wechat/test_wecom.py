"""The WeCom channel: sample vectors, external-contact and group-chat events, API calls."""

from __future__ import annotations

import time
from typing import Any

import pytest
from wechat.wechat_fakes import (
    CORP_ID,
    WECOM_AES_KEY,
    WECOM_TOKEN,
    FakeWeChat,
    ReferenceCrypto,
    make_account,
    request,
    xml_message,
)

from socialcrm.plugins import (
    AccountContext,
    ChannelConfigError,
    CommunityRef,
    IdentityRef,
    InteractionKind,
    InvalidPayload,
    MemberChange,
    OutboundMessage,
    Profile,
    Relation,
    RelationKind,
    VerificationFailed,
    VerifiedPayload,
    WebhookRequest,
)
from socialcrm.plugins.manager import PluginManager
from socialcrm.plugins.wechat.wecom import WeComChannel

# The official sample (sbzhu/weworkapi_python, callback/Sample.py).
SAMPLE_ECHO = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": (
        "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
    ),
}
SAMPLE_POST_QUERY = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
}
SAMPLE_POST_BODY = (
    b"<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA["
    b"Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTk"
    b"AgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQb"
    b"Z9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2"
    b"qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWb"
    b"vL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
SAMPLE_TIME = 1476422779.0

CUSTOMER = "woAJ2GCAAAXtWyujaWJHDDGi0mACH71w"
CREATED = 1403610513


def push(plaintext: bytes) -> WebhookRequest:
    """A callback as WeCom sends it, encrypted by the reference implementation."""
    ref = ReferenceCrypto(WECOM_TOKEN, WECOM_AES_KEY, CORP_ID)
    encrypt = ref.encrypt(plaintext)
    timestamp, nonce = str(int(time.time())), "123456"
    body = (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><AgentID><![CDATA[]]></AgentID>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()
    query = {
        "msg_signature": ref.sign(timestamp, nonce, encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return request("POST", query, body)


async def verified(wecom: WeComChannel, acct: AccountContext, plaintext: bytes) -> VerifiedPayload:
    return await wecom.verify(push(plaintext), acct)


def contact_xml(change: str, **extra: str) -> bytes:
    fields: dict[str, Any] = {
        "ToUserName": CORP_ID,
        "FromUserName": "sys",
        "CreateTime": CREATED,
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": change,
        "UserID": "zhangsan",
        "ExternalUserID": CUSTOMER,
        **extra,
    }
    return xml_message(**fields)


def chat_xml(change: str, members: list[str] | None = None, **extra: str) -> bytes:
    fields: dict[str, Any] = {
        "ToUserName": CORP_ID,
        "FromUserName": "sys",
        "CreateTime": CREATED,
        "MsgType": "event",
        "Event": "change_external_chat",
        "ChatId": "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA",
        "ChangeType": change,
        **extra,
    }
    body = xml_message(**fields)
    if members is not None:
        items = "".join(f"<Item><![CDATA[{m}]]></Item>" for m in members)
        body = body.replace(b"</xml>", f"<MemChangeList>{items}</MemChangeList></xml>".encode())
    return body


# Settings and the URL check ----------------------------------------------------------------


def test_settings() -> None:
    wecom = WeComChannel()
    settings = wecom.validate_settings(
        {"corp_id": CORP_ID, "token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES_KEY, "agent_id": 7}
    )
    assert settings["corp_id"] == CORP_ID and settings["agent_id"] == "7"
    assert settings["api_base_url"] == "https://qyapi.weixin.qq.com"
    with pytest.raises(ChannelConfigError) as info:
        wecom.validate_settings({"corp_id": CORP_ID, "token": WECOM_TOKEN})
    assert info.value.field == "encoding_aes_key"
    with pytest.raises(ChannelConfigError):
        wecom.validate_settings({"token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES_KEY})
    assert wecom.secret_settings == {"corp_secret", "token", "encoding_aes_key"}


def test_setup_instructions(wecom: WeComChannel, wecom_account: AccountContext) -> None:
    text = wecom.setup_instructions(wecom_account)
    assert "https://crm.example.com/webhooks/wecom/main" in text and WECOM_TOKEN in text


def test_both_channels_registered_by_the_builtin_plugin() -> None:
    channels = PluginManager(load_entrypoints=False).channels
    assert type(channels["wechat"]).__name__ == "WeChatChannel"
    assert isinstance(channels["wecom"], WeComChannel)


async def test_handshake_sample_echostr(wecom: WeComChannel, wecom_account: AccountContext) -> None:
    response = await wecom.handshake(request("GET", dict(SAMPLE_ECHO)), wecom_account)
    assert response.body == b"1288432023552776189"  # no quotes, no newline


async def test_handshake_plus_decoded_as_space(
    wecom: WeComChannel, wecom_account: AccountContext
) -> None:
    query = {**SAMPLE_ECHO, "echostr": SAMPLE_ECHO["echostr"].replace("+", " ")}
    response = await wecom.handshake(request("GET", query), wecom_account)
    assert response.body == b"1288432023552776189"


@pytest.mark.parametrize("broken", ["msg_signature", "nonce", "echostr"])
async def test_handshake_refuses(
    wecom: WeComChannel, wecom_account: AccountContext, broken: str
) -> None:
    query = dict(SAMPLE_ECHO)
    query[broken] = query[broken][:-4] + "AAA="
    with pytest.raises(VerificationFailed):
        await wecom.handshake(request("GET", query), wecom_account)


async def test_handshake_wrong_corp(wecom: WeComChannel) -> None:
    acct = make_account(
        wecom, corp_id="ww0000000000000000", token=WECOM_TOKEN, encoding_aes_key=WECOM_AES_KEY
    )
    with pytest.raises(VerificationFailed):
        await wecom.handshake(request("GET", dict(SAMPLE_ECHO)), acct)


# Callbacks ---------------------------------------------------------------------------------


async def test_sample_post() -> None:
    wecom = WeComChannel(clock=lambda: SAMPLE_TIME)
    acct = make_account(wecom, corp_id=CORP_ID, token=WECOM_TOKEN, encoding_aes_key=WECOM_AES_KEY)
    payload = await wecom.verify(request("POST", dict(SAMPLE_POST_QUERY), SAMPLE_POST_BODY), acct)
    assert payload.meta["agent_id"] == "1000002"
    (event,) = wecom.parse(payload, acct)
    # An employee's message to the app: the employee's userid, not a customer.
    assert event.sender == IdentityRef(channel="wecom.user", external_id="ChenJiaShun")
    assert event.content == "你好" and event.external_id == "1456453720"
    assert wecom.respond(payload, acct, []).body == b""


async def test_sample_post_stale_by_default(wecom: WeComChannel) -> None:
    acct = make_account(wecom, corp_id=CORP_ID, token=WECOM_TOKEN, encoding_aes_key=WECOM_AES_KEY)
    with pytest.raises(VerificationFailed):
        await wecom.verify(request("POST", dict(SAMPLE_POST_QUERY), SAMPLE_POST_BODY), acct)


async def test_post_bad_input(wecom: WeComChannel, wecom_account: AccountContext) -> None:
    req = push(contact_xml("add_external_contact"))
    bad_sig = request("POST", {**req.query, "msg_signature": "0" * 40}, req.body)
    with pytest.raises(VerificationFailed):
        await wecom.verify(bad_sig, wecom_account)
    no_encrypt = request("POST", req.query, b"<xml><ToUserName>x</ToUserName></xml>")
    with pytest.raises(InvalidPayload):
        await wecom.verify(no_encrypt, wecom_account)
    doctype = request("POST", req.query, b"<!DOCTYPE xml><xml><Encrypt>x</Encrypt></xml>")
    with pytest.raises(InvalidPayload):
        await wecom.verify(doctype, wecom_account)
    other_corp = make_account(
        wecom, corp_id="wwOTHER", token=WECOM_TOKEN, encoding_aes_key=WECOM_AES_KEY
    )
    with pytest.raises(VerificationFailed):
        await wecom.verify(req, other_corp)


async def test_add_external_contact_with_state(
    wecom: WeComChannel, wecom_account: AccountContext
) -> None:
    payload = await verified(
        wecom,
        wecom_account,
        contact_xml("add_external_contact", State="ref-77", WelcomeCode="WELCOMECODE"),
    )
    (event,) = wecom.parse(payload, wecom_account)
    assert event.sender == IdentityRef(channel="wecom", external_id=CUSTOMER)
    assert event.kind is InteractionKind.FOLLOW
    assert event.profile == Profile(following=True)
    assert event.relations == [Relation(kind=RelationKind.REFERRAL, referral_code="ref-77")]
    assert event.data == {
        "change_type": "add_external_contact",
        "user_id": "zhangsan",
        "state": "ref-77",
        "welcome_code": "WELCOMECODE",
    }
    assert event.content_type == "event:change_external_contact:add_external_contact"
    assert event.external_id == (
        f"change_external_contact:add_external_contact:zhangsan:{CUSTOMER}:{CREATED}"
    )


@pytest.mark.parametrize(
    ("change", "kind", "extra"),
    [
        ("add_half_external_contact", InteractionKind.FOLLOW, {}),
        ("edit_external_contact", InteractionKind.OTHER, {}),
        ("del_external_contact", InteractionKind.UNFOLLOW, {"Source": "DELETE_BY_TRANSFER"}),
        ("del_follow_user", InteractionKind.UNFOLLOW, {}),
        ("transfer_fail", InteractionKind.OTHER, {"FailReason": "customer_refused"}),
        ("a_future_change", InteractionKind.OTHER, {}),
    ],
)
async def test_external_contact_changes(
    wecom: WeComChannel,
    wecom_account: AccountContext,
    change: str,
    kind: InteractionKind,
    extra: dict[str, str],
) -> None:
    payload = await verified(wecom, wecom_account, contact_xml(change, **extra))
    (event,) = wecom.parse(payload, wecom_account)
    assert event.kind is kind
    assert event.sender.external_id == CUSTOMER
    assert event.relations == []
    assert event.data["user_id"] == "zhangsan"
    if change == "transfer_fail":
        assert event.data["fail_reason"] == "customer_refused"
    if kind is InteractionKind.UNFOLLOW:
        assert event.profile is None  # may still be another employee's contact


async def test_chat_add_members(wecom: WeComChannel, wecom_account: AccountContext) -> None:
    body = chat_xml(
        "update",
        members=["wmEAlECwAAHrbWYDOK5u3Af13xlYDDNQ", "zhangsan", "woAAAA2"],
        UpdateDetail="add_member",
        JoinScene="3",
        MemChangeCnt="3",
        CurMemVer="71217227",
    )
    events = wecom.parse(await verified(wecom, wecom_account, body), wecom_account)
    community = CommunityRef(external_id="wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA")
    joins = [e for e in events if e.kind is InteractionKind.JOIN]
    assert [e.sender.external_id for e in joins] == ["wmEAlECwAAHrbWYDOK5u3Af13xlYDDNQ", "woAAAA2"]
    for event in joins:
        assert event.community == community
        assert event.member_changes == [MemberChange(identity=event.sender, joined=True)]
        assert event.data["join_scene"] == "3"
    # The employee is the brand's side: listed, not made a customer.
    (system,) = [e for e in events if e.kind is InteractionKind.OTHER]
    assert system.sender is None
    assert system.data["employees"] == ["zhangsan"]
    assert len({e.external_id for e in events}) == 3


async def test_chat_del_member(wecom: WeComChannel, wecom_account: AccountContext) -> None:
    body = chat_xml("update", members=["wmLEAVER"], UpdateDetail="del_member", QuitScene="0")
    (event,) = wecom.parse(await verified(wecom, wecom_account, body), wecom_account)
    assert event.kind is InteractionKind.LEAVE
    assert event.member_changes == [
        MemberChange(identity=IdentityRef(channel="wecom", external_id="wmLEAVER"), joined=False)
    ]


async def test_chat_member_change_without_list(
    wecom: WeComChannel, wecom_account: AccountContext
) -> None:
    body = chat_xml("update", UpdateDetail="add_member", MemChangeCnt="2")
    (event,) = wecom.parse(await verified(wecom, wecom_account, body), wecom_account)
    assert event.kind is InteractionKind.OTHER and event.member_changes == []
    assert event.data["mem_change_cnt"] == "2"


@pytest.mark.parametrize(
    ("change", "detail", "dismissed"),
    [("create", None, False), ("update", "change_name", False), ("dismiss", None, True)],
)
async def test_chat_lifecycle(
    wecom: WeComChannel,
    wecom_account: AccountContext,
    change: str,
    detail: str | None,
    dismissed: bool,
) -> None:
    extra = {"UpdateDetail": detail} if detail else {}
    (event,) = wecom.parse(
        await verified(wecom, wecom_account, chat_xml(change, **extra)), wecom_account
    )
    assert event.community is not None
    assert event.community.external_id == "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"
    assert event.community.dismissed is dismissed
    assert event.content_type.startswith(f"event:change_external_chat:{change}")


async def test_unknown_event_is_other(wecom: WeComChannel, wecom_account: AccountContext) -> None:
    body = xml_message(
        ToUserName=CORP_ID,
        FromUserName="sys",
        CreateTime=CREATED,
        MsgType="event",
        Event="change_external_tag",
        Id="etAAAA",
        TagType="tag",
        ChangeType="create",
    )
    (event,) = wecom.parse(await verified(wecom, wecom_account, body), wecom_account)
    assert event.kind is InteractionKind.OTHER
    assert event.content_type == "event:change_external_tag:create"
    assert event.raw["Id"] == "etAAAA"


def test_retry_gives_the_same_ids(wecom: WeComChannel, wecom_account: AccountContext) -> None:
    body = chat_xml("update", members=["wm1", "wm2"], UpdateDetail="add_member")
    payload = VerifiedPayload(body=body)
    first = [e.external_id for e in wecom.parse(payload, wecom_account)]
    assert first == [e.external_id for e in wecom.parse(payload, wecom_account)]


# API ---------------------------------------------------------------------------------------


async def test_fetch_profile(
    wecom: WeComChannel, wecom_account: AccountContext, fake_api: FakeWeChat
) -> None:
    fake_api.contacts[CUSTOMER] = {
        "external_contact": {
            "external_userid": CUSTOMER,
            "name": "李四",
            "avatar": "http://p.qlogo.cn/x/0",
            "type": 1,
            "gender": 1,
            "unionid": "ozynqsulJFCZ2z1aYeS8h-nuasdAAA",
        },
        "follow_user": [
            {
                "userid": "zhangsan",
                "remark": "李部长",
                "createtime": 1525779812,
                "state": "ref-77",
                "tags": [
                    {"group_name": "标签分组", "tag_name": "重点客户", "type": 1},
                    {"group_name": "标签分组", "tag_name": "北京", "type": 1},
                ],
            },
            {"userid": "rocky", "createtime": 1525779813, "tags": [{"tag_name": "北京"}]},
        ],
    }
    identity = IdentityRef(channel="wecom", external_id=CUSTOMER)
    profile = await wecom.fetch_profile(identity, wecom_account)
    assert profile is not None
    assert profile.display_name == "李四" and profile.avatar_url == "http://p.qlogo.cn/x/0"
    assert profile.following is True
    assert profile.tags == ["重点客户", "北京"]
    assert profile.aliases == [
        IdentityRef(channel="wechat.unionid", external_id="ozynqsulJFCZ2z1aYeS8h-nuasdAAA")
    ]
    assert [f["userid"] for f in profile.extra["follow_users"]] == ["zhangsan", "rocky"]
    assert fake_api.token_fetches == 1
    unknown = IdentityRef(channel="wecom", external_id="wmNOBODY")
    assert await wecom.fetch_profile(unknown, wecom_account) is None


async def test_fetch_profile_needs_a_secret(wecom: WeComChannel) -> None:
    acct = make_account(wecom, corp_id=CORP_ID, token=WECOM_TOKEN, encoding_aes_key=WECOM_AES_KEY)
    assert await wecom.fetch_profile(IdentityRef("wecom", CUSTOMER), acct) is None


async def test_send_welcome_message(
    wecom: WeComChannel, wecom_account: AccountContext, fake_api: FakeWeChat
) -> None:
    recipient = IdentityRef(channel="wecom", external_id=CUSTOMER)
    welcome = OutboundMessage(text="欢迎！", data={"welcome_code": "WELCOMECODE"})
    assert (await wecom.send(recipient, welcome, wecom_account)).ok
    assert fake_api.welcome == [{"welcome_code": "WELCOMECODE", "text": {"content": "欢迎！"}}]
    late = OutboundMessage(text="欢迎！", data={"welcome_code": "USED"})
    result = await wecom.send(recipient, late, wecom_account)
    assert (result.ok, result.error_code) == (False, "41051")
    free_form = await wecom.send(recipient, OutboundMessage(text="hi"), wecom_account)
    assert (free_form.ok, free_form.error_code) == (False, "UNSUPPORTED")
