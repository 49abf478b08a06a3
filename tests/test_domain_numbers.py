"""The numbers quoted by domain.yml's static responses are the ones in business/.

Safety messages are plain responses so that they reach the user even when the action server
is down; this test keeps them in step with the operator-edited referrals file.
"""

import re
from pathlib import Path

import pytest
import yaml

from nettrouble.triage import referrals
from tests import project_files

ROOT = Path(__file__).resolve().parent.parent
PHONE = re.compile(r"#\d{4}|(?<![\d-])(?:110|119|188)(?![\d-])|0\d{1,4}-\d{1,4}-\d{3,5}")


def response_texts():
    for name, variants in project_files.domain()["responses"].items():
        for variant in variants:
            yield name, variant.get("text", "")


def known_numbers():
    service = yaml.safe_load((ROOT / "business" / "service.yml").read_text(encoding="utf-8"))
    return {r.phone for r in referrals.load() if r.phone} | {service["phone"]}


def test_every_number_in_a_response_is_in_the_business_files():
    known = known_numbers()
    quoted = [(name, number) for name, text in response_texts() for number in PHONE.findall(text)]
    assert quoted, "no response quotes a number: the pattern or domain.yml is broken"
    for name, number in quoted:
        assert number in known, f"{name} quotes {number}, which business/ does not list"


@pytest.mark.parametrize(
    "response, topic",
    [("utter_urgent_self_harm", "self_harm"), ("utter_urgent_danger", "danger")],
)
def test_safety_messages_quote_every_body_listed_for_them(response, topic):
    text = "\n".join(t for name, t in response_texts() if name == response)
    bodies = [referral for referral in referrals.for_topic(topic, referrals.load()) if referral.phone]
    assert bodies, f"business/referrals.yml lists no body with a phone number for {topic}"
    for referral in bodies:
        assert referral.phone in text, f"{response} lacks {referral.name} {referral.phone}"


def test_quoted_hours_match_the_hours_file():
    from nettrouble.content import hours

    quoted = hours.hours_text()  # e.g. 10:00〜18:00（土日・祝日・年末年始を除く）
    span, closed = quoted.split("（", 1)
    closed = closed.rstrip("）")
    service = yaml.safe_load((ROOT / "business" / "service.yml").read_text(encoding="utf-8"))
    assert service["hours_text"] == quoted
    quoting = [(name, text) for name, text in response_texts() if re.search(r"\d{1,2}:\d{2}", text)]
    assert quoting, "no response quotes the hours: the pattern or domain.yml is broken"
    for name, text in quoting:
        assert span in text and closed in text, f"{name} quotes hours that differ from hours.yml"
