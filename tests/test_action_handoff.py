"""action_handoff run for real: a rasa_sdk Tracker from a saved state, a CollectingDispatcher,
the case database on a temporary SQLite file."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from actions.handoff import TRIAGE_SLOTS, ActionHandoff
from nettrouble.cases import schema, store
from nettrouble.core import db, limits
from nettrouble.core.masking import PHONE_MASK
from nettrouble.core.settings import settings
from nettrouble.eligibility import identity, ledger
from nettrouble.notify import outbox
from tests.fakes.dispatcher import RenderingDispatcher

SECRET = "test-person-key-secret"
FRIDAY_EVENING = "2027-04-30T18:05:00+09:00"  # before Golden Week
WEEKDAY_MORNING = "2026-07-15T11:00:00+09:00"


@pytest.fixture
def env(env, migrated_sqlite, tmp_path):
    """The settings of these tests (tests/conftest.py's env), with the case database at the
    newest revision and the clock on a Friday evening. Callbacks are off: the offer that follows
    a reference outside the hours is tests/test_action_callbacks.py's."""
    env(
        DATABASE_URL=migrated_sqlite(tmp_path / "handoff.db"),
        PERSON_KEY_SECRET=SECRET,
        HANDOFF_WEBHOOK_URL="",
        CLOCK_OVERRIDE=FRIDAY_EVENING,
        CALLBACK_NUMBER_KEY="",
    )
    yield env
    db.dispose_all()


def user(text, channel="rest", intent=None):
    return {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent} if intent else {}},
    }


def tracker(sender="conv-1", slots=None, events=None):
    events = events if events is not None else [user("人と話したい")]
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": slots or {},
            "latest_message": events[-1] if events else {},
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def run(action, state):
    dispatcher = RenderingDispatcher()
    events = asyncio.run(action.run(dispatcher, state, {}))
    return events, [message["text"] for message in dispatcher.messages]


def engine():
    return db.engine(settings().database_url)


def count(table):
    with engine().connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar()


def test_no_database_work_before_start_up(env, tmp_path):
    fresh = tmp_path / "fresh.db"
    env(DATABASE_URL=f"sqlite:///{fresh}")
    assert not fresh.exists()
    action = ActionHandoff()
    assert action.name() == "action_handoff"
    assert fresh.exists()


def test_request_human_before_triage_gets_a_reference_and_the_next_opening(env):
    events, texts = run(ActionHandoff(), tracker())
    [case] = store.list_cases(engine())
    assert events == [SlotSet("case_reference", case.reference), SlotSet("handoff_requested", False)]
    assert case.trouble_type == "unknown" and case.channel == "rest" and case.conversation_id == "conv-1"
    assert case.created_at.isoformat() == FRIDAY_EVENING
    [text] = texts
    assert f"受付番号は {case.reference} です。" in text
    assert "ネットトラブルあんしんサポートセンター 0120-221-360" in text
    assert "受付時間 10:00〜18:00（土日・祝日・年末年始を除く）" in text
    assert "ただいま受付時間外です。次の受付開始は 5月6日(木) 10:00 です。" in text
    assert "スタッフがこちらでのご相談内容を確認" in text


def test_an_adviser_asked_for_before_any_eligibility_check_is_said_to_be_paid(env):
    events = [user("ツイッターで悪口を書かれた"), user("消費生活アドバイザーに相談したいです")]
    _, [text] = run(ActionHandoff(), tracker(slots={"trouble_type": "defamation"}, events=events))
    assert "受付番号は" in text
    assert "有料のサービスとなり、SNSでの誹謗中傷に関する無料電話相談の対象外" in text
    _, [plain] = run(ActionHandoff(), tracker(sender="conv-2"))
    assert "消費生活アドバイザー" not in plain


