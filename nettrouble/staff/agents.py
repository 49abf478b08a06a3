"""Named accounts of the console's staff: who signs in, with which role, under which password.

Every status change and audit record carries the name of the agent who made it, so names are
never deleted: removing an agent disables the account and keeps the name taken. Names are
compared without regard to case (``Alice`` and ``alice`` are one account) and shown as added.

Passwords are stored as ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (standard base64), so the cost
parameters can be raised later without invalidating stored hashes. New passwords are generated
here, never chosen by people: 16 characters from an alphabet without 0/o/1/l, easy to read out
over the phone, about 80 bits.

Each account has a ``generation`` that every removal, password reset and role change bumps;
sessions carry the generation they were signed in under, so a change of the account ends them
at their next request (``session_agent``).

On first start of the console, while no supervisor exists, the .env account
(CONSOLE_USER / CONSOLE_PASSWORD) becomes one (``bootstrap``); after that the .env password
signs nobody in unless every supervisor has been removed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import List, Optional

from sqlalchemy import Column, DateTime, Integer, String, Table, UniqueConstraint, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from nettrouble.cases.schema import SYSTEM
from nettrouble.core.clock import now
from nettrouble.core.sql_metadata import metadata

log = logging.getLogger(__name__)

AGENT = "agent"
SUPERVISOR = "supervisor"
ROLES = (AGENT, SUPERVISOR)

MAX_NAME = 40
NAME = re.compile(r"[A-Za-z0-9._-]{1,%d}" % MAX_NAME, re.ASCII)
# The audit trail already uses this name for the assistant's own changes.
RESERVED_NAMES = (SYSTEM,)

PASSWORD_CHARS = 16
PASSWORD_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
# Longer typed passwords cannot be ours; they are refused before any hashing.
MAX_PASSWORD_CHARS = 200

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
# Stored parameters are bounded so that a damaged row cannot make one sign-in take minutes.
MAX_SCRYPT_N, MAX_SCRYPT_R, MAX_SCRYPT_P = 2**20, 32, 16

# The throttle bucket shared by every name that is not an active account (console.auth).
UNKNOWN_NAME = "\x00unknown"

agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MAX_NAME), nullable=False),
    # The name folded to lower case: what uniqueness and sign-in compare.
    Column("name_key", String(MAX_NAME), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("generation", Integer, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("name_key", name="uq_agents_name_key"),
)


class AgentError(ValueError):
    """A refused operation; the message says why, for the operator."""


class UnknownAgent(AgentError):
    """No account has that name."""


@dataclass(frozen=True)
class Agent:
    name: str
    role: str
    generation: int
    created_at: datetime
    password_changed_at: datetime
    removed_at: Optional[datetime]

    @property
    def active(self) -> bool:
        return self.removed_at is None

    @property
    def supervisor(self) -> bool:
        return self.role == SUPERVISOR


# --- passwords -------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # scrypt needs 128 * n * r * p bytes; OpenSSL's default ceiling (32 MiB) is too tight for
    # raised parameters, so the ceiling follows them.
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=128 * n * r * p + 1024 * 1024,
        dklen=length,
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored``; compared in constant time."""
    try:
        scheme, n_text, r_text, p_text, salt_text, expected_text = stored.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = base64.b64decode(salt_text, validate=True), base64.b64decode(expected_text, validate=True)
    except ValueError:
        log.error("an agent's stored password hash is malformed; that agent cannot sign in")
        return False
    if (
        scheme != "scrypt"
        or not (1 < n <= MAX_SCRYPT_N and 0 < r <= MAX_SCRYPT_R and 0 < p <= MAX_SCRYPT_P)
        or not expected
    ):
        log.error("an agent's stored password hash has unusable parameters; that agent cannot sign in")
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_CHARS))


# --- names -----------------------------------------------------------------------------------


def name_key(name: str) -> str:
    return name.strip().lower()


def check_name(name: object) -> str:
    """The name as it will be stored, or AgentError saying what is wrong with it."""
    if not isinstance(name, str) or not NAME.fullmatch(name.strip()):
        raise AgentError(f"a name is 1 to {MAX_NAME} letters, digits, '.', '_' or '-': {name!r}")
    if name_key(name) in RESERVED_NAMES:
        raise AgentError(f"{name!r} is reserved for the assistant's own entries in the audit trail")
    return name.strip()


def check_role(role: object) -> str:
    if role not in ROLES:
        raise AgentError(f"the role is one of {', '.join(ROLES)}, not {role!r}")
    return role


# --- operations ------------------------------------------------------------------------------


def _agent(row: Row) -> Agent:
    return Agent(
        name=row.name,
        role=row.role,
        generation=row.generation,
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
        removed_at=row.removed_at,
    )


def _row(connection: Connection, name: object) -> Optional[Row]:
    if not isinstance(name, str) or len(name) > MAX_NAME + 100:
        return None
    return connection.execute(select(agents).where(agents.c.name_key == name_key(name))).first()


