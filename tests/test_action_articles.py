"""The custom action that offers case articles, run as the action server runs it."""

import re
import shutil
from functools import lru_cache
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor

from actions.articles import ActionOfferArticles
from nettrouble.content import articles, service
from nettrouble.core import datafiles
from nettrouble.core.datafiles import TROUBLE_TYPES, DataFileError
from tests.fakes.dispatcher import RenderingDispatcher

ROOT = Path(__file__).resolve().parent.parent
URL = re.compile(r"https://nettrouble\.docomo\.ne\.jp/article/([a-z0-9-]+)/")
CAMPAIGN = "2020-07-15T12:00:00+09:00"
LATE = "2026-11-01T12:00:00+09:00"


def tracker(text=None, intent="ask_articles", entities=(), slots=None):
    # As Rasa parses a message: the intent leads the ranking (the actions read the ranking).
    classified = {"name": intent, "confidence": 0.98} if intent else {}
    state = {
        "sender_id": "test-user",
        "slots": {"trouble_type": None, "articles_shown": None, **(slots or {})},
        "latest_message": {
            "text": text,
            "intent": classified,
            "intent_ranking": [classified] if intent else [],
            "entities": list(entities),
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return Tracker.from_dict(state)


def run(tracker_):
    dispatcher = RenderingDispatcher()
    events = ActionOfferArticles().run(dispatcher, tracker_, {})
    return events, dispatcher.messages


def shown_ids(message):
    return URL.findall(message["text"])


def test_after_triage_the_trouble_types_articles_are_offered(clock):
    clock(LATE)
    events, messages = run(tracker("いいえ", intent="deny", slots={"trouble_type": "phishing"}))
    assert len(messages) == 1
    ids = shown_ids(messages[0])
    expected = [a.id for a in articles.index().catalogue.articles if a.category == "phishing"][:3]
    assert ids == expected
    assert events == [SlotSet("articles_shown", expected)]


def test_the_users_own_words_choose_the_articles(clock):
    clock(LATE)
    events, messages = run(tracker("開示請求の記事が読みたいです"))
    ids = shown_ids(messages[0])
    assert ids[0] == "disclosure-request-lawyer" and len(ids) == 3
    assert events == [SlotSet("articles_shown", ids)]


def test_a_topic_button_wins_over_the_triaged_type(clock):
    clock(LATE)
    payload = '/ask_articles{"article_topic":"privacy"}'
    entity = {"entity": "article_topic", "value": "privacy", "start": 13, "end": 40}
    events, messages = run(tracker(payload, entities=[entity], slots={"trouble_type": "account"}))
    ids = shown_ids(messages[0])
    catalogue = {a.id: a for a in articles.index().catalogue.articles}
    assert len(ids) == 3 and {catalogue[i].category for i in ids} == {"privacy"}
    assert events == [SlotSet("articles_shown", ids)]


def test_words_of_other_intents_are_not_search_words(clock):
    clock(LATE)
    _, messages = run(tracker("開示請求について", intent="trouble_phishing", slots={"trouble_type": "phishing"}))
    catalogue = {a.id: a for a in articles.index().catalogue.articles}
    assert {catalogue[i].category for i in shown_ids(messages[0])} == {"phishing"}


@pytest.mark.parametrize("text", ["記事を読みたいです", "/ask_articles", "", None, 12345])
def test_without_topic_or_words_the_action_asks_which_topic(clock, text):
    clock(LATE)
    events, messages = run(tracker(text))
    assert events == []
    assert len(messages) == 1
    buttons = messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ['/ask_articles{"article_topic":"%s"}' % topic for topic in TROUBLE_TYPES]
    labels = articles.index().catalogue.topic_labels
    assert [b["title"] for b in buttons] == [labels[t] for t in TROUBLE_TYPES]
    assert all(len(b["title"]) <= 20 for b in buttons)
    assert "記事" in messages[0]["text"]


@pytest.mark.parametrize("forged", ["slander", "../../etc/passwd", "", None, ["privacy"], {"a": 1}])
def test_a_forged_topic_is_ignored(clock, forged):
    clock(LATE)
    entity = {"entity": "article_topic", "value": forged}
    events, messages = run(tracker("/ask_articles", entities=[entity], slots={"trouble_type": "shopping"}))
    catalogue = {a.id: a for a in articles.index().catalogue.articles}
    assert {catalogue[i].category for i in shown_ids(messages[0])} == {"shopping"}
    events, messages = run(tracker("/ask_articles", entities=[entity], slots={"trouble_type": "nonsense"}))
    assert events == [] and len(messages[0]["buttons"]) == len(TROUBLE_TYPES)


def test_no_match_is_said_politely_and_sets_nothing(clock):
    clock(LATE)
    events, messages = run(tracker("ほげほげふがふが"))
    assert events == []
    assert messages[0]["text"].startswith("申し訳ございません")
    assert "https://nettrouble.docomo.ne.jp/category/" in messages[0]["text"]


@pytest.mark.parametrize(
    "moment, free",
    [
        ("2020-06-30T23:59:59+09:00", False),
        ("2020-06-30T15:00:00+00:00", True),
        ("2020-07-31T23:59:59+09:00", True),
        ("2020-07-31T11:00:00-04:00", False),
    ],
)
def test_free_reading_follows_the_clock_override(clock, moment, free):
    clock(moment)
    _, messages = run(tracker("リツイートで名誉毀損になる？"))
    text = messages[0]["text"]
    assert shown_ids(messages[0])[0] == "retweet-defamation"
    first_entry = text.split("\n\n")[1]
    assert ("今なら無料でお読みいただけます" in first_entry) is free
    assert ("会員向け" in first_entry) is not free
    if not free:
        assert "月額500円（税抜）" in text and "ドコモの回線契約をお持ちのお客さま" in text
        assert "https://nettrouble.docomo.ne.jp/ " in text


def test_the_campaign_offer_reads_as_one_short_chat_message(clock):
    clock(CAMPAIGN)
    _, messages = run(tracker(None, intent="inform", slots={"trouble_type": "defamation"}))
    text = messages[0]["text"]
    assert text.count("今なら無料でお読みいただけます（7月31日まで）") == 3
    assert "月額" not in text
    assert len(text) < 700


def test_a_huge_message_is_answered(clock):
    clock(LATE)
    events, messages = run(tracker("フリマで商品が届かない。" * 3000))
    assert len(messages) == 1 and 1 <= len(events[0]["value"]) <= 3


def test_a_malformed_catalogue_stops_the_action_server_at_start(tmp_path, monkeypatch):
    document = (ROOT / "business" / "articles.yml").read_text(encoding="utf-8")
    broken = document.replace("category: phishing", "category: phising", 1)
    (tmp_path / "articles.yml").write_text(broken, encoding="utf-8")
    shutil.copy(ROOT / "business" / "service.yml", tmp_path / "service.yml")
    monkeypatch.setattr(datafiles, "BUSINESS_DIR", tmp_path)
    # Empty caches of their own for this test: the shipped index, built once, stays for the others.
    monkeypatch.setattr(articles, "index", lru_cache(maxsize=1)(articles.index.__wrapped__))
    monkeypatch.setattr(service, "facts", lru_cache(maxsize=1)(service.facts.__wrapped__))
    with pytest.raises(DataFileError) as error:
        ActionExecutor().register_action(ActionOfferArticles)
    message = str(error.value)
    assert str(tmp_path / "articles.yml") in message
    assert "entry 'fake-delivery-sms'" in message and "'category'" in message


def test_the_action_registers_under_its_name():
    executor = ActionExecutor()
    executor.register_action(ActionOfferArticles)
    assert "action_offer_articles" in executor.actions


@pytest.mark.parametrize("topic", TROUBLE_TYPES)
def test_rasa_reads_each_topic_button_as_ask_articles_with_the_topic(clock, topic):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.message import Message

    clock(LATE)
    _, messages = run(tracker("記事ありますか"))
    payload = next(b["payload"] for b in messages[0]["buttons"] if topic in b["payload"])
    domain = Domain.from_dict({"intents": ["ask_articles"], "entities": ["article_topic"]})
    parsed = YAMLStoryReader.unpack_regex_message(Message(data={"text": payload}), domain)
    assert parsed.get("intent")["name"] == "ask_articles"
    assert [(e["entity"], e["value"]) for e in parsed.get("entities")] == [("article_topic", topic)]
    _, answer = run(tracker(payload, entities=parsed.get("entities")))
    catalogue = {a.id: a for a in articles.index().catalogue.articles}
    assert {catalogue[i].category for i in shown_ids(answer[0])} == {topic}


def test_the_offer_carries_the_same_articles_as_a_card(clock):
    clock(CAMPAIGN)
    _, messages = run(tracker("いいえ", intent="deny", slots={"trouble_type": "defamation"}))
    card = messages[0]["custom"]["card"]
    assert card["kind"] == "articles"
    assert [item["id"] for item in card["articles"]] == shown_ids(messages[0])
    for item in card["articles"]:
        assert item["title"] in messages[0]["text"] and item["url"] in messages[0]["text"]
        assert item["summary"] in messages[0]["text"]
    # The campaign of 2020 makes the defamation articles free; a members-only one has None.
    assert all(
        item["free_until"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", item["free_until"])
        for item in card["articles"]
    )
    assert any(item["free_until"] for item in card["articles"])


def test_the_question_for_a_topic_carries_no_card(clock):
    clock(LATE)
    _, messages = run(tracker("ぱぴぷぺぽ"))
    assert messages[0]["buttons"] and not messages[0]["custom"]
