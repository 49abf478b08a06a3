"""A conversation as the phone staff read it: the user's and the bot's messages in order.

``transcript(events)`` turns the stored events of a conversation (``nettrouble.cases.tracker_events``)
into turns, each ``{"role": "user" | "bot", "text": str, "at": ISO 8601 in Japan time}``, with
extra keys where they help the reader:

- ``"button"`` (user): the title of the button the user tapped. A tap is stored as the button's
  payload (``/inform{"answer": "yes"}``; the SMS menu and LINE postbacks send the payload too);
  the turn shows the title the user saw instead, found among the buttons the bot offered before,
  the most recent offer first. Payloads are compared by intent and entities, so spacing in the
  JSON does not matter. A payload that no button offered is a channel's own message (the web
  page's and LINE's hidden greeting), not the user's words, and is left out.
- ``"buttons"`` (bot): the titles of the buttons the message offered.
- ``"kind"`` (bot): ``safety``, ``first_steps``, ``articles`` or ``referral``. The signal is who
  sent the message, never its wording: a domain response is named in the message's metadata
  (``utter_action``, set by Rasa for every response, whether a rule or a custom action sent it),
  and every message of a custom action follows the ``action`` event of its action.
  ``RESPONSE_KINDS`` says the kind of a response wherever it is sent, ``ACTION_KINDS`` that of
  every other message a custom action sends (a rule's response follows its own action event,
  named after the response); a message with
  buttons asks the user something and carries no kind. Custom actions that send several kinds of
  message get none: the intimate-image notice of the triage form, the first steps repeated by
  ``action_next_step_advice``, the eligibility decision that names a public body.

User messages are shown as stored, so phone numbers and e-mail addresses stay masked.

``notes_text(turns)`` is the plain-text "copy for notes": one line per turn.

``case_transcript(case, tracker_engine)`` is the transcript of the conversation a case was
opened from, for the console (``GET /api/cases/<reference>`` returns it as ``transcript``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Tuple

from sqlalchemy.engine import Engine

from nettrouble.cases.tracker_events import StoredEvent, conversation_events
from nettrouble.staff import responses

if TYPE_CHECKING:
    from nettrouble.cases.schema import Case

Turn = Dict[str, Any]

USER = "user"
BOT = "bot"
SAFETY = "safety"
FIRST_STEPS = "first_steps"
ARTICLES = "articles"
REFERRAL = "referral"

# Senders of each kind (names in domain.yml; tests/test_transcript.py checks that they exist).
RESPONSE_KINDS = {
    **{name: SAFETY for name in responses.SAFETY},
    # The children's public bodies, after a danger message when a child is involved.
    "utter_child_lines": REFERRAL,
}
ACTION_KINDS = {
    # The first steps for the type and the public bodies to contact.
    "action_first_steps": FIRST_STEPS,
    "action_offer_articles": ARTICLES,
}

ROLE_LABELS = {USER: "利用者", BOT: "ボット"}
KIND_LABELS = {SAFETY: "安全案内", FIRST_STEPS: "最初の対応", ARTICLES: "記事", REFERRAL: "相談窓口"}
BUTTON_LABEL = "ボタン"

# Rasa's prefix of a message that names an intent directly (a button's payload).
PAYLOAD_PREFIX = "/"


def _payload_key(payload: str) -> Tuple[str, str]:
    """The payload as intent and entities, so that '/inform{"answer": "yes"}' and
    '/inform{"answer":"yes"}' are one payload."""
    intent, brace, entities = payload.strip().partition("{")
    if not brace:
        return intent, ""
    try:
        parsed = json.loads(brace + entities)
    except ValueError:
        return intent, brace + entities
    return intent, json.dumps(parsed, sort_keys=True, ensure_ascii=False)


def _buttons(data: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """(title, payload) of each well-formed button of a bot event."""
    raw = (data.get("data") or {}).get("buttons")
    found = []
    for button in raw if isinstance(raw, list) else []:
        if isinstance(button, Mapping):
            title, payload = button.get("title"), button.get("payload")
            if isinstance(title, str) and title.strip() and isinstance(payload, str) and payload.strip():
                found.append((title.strip(), payload.strip()))
    return found


def _kind(data: Mapping[str, Any], sender: Optional[str], has_buttons: bool) -> Optional[str]:
    if has_buttons:
        return None
    response = (data.get("metadata") or {}).get("utter_action")
    if response in RESPONSE_KINDS:
        return RESPONSE_KINDS[response]
    return ACTION_KINDS.get(sender or "")


def _at(event: StoredEvent) -> str:
    return event.timestamp.isoformat(timespec="seconds")


def transcript(events: Iterable[StoredEvent]) -> List[Turn]:
    """The user's and the bot's messages of the events, in order."""
    turns: List[Turn] = []
    offered: Dict[Tuple[str, str], str] = {}
    sender: Optional[str] = None
    for event in events:
        if event.type_name == "action":
            sender = event.action_name
        elif event.type_name == "user":
            said = event.data.get("text")
            if not isinstance(said, str) or not said.strip():
                continue
            title = offered.get(_payload_key(said))
            if title is not None:
                turns.append({"role": USER, "text": title, "at": _at(event), "button": title})
            elif not said.lstrip().startswith(PAYLOAD_PREFIX):
                turns.append({"role": USER, "text": said, "at": _at(event)})
        elif event.type_name == "bot":
            said = event.data.get("text")
            said = said.strip() if isinstance(said, str) else ""
            buttons = _buttons(event.data)
            if not said and not buttons:
                continue
            turn: Turn = {"role": BOT, "text": said, "at": _at(event)}
            if buttons:
                turn["buttons"] = [title for title, _ in buttons]
                offered.update({_payload_key(payload): title for title, payload in buttons})
            kind = _kind(event.data, sender, bool(buttons))
            if kind:
                turn["kind"] = kind
            turns.append(turn)
    return turns


def notes_text(turns: Iterable[Turn]) -> str:
    """One line per turn: Japan date and time, who, what (a message's lines joined by spaces)."""
    lines = []
    for turn in turns:
        at = datetime.fromisoformat(turn["at"]).strftime("%Y-%m-%d %H:%M")
        who = ROLE_LABELS[turn["role"]]
        if turn.get("button"):
            who += f"（{BUTTON_LABEL}）"
        if turn.get("kind") in KIND_LABELS:
            who += f"［{KIND_LABELS[turn['kind']]}］"
        text = " ".join(line.strip() for line in turn["text"].splitlines() if line.strip())
        lines.append(f"{at} {who}: {text}")
    return "\n".join(lines)


def case_transcript(case: "Case", tracker_engine: Engine) -> List[Turn]:
    """The whole conversation the case was opened from, every session of it.

    A case stores its conversation id as the tracker store does (``masking.conversation_key``:
    an SMS sender's number as its keyed hash), and keying a key leaves it as it is, so the id
    finds the conversation's rows directly."""
    return transcript(conversation_events(tracker_engine, case.conversation_id))
