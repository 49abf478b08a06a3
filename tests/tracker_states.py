"""Saved tracker states for action tests, in the shape the Rasa server sends to the action
server (``Tracker.from_dict``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from tests.project_files import domain


def initial_slots() -> Dict[str, Any]:
    return {name: spec.get("initial_value") for name, spec in domain()["slots"].items()}


def message(
    text: str,
    intent: Optional[str] = None,
    confidence: float = 0.95,
    entities: Optional[List[Dict[str, Any]]] = None,
    ranking: Optional[List[Dict[str, Any]]] = None,
    **extra: Any,
) -> Dict[str, Any]:
    intent_entry = {"name": intent, "confidence": confidence} if intent else None
    return {
        "text": text,
        "intent": intent_entry,
        "entities": entities or [],
        "intent_ranking": ranking or ([intent_entry] if intent_entry else []),
        **extra,
    }


def tracker(
    latest: Dict[str, Any],
    slots: Optional[Dict[str, Any]] = None,
    active_loop: Optional[str] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    sender_id: str = "test-user",
    channel: str = "rest",
) -> Tracker:
    state = {
        "sender_id": sender_id,
        "slots": {**initial_slots(), **(slots or {})},
        "latest_message": latest,
        "events": events
        if events is not None
        else [
            {"event": "user", "text": latest.get("text"), "parse_data": latest, "input_channel": channel},
        ],
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    }
    return Tracker.from_dict(state)


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The slots an action set, last value winning."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(dispatcher) -> List[str]:
    return [m.get("text") or m.get("response") for m in dispatcher.messages]
