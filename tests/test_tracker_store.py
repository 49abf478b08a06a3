"""Phone numbers and e-mail addresses never reach the tracker database; a turn stopped by
Rasa's circuit breaker does not stop the conversation."""

import asyncio
import json
import sqlite3

from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from addons.tracker_store import MaskingSQLTrackerStore
from tests.project_files import rasa_domain

NUMBER_FORMS = ["090-1234-5678", "09012345678", "０９０ー１２３４ー５６７８", "+81 90 1234 5678"]
EMAIL = "taro.yamada@example.co.jp"


def test_numbers_and_addresses_are_masked_in_the_database_file(tmp_path):
    path = tmp_path / "tracker.db"
    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))
    tracker = asyncio.run(store.get_or_create_tracker("carol"))
    for number in NUMBER_FORMS:
        text = f"番号は{number}、メールは{EMAIL}です"
        tracker.update(
            UserUttered(
                text,
                parse_data={
                    "text": text,
                    "intent": {"name": "inform", "confidence": 0.9},
                    "entities": [{"entity": "phone_number", "value": number, "start": 3, "end": 3 + len(number)}],
                },
            )
        )
        tracker.update(SlotSet("platform", text))
        tracker.update(ActionExecuted("action_listen"))
    tracker.update(BotUttered("承りました"))
    asyncio.run(store.save(tracker))
    store.engine.dispose()

    stored = path.read_bytes().decode("utf-8", "ignore")
    rows = sqlite3.connect(path).execute("select data from events").fetchall()
    decoded = "".join(json.dumps(json.loads(row[0]), ensure_ascii=False) for row in rows)
    everything = stored + decoded
    for number in NUMBER_FORMS + ["1234-5678", "12345678", EMAIL, "yamada"]:
        assert number not in everything
    assert "［電話番号］" in everything and "［メールアドレス］" in everything

    again = asyncio.run(MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path)).retrieve("carol"))
    user_texts = [e.text for e in again.events if isinstance(e, UserUttered)]
    assert user_texts[0] == "番号は［電話番号］、メールは［メールアドレス］です"
    assert len(again.events) == len(tracker.events)


def test_the_turn_itself_still_sees_the_words_as_typed(tmp_path):
    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = asyncio.run(store.get_or_create_tracker("dave"))
    tracker.update(UserUttered("090-1234-5678"))
    asyncio.run(store.save(tracker))
    assert tracker.latest_message.text == "090-1234-5678"


def test_public_numbers_in_the_bots_messages_are_kept_and_a_users_number_is_not():
    from addons.tracker_store import masked

    bot = masked(BotUttered("センター 0120-221-360、いのちの電話 0120-783-556。ご入力の番号 090-1234-5678"))
    assert "0120-221-360" in bot.text and "0120-783-556" in bot.text
    assert "090-1234-5678" not in bot.text


def test_a_person_key_is_stored_as_it_is():
    from addons.tracker_store import masked

    # hex digits that look like a phone number must not be taken for one
    key = "0" * 20 + "09012345678" + "a" * 33
    assert masked(SlotSet("person_key", key)).value == key
    assert masked(SlotSet("platform", "09012345678")).value == "［電話番号］"


def test_a_turn_stopped_by_the_circuit_breaker_leaves_the_conversation_listening(tmp_path):
    from types import SimpleNamespace

    from rasa.core.processor import MAX_NUMBER_OF_PREDICTIONS, MessageProcessor

    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = asyncio.run(store.get_or_create_tracker("erin"))
    tracker.update(UserUttered("人と話したい", parse_data={"intent": {"name": "request_human", "confidence": 1.0}}))
    for index in range(MAX_NUMBER_OF_PREDICTIONS):  # each custom action failed, the next was predicted
        tracker.update(ActionExecuted("triage_form" if index % 2 else "action_request_staff"))
    asyncio.run(store.save(tracker))

    again = asyncio.run(store.retrieve("erin"))
    again.update(UserUttered("人と話したい", parse_data={"intent": {"name": "request_human", "confidence": 1.0}}))
    processor = SimpleNamespace(max_number_of_predictions=MAX_NUMBER_OF_PREDICTIONS)
    assert not MessageProcessor.is_action_limit_reached(processor, again, True)


def test_an_ordinary_turn_is_stored_as_it_is(tmp_path):
    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    tracker = asyncio.run(store.get_or_create_tracker("frank"))
    tracker.update(UserUttered("こんにちは"))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    assert [e.action_name for e in asyncio.run(store.retrieve("frank")).events if isinstance(e, ActionExecuted)][
        -2:
    ] == ["utter_greet", "action_listen"]


def test_a_sender_id_that_is_a_phone_number_is_stored_as_its_keyed_hash(tmp_path, env):
    from nettrouble.core import masking

    env(PERSON_KEY_SECRET="test-secret-for-sender-ids-0123456789")
    path = tmp_path / "tracker.db"
    sender = "+81 90-1234-5678"
    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))
    tracker = asyncio.run(store.get_or_create_tracker(sender))
    tracker.update(UserUttered("こんにちは"))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    tracker.update(UserUttered("もう一度"))  # a second save adds to the same conversation
    asyncio.run(store.save(tracker))
    store.engine.dispose()

    stored_ids = {row[0] for row in sqlite3.connect(path).execute("select sender_id from events")}
    key = masking.conversation_key(sender)
    assert stored_ids == {key} and key.startswith("hmac:") and len(key) == 69
    assert b"1234" not in path.read_bytes()

    again = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))
    found = asyncio.run(again.retrieve(sender))
    assert found.sender_id == sender
    assert [e.text for e in found.events if isinstance(e, UserUttered)] == ["こんにちは", "もう一度"]
    assert asyncio.run(again.keys()) == [key]
    assert len(asyncio.run(again.retrieve(key)).events) == len(found.events)  # a listed key reads back
    assert asyncio.run(again.retrieve_full_tracker(sender)) is not None


def test_an_ordinary_sender_id_is_stored_as_it_is(tmp_path):
    path = tmp_path / "tracker.db"
    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))
    tracker = asyncio.run(store.get_or_create_tracker("web-3f2a9c"))
    tracker.update(UserUttered("こんにちは"))
    asyncio.run(store.save(tracker))
    store.engine.dispose()
    assert {row[0] for row in sqlite3.connect(path).execute("select sender_id from events")} == {"web-3f2a9c"}