def test_after_triage_the_case_carries_the_answers_and_masked_words(env):
    env(CLOCK_OVERRIDE=WEEKDAY_MORNING)
    slots = {
        "trouble_type": "defamation",
        "platform": "X",
        "user_role": "victim",
        "ongoing": True,
        "evidence_saved": False,
        "money_lost": None,
        "urgency": ["danger"],
        "articles_shown": ["retweet-defamation", "disclosure-lawyer"],
        "unrelated_slot": "not triage",
    }
    events = [
        {"event": "session_started"},
        user("/trouble_defamation", "line"),
        user("Xで毎日悪口を書かれています", "line"),
        {"event": "bot", "text": "おつらいですね"},
        user("相手から090-1234-5678に電話も来ました", "line"),
    ]
    reply, texts = run(ActionHandoff(), tracker(slots=slots, events=events))
    [case] = store.list_cases(engine())
    assert reply == [SlotSet("case_reference", case.reference), SlotSet("handoff_requested", False)]
    assert case.channel == "line" and case.trouble_type == "defamation"
    assert case.triage_answers == {"platform": "X", "user_role": "victim", "ongoing": True, "evidence_saved": False}
    assert case.urgency == ["danger"] and case.articles_shown == ["retweet-defamation", "disclosure-lawyer"]
    assert case.summary == f"Xで毎日悪口を書かれています / 相手から{PHONE_MASK}に電話も来ました"
    assert "ただいま受付時間内です（本日18:00まで）。" in texts[0]


def test_short_yes_no_and_greetings_stay_out_of_the_summary(env):
    events = [
        user("こんにちは", intent="greet"),
        user("ツイッターで悪口を書かれています"),
        user("はい", intent="affirm"),
        user("/affirm", intent="affirm"),
        user("いいえ、でも相手の名前はわかっています", intent="deny"),
    ]
    run(ActionHandoff(), tracker(events=events))
    assert store.list_cases(engine())[0].summary == (
        "ツイッターで悪口を書かれています / いいえ、でも相手の名前はわかっています"
    )


def test_a_number_check_code_stays_out_of_the_summary(env):
    events = [
        user("ツイッターで悪口を書かれています"),
        user("090-1234-5678"),
        user("１２３ ４５６"),
        user("被害額は123456円です"),
    ]
    run(ActionHandoff(), tracker(events=events))
    assert store.list_cases(engine())[0].summary == (
        f"ツイッターで悪口を書かれています / {PHONE_MASK} / 被害額は123456円です"
    )


def test_only_the_current_session_goes_into_the_summary(env):
    events = [user("前回の別の話"), {"event": "session_started"}, user("今回の相談です")]
    run(ActionHandoff(), tracker(events=events))
    assert store.list_cases(engine())[0].summary == "今回の相談です"


def test_triage_slot_list_is_the_agreed_one():
    assert set(TRIAGE_SLOTS) == {
        "platform",
        "user_role",
        "ongoing",
        "evidence_saved",
        "money_lost",
        "money_amount",
        "payment_method",
        "exposed_info",
        "offline_contact",
        "notice_received",
        "post_still_up",
        "can_login",
        "payments_linked",
        "entered_info",
        "provider_contacted",
        "seller_type",
        "image_status",
        "money_demanded",
        "child_grade",
    }


def test_asking_again_gives_the_same_reference(env):
    action = ActionHandoff()
    slots = {"trouble_type": "phishing"}
    first, _ = run(action, tracker(slots=slots))
    second, texts = run(action, tracker(slots=slots))
    assert first == second and count(schema.cases) == 1
    assert texts[0].startswith("このご相談は、すでにお預かりしております。")
    third, _ = run(action, tracker(slots={"trouble_type": "account"}))
    assert third != first and count(schema.cases) == 2


IN_CAMPAIGN = "2020-07-15T11:00:00+09:00"
ANSWERS = {"trouble_type": "defamation", "docomo_line": "yes", "is_member": "no"}


def asking(text, metadata):
    """A user message with the metadata its channel added (Rasa puts it into latest_message)."""
    event = user(text)
    event["parse_data"]["metadata"] = event["metadata"] = metadata
    return [event]


