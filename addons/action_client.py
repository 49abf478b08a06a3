"""The Rasa server's calls to the action server: on kept connections, timed and measured.

Rasa's ``RemoteAction`` posts each action call through ``EndpointConfig.request``. ``install``
wraps that method: a request whose JSON body names a ``next_action`` is an action call and is
made here, everything else (other endpoints) goes to Rasa's own code. The call keeps Rasa's
contract: the same URL, parameters, headers and timeout, ``ClientResponseError`` with the body
for a status of 400 and above (RemoteAction turns a 400 into a rejected action), the parsed
JSON otherwise. What it adds:
  - one client session per event loop, whose connections stay open between calls (Rasa opens
    a session, hence a TCP connection, for every call); idle connections are closed before
    the action server's keep-alive of 5 s would close them under a call;
  - the body serialised once here with ujson, UTF-8 as it is (Rasa's escapes every Japanese
    character as \\uXXXX, six bytes instead of three), so that its size is known;
  - the call in the turn's record (nettrouble/monitoring/timing.py), with the action server's own figures
    from its ``Server-Timing`` header.

RemoteAction checks every answer against its JSON schema with ``jsonschema.validate``, which
checks the schema itself each time first: 5-60 ms a call, more than the call. ``install`` also
makes that check with validators built once (``AnswerValidators``): the same test, the same error.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import aiohttp
import ujson
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

from nettrouble.monitoring import timing

# Below sanic's KEEP_ALIVE_TIMEOUT (5 s) of the action server.
KEEP_ALIVE_S = 3.0
_sessions: Dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_S),
            # json.loads and the like are never asked of the session: the body is read as bytes.
            timeout=aiohttp.ClientTimeout(total=None),
        )
        _sessions[loop] = session
    return session


async def close_sessions(*_: Any) -> None:
    """Closes the sessions of the running loop (a Sanic ``after_server_stop`` listener)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


async def call_action(
    endpoint: EndpointConfig, body: Dict[str, Any], timeout: float, compress: bool = False
) -> Optional[Any]:
    """Posts one action call to ``endpoint`` and returns the action server's JSON answer."""
    if endpoint.url is None:
        raise ValueError("the action endpoint has no url (endpoints.yml)")
    started = time.perf_counter()
    data = ujson.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", **endpoint.headers}
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    async with _session().post(
        concat_url(endpoint.url, None),
        data=data,
        headers=headers,
        auth=auth,
        params=endpoint.combine_parameters({}),
        compress=compress,
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as response:
        payload = await response.read()
        server = timing.parse_server_timing(response.headers.get("Server-Timing"))
        status, reason = response.status, response.reason
    timing.action_call(
        {
            "name": body.get("next_action"),
            "ms": round((time.perf_counter() - started) * 1000, 3),
            "request_bytes": len(data),
            "response_bytes": len(payload),
            "status": status,
            **server,
        }
    )
    if status >= 400:
        # Rasa passes the body's bytes as ``text`` too (rasa/utils/endpoints.py), though it annotates
        # str; RemoteAction reads it with json.loads, which takes either.
        raise ClientResponseError(status, reason or "", payload)  # type: ignore[arg-type]
    try:
        return ujson.loads(payload)
    except ValueError:
        return None


def route_action_calls(original: Callable) -> Callable:
    @functools.wraps(original)
    async def request(
        self: EndpointConfig,
        method: str = "post",
        subpath: Optional[str] = None,
        content_type: Optional[str] = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Optional[Any]:
        body: Any = kwargs.get("json")
        plain_call = (
            method.lower() == "post"
            and subpath is None
            and content_type == "application/json"
            and isinstance(body, dict)
            and "next_action" in body
            and not self.cafile
            and set(kwargs) <= {"json", "timeout"}
        )
        if not plain_call:
            return await original(self, method, subpath, content_type, compress, **kwargs)
        return await call_action(self, body, kwargs.get("timeout") or DEFAULT_REQUEST_TIMEOUT, compress)

    return request


@dataclass(frozen=True)
class AnswerValidators:
    """Rasa's schema of an action server's answer, split where it is slow: each event must
    match exactly one of 23 alternatives (``oneOf``), each fixing the event's name (``const``),
    so jsonschema tries all 23 on every event. The alternative named by the event is the only
    one that can match: checking the event against the common part and that alternative is the
    same test. Anything that fails is checked again by the whole schema, for Rasa's error."""

    whole: Any
    outline: Any
    common: Any
    by_event: Dict[str, Any]

    def valid(self, answer: Any) -> bool:
        if not self.outline.is_valid(answer):
            return False
        for event in answer.get("events") or []:
            # A name that is not text (a list, say) matches no alternative rather than failing the lookup.
            name = event.get("event") if isinstance(event, dict) else None
            alternative = self.by_event.get(name) if isinstance(name, str) else None
            if alternative is None or not (self.common.is_valid(event) and alternative.is_valid(event)):
                return False
        return True


@functools.lru_cache(maxsize=1)
def answer_validators() -> AnswerValidators:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    items = schema["properties"]["events"]["items"]
    outline = copy.deepcopy(schema)
    del outline["properties"]["events"]["items"]
    common = {key: value for key, value in items.items() if key != "oneOf"}
    return AnswerValidators(
        whole=validator_class(schema),
        outline=validator_class(outline),
        common=validator_class(common),
        by_event={
            alternative["properties"]["event"]["const"]: validator_class(alternative) for alternative in items["oneOf"]
        },
    )


def validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` (rasa/core/actions/action.py) on validators
    built once."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    validators = answer_validators()
    if validators.valid(result):
        return True
    error = best_match(validators.whole.iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        "from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# Set on what install() patched, so that a second call leaves it alone.
_INSTALLED = "_nettrouble_actions"


def install() -> None:
    from rasa.core.actions.action import RemoteAction

    if not getattr(EndpointConfig.request, _INSTALLED, False):
        EndpointConfig.request = route_action_calls(EndpointConfig.request)
        setattr(EndpointConfig.request, _INSTALLED, True)
    RemoteAction._validate_action_result = validate_action_result
