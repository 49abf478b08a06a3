"""Showing that a phone number typed into the chat is the typist's own.

A free-consultation claim counts only once the number is proved (``nettrouble.eligibility.ledger``). Two
proofs happen in the chat:

- ``sms_sender``: on SMS, the number typed is the number the messages come from (the channel
  passes the sender's person key in the message metadata);
- ``code``: where an SMS provider is configured, a one-time code of ``CODE_DIGITS`` digits is
  sent to the number, valid ``CODE_TTL``, with ``CODE_TRIES`` tries.

The third, staff checking the caller's number on the phone, is in the console.

Codes are kept as a keyed hash, one per conversation (a new code replaces the old); the
conversation is stored as a keyed hash too. Neither the number nor the code is ever logged.
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional, TypeVar, Union

from sqlalchemy import Column, DateTime, Integer, String, Table, delete, select
from sqlalchemy.engine import Connection, Engine

from nettrouble.core.clock import in_japan, now
from nettrouble.core.sql_metadata import metadata
from nettrouble.eligibility.identity import keyed
from nettrouble.eligibility.ledger import PERSON_KEY_LENGTH, is_person_key

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
CODE_TRIES = 5

# check() results
VERIFIED = "verified"
WRONG = "wrong"
EXPIRED = "expired"
LOCKED = "locked"
NO_CODE = "no_code"

number_codes = Table(
    "number_codes",
    metadata,
    Column("conversation", String(64), primary_key=True),
    Column("person_key", String(PERSON_KEY_LENGTH), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("tries_left", Integer, nullable=False),
    Column("verified_at", DateTime(timezone=True), nullable=True),
)

Bind = Union[Engine, Connection]
_T = TypeVar("_T")
_CODE = re.compile(r"(?<!\d)(\d(?:[\s-]?\d){%d})(?!\d)" % (CODE_DIGITS - 1))


@dataclass(frozen=True)
class Check:
    result: str
    tries_left: int = 0


def conversation_digest(sender_id: str, secret: Optional[str] = None) -> str:
    """The keyed hash of a conversation id, as this table stores it."""
    return keyed(f"proof:{sender_id}", secret)


def _code_hash(conversation: str, person_key: str, code: str, secret: Optional[str]) -> str:
    return keyed(f"{conversation}:{person_key}:{code}", secret)


def is_bare_code(text: str) -> bool:
    """A message that is a code and nothing else (「123456」「１２３ ４５６」): once checked it
    is spent, and tells staff nothing."""
    return re.fullmatch(r"\d{%d}" % CODE_DIGITS, re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text))) is not None


def read_code(text: Optional[str]) -> Optional[str]:
    """The code in a reply (「123456」, 「１２３ ４５６」, 「コードは123456です」), or None."""
    if not text:
        return None
    found = _CODE.findall(unicodedata.normalize("NFKC", text))
    return re.sub(r"\D", "", found[0]) if len(found) == 1 else None


def _run(bind: Bind, work: Callable[[Connection], _T]) -> _T:
    if isinstance(bind, Connection):
        return work(bind)
    with bind.begin() as connection:
        return work(connection)


def new_code(
    bind: Bind, sender_id: str, person_key: str, at: Optional[datetime] = None, secret: Optional[str] = None
) -> str:
    """A fresh code for this conversation and number (replacing any earlier one); the caller
    sends it to the number and forgets it."""
    if not is_person_key(person_key):
        raise ValueError("person_key must be a person key")
    at = in_japan(at) if at else now()
    conversation = conversation_digest(sender_id, secret)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"

    def work(connection: Connection) -> None:
        connection.execute(delete(number_codes).where(number_codes.c.conversation == conversation))
        connection.execute(
            number_codes.insert().values(
                conversation=conversation,
                person_key=person_key,
                code_hash=_code_hash(conversation, person_key, code, secret),
                expires_at=at + CODE_TTL,
                tries_left=CODE_TRIES,
                verified_at=None,
            )
        )

    _run(bind, work)
    return code


def check(
    bind: Bind, sender_id: str, person_key: str, typed: str, at: Optional[datetime] = None, secret: Optional[str] = None
) -> Check:
    """Compares a typed code with the one sent for this conversation and number."""
    at = in_japan(at) if at else now()
    conversation = conversation_digest(sender_id, secret)

    def work(connection: Connection) -> Check:
        row = connection.execute(
            select(number_codes).where(
                number_codes.c.conversation == conversation, number_codes.c.person_key == person_key
            )
        ).first()
        if row is None:
            return Check(NO_CODE)
        if row.verified_at is not None:
            return Check(VERIFIED)
        if row.tries_left <= 0:
            return Check(LOCKED)
        if in_japan(row.expires_at) <= at:
            return Check(EXPIRED)
        expected = _code_hash(conversation, person_key, typed, secret)
        if hmac.compare_digest(expected, row.code_hash):
            connection.execute(
                number_codes.update().where(number_codes.c.conversation == conversation).values(verified_at=at)
            )
            return Check(VERIFIED)
        left = row.tries_left - 1
        connection.execute(
            number_codes.update().where(number_codes.c.conversation == conversation).values(tries_left=left)
        )
        return Check(LOCKED if left <= 0 else WRONG, left)

    return _run(bind, work)


def proved_by_code(bind: Bind, sender_id: str, person_key: Optional[str], secret: Optional[str] = None) -> bool:
    """Whether this conversation proved this number with a code."""
    if not is_person_key(person_key):
        return False
    conversation = conversation_digest(sender_id, secret)

    def work(connection: Connection) -> bool:
        row = connection.execute(
            select(number_codes.c.verified_at).where(
                number_codes.c.conversation == conversation, number_codes.c.person_key == person_key
            )
        ).first()
        return bool(row and row.verified_at is not None)

    return _run(bind, work)


def e164(national_number: str) -> str:
    """+81 form of an 11-digit national mobile number, for the SMS provider."""
    return "+81" + national_number[1:]
