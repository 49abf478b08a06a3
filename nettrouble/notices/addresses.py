"""Where a notice goes, in the form the channel needs to send it, and nothing more.

- LINE: the user id, which the push API takes as ``to``. It is also the conversation id
  (``line-`` + id); only one-to-one conversations (user ids start with ``U``) may subscribe,
  since a group or a room cannot consent as one person.
- SMS: the conversation id is a keyed one-way hash of the number (``addons/channels/sms.py``),
  so the number itself must be kept to send; it is kept sealed (Fernet: AES-128-CBC with an
  HMAC-SHA256 tag) under a key derived from PERSON_KEY_SECRET with HKDF, under a label of its
  own, so that a copy of the database alone reveals no number. Only the SMS channel seals (it is
  the only part that sees the number) and only the sending opens.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Optional

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nettrouble.core.settings import settings

LINE = "line"
SMS = "sms"
CHANNELS = (LINE, SMS)
LINE_USER_PREFIX = "U"
_KEY_LABEL = b"nettrouble article notice addresses v1"


class UnreadableAddress(ValueError):
    """A sealed number that the current key cannot open (the secret changed, or it was altered)."""


def channel_of(conversation_id: str) -> Optional[str]:
    """``line`` or ``sms`` for a conversation that may subscribe, else None (web chat, REST, a
    LINE group or room)."""
    prefix, _, local = conversation_id.partition("-")
    if prefix == LINE and local.startswith(LINE_USER_PREFIX):
        return LINE
    if prefix == SMS and local:
        return SMS
    return None


def line_user_id(conversation_id: str) -> str:
    """The LINE user id of a one-to-one LINE conversation."""
    if channel_of(conversation_id) != LINE:
        raise ValueError("not a one-to-one LINE conversation")
    return conversation_id[len(LINE) + 1 :]


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_LABEL).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def seal(number: str) -> str:
    """The SMS number as stored: sealed, different every time for the same number."""
    return _fernet(settings().require("person_key_secret")).encrypt(number.encode("utf-8")).decode("ascii")


def unseal(sealed: str) -> str:
    try:
        return _fernet(settings().require("person_key_secret")).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as error:
        raise UnreadableAddress("a sealed SMS number could not be opened") from error
