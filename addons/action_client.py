"""The Rasa server's calls to the action server, timed and measured.

Rasa's ``RemoteAction`` posts each action call through ``EndpointConfig.request``. ``install``
wraps that method: a request whose JSON body names a ``next_action`` is an action call and is
made here, everything else (other endpoints) goes to Rasa's own code. The call keeps Rasa's
contract: the same URL, parameters, headers and timeout, ``ClientResponseError`` with the body
for a status of 400 and above (RemoteAction turns a 400 into a rejected action), the parsed
JSON otherwise. What it adds: the request body is serialised once here, so that its size is
known, and the call goes into the turn's record (nettrouble/timing.py) with the action server's
own figures from its ``Server-Timing`` header.
"""
from __future__ import annotations

import functools
import json
import time
from typing import Any, Callable, Dict, Optional

import aiohttp
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

from nettrouble import timing


def _session(endpoint: EndpointConfig, timeout: float) -> aiohttp.ClientSession:
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    return aiohttp.ClientSession(headers=endpoint.headers, auth=auth,
                                 timeout=aiohttp.ClientTimeout(total=timeout))


async def call_action(endpoint: EndpointConfig, body: Dict[str, Any], timeout: float,
                      compress: bool = False) -> Optional[Any]:
    """Posts one action call to ``endpoint`` and returns the action server's JSON answer."""
    started = time.perf_counter()
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json", **endpoint.headers}
    async with _session(endpoint, timeout) as session:
        async with session.post(concat_url(endpoint.url, None), data=data, headers=headers,
                                params=endpoint.combine_parameters({}), compress=compress,
                                ssl=None) as response:
            payload = await response.read()
            server = timing.parse_server_timing(response.headers.get("Server-Timing"))
            status, reason = response.status, response.reason
    timing.action_call({
        "name": body.get("next_action"), "ms": round((time.perf_counter() - started) * 1000, 3),
        "request_bytes": len(data), "response_bytes": len(payload), "status": status, **server,
    })
    if status >= 400:
        raise ClientResponseError(status, reason or "", payload)
    try:
        return json.loads(payload)
    except ValueError:
        return None


def route_action_calls(original: Callable) -> Callable:
    @functools.wraps(original)
    async def request(self: EndpointConfig, method: str = "post", subpath: Optional[str] = None,
                      content_type: Optional[str] = "application/json", compress: bool = False,
                      **kwargs: Any) -> Optional[Any]:
        body = kwargs.get("json")
        plain_call = (method.lower() == "post" and subpath is None and content_type == "application/json"
                      and isinstance(body, dict) and "next_action" in body and not self.cafile
                      and set(kwargs) <= {"json", "timeout"})
        if not plain_call:
            return await original(self, method, subpath, content_type, compress, **kwargs)
        return await call_action(self, body, kwargs.get("timeout") or DEFAULT_REQUEST_TIMEOUT, compress)

    return request


def install() -> None:
    if not getattr(EndpointConfig.request, "_nettrouble_actions", False):
        EndpointConfig.request = route_action_calls(EndpointConfig.request)
        EndpointConfig.request._nettrouble_actions = True
