"""The WXBizMsgCrypt envelope: known-answer vectors, round trips, a cross-check, bad input."""

from __future__ import annotations

import base64

import pytest
from wechat.wechat_fakes import VECTORS, WECOM_AES_KEY, WECOM_TOKEN, ReferenceCrypto

from socialcrm.plugins import InvalidPayload, VerificationFailed
from socialcrm.plugins.wechat.crypto import (
    BadPadding,
    InvalidAESKey,
    InvalidCiphertext,
    MessageCrypto,
    ReceiveIdMismatch,
    SignatureMismatch,
    check_signature,
    decode_aes_key,
    pkcs7_pad,
    pkcs7_unpad,
    signature,
)

SAFE = VECTORS["safe_mode"]
IDS = [v["name"] for v in SAFE]

# The official WeCom sample (sbzhu/weworkapi_python, callback/Sample.py).
WECOM_CORP_ID = "ww1436e0e65a779aee"
WECOM_ECHO = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": (
        "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
    ),
}
WECOM_POST = {
    "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "timestamp": "1476422779",
    "nonce": "1597212914",
    "encrypt": (
        "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3Nye"
        "TkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0"
        "VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7"
        "MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXA"
        "yh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
    ),
}


def crypto_for(vector: dict[str, str]) -> MessageCrypto:
    return MessageCrypto(vector["token"], vector["encoding_aes_key"], vector["appid"])


def test_url_verification_signature() -> None:
    v = VECTORS["url_verification"]
    assert signature(v["token"], v["timestamp"], v["nonce"]) == v["signature"]
    check_signature(v["signature"], v["token"], v["timestamp"], v["nonce"])
    check_signature(v["signature"].upper(), v["token"], v["timestamp"], v["nonce"])


@pytest.mark.parametrize("vector", SAFE, ids=IDS)
def test_msg_signature_vector(vector: dict[str, str]) -> None:
    crypto = crypto_for(vector)
    assert (
        crypto.sign(vector["timestamp"], vector["nonce"], vector["encrypt"])
        == (vector["msg_signature"])
    )
    crypto.check_signature(
        vector["msg_signature"], vector["timestamp"], vector["nonce"], vector["encrypt"]
    )


@pytest.mark.parametrize("vector", SAFE, ids=IDS)
def test_decrypt_vector(vector: dict[str, str]) -> None:
    assert crypto_for(vector).decrypt(vector["encrypt"]) == vector["plaintext"].encode()


@pytest.mark.parametrize("vector", SAFE, ids=IDS)
def test_encrypt_vector_with_fixed_random(vector: dict[str, str]) -> None:
    encrypted = crypto_for(vector).encrypt(
        vector["plaintext"].encode(), random16=vector["random16"].encode()
    )
    assert encrypted == vector["encrypt"]


@pytest.mark.parametrize(
    "message",
    [b"", b"x", b"<xml/>" * 5, "中文消息".encode() * 100, bytes(range(256))],
    ids=["empty", "one", "block-ish", "long-utf8", "binary"],
)
def test_round_trip(message: bytes) -> None:
    crypto = MessageCrypto("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx123")
    first, second = crypto.encrypt(message), crypto.encrypt(message)
    assert first != second  # a fresh random prefix each time
    assert crypto.decrypt(first) == message == crypto.decrypt(second)
    assert len(base64.b64decode(first)) % 32 == 0


@pytest.mark.parametrize("length", range(0, 70))
def test_padding_is_32_byte_pkcs7(length: int) -> None:
    padded = pkcs7_pad(b"a" * length)
    assert len(padded) % 32 == 0 and 1 <= padded[-1] <= 32
    assert pkcs7_unpad(padded) == b"a" * length


def test_cross_check_with_reference_implementation() -> None:
    """Messages encrypted by the reference decrypt here, and the other way round."""
    key = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
    ours = MessageCrypto("tok", key, "wxREF")
    ref = ReferenceCrypto("tok", key, "wxREF")
    for message in (b"<xml><Content>hi</Content></xml>", "你好世界".encode() * 37, b""):
        assert ours.decrypt(ref.encrypt(message)) == message
        assert ref.decrypt(ours.encrypt(message)) == (message, b"wxREF")
    assert ours.sign("1", "2", "3") == ref.sign("1", "2", "3")


