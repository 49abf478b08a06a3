"""The evaluation files stay evaluation files: nothing in them is trained on, and the typed
conversations are well-formed (tests/typed/README.md)."""

import re
import unicodedata
from pathlib import Path

import pytest

from nettrouble.triage import answers, plans
from tests import project_files

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ["nlu_heldout.yml", "nlu_heldout_kana.yml", "nlu_heldout_kana_natural.yml", "faq_heldout.yml"]
# Greetings and one-word replies are the same in any set; longer messages must not be shared.
MIN_CHARS = 7


def norm(text):
    return re.sub(r"[\s、。！？!?,.]", "", unicodedata.normalize("NFKC", text).lower())


@pytest.fixture(scope="module")
def trained():
    texts = {
        norm(text) for path in (ROOT / "data" / "nlu").glob("*.yml") for text, _ in project_files.intent_examples(path)
    }
    assert len(texts) > 1000, "the training data was not found"
    return texts


def typed_conversations():
    for path in sorted((ROOT / "tests" / "typed").glob("*.yml")):
        for conversation in project_files.read_yaml(path)["conversations"]:
            yield path.name, conversation


@pytest.mark.parametrize("name", HELD_OUT)
def test_no_held_out_message_is_trained_on(trained, name):
    held_out = [text for text, _ in project_files.intent_examples(ROOT / "tests" / name)]
    assert held_out, f"tests/{name} holds no example"
    shared = [text for text in held_out if len(norm(text)) >= MIN_CHARS and norm(text) in trained]
    assert shared == []


def test_no_typed_turn_is_trained_on(trained):
    typed = [
        turn if isinstance(turn, str) else turn["say"]
        for _, conversation in typed_conversations()
        for turn in conversation["turns"]
    ]
    assert len(typed) > 100, "the typed conversations were not found"
    assert [text for text in typed if len(norm(text)) >= MIN_CHARS and norm(text) in trained] == []


def test_the_typed_suite_is_large_enough_and_well_formed():
    seen, per_type, sms = set(), {}, 0
    slots = set(plans.TRIAGE_SLOTS) | {
        "trouble_type",
        "docomo_line",
        "is_member",
        "person_key",
        "eligibility",
        "case_reference",
        # the fraud-cover pre-check (tests/typed/fraud_cover.yml)
        "provider_decision",
        "amount_lost",
        "provider_pays",
        "fraud_cover",
        "fraud_cover_estimate",
    }
    for _, conversation in typed_conversations():
        assert conversation["id"] not in seen, conversation["id"]
        seen.add(conversation["id"])
        assert conversation.get("clock", "campaign") in ("campaign", "after")
        assert conversation.get("channel", "web") in ("web", "sms")
        assert set(conversation["expect"]) <= {"slots", "case", "urgency", "no_urgency"}, conversation["id"]
        assert set(conversation["expect"].get("slots") or {}) <= slots, conversation["id"]
        kind = (conversation["expect"].get("slots") or {}).get("trouble_type")
        per_type[kind] = per_type.get(kind, 0) + 1
        sms += conversation.get("channel") == "sms"
        for turn in conversation["turns"]:
            assert isinstance(turn, str) or set(turn) <= {"say", "reply_has", "reply_lacks", "confusion_ok"}
    assert len(seen) >= 60 and sms >= 5
    assert all(per_type.get(kind, 0) >= 4 for kind in plans.PLANS), per_type


def test_several_item_answers_split_on_their_item_names():
    assert answers.items_of("exposed_info", "勤務先・学校・顔写真") == ["勤務先・学校", "顔写真"]
    assert answers.items_of("entered_info", "password,card") == ["password", "card"]
