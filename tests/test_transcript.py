"""The transcript of a conversation saved by the project's store: the bot's messages made by
Rasa from domain.yml and by the real custom actions, as the Rasa server would record them."""

import asyncio
from datetime import datetime, timedelta

import pytest
from rasa.shared.core.events import SlotSet

from actions.articles import ActionOfferArticles
from actions.triage import ActionFirstSteps, ActionRecordUrgency
from addons.tracker_store import MaskingSQLTrackerStore
from nettrouble.cases import transcript as transcripts
from nettrouble.cases.tracker_events import conversation_events, tracker_engine
from nettrouble.cases.transcript import notes_text, transcript
from tests.fakes.environment import environment_variables
from tests.project_files import rasa_domain
from tests.saved_conversations import START, Conversation, buttons_of
from tests.tracker_states import message
from tests.tracker_states import tracker as sdk_tracker

SENDER = "web-transcript-test"


@pytest.fixture
def campaign_day(clock):
    # Articles are free or not depending on the day: the same day every run.
    clock(START)


@pytest.fixture(scope="module")
def saved_conversation(tmp_path_factory):
    """A defamation conversation saved to a tracker database, once for the tests below, which
    only read it: its path and the title of the first role button."""
    path = tmp_path_factory.mktemp("transcript") / "tracker.db"
    # Articles are free or not depending on the day: the same day every run.
    with environment_variables(CLOCK_OVERRIDE=START.isoformat()):
        trackers = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))
        talk = Conversation(asyncio.run(trackers.get_or_create_tracker(SENDER, append_action_listen=False)))
        talk.user("/greet", "greet")  # the web page's hidden greeting
        talk.response("utter_greet")
        talk.listen()
        talk.user("ツイッターで悪口を書かれて困っています", "trouble_defamation")
        talk.tracker.update(SlotSet("trouble_type", "defamation"))
        talk.response("utter_ack_defamation", sent_by="action_start_triage")
        talk.response("utter_ask_user_role", sent_by="triage_form")
        talk.listen()
        # An unreadable reply: the form explains the question and offers to skip it, a button whose
        # payload ("unknown") a later question offers again under another title.
        talk.user("ええと", "out_of_scope")
        talk.explain("user_role")
        talk.listen()
        role_title, role_payload = buttons_of("utter_ask_user_role")[0]
        talk.user(role_payload, "inform")
        talk.response("utter_ask_ongoing", sent_by="triage_form")
        talk.listen()
        # A tap with the JSON spaced differently from the button (what a client may send).
        talk.user('/inform{"answer":"unknown"}', "inform")
        talk.response("utter_ask_platform", sent_by="triage_form")
        talk.listen()
        talk.user("Xです。相手の番号は090-1234-5678です", "inform")
        talk.custom(
            ActionFirstSteps(),
            sdk_tracker(message("Xです", "inform"), slots={"trouble_type": "defamation", "user_role": "self"}),
        )
        talk.listen()
        danger = "娘の学校の前で待ち伏せされていて怖い"
        talk.user(danger, "urgent_danger")
        talk.response("utter_urgent_danger")
        talk.custom(ActionRecordUrgency(), sdk_tracker(message(danger, "urgent_danger"), slots={"urgency": []}))
        talk.listen()
        talk.user("似たような事例の記事を読みたい", "ask_articles")
        talk.custom(
            ActionOfferArticles(),
            sdk_tracker(
                message("似たような事例の記事を読みたい", "ask_articles"), slots={"trouble_type": "defamation"}
            ),
        )
        talk.listen()
        asyncio.run(trackers.save(talk.tracker))
        trackers.engine.dispose()
    return path, role_title


@pytest.fixture
def saved(saved_conversation, campaign_day):
    """The saved conversation's engine, and the title of the first role button."""
    path, role_title = saved_conversation
    engine = tracker_engine(f"sqlite:///{path}")
    yield engine, role_title
    engine.dispose()


def test_roles_order_and_texts(saved):
    engine, role_title = saved
    turns = transcript(conversation_events(engine, SENDER))
    assert [(t["role"], t.get("kind")) for t in turns] == [
        ("bot", None),  # greeting (the hidden /greet before it is left out)
        ("user", None),
        ("bot", None),
        ("bot", None),  # acknowledgement, question with buttons
        ("user", None),  # unreadable
        ("bot", None),  # explanation with a skip button
        ("user", None),  # button
        ("bot", None),
        ("user", None),  # button
        ("bot", None),
        ("user", None),  # typed, with a number
        ("bot", "first_steps"),
        ("user", None),
        ("bot", "safety"),
        ("bot", "referral"),
        ("user", None),
        ("bot", "articles"),
    ]
    assert turns[1]["text"] == "ツイッターで悪口を書かれて困っています"
    assert turns[0]["text"].startswith("こんにちは。ネットトラブルあんしんサポート")
    assert turns[13]["text"].startswith("身の危険を感じていらっしゃるのですね")
    assert turns[14]["text"].startswith("お子さまが関わるご相談は")
    assert turns[11]["text"].startswith("まず、次のことをおすすめします。")
    assert turns[16]["text"].startswith("お役に立ちそうな記事をご案内いたします。")
    stamps = [datetime.fromisoformat(t["at"]) for t in turns]
    assert stamps == sorted(stamps) and stamps[0] == START + timedelta(seconds=60)
    assert all(stamp.utcoffset() == timedelta(hours=9) for stamp in stamps)


