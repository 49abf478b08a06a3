"""Who may read cases: the staff session, the CSRF token of its forms, the sign-in throttle, the
supervisor-only guard and the bearer token of the JSON API.

Sessions are signed cookies (HMAC-SHA256), HttpOnly and SameSite=Strict, valid for one shift
(8 hours). The signing key is random and lives only in this process: a restart signs everyone
out, and in exchange signing out is final (the signed-out session id is remembered until it
would have expired anyway), no secret on disk can forge a session, and changing the password
needs no key rotation. The console is one process (it also runs the notification worker), so
no key has to be shared.

A session exists before sign-in too (``user`` is None) so that the sign-in form carries a CSRF
token like every other form; signing in replaces it with a new id and token. A signed-in session
names the agent (``nettrouble.staff.agents``), their role and the account's generation at sign-in; the
console's gate checks the generation on every request, so removing an agent or resetting their
password ends their sessions.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Deque, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from sanic import Request
from sanic.exceptions import Forbidden
from sanic.response import HTTPResponse

from nettrouble.monitoring import metrics
from nettrouble.staff.agents import SUPERVISOR

COOKIE = "nt_console_session"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 8 * 60 * 60
# A sign-in page left open longer than this has to be reloaded before it can be sent.
SIGN_IN_FORM_SECONDS = 60 * 60
# Longer cookie values are not ours: they are refused before any decoding.
MAX_COOKIE_CHARS = 1024
MAX_USER_CHARS = 100

# Missing and wrong bearer tokens, for the WWW-Authenticate answer.
MISSING = "missing"
INVALID = "invalid"


@dataclass(frozen=True)
class Session:
    sid: str
    user: Optional[str]
    csrf: str
    expires: float
    role: Optional[str] = None
    generation: int = 0

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def supervisor(self) -> bool:
        return self.signed_in and self.role == SUPERVISOR


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Issues, signs, reads and revokes sessions."""

    def __init__(self, key: Optional[bytes] = None, clock: Callable[[], float] = time.time):
        self._key = key or secrets.token_bytes(32)
        self._clock = clock
        self._revoked: Dict[str, float] = {}
        self._lock = threading.Lock()

    def new(self, user: Optional[str] = None, role: Optional[str] = None, generation: int = 0) -> Session:
        lifetime = SESSION_SECONDS if user is not None else SIGN_IN_FORM_SECONDS
        return Session(
            sid=secrets.token_urlsafe(16),
            user=user,
            csrf=secrets.token_urlsafe(32),
            expires=self._clock() + lifetime,
            role=role,
            generation=generation,
        )

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def encode(self, session: Session) -> str:
        body = json.dumps(
            [session.sid, session.user, session.csrf, int(session.expires), session.role, session.generation],
            ensure_ascii=True,
            separators=(",", ":"),
        )
        payload = _b64(body.encode("ascii"))
        return f"{payload}.{self._mac(payload)}"

    def decode(self, cookie: Optional[str]) -> Optional[Session]:
        """The session in a cookie value, or None when it is missing, forged, expired or signed out."""
        if not isinstance(cookie, str) or len(cookie) > MAX_COOKIE_CHARS or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        # A payload outside ASCII was not made here; a MAC is computed anyway (over nothing)
        # so that refusing it takes the same time as refusing a wrong signature.
        expected = self._mac(payload if payload.isascii() else "")
        if not hmac.compare_digest(mac.encode("utf-8", "replace"), expected.encode("ascii")):
            return None
        try:
            sid, user, csrf, expires, role, generation = json.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error):
            return None
        if not (
            isinstance(sid, str) and isinstance(csrf, str) and isinstance(expires, int) and isinstance(generation, int)
        ):
            return None
        if (user is not None and not isinstance(user, str)) or (role is not None and not isinstance(role, str)):
            return None
        if expires <= self._clock():
            return None
        with self._lock:
            if sid in self._revoked:
                return None
        return Session(sid, user, csrf, float(expires), role, generation)

    def seconds_left(self, session: Session) -> int:
        return max(1, int(session.expires - self._clock()))

    def revoke(self, session: Session) -> None:
        """Signs a session out for good (in this process)."""
        now = self._clock()
        with self._lock:
            # Sessions past their expiry are refused anyway; forgetting them bounds the memory.
            for sid in [sid for sid, until in self._revoked.items() if until <= now]:
                del self._revoked[sid]
            self._revoked[session.sid] = session.expires


