"""The two servers of the scale-out check, each a Rasa server with an action server of its own."""

from __future__ import annotations

# Server name -> (Rasa port, port of its action server).
PORTS = {"A": (6105, 6155), "B": (6106, 6156)}
SERVERS = tuple(PORTS)


def rasa_url(server: str) -> str:
    return f"http://127.0.0.1:{PORTS[server][0]}"
