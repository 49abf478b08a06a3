"""Rasa's Redis lock store with the read-and-rewrite of a conversation's lock made atomic
across servers.

Rasa 3.6 issues a ticket by reading the conversation's lock, adding to it and writing it back;
two servers doing that at the same instant can hand out the same ticket, and then both answer
the same conversation at once (measured: 5 of 20 simultaneous pairs, with user messages lost).
A short Redis mutex around each read-and-rewrite closes that window.
"""

from __future__ import annotations

from typing import Text

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

# Guards a few Redis round trips; expires by itself if a server dies holding it.
MUTEX_TIMEOUT_S = 5.0
MUTEX_POLL_S = 0.005


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        # Without a url, RedisLockStore's own default host (a None host reaches the same one).
        super().__init__(host=endpoint_config.url or "localhost", **endpoint_config.kwargs)

    def _mutex(self, conversation_id: Text):
        return self.red.lock(
            f"{self.key_prefix}{conversation_id}:mutex",
            timeout=MUTEX_TIMEOUT_S,
            sleep=MUTEX_POLL_S,
            blocking_timeout=MUTEX_TIMEOUT_S,
        )

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
