"""What an SMS turn says: one body per turn (the bot's messages in order, the numbered menu
and its hint at the end), the link policy, the channel's own answers to HELP, STOP and START,
the notice that replaces an answer past the conversation's segment budget, and reading a reply
such as 「1」 back as the button it picks.

Separate SMS are not guaranteed to arrive in order; one body is: the provider cuts a long body
into segments and the handset joins them again, at the same price per segment as separate SMS.
So a turn is one body, and more than one only past the provider's limit on a body's length.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from addons.channels import render
from addons.channels.messages import (
    SMS_BUDGET_REACHED,
    SMS_HELP,
    SMS_KEYWORD_FAILED,
    SMS_LINK_BY_NAME,
    SMS_LINK_LEFT_OUT,
    SMS_MENU_HINT,
    SMS_STARTED,
    SMS_STOPPED,
)
from nettrouble.channels import sms_segments
from nettrouble.content import service
from nettrouble.core.settings import settings

# Between two messages of the bot in one body, as between two speech bubbles.
MESSAGE_GAP = "\n\n"

# ---- links --------------------------------------------------------------------------------

# The link policy (README "SMS"): an SMS carries links only to the service's own site (the host
# of business/service.yml site_url, and of the web chat's address) and to the government's
# *.go.jp. Users are taught not to open links in SMS (smishing is one of the troubles this
# service handles), and carriers filter SMS with unknown or shortened links; our own domain
# and the official government ones are those a user can check. Any other link is replaced by
# words telling where to find it.
GOVERNMENT_DOMAIN = "go.jp"


def web_chat_url() -> str:
    """The web chat's address for users: WEB_CHAT_PUBLIC_URL, else the service's site."""
    return settings().web_chat_public_url or service.facts().site_url


def own_hosts() -> FrozenSet[str]:
    return frozenset(filter(None, (urlsplit(service.facts().site_url).hostname, urlsplit(web_chat_url()).hostname)))


def link_allowed(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # a malformed address (an odd port, say) is no address of ours
        return False
    return host in own_hosts() or host == GOVERNMENT_DOMAIN or host.endswith("." + GOVERNMENT_DOMAIN)


def _names_by_url(card: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """The public bodies of a guidance card by their address: their names replace the links."""
    if not card or card.get("kind") != "guidance":
        return {}
    return {
        r["url"]: r["name"]
        for r in card.get("referrals") or []
        if isinstance(r, Mapping) and isinstance(r.get("url"), str) and isinstance(r.get("name"), str)
    }


def with_allowed_links(text: str, card: Optional[Mapping[str, Any]] = None) -> str:
    """``text`` with every link the policy does not allow replaced by words: the body's name to
    search for when ``card`` names it, else a general sentence."""
    names = _names_by_url(card)
    pieces, position = [], 0
    for start, end in render.url_spans(text):
        url = text[start:end]
        if link_allowed(url):
            continue
        before = text[position:start]
        pieces.append(before[:-1] if before.endswith((" ", "\u3000")) else before)
        pieces.append(SMS_LINK_BY_NAME.format(name=names[url]) if url in names else SMS_LINK_LEFT_OUT)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


# ---- one body per turn ---------------------------------------------------------------------


def _blocks(messages: Sequence[render.BotMessage]) -> List[str]:
    """The turn's messages as text, in order; the menu and its hint go with the last one, so
    that the question and its options are never apart."""
    blocks = []
    for message in messages:
        text = "\n".join(filter(None, [message.text, message.image]))
        if text.strip():
            blocks.append(with_allowed_links(text, message.card).strip())
    menu = render.turn_buttons(messages)
    if menu:
        options = "\n".join([f"{number}: {button.title}" for number, button in enumerate(menu, 1)] + [SMS_MENU_HINT])
        if blocks:
            blocks[-1] += "\n" + options
        else:
            blocks.append(options)
    return blocks


def sms_bodies(messages: Sequence[render.BotMessage], limit: int) -> List[str]:
    """The bodies of one turn: one, unless it is longer than ``limit`` (the provider's, in the
    units of ``sms_segments.length``); then cut between messages, and a message longer than
    the limit at line and sentence ends (``render.split_text``)."""
    blocks = _blocks(messages)
    whole = MESSAGE_GAP.join(blocks)
    if sms_segments.length(whole) <= limit:
        return [whole] if whole else []
    bodies: List[str] = []
    for block in blocks:
        for piece in render.split_text(block, limit, sms_segments.length):
            joined = bodies[-1] + MESSAGE_GAP + piece if bodies else piece
            if bodies and sms_segments.length(joined) <= limit:
                bodies[-1] = joined
            else:
                bodies.append(piece)
    return bodies


def carries_reference(messages: Sequence[render.BotMessage]) -> bool:
    return any(render.CASE_REFERENCE.search(message.text) for message in messages)


# ---- the channel's own answers -------------------------------------------------------------

HELP, STOP, START = "help", "stop", "start"
# Whole messages, after NFKC, case folding and trimming (``keyword``).
KEYWORDS = {
    "ヘルプ": HELP,
    "へるぷ": HELP,
    "help": HELP,
    "停止": STOP,
    "ていし": STOP,
    "stop": STOP,
    "配信停止": STOP,
    "はいしんていし": STOP,
    "開始": START,
    "かいし": START,
    "start": START,
}


def _trimmed(text: str) -> str:
    edge = 0
    while edge < len(text) and _blank(text[edge]):
        edge += 1
    end = len(text)
    while end > edge and _blank(text[end - 1]):
        end -= 1
    return text[edge:end]


def _blank(character: str) -> bool:
    """Punctuation, brackets and spaces: 「停止。」 and 「 STOP! 」 are the keyword."""
    return character.isspace() or unicodedata.category(character)[0] in "PZ"


def keyword(text: str) -> Optional[str]:
    """HELP, STOP or START when the whole message is one of KEYWORDS, else None."""
    return KEYWORDS.get(_trimmed(unicodedata.normalize("NFKC", text).casefold()))


def help_text() -> str:
    return SMS_HELP.format(
        service_name=service.facts().name, centre_line=service.reachable_centre_line(), web_chat_url=web_chat_url()
    )


def stop_text() -> str:
    return SMS_STOPPED


def start_text() -> str:
    return SMS_STARTED


def keyword_failed_text() -> str:
    """STOP or START could not be recorded: the user must not believe it was."""
    return SMS_KEYWORD_FAILED.format(centre_line=service.reachable_centre_line())


def budget_notice() -> str:
    """In place of an answer that would take the conversation past its segment budget."""
    return SMS_BUDGET_REACHED.format(centre_line=service.reachable_centre_line(), web_chat_url=web_chat_url())


# ---- replies to a menu ---------------------------------------------------------------------


def menu_choice(text: str, menu: Sequence[render.Button]) -> Optional[render.Button]:
    """The button a reply such as 「1」 selects (after NFKC), or None."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and 1 <= int(stripped) <= len(menu):
        return menu[int(stripped) - 1]
    return None