def test_the_decision_is_made_again_and_an_unproved_claim_reads_the_same_held_or_not(env):
    env(CLOCK_OVERRIDE=IN_CAMPAIGN)
    action = ActionHandoff()
    key = identity.person_key("090-1234-5678", SECRET)
    # The slot says something else: the handoff does not read it.
    slots = {**ANSWERS, "person_key": key, "eligibility": "member", "eligibility_campaign": "forged"}
    first, first_texts = run(action, tracker(slots=slots))
    assert first == [SlotSet("case_reference", first[0]["value"]), SlotSet("handoff_requested", False)]
    case = store.get_case(engine(), first[0]["value"])
    assert (case.eligibility, case.eligibility_campaign, case.claim_state) == (
        "eligible",
        "sns-defamation-2020",
        ledger.PENDING,
    )
    assert "無料電話相談の対象となる見込みです" in first_texts[0] and "スタッフがご本人の番号を確認" in first_texts[0]

    # Someone else types the same number: their case finds it held, and they cannot tell.
    second, second_texts = run(action, tracker(sender="conv-2", slots=slots))
    assert second == [SlotSet("case_reference", second[0]["value"]), SlotSet("handoff_requested", False)]
    assert store.get_case(engine(), second[0]["value"]).eligibility == "already_used"
    line = [said for said in first_texts[0].splitlines() if "無料電話相談" in said]
    assert line and line == [said for said in second_texts[0].splitlines() if "無料電話相談" in said]
    assert first[0]["value"] not in second_texts[0]


def test_the_sms_senders_own_number_confirms_the_claim_and_takes_it_from_a_pending_one(env):
    env(CLOCK_OVERRIDE=IN_CAMPAIGN)
    action = ActionHandoff()
    key = identity.person_key("090-1234-5678", SECRET)
    typed_by_another, _ = run(action, tracker(sender="web-x", slots={**ANSWERS, "person_key": key}))
    sender = {limits.SENDER_PERSON_KEY: key, limits.CLIENT: "sms:owner"}
    owner, texts = run(
        action,
        tracker(sender="sms-owner", slots={**ANSWERS, "person_key": key}, events=asking("電話で相談したい", sender)),
    )
    case = store.get_case(engine(), owner[0]["value"])
    assert (case.eligibility, case.claim_state) == ("eligible", ledger.CONFIRMED)
    assert "無料電話相談の対象として承りました" in texts[0]
    assert store.get_case(engine(), typed_by_another[0]["value"]).claim_state == ledger.RELEASED
    # the owner's second case of another trouble is told, without any reference
    again, texts = run(
        action,
        tracker(sender="sms-owner-2", slots={**ANSWERS, "person_key": key}, events=asking("電話で相談したい", sender)),
    )
    assert SlotSet("eligibility", "already_used") in again
    assert "ご利用済み" in texts[0] and owner[0]["value"] not in texts[0]


def test_forged_person_key_is_not_stored(env):
    env(CLOCK_OVERRIDE=IN_CAMPAIGN)
    slots = {**ANSWERS, "eligibility": "eligible", "eligibility_campaign": "sns-2020", "person_key": "090-1234-5678"}
    events, texts = run(ActionHandoff(), tracker(slots=slots))
    case = store.get_case(engine(), events[0]["value"])
    assert case.person_key is None and case.eligibility is None
    assert count(ledger.free_consultations) == 0 and "無料電話相談の対象" not in texts[0]


def test_a_forged_eligibility_for_a_topic_no_campaign_covers_is_not_recorded(env):
    env(CLOCK_OVERRIDE=IN_CAMPAIGN)
    slots = {
        **ANSWERS,
        "trouble_type": "phishing",
        "eligibility": "eligible",
        "eligibility_campaign": "sns-defamation-2020",
        "urgency": ["danger"],
        "person_key": identity.person_key("090-1234-5678", SECRET),
    }
    events, _ = run(ActionHandoff(), tracker(slots=slots))
    case = store.get_case(engine(), events[0]["value"])
    assert case.eligibility == "topic_not_covered" and count(ledger.free_consultations) == 0


