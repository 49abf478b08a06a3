"""The number to call, sealed: AES-256-GCM under a key derived (HKDF-SHA256) from the setting
CALLBACK_NUMBER_KEY, a random 96-bit nonce per number, and the case the number belongs to as
associated data, so that a sealed number copied onto another case's row does not open there.

Stored form: ``v1:`` and the URL-safe base64 of nonce + ciphertext + tag. The database (and any
copy or backup of it) holds no digit of the number; whoever reads it needs the key, which only
the action server (to seal) and the console (to show staff) have.
"""

from __future__ import annotations

import base64
import os
from typing import Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nettrouble.core.settings import settings

VERSION = "v1:"
_INFO = b"nettrouble callback number v1"
_NONCE_BYTES = 12


class NoKey(RuntimeError):
    """CALLBACK_NUMBER_KEY is not set: callbacks are off."""


class Unreadable(ValueError):
    """A sealed number that this key cannot open (another key, another case, or damaged)."""


def _secret(secret: Optional[str]) -> str:
    value = secret if secret is not None else settings().callback_number_key
    if not value:
        raise NoKey("CALLBACK_NUMBER_KEY is not set")
    return value


def _cipher(secret: Optional[str]) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(_secret(secret).encode("utf-8"))
    return AESGCM(key)


def _context(case_id: int) -> bytes:
    return f"case:{case_id}".encode("ascii")


def available(secret: Optional[str] = None) -> bool:
    """Whether numbers can be sealed (the key is set)."""
    return bool(secret if secret is not None else settings().callback_number_key)


def seal(number: str, case_id: int, secret: Optional[str] = None) -> str:
    """``number`` sealed for the case ``case_id``."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(secret).encrypt(nonce, number.encode("utf-8"), _context(case_id))
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(token: str, case_id: int, secret: Optional[str] = None) -> str:
    """The number sealed for ``case_id``; ``Unreadable`` when this key cannot open it."""
    if not isinstance(token, str) or not token.startswith(VERSION):
        raise Unreadable("not a sealed number")
    try:
        raw = base64.urlsafe_b64decode(token[len(VERSION) :].encode("ascii"))
        opened = _cipher(secret).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _context(case_id))
    except (InvalidTag, ValueError) as error:
        raise Unreadable("the sealed number cannot be opened with this key") from error
    return opened.decode("utf-8")
