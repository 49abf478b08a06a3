"""The LINE Messaging API calls the service makes, on aiohttp.

``line-bot-sdk`` cannot be installed beside Rasa 3.6 (its pydantic and aiohttp pins conflict),
so the few calls needed are written here: the reply and the push of a turn's answer, and the
rich menu calls of ``scripts/line_richmenu.py``.

LINE serves them from two hosts: ``LINE_API_BASE`` (api.line.me) for messages and rich menus,
``LINE_DATA_API_BASE`` (api-data.line.me) for content, such as the rich menu's image. Both are
settings so that the tests point them at a local recording server.

The channel access token only ever goes in the Authorization header: no log line and no error
message carries it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_S = 10.0
# A push is retried on 429, 5xx and no answer: the retry key makes LINE drop a repeat it has
# already accepted (409), so a retry never sends an answer twice.
PUSH_RETRY_DELAYS_S = (0.5, 2.0)
# How much of LINE's error body goes into a log line or an error: its message and details,
# never a request header.
ERROR_DETAIL_CHARS = 300


class LineApiError(RuntimeError):
    """A LINE API call that did not succeed; ``status`` is None when LINE never answered."""

    def __init__(self, call: str, status: Optional[int], detail: str) -> None:
        self.status = status
        answer = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"LINE API {call}: {answer}: {detail}")


def _menu_path(menu_id: str) -> str:
    return "/v2/bot/richmenu/" + quote(menu_id, safe="")


class LineApi:
    """One session of calls with a channel access token: ``async with LineApi(token) as api``."""

    def __init__(
        self,
        access_token: str,
        api_base: Optional[str] = None,
        data_api_base: Optional[str] = None,
        timeout_s: float = HTTP_TIMEOUT_S,
    ) -> None:
        from nettrouble.core.settings import settings

        self.api_base = (api_base or settings().line_api_base).rstrip("/")
        self.data_api_base = (data_api_base or settings().line_data_api_base).rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: Optional[aiohttp.ClientSession] = None

    async def __aenter__(self) -> "LineApi":
        self._http = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _call(self, method: str, url: str, **options: Any) -> Tuple[Optional[int], bytes]:
        """The status and body of one call, or (None, error name) when it never got an answer."""
        if self._http is None:
            raise RuntimeError("LineApi used outside `async with`")
        try:
            async with self._http.request(method, url, **options) as answer:
                return answer.status, await answer.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return None, type(error).__name__.encode()

    @staticmethod
    def _detail(body: bytes) -> str:
        return body[:ERROR_DETAIL_CHARS].decode("utf-8", "replace")

    # ---- messages ---------------------------------------------------------------------------

    async def _post_message(
        self, path: str, body: Dict[str, Any], headers: Optional[Dict[str, str]] = None
    ) -> Optional[int]:
        status, answer = await self._call("POST", self.api_base + path, json=body, headers=headers)
        if status is None:
            logger.warning("LINE API %s unreachable: %s", path, self._detail(answer))
        elif status >= 300:
            logger.warning("LINE API %s answered HTTP %s: %s", path, status, self._detail(answer))
        return status

    async def reply(self, reply_token: str, messages: Sequence[Dict[str, Any]]) -> Optional[int]:
        """The HTTP status of the reply call, or None when LINE never answered."""
        return await self._post_message(
            "/v2/bot/message/reply", {"replyToken": reply_token, "messages": list(messages)}
        )

    async def push(self, to: str, messages: Sequence[Dict[str, Any]], retry_key: Optional[str] = None) -> bool:
        """Pushes ``messages`` to ``to`` with one ``X-Line-Retry-Key`` for every attempt (a new
        one unless the caller keeps its own, to push again safely after a crash: LINE answers
        409 to a key it has already accepted); whether LINE accepted them (logged as an error
        when not)."""
        retry_key = retry_key or str(uuid.uuid4())
        body = {"to": to, "messages": list(messages)}
        for delay in (0.0,) + PUSH_RETRY_DELAYS_S:
            await asyncio.sleep(delay)
            status = await self._post_message("/v2/bot/message/push", body, {"X-Line-Retry-Key": retry_key})
            # 409: LINE already accepted a push with this retry key.
            if status is not None and (200 <= status < 300 or status == 409):
                return True
            if status is not None and status != 429 and status < 500:
                logger.error("LINE push refused (HTTP %s): the answer was not delivered", status)
                return False
        logger.error("LINE push failed after %d attempts: the answer was not delivered", 1 + len(PUSH_RETRY_DELAYS_S))
        return False

    # ---- rich menus (https://developers.line.biz/en/reference/messaging-api/#rich-menu) ------

    async def _checked(self, call: str, method: str, url: str, **options: Any) -> bytes:
        status, body = await self._call(method, url, **options)
        if status is None or not 200 <= status < 300:
            raise LineApiError(call, status, self._detail(body))
        return body

    async def _checked_json(self, call: str, method: str, url: str, **options: Any) -> Dict[str, Any]:
        body = await self._checked(call, method, url, **options)
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            raise LineApiError(call, 200, "the answer is not JSON") from None
        if not isinstance(document, dict):
            raise LineApiError(call, 200, "the answer is not a JSON object")
        return document

    async def validate_rich_menu(self, menu: Dict[str, Any]) -> None:
        await self._checked("validate rich menu", "POST", self.api_base + "/v2/bot/richmenu/validate", json=menu)

    async def create_rich_menu(self, menu: Dict[str, Any]) -> str:
        answer = await self._checked_json("create rich menu", "POST", self.api_base + "/v2/bot/richmenu", json=menu)
        menu_id = answer.get("richMenuId")
        if not isinstance(menu_id, str) or not menu_id:
            raise LineApiError("create rich menu", 200, "no richMenuId in the answer")
        return menu_id

    async def rich_menus(self) -> List[Dict[str, Any]]:
        answer = await self._checked_json("list rich menus", "GET", self.api_base + "/v2/bot/richmenu/list")
        menus = answer.get("richmenus")
        if not isinstance(menus, list):
            raise LineApiError("list rich menus", 200, "no richmenus list in the answer")
        return [menu for menu in menus if isinstance(menu, dict) and isinstance(menu.get("richMenuId"), str)]

    async def has_rich_menu_image(self, menu_id: str) -> bool:
        """Whether the menu has its image (LINE answers 404 before the upload)."""
        status, body = await self._call("GET", self.data_api_base + _menu_path(menu_id) + "/content")
        if status == 404:
            return False
        if status is None or not 200 <= status < 300:
            raise LineApiError("get rich menu image", status, self._detail(body))
        return True

    async def upload_rich_menu_image(self, menu_id: str, image: bytes, content_type: str) -> None:
        """To the data API host: the other host does not take content."""
        await self._checked(
            "upload rich menu image",
            "POST",
            self.data_api_base + _menu_path(menu_id) + "/content",
            data=image,
            headers={"Content-Type": content_type},
        )

    async def set_default_rich_menu(self, menu_id: str) -> None:
        await self._checked(
            "set default rich menu", "POST", self.api_base + "/v2/bot/user/all/richmenu/" + quote(menu_id, safe="")
        )

    async def delete_rich_menu(self, menu_id: str) -> None:
        await self._checked("delete rich menu", "DELETE", self.api_base + _menu_path(menu_id))