def _digest(value: object) -> bytes:
    text = value if isinstance(value, str) else ""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class SignInThrottle:
    """Slows down password guessing, per account and across all of them.

    Per account (the name typed, folded to lower case; every name that is not an account shares
    one key, ``nettrouble.staff.agents.throttle_key``): the first ``free`` failures cost nothing; each
    later one blocks further attempts on that account for 1, 2, 4 … seconds, up to
    ``max_wait``. Keys quiet for ``forget_after`` seconds start over. Counting per account
    rather than per address keeps a team behind one proxy from being locked out by one
    person's typos, and a guesser gains nothing by changing address.

    Across accounts: after ``ceiling`` failures within ``ceiling_window`` seconds, every
    sign-in waits until the oldest of them leaves the window, so spraying one guess over many
    names is slowed down as much as guessing one.

    Being blocked refuses the attempt before any password is checked, so parallel guesses gain
    nothing."""

    def __init__(
        self,
        free: int = 5,
        max_wait: float = 300.0,
        forget_after: float = 900.0,
        ceiling: int = 30,
        ceiling_window: float = 60.0,
        max_keys: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free, self.max_wait, self.forget_after = free, max_wait, forget_after
        self.ceiling, self.ceiling_window = ceiling, ceiling_window
        self.max_keys = max_keys
        self._clock = clock
        # key -> (failures, last failure, blocked until)
        self._keys: Dict[str, Tuple[int, float, float]] = {}
        # Times of the latest failures, any key; never longer than the ceiling.
        self._recent: Deque[float] = deque(maxlen=ceiling)
        self._lock = threading.Lock()

    def wait_for(self, key: str) -> float:
        """Seconds before a sign-in to ``key`` may be tried (0: now)."""
        now = self._clock()
        with self._lock:
            entry = self._keys.get(key)
            overall = self._recent[0] + self.ceiling_window - now if len(self._recent) >= self.ceiling else 0.0
        own = entry[2] - now if entry is not None else 0.0
        return max(0.0, own, overall)

    def failed(self, key: str) -> None:
        metrics.SIGN_IN_FAILURES.inc()
        now = self._clock()
        with self._lock:
            self._recent.append(now)
            failures, last, _until = self._keys.get(key, (0, now, now))
            if now - last > self.forget_after:
                failures = 0
            failures += 1
            wait = 0.0 if failures <= self.free else min(2.0 ** (failures - self.free - 1), self.max_wait)
            self._keys[key] = (failures, now, now + wait)
            if len(self._keys) > self.max_keys:
                self._forget(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def _forget(self, now: float) -> None:
        stale = [k for k, (_, last, until) in self._keys.items() if now - last > self.forget_after and until <= now]
        for key in stale:
            del self._keys[key]
        # Keys are account names, so this only matters with a very large staff; still, drop
        # the oldest rather than grow.
        overflow = len(self._keys) - self.max_keys
        if overflow > 0:
            for key in sorted(self._keys, key=lambda k: self._keys[k][1])[:overflow]:
                del self._keys[key]


# What Sanic's add_route takes: a coroutine function of the request (and path parameters).
Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


def supervisor_only(handler: Handler) -> Handler:
    """Wraps a console handler so that only a supervisor's session reaches it; an agent gets
    403. The gate has already refused anyone not signed in."""

    @functools.wraps(handler)
    async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        require_supervisor(getattr(request.ctx, "session", None))
        return await handler(request, *args, **kwargs)

    return guarded


def require_supervisor(session: Optional[Session]) -> None:
    """Forbidden (403) unless ``session`` is a supervisor's; for checks inside a handler."""
    if session is None or not session.supervisor:
        raise Forbidden("supervisors only")


def csrf_ok(session: Optional[Session], submitted: object) -> bool:
    if session is None or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(submitted.encode("utf-8", "replace"), session.csrf.encode("ascii"))


def same_origin(headers: Mapping[str, str], host: str) -> bool:
    """False when the browser says the form was sent from another site.

    ``Sec-Fetch-Site`` is checked where the browser sends it; ``Origin`` and ``Referer`` when
    present must name this host. ``Origin: null`` is let through to the CSRF token check: with
    ``Referrer-Policy: no-referrer`` browsers send exactly that for this console's own forms."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site and fetch_site.lower() not in ("same-origin", "none"):
        return False
    expected = (host or "").lower()
    for name in ("origin", "referer"):
        value = headers.get(name)
        if not value or value == "null":
            continue
        try:
            netloc = urlsplit(value).netloc.lower()
        except ValueError:
            return False
        if not netloc or netloc != expected:
            return False
    return True


def bearer_problem(header: Optional[str], token: str) -> Optional[str]:
    """None when ``Authorization`` carries the API token; else MISSING or INVALID."""
    if not header:
        return MISSING
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return INVALID
    if hmac.compare_digest(_digest(value.strip()), _digest(token)):
        return None
    return INVALID


def safe_next(target: object) -> str:
    """Where to go after sign-in: a path on this console, never another site."""
    if (
        not isinstance(target, str)
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or len(target) > 2000
        or any(ord(char) < 32 or char == "\\" for char in target)
    ):
        return "/"
    return target
