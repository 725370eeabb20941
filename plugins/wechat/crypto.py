"""The WXBizMsgCrypt family: signatures and the AES envelope of WeChat and WeCom callbacks.

Official accounts (safe and compatible mode) and WeCom apps share one scheme:

* signature: ``sha1("".join(sorted([token, timestamp, nonce, *extra])))``, lower-case hex;
* key: ``base64decode(EncodingAESKey + "=")`` (32 bytes), IV = the key's first 16 bytes;
* AES-256-CBC over ``random(16) | len(msg) as 4 bytes big-endian | msg | receive_id``,
  padded with PKCS#7 on a **32-byte** block (pad values 1..32);
* ``receive_id`` is the official account's app id, or the corp id (suite id) for WeCom.

Failures raise subclasses of the contract's errors, so a webhook answers 403 for what looks
forged (signature, receive id) and 400 for what is merely malformed (base64, length, padding).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from socialcrm.plugins import InvalidPayload, VerificationFailed

BLOCK_SIZE = 32
"""The PKCS#7 block of the scheme: 32 bytes, not AES's 16 (the official samples' choice)."""

_AES_KEY_RE = re.compile(r"^[A-Za-z0-9]{43}$")


class SignatureMismatch(VerificationFailed):
    """A ``signature`` or ``msg_signature`` does not match the token."""


class ReceiveIdMismatch(VerificationFailed):
    """The message decrypted, but was encrypted for another app id or corp id."""


class InvalidCiphertext(InvalidPayload):
    """The ciphertext is not base64, not a whole number of AES blocks, or too short."""


class BadPadding(InvalidPayload):
    """The decrypted text does not end with valid 32-byte PKCS#7 padding."""


class InvalidAESKey(ValueError):
    """An EncodingAESKey that is not 43 base64 letters and digits."""


def signature(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """The scheme's signature: sha1 of the sorted parts joined, in lower-case hex."""
    parts = sorted([token, timestamp, nonce, *extra])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def check_signature(
    expected: str | None, token: str, timestamp: str, nonce: str, *extra: str
) -> None:
    """Raise ``SignatureMismatch`` unless ``expected`` is the signature of the parts."""
    if not expected:
        raise SignatureMismatch("missing signature")
    actual = signature(token, timestamp, nonce, *extra)
    # Constant time: the signature is the only proof that the request comes from WeChat.
    if not hmac.compare_digest(actual, expected.strip().lower()):
        raise SignatureMismatch("signature does not match the token")


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from a 43-character EncodingAESKey; raise ``InvalidAESKey``."""
    if not _AES_KEY_RE.match(encoding_aes_key or ""):
        raise InvalidAESKey("EncodingAESKey must be 43 letters and digits")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:  # pragma: no cover - 43 base64 characters always give 32 bytes
        raise InvalidAESKey("EncodingAESKey does not decode to 32 bytes")
    return key


def pkcs7_pad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    """Pad ``data`` with PKCS#7 to a multiple of ``block_size`` (always adds 1..block)."""
    amount = block_size - len(data) % block_size
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block_size: int = BLOCK_SIZE) -> bytes:
    """Strip PKCS#7 padding; raise ``BadPadding`` when it is not well formed."""
    if not data:
        raise BadPadding("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= block_size or amount > len(data):
        raise BadPadding("bad PKCS#7 padding")
    if data[-amount:] != bytes([amount]) * amount:
        raise BadPadding("bad PKCS#7 padding")
    return data[:-amount]


class MessageCrypto:
    """Encrypts and decrypts the envelope of one account (token, key and receive id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.key = decode_aes_key(encoding_aes_key)
        self.receive_id = receive_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def check_signature(
        self, expected: str | None, timestamp: str, nonce: str, encrypt: str
    ) -> None:
        """Check a ``msg_signature`` over the token, timestamp, nonce and ciphertext."""
        check_signature(expected, self.token, timestamp, nonce, encrypt)

    def decrypt(self, encrypt: str) -> bytes:
        """Decrypt a base64 ciphertext and return the message, checking the receive id."""
        try:
            ciphertext = base64.b64decode(encrypt.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidCiphertext("the ciphertext is not valid base64") from exc
        if not ciphertext or len(ciphertext) % 16:
            raise InvalidCiphertext("the ciphertext is truncated (not whole AES blocks)")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())
        if len(plain) < 20:
            raise InvalidCiphertext("the plaintext is too short for the envelope")
        (length,) = struct.unpack(">I", plain[16:20])
        if length > len(plain) - 20:
            raise InvalidCiphertext("the message length exceeds the plaintext")
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise ReceiveIdMismatch("the message was encrypted for another app id")
        return message

    def encrypt(self, message: bytes, *, random16: bytes | None = None) -> str:
        """Encrypt ``message`` for this receive id; returns base64 text.

        ``random16`` is for known-answer tests only; replies get fresh random bytes.
        """
        prefix = os.urandom(16) if random16 is None else random16
        if len(prefix) != 16:
            raise ValueError("random16 must be 16 bytes")
        plain = prefix + struct.pack(">I", len(message)) + message + self.receive_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        ciphertext = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode("ascii")

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """The ``MsgSignature`` of a reply's ciphertext."""
        return signature(self.token, timestamp, nonce, encrypt)