def get(engine: Engine, name: str) -> Optional[Agent]:
    """The account of that name (removed ones too), or None."""
    with engine.connect() as connection:
        row = _row(connection, name)
    return _agent(row) if row is not None else None


def list_agents(engine: Engine) -> List[Agent]:
    with engine.connect() as connection:
        rows = connection.execute(select(agents).order_by(agents.c.name_key)).all()
    return [_agent(row) for row in rows]


def _insert(connection: Connection, name: str, role: str, password: str) -> None:
    at = now()
    connection.execute(
        agents.insert().values(
            name=name,
            name_key=name_key(name),
            role=role,
            password_hash=hash_password(password),
            generation=1,
            created_at=at,
            password_changed_at=at,
            removed_at=None,
        )
    )


def add(engine: Engine, name: str, role: str = AGENT) -> str:
    """Adds an account and returns its one-time password (shown once, stored only hashed)."""
    name, role = check_name(name), check_role(role)
    password = new_password()
    try:
        with engine.begin() as connection:
            existing = _row(connection, name)
            if existing is not None:
                raise AgentError(_taken(existing))
            _insert(connection, name, role, password)
    except IntegrityError:
        # Another process added the same name between the check and the insert.
        raise AgentError(f"{name!r} exists already") from None
    log.info("agent %s added as %s", name, role)
    return password


def _taken(row: Row) -> str:
    if row.removed_at is not None:
        return f"{row.name!r} belonged to a removed agent and stays reserved for the audit trail; choose another name"
    return f"{row.name!r} exists already"


def _active_row(connection: Connection, name: str) -> Row:
    row = _row(connection, name)
    if row is None:
        raise UnknownAgent(f"no agent is named {name!r}")
    if row.removed_at is not None:
        raise AgentError(f"{row.name!r} has been removed")
    return row


def remove(engine: Engine, name: str) -> Agent:
    """Disables the account: it cannot sign in and its open sessions end at their next request.
    The name stays taken so that the audit trail keeps meaning one person."""
    with engine.begin() as connection:
        row = _active_row(connection, name)
        connection.execute(
            update(agents).where(agents.c.id == row.id).values(removed_at=now(), generation=agents.c.generation + 1)
        )
        changed = connection.execute(select(agents).where(agents.c.id == row.id)).one()
    log.info("agent %s removed", row.name)
    return _agent(changed)


def reset(engine: Engine, name: str) -> str:
    """Gives the account a new one-time password; its open sessions end."""
    password = new_password()
    with engine.begin() as connection:
        row = _active_row(connection, name)
        connection.execute(
            update(agents)
            .where(agents.c.id == row.id)
            .values(
                password_hash=hash_password(password), password_changed_at=now(), generation=agents.c.generation + 1
            )
        )
    log.info("agent %s: password reset", row.name)
    return password


def authenticate(engine: Engine, name: object, password: object) -> Optional[Agent]:
    """The active account of that name when the password is its own, else None. Unknown and
    removed names cost one scrypt too, so the time taken does not tell which names exist."""
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD_CHARS:
        return None
    with engine.connect() as connection:
        row = _row(connection, name)
    if row is None or row.removed_at is not None:
        verify_password(password, _dummy_hash())
        return None
    return _agent(row) if verify_password(password, row.password_hash) else None


def throttle_key(engine: Engine, name: object) -> str:
    """What the sign-in throttle counts a failure against: the folded name of an active
    account, or one bucket shared by every other name (so that made-up names cannot fill the
    throttle's memory, nor each get their own free guesses)."""
    with engine.connect() as connection:
        row = _row(connection, name)
    return row.name_key if row is not None and row.removed_at is None else UNKNOWN_NAME


def session_agent(engine: Engine, name: str, generation: int) -> Optional[Agent]:
    """The account behind a session signed in under ``generation``, or None when it has been
    removed, reset or changed since."""
    agent = get(engine, name)
    if agent is None or not agent.active or agent.generation != generation:
        return None
    return agent


def bootstrap(engine: Engine, name: str, password: str) -> bool:
    """Makes the .env account (``name`` / ``password``) a supervisor while no active supervisor
    exists; True when it did. An existing account of that name is re-enabled, promoted and
    given the .env password: whoever controls the server's .env is who recovers the console."""
    name = check_name(name)
    with engine.begin() as connection:
        supervisors = connection.execute(
            select(agents.c.id).where(agents.c.role == SUPERVISOR, agents.c.removed_at.is_(None))
        ).first()
        if supervisors is not None:
            return False
        row = _row(connection, name)
        if row is None:
            _insert(connection, name, SUPERVISOR, password)
        else:
            connection.execute(
                update(agents)
                .where(agents.c.id == row.id)
                .values(
                    role=SUPERVISOR,
                    removed_at=None,
                    password_hash=hash_password(password),
                    password_changed_at=now(),
                    generation=agents.c.generation + 1,
                )
            )
    log.warning("no supervisor account existed: %s (CONSOLE_USER in .env) is now one", name)
    return True
