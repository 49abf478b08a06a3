"""The evaluation files stay evaluation files: nothing in them is trained on, and the typed
conversations are well-formed (tests/typed/README.md)."""

import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from nettrouble.triage import answers, plans

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = ["nlu_heldout.yml", "nlu_heldout_kana.yml", "nlu_heldout_kana_natural.yml", "faq_heldout.yml"]
# Greetings and one-word replies are the same in any set; longer messages must not be shared.
MIN_CHARS = 7


def norm(text):
    return re.sub(r"[\s、。！？!?,.]", "", unicodedata.normalize("NFKC", text).lower())


@pytest.fixture(scope="module")
def trained():
    return {
        norm(m.get("text"))
        for path in (ROOT / "data" / "nlu").glob("*.yml")
        for m in load_data(str(path)).intent_examples
    }


def typed_conversations():
    for path in sorted((ROOT / "tests" / "typed").glob("*.yml")):
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            yield path.name, conversation


@pytest.mark.parametrize("name", HELD_OUT)
def test_no_held_out_message_is_trained_on(trained, name):
    shared = [
        m.get("text")
        for m in load_data(str(ROOT / "tests" / name)).intent_examples
        if len(norm(m.get("text"))) >= MIN_CHARS and norm(m.get("text")) in trained
    ]
    assert shared == []


def test_no_typed_turn_is_trained_on(trained):
    shared = []
    for _, conversation in typed_conversations():
        for turn in conversation["turns"]:
            text = turn if isinstance(turn, str) else turn["say"]
            if len(norm(text)) >= MIN_CHARS and norm(text) in trained:
                shared.append(text)
    assert shared == []


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
    for name, conversation in typed_conversations():
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