def test_button_taps_show_the_title_the_user_saw(saved):
    engine, role_title = saved
    turns = transcript(conversation_events(engine, SENDER))
    assert turns[3]["buttons"] == [title for title, _ in buttons_of("utter_ask_user_role")]
    assert turns[6] == {"role": "user", "text": role_title, "button": role_title, "at": turns[6]["at"]}
    # the skip button and the next question offer "unknown" under other titles: the latest offer is the one tapped
    assert turns[5]["buttons"] == ["スキップ"]
    assert turns[8]["button"] == turns[8]["text"] == "わからない"
    assert not any(t["text"].startswith("/") for t in turns)


def test_the_users_number_stays_masked(saved):
    engine, _ = saved
    turns = transcript(conversation_events(engine, SENDER))
    assert turns[10]["text"] == "Xです。相手の番号は［電話番号］です"
    assert "090-1234-5678" not in notes_text(turns)


def test_a_question_with_buttons_from_a_kind_sender_has_no_kind(tmp_path, campaign_day):
    """action_offer_articles asks for a topic first when it has none: that is not articles."""
    trackers = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    talk = Conversation(asyncio.run(trackers.get_or_create_tracker(SENDER, append_action_listen=False)))
    talk.user("記事", "ask_articles")
    sent = talk.custom(ActionOfferArticles(), sdk_tracker(message("/ask_articles", "ask_articles")))
    assert sent[0].data["buttons"]
    title, payload = sent[0].data["buttons"][0]["title"], sent[0].data["buttons"][0]["payload"]
    talk.user(payload, "ask_articles")
    asyncio.run(trackers.save(talk.tracker))
    trackers.engine.dispose()
    engine = tracker_engine(f"sqlite:///{tmp_path / 't.db'}")
    turns = transcript(conversation_events(engine, SENDER))
    engine.dispose()
    assert "kind" not in turns[1] and turns[1]["buttons"][0] == title
    assert turns[2]["button"] == title


def test_an_unknown_conversation_has_no_turns(saved):
    engine, _ = saved
    assert transcript(conversation_events(engine, "web-nobody")) == []


def test_notes_have_one_line_per_turn(saved):
    engine, role_title = saved
    turns = transcript(conversation_events(engine, SENDER))
    lines = notes_text(turns).split("\n")
    assert len(lines) == len(turns)
    assert lines[1] == "2020-07-15 11:02 利用者: ツイッターで悪口を書かれて困っています"
    assert lines[6].startswith("2020-07-15 11:0") and f"利用者（ボタン）: {role_title}" in lines[6]
    assert "ボット［安全案内］: 身の危険を感じていらっしゃるのですね" in lines[13]
    assert "ボット［最初の対応］: まず、次のことをおすすめします。 1. " in lines[11]


def test_every_sender_named_for_a_kind_exists_in_the_domain():
    assert set(transcripts.RESPONSE_KINDS) <= set(rasa_domain().responses)
    assert set(transcripts.ACTION_KINDS) <= set(rasa_domain().user_actions)


@pytest.fixture
def person_key_secret(env):
    env(PERSON_KEY_SECRET="test-secret-for-case-transcripts-0123456789")


def test_a_case_opened_from_an_sms_conversation_finds_its_transcript(tmp_path, person_key_secret, service_database):
    """The case stores the sender's keyed hash, the tracker store too: they meet."""
    from nettrouble.cases import schema, store
    from nettrouble.cases.transcript import case_transcript

    sender = "+81 90-1234-5678"
    trackers = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(tmp_path / "t.db"))
    talk = Conversation(asyncio.run(trackers.get_or_create_tracker(sender, append_action_listen=False)))
    talk.user("アカウントを乗っ取られました", "trouble_account")
    talk.response("utter_ack_account", sent_by="action_start_triage")
    asyncio.run(trackers.save(talk.tracker))
    trackers.engine.dispose()
    case, _ = store.open_case(
        service_database, schema.CaseDraft(conversation_id=sender, channel="sms", trouble_type="account")
    )
    assert sender not in case.conversation_id
    engine = tracker_engine(f"sqlite:///{tmp_path / 't.db'}")
    turns = case_transcript(case, engine)
    engine.dispose()
    assert [(t["role"], t["text"]) for t in turns] == [
        ("user", "アカウントを乗っ取られました"),
        ("bot", rasa_domain().responses["utter_ack_account"][0]["text"]),
    ]