def test_a_client_opens_at_most_cases_per_hour_new_cases(env):
    env(CASES_PER_HOUR="2")
    action = ActionHandoff()
    client = {limits.CLIENT: "web:flooder"}
    made = [
        run(
            action,
            tracker(sender=f"flood-{i}", slots={"trouble_type": "account"}, events=asking("担当者と話したい", client)),
        )
        for i in range(3)
    ]
    assert [bool(events) and events[0]["name"] == "case_reference" for events, _ in made] == [True, True, False]
    refused_events, [refused] = made[2]
    assert refused_events == [SlotSet("handoff_requested", False)]
    assert "0120-221-360" in refused and "受付番号は" not in refused
    assert count(schema.cases) == 2
    # asking again in a conversation that has its case is not a new case
    again, _ = run(
        action, tracker(sender="flood-0", slots={"trouble_type": "account"}, events=asking("担当者と話したい", client))
    )
    assert again[0]["name"] == "case_reference"
    # another client is not affected
    other, _ = run(
        action,
        tracker(
            sender="calm",
            slots={"trouble_type": "account"},
            events=asking("担当者と話したい", {limits.CLIENT: "web:calm"}),
        ),
    )
    assert other[0]["name"] == "case_reference"


def assert_apology(events, texts):
    assert events == []
    [text] = texts
    assert "申し訳ございません" in text and "受付番号を発行できませんでした" in text
    assert "0120-221-360" in text and "10:00〜18:00" in text
    assert "次の受付開始は 5月6日(木) 10:00 です。" in text
    assert "NT-" not in text


def test_database_unreachable_at_start_up_and_during_the_handoff(env, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env(DATABASE_URL=f"sqlite:///{blocker / 'store.db'}")
    action = ActionHandoff()  # start-up survives
    assert_apology(*run(action, tracker()))


def test_database_failing_mid_handoff_leaves_nothing_half_written(env, monkeypatch):
    env(HANDOFF_WEBHOOK_URL="http://127.0.0.1:9/hook")
    action = ActionHandoff()

    def lost_connection(*args, **kwargs):
        raise OperationalError("INSERT INTO outbox", {}, Exception("database is locked"))

    working = outbox.enqueue
    monkeypatch.setattr(outbox, "enqueue", lost_connection)
    slots = {
        "trouble_type": "defamation",
        "eligibility": "eligible",
        "eligibility_campaign": "sns-2020",
        "person_key": identity.person_key("090-1234-5678", SECRET),
    }
    assert_apology(*run(action, tracker(slots=slots)))
    for table in (schema.cases, schema.case_status_events, outbox.outbox, ledger.free_consultations):
        assert count(table) == 0
    # Once the database is back, the same handoff succeeds and is notified once.
    monkeypatch.setattr(outbox, "enqueue", working)
    events, _ = run(action, tracker(slots=slots))
    assert events[0]["event"] == "slot" and count(schema.cases) == 1 and count(outbox.outbox) == 1


def test_a_malformed_tracker_still_gets_the_phone_number(env):
    broken = tracker(events=[user("人と話したい"), "not an event"])
    assert_apology(*run(ActionHandoff(), broken))
    assert count(schema.cases) == 0


# --- action_request_staff: what comes before the reference ----------------------------------


def route(slots, env, moment="2020-07-15T11:00:00+09:00"):
    from actions.handoff import ActionRequestStaff

    env(CLOCK_OVERRIDE=moment)
    dispatcher = RenderingDispatcher()
    events = asyncio.run(ActionRequestStaff().run(dispatcher, tracker(slots=slots), {}))
    values = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return values["next_step"], [m.get("response") for m in dispatcher.messages], values


def test_staff_before_any_trouble_gives_the_reference_at_once(env):
    step, said, values = route({}, env)
    assert step == "handoff" and said == [] and values["handoff_requested"] is True


def test_staff_during_the_triage_asks_the_essential_question_first(env):
    assert route({"trouble_type": "privacy", "platform": "X"}, env)[:2] == (
        "triage",
        ["utter_staff_one_question"],
    )


def test_staff_asked_for_again_instead_of_an_answer_gets_the_reference(env):
    step, _, _ = route({"trouble_type": "account", "handoff_requested": True}, env)
    assert step == "handoff"


def test_staff_in_a_campaign_topic_finishes_the_check_first(env):
    slots = {"trouble_type": "defamation", "platform": "X"}
    assert route(slots, env)[:2] == ("eligibility", ["utter_staff_check_first"])
    # Once decided, or outside the campaign, nothing stands before the reference.
    assert route({**slots, "eligibility": "eligible"}, env)[0] == "handoff"
    assert route(slots, env, "2026-12-02T11:00:00+09:00")[0] == "handoff"
