"""Who may read cases: the staff session, the CSRF token of its forms, the sign-in throttle and
the bearer token of the JSON API.

Sessions are signed cookies (HMAC-SHA256), HttpOnly and SameSite=Strict, valid for one shift
(8 hours). The signing key is random and lives only in this process: a restart signs everyone
out, and in exchange signing out is final (the signed-out session id is remembered until it
would have expired anyway), no secret on disk can forge a session, and changing the password
needs no key rotation. The console is one process (it also runs the notification worker), so
no key has to be shared.

A session exists before sign-in too (``user`` is None) so that the sign-in form carries a CSRF
token like every other form; signing in replaces it with a new id and token.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

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

    @property
    def signed_in(self) -> bool:
        return self.user is not None


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

    def new(self, user: Optional[str] = None) -> Session:
        lifetime = SESSION_SECONDS if user is not None else SIGN_IN_FORM_SECONDS
        return Session(
            sid=secrets.token_urlsafe(16),
            user=user,
            csrf=secrets.token_urlsafe(32),
            expires=self._clock() + lifetime,
        )

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def encode(self, session: Session) -> str:
        body = json.dumps([session.sid, session.user, session.csrf, int(session.expires)],
                          ensure_ascii=True, separators=(",", ":"))
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
            sid, user, csrf, expires = json.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error):
            return None
        if not (isinstance(sid, str) and isinstance(csrf, str) and isinstance(expires, int)):
            return None
        if user is not None and not isinstance(user, str):
            return None
        if expires <= self._clock():
            return None
        with self._lock:
            if sid in self._revoked:
                return None
        return Session(sid, user, csrf, float(expires))

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


def credentials_match(user: object, password: object, expected_user: str, expected_password: str) -> bool:
    """Both compared in constant time over their digests (so the length of the real password
    does not show either), both always compared."""
    if not isinstance(user, str) or not isinstance(password, str) or not password:
        return False
    user_ok = hmac.compare_digest(_digest(user), _digest(expected_user))
    password_ok = hmac.compare_digest(_digest(password), _digest(expected_password))
    return user_ok and password_ok


class SignInThrottle:
    """Slows down password guessing, per client address: the first ``free`` failures cost
    nothing; each later one blocks further attempts for 1, 2, 4 … seconds, up to
    ``max_wait``. Being blocked refuses the attempt before any password is checked, so
    parallel guesses gain nothing. Addresses quiet for ``forget_after`` seconds start over."""

    def __init__(
        self,
        free: int = 5,
        max_wait: float = 300.0,
        forget_after: float = 900.0,
        max_clients: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.free, self.max_wait, self.forget_after = free, max_wait, forget_after
        self.max_clients = max_clients
        self._clock = clock
        # client -> (failures, last failure, blocked until)
        self._clients: Dict[str, Tuple[int, float, float]] = {}
        self._lock = threading.Lock()

    def wait_for(self, client: str) -> float:
        """Seconds before ``client`` may try again (0: now)."""
        now = self._clock()
        with self._lock:
            entry = self._clients.get(client)
        if entry is None:
            return 0.0
        return max(0.0, entry[2] - now)

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            failures, last, _until = self._clients.get(client, (0, now, now))
            if now - last > self.forget_after:
                failures = 0
            failures += 1
            wait = 0.0 if failures <= self.free else min(2.0 ** (failures - self.free - 1), self.max_wait)
            self._clients[client] = (failures, now, now + wait)
            if len(self._clients) > self.max_clients:
                self._forget(now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def _forget(self, now: float) -> None:
        stale = [c for c, (_, last, until) in self._clients.items()
                 if now - last > self.forget_after and until <= now]
        for client in stale:
            del self._clients[client]
        # A flood of addresses still inside the window: drop the oldest rather than grow.
        overflow = len(self._clients) - self.max_clients
        if overflow > 0:
            for client in sorted(self._clients, key=lambda c: self._clients[c][1])[:overflow]:
                del self._clients[client]


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