def test_wecom_sample_echostr() -> None:
    crypto = MessageCrypto(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID)
    v = WECOM_ECHO
    crypto.check_signature(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"])
    assert crypto.decrypt(v["echostr"]) == b"1288432023552776189"


def test_wecom_sample_post() -> None:
    crypto = MessageCrypto(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID)
    v = WECOM_POST
    crypto.check_signature(v["msg_signature"], v["timestamp"], v["nonce"], v["encrypt"])
    message = crypto.decrypt(v["encrypt"]).decode()
    assert "<FromUserName>ChenJiaShun</FromUserName>" in message
    assert "<Content>你好</Content>" in message


# Bad input ---------------------------------------------------------------------------------


def test_wrong_signature() -> None:
    v = SAFE[0]
    crypto = crypto_for(v)
    with pytest.raises(SignatureMismatch) as info:
        crypto.check_signature("0" * 40, v["timestamp"], v["nonce"], v["encrypt"])
    assert info.value.status_code == 403
    with pytest.raises(SignatureMismatch):
        crypto.check_signature(v["msg_signature"], v["timestamp"], "other", v["encrypt"])
    with pytest.raises(SignatureMismatch):
        crypto.check_signature(None, v["timestamp"], v["nonce"], v["encrypt"])


def test_wrong_app_id() -> None:
    v = SAFE[0]
    other = MessageCrypto(v["token"], v["encoding_aes_key"], "wx0000000000000000")
    with pytest.raises(ReceiveIdMismatch) as info:
        other.decrypt(v["encrypt"])
    assert isinstance(info.value, VerificationFailed)


@pytest.mark.parametrize(
    "ciphertext",
    ["not base64!!", "QUJD=", "Q3st YC6h", "\u4e2d\u6587"],
    ids=["symbols", "bad-padding-chars", "space", "non-ascii"],
)
def test_non_base64(ciphertext: str) -> None:
    with pytest.raises(InvalidCiphertext) as info:
        crypto_for(SAFE[0]).decrypt(ciphertext)
    assert isinstance(info.value, InvalidPayload) and info.value.status_code == 400


def test_truncated_ciphertext() -> None:
    v = SAFE[0]
    raw = base64.b64decode(v["encrypt"])
    crypto = crypto_for(v)
    with pytest.raises(InvalidCiphertext):  # not whole AES blocks
        crypto.decrypt(base64.b64encode(raw[:-5]).decode())
    with pytest.raises(InvalidCiphertext):
        crypto.decrypt("")
    with pytest.raises(InvalidPayload):  # whole blocks, but the padding is gone
        crypto.decrypt(base64.b64encode(raw[:-16]).decode())


@pytest.mark.parametrize("pad", [b"\x00" * 32, b"\x21" * 33, b"\x03\x02\x03"], ids=str)
def test_bad_padding(pad: bytes) -> None:
    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    ref = ReferenceCrypto("tok", key, "wx1")
    # Two AES blocks of 32 bytes whose tail is the bad padding.
    plaintext = (b"z" * 64 + pad)[-64:]
    with pytest.raises(BadPadding) as info:
        MessageCrypto("tok", key, "wx1").decrypt(ref.encrypt_raw(plaintext))
    assert info.value.status_code == 400


def test_length_field_beyond_plaintext() -> None:
    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    body = b"0123456789abcdef" + b"\x7f\x00\x00\x00" + b"short" + b"wx1"
    amount = 32 - len(body) % 32
    ciphertext = ReferenceCrypto("tok", key, "wx1").encrypt_raw(body + bytes([amount]) * amount)
    with pytest.raises(InvalidCiphertext):
        MessageCrypto("tok", key, "wx1").decrypt(ciphertext)


@pytest.mark.parametrize(
    "key", ["", "short", "a" * 44, "abcdefghijklmnopqrstuvwxyz0123456789ABCDE+G"]
)
def test_invalid_aes_key(key: str) -> None:
    with pytest.raises(InvalidAESKey):
        decode_aes_key(key)
