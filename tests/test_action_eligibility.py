"""The eligibility form and action, run for real on rasa_sdk trackers built from saved state."""

import asyncio
import json
import logging

import pytest
from rasa_sdk import Tracker
from rasa_sdk.forms import REQUESTED_SLOT
from sqlalchemy import text

from actions.eligibility import ActionCheckEligibility, ValidateEligibilityForm
from nettrouble.channels import sms_providers
from nettrouble.core import datafiles, db, limits
from nettrouble.core.datafiles import DataFileError
from nettrouble.core.settings import SettingsError
from nettrouble.eligibility import campaigns, identity, ledger, number_proof
from nettrouble.triage import referrals
from tests.fakes.dispatcher import RenderingDispatcher

SECRET = "action-test-secret"
IN_CAMPAIGN = "2020-07-15T11:00:00+09:00"
AFTER = "2020-09-01T00:00:00+09:00"
CAMPAIGN = "sns-defamation-2020"
FORM = "eligibility_form"
DOMAIN = {
    "forms": {FORM: {"required_slots": ["docomo_line", "is_member", "person_key", "number_code"]}},
    "slots": {
        name: {"type": "text", "mappings": [{"type": "custom"}]}
        for name in ("docomo_line", "is_member", "person_key", "number_code")
    },
}


@pytest.fixture
def database(tmp_path):
    """The file of the service database the actions use."""
    return tmp_path / "nettrouble.core.db"


@pytest.fixture
def env(env, migrated_sqlite, database):
    """The settings of these tests (tests/conftest.py's env): the secret, the service database
    at the newest revision and the clock in the campaign."""
    env(PERSON_KEY_SECRET=SECRET, DATABASE_URL=migrated_sqlite(database), CLOCK_OVERRIDE=IN_CAMPAIGN)
    yield env
    db.dispose_all()


def key_of(number):
    return identity.person_key(number, SECRET)


def parse(text, intent, metadata=None):
    """A message as Rasa parses it: the intent leads the ranking (the actions read the ranking)."""
    classified = {"name": intent, "confidence": 0.9}
    return {
        "text": text,
        "intent": classified,
        "intent_ranking": [classified],
        "entities": [],
        "metadata": dict(metadata or {}),
    }


def tracker(
    slots=None,
    text="無料相談の対象か知りたい",
    intent="ask_free_consultation",
    requested=None,
    history=None,
    metadata=None,
    sender="test-user",
):
    """A tracker as the action server receives it. With ``requested``, the form asked for that
    slot and ``text`` is the user's answer to it."""
    slots = dict(slots or {})
    events = list(history or [])
    if requested:
        events += [
            {"event": "action", "name": FORM},
            {"event": "slot", "name": REQUESTED_SLOT, "value": requested},
            {"event": "bot", "text": f"(question for {requested})"},
            {"event": "action", "name": "action_listen"},
        ]
    events += [{"event": "user", "text": text, "parse_data": parse(text, intent, metadata)}]
    if requested:
        events += [{"event": "slot", "name": REQUESTED_SLOT, "value": requested}, {"event": "action", "name": FORM}]
    slots[REQUESTED_SLOT] = requested
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": slots,
            "latest_message": parse(text, intent, metadata),
            "events": events,
            "active_loop": {"name": FORM} if requested else {},
            "latest_action_name": FORM if requested else "action_listen",
        }
    )


def run(action, state):
    dispatcher = RenderingDispatcher()
    events = asyncio.run(action.run(dispatcher, state, DOMAIN))
    return events, dispatcher.messages


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def texts(messages):
    return "\n".join(m.get("text") or "" for m in messages)


READY = {"trouble_type": "defamation", "docomo_line": "yes", "is_member": "no"}


# --- action_check_eligibility -------------------------------------------------------------


def check(slots, text="無料相談の対象か知りたい", history=None, metadata=None):
    return run(ActionCheckEligibility(), tracker(slots, text=text, history=history, metadata=metadata))


def sms_sender(number):
    """The metadata the SMS channel adds to a message from ``number``."""
    return {limits.SENDER_PERSON_KEY: key_of(number), limits.CLIENT: "sms:test"}


def test_eligible_before_the_number_is_proved_says_staff_confirm_it(env):
    events, messages = check({**READY, "person_key": key_of("090-1111-2222")})
    assert slot_events(events) == {
        "eligibility": "eligible",
        "eligibility_campaign": CAMPAIGN,
        "next_step": "offer_staff",
    }
    text = texts(messages)
    assert (
        "「SNSの誹謗中傷に関する電話相談の無料開放」（期間：2020年7月1日〜2020年8月31日）の対象となる見込みです" in text
    )
    assert "スタッフがご本人の番号を確認したうえで" in text and "0120-221-360" in text


def test_eligible_with_the_sms_senders_own_number(env):
    events, messages = check({**READY, "person_key": key_of("090-1111-2222")}, metadata=sms_sender("+819011112222"))
    assert slot_events(events) == {
        "eligibility": "eligible",
        "eligibility_campaign": CAMPAIGN,
        "next_step": "offer_staff",
    }
    text = texts(messages)
    assert "「SNSの誹謗中傷に関する電話相談の無料開放」（期間：2020年7月1日〜2020年8月31日）の対象です" in text
    assert "0120-221-360" in text and "10:00〜18:00（土日・祝日・年末年始を除く）" in text
    assert "お一人さま一案件" in text and "引き継いだ時点で" in text
    assert "消費生活アドバイザー" in text
    assert not messages[0].get("buttons")  # the rules offer the staff next


def test_already_a_member(env):
    events, messages = check({**READY, "is_member": "yes"})
    assert slot_events(events) == {"eligibility": "member", "eligibility_campaign": None, "next_step": "offer_staff"}
    text = texts(messages)
    assert "ご加入中のお客さまは" in text and "0120-221-360" in text
    assert "月額" not in text


def test_not_docomo(env):
    events, messages = check({**READY, "docomo_line": "no"})
    assert slot_events(events) == {"eligibility": "not_docomo", "eligibility_campaign": None, "next_step": "nothing"}
    text = texts(messages)
    assert "申し訳ございません" in text and "ドコモの回線契約" in text
    # The service itself needs a docomo line: joining is not offered, public bodies are.
    assert "月額" not in text
    bodies = referrals.for_topic("defamation", referrals.load())
    assert bodies and all(body.name in text for body in bodies)


@pytest.mark.parametrize(
    "moment, reason, words",
    [
        (AFTER, "ended", "2020年8月31日をもって終了"),
        ("2020-06-30T23:59:59+09:00", "not_started", "2020年7月1日から"),
        ("2026-11-29T10:00:00+09:00", "ended", "終了いたしました"),
    ],
)
def test_outside_the_campaign(env, moment, reason, words):
    env(CLOCK_OVERRIDE=moment)
    events, messages = check({**READY, "person_key": key_of("090-1111-2222")})
    assert slot_events(events) == {"eligibility": reason, "eligibility_campaign": CAMPAIGN, "next_step": "offer_staff"}
    text = texts(messages)
    assert words in text
    assert "月額500円（税抜）" in text and "https://nettrouble.docomo.ne.jp/" in text
    assert "法務省 みんなの人権110番" in text


@pytest.mark.parametrize("state", ["free", ledger.PENDING, ledger.CONFIRMED])
def test_an_unproved_number_reads_the_same_whether_free_pending_or_used(env, state):
    key = key_of("080-3333-4444")
    if state != "free":
        ledger.reserve(
            db.prepare(),
            CAMPAIGN,
            key,
            "NT-2007-12345-6",
            proved_by=ledger.VIA_STAFF if state == ledger.CONFIRMED else None,
        )
    events, messages = check({**READY, "person_key": key})
    assert slot_events(events)["eligibility"] == "eligible"
    _, free_number_messages = check({**READY, "person_key": key_of("080-5555-6666")})
    assert texts(messages) == texts(free_number_messages)
    assert "NT-" not in texts(messages) and "2007" not in texts(messages)


def test_already_used_is_told_only_to_the_proved_owner_and_without_the_reference(env):
    key = key_of("080-3333-4444")
    ledger.reserve(db.prepare(), CAMPAIGN, key, "NT-2007-12345-6", proved_by=ledger.VIA_STAFF)
    events, messages = check({**READY, "person_key": key}, metadata=sms_sender("080-3333-4444"))
    assert slot_events(events) == {
        "eligibility": "already_used",
        "eligibility_campaign": CAMPAIGN,
        "next_step": "offer_staff",
    }
    text = texts(messages)
    assert "お一人さま一案件" in text and "ご利用済み" in text and "NT-" not in text
    # The same case asked about again is fine.
    events, _ = check(
        {**READY, "person_key": key, "case_reference": "NT-2007-12345-6"}, metadata=sms_sender("080-3333-4444")
    )
    assert slot_events(events)["eligibility"] == "eligible"


def test_a_pending_claim_of_someone_else_does_not_refuse_the_proved_owner(env):
    key = key_of("080-3333-4444")
    ledger.reserve(db.prepare(), CAMPAIGN, key, "NT-2007-12345-6")
    events, _ = check({**READY, "person_key": key}, metadata=sms_sender("080-3333-4444"))
    assert slot_events(events)["eligibility"] == "eligible"


def test_topic_not_covered(env):
    events, messages = check({**READY, "trouble_type": "phishing"})
    assert slot_events(events) == {
        "eligibility": "topic_not_covered",
        "eligibility_campaign": None,
        "next_step": "offer_staff",
    }
    text = texts(messages)
    assert "対象外" in text and "月額500円（税抜）" in text
    assert "フィッシング対策協議会" in text  # public bodies for the user's own topic
    assert "名誉毀損に当たります" not in text


def test_adviser_request_earlier_in_the_enquiry(env):
    history = [
        {
            "event": "user",
            "text": "消費生活アドバイザーに相談したいです",
            "parse_data": parse("消費生活アドバイザーに相談したいです", "ask_free_consultation"),
        },
        {"event": "action", "name": FORM},
    ]
    events, messages = check({**READY, "person_key": key_of("090-1111-2222")}, text="09011112222", history=history)
    assert slot_events(events)["eligibility"] == "adviser_excluded"
    assert "有料のサービス" in texts(messages) and "消費生活アドバイザーなども対応" in texts(messages)
    # Once answered, a later check is not held to that old request.
    later = history + [{"event": "action", "name": "action_check_eligibility"}]
    events, _ = check({**READY, "person_key": key_of("090-1111-2222")}, history=later)
    assert slot_events(events)["eligibility"] == "eligible"


def test_undecided_says_what_is_missing(env):
    events, messages = check({"trouble_type": "defamation", "docomo_line": "yes"})
    assert slot_events(events) == {"eligibility": None, "eligibility_campaign": None, "next_step": "offer_staff"}
    text = texts(messages)
    assert "ネットトラブルあんしんサポートにご加入中かどうか" in text
    assert "ご本人確認のためのドコモの携帯電話番号" in text
    assert "ドコモの回線をご契約中かどうか" not in text


def test_forged_slot_values_count_as_unknown(env):
    events, messages = check(
        {
            "trouble_type": "../etc",
            "docomo_line": "YES!",
            "is_member": True,
            "person_key": "09011112222",
            "case_reference": "x" * 500,
        }
    )
    assert slot_events(events)["eligibility"] is None
    for label in ("ドコモの回線をご契約中かどうか", "ご加入中かどうか", "ご相談の内容", "携帯電話番号"):
        assert label in texts(messages)
    events, messages = check({**READY, "person_key": "09011112222"})
    assert slot_events(events)["eligibility"] is None
    assert "携帯電話番号" in texts(messages)


def test_database_unavailable_gives_an_apology_and_the_phone_number(env, database):
    action = ActionCheckEligibility()
    database.unlink()
    database.mkdir()  # the database path is now a directory: every read fails
    db.dispose_all()
    # A proved number is the one whose decision reads the ledger.
    state = tracker({**READY, "person_key": key_of("090-1111-2222")}, metadata=sms_sender("090-1111-2222"))
    events, messages = run(action, state)
    assert slot_events(events) == {"eligibility": None, "eligibility_campaign": None, "next_step": "offer_staff"}
    assert "申し訳ございません" in texts(messages) and "0120-221-360" in texts(messages)


# --- start-up ---------------------------------------------------------------------------


def test_a_missing_secret_stops_the_form_at_start_up(env):
    env(PERSON_KEY_SECRET="")
    with pytest.raises(SettingsError, match="PERSON_KEY_SECRET"):
        ValidateEligibilityForm()


def test_a_malformed_campaigns_file_stops_the_actions_at_start_up(env, monkeypatch, tmp_path):
    business = tmp_path / "business"
    business.mkdir()
    for name in ("referrals.yml", "service.yml"):
        (business / name).write_bytes((datafiles.BUSINESS_DIR / name).read_bytes())
    (business / "campaigns.yml").write_text(
        "campaigns:\n  - id: broken\n    name: x\n    first_day: 2020-07-01\n"
        "    last_day: 2020-08-31\n    topics: [defamation, gosip]\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(datafiles, "BUSINESS_DIR", business)
    campaigns.catalogue.cache_clear()
    try:
        for action in (ActionCheckEligibility, ValidateEligibilityForm):
            with pytest.raises(DataFileError) as error:
                action()
            assert "campaigns.yml" in str(error.value) and "'broken'" in str(error.value)
            assert "'topics'" in str(error.value) and "gosip" in str(error.value)
    finally:
        campaigns.catalogue.cache_clear()


# --- validate_eligibility_form ----------------------------------------------------------


def validate(slots, text, intent="inform", requested=None, history=None):
    return run(
        ValidateEligibilityForm(), tracker(slots, text=text, intent=intent, requested=requested, history=history)
    )


def test_activation_asks_the_first_question(env):
    events, messages = validate({"trouble_type": "defamation"}, "無料相談を受けたい", "ask_free_consultation")
    assert events == [{"event": "slot", "timestamp": None, "name": REQUESTED_SLOT, "value": "docomo_line"}]
    assert messages == []


@pytest.mark.parametrize(
    "slots, moment, asked",
    [
        ({"trouble_type": "phishing"}, IN_CAMPAIGN, None),  # topic not covered: nothing to ask
        ({"trouble_type": "defamation"}, AFTER, None),  # campaign over: nothing to ask
        ({"trouble_type": "defamation", "is_member": "no"}, IN_CAMPAIGN, "docomo_line"),
        ({"trouble_type": "defamation", "docomo_line": "yes"}, IN_CAMPAIGN, "is_member"),
        ({**READY}, IN_CAMPAIGN, "person_key"),
        ({**READY, "is_member": "yes"}, IN_CAMPAIGN, None),
        ({**READY, "docomo_line": "no"}, IN_CAMPAIGN, None),
    ],
)
def test_only_what_the_decision_still_needs_is_asked(env, slots, moment, asked):
    env(CLOCK_OVERRIDE=moment)
    events, _ = validate(slots, "無料相談を受けたい", "ask_free_consultation")
    assert slot_events(events) == {REQUESTED_SLOT: asked}


@pytest.mark.parametrize(
    "text, intent, value",
    [
        ("はい", "affirm", "yes"),
        ("/affirm", "affirm", "yes"),
        ("/deny", "deny", "no"),
        ("ドコモです", "inform", "yes"),
        ("ドコモ回線です", "inform", "yes"),
        ("docomoです", "inform", "yes"),
        ("ahamoを使っています", "inform", "yes"),
        ("間違いありません", "inform", "yes"),
        ("いいえ", "deny", "no"),
        ("auです", "inform", "no"),
        ("ａｕです", "inform", "no"),
        ("ソフトバンクです", "inform", "no"),
        ("楽天モバイルです", "inform", "no"),
        ("格安SIMです", "inform", "no"),
        ("ドコモじゃないです", "inform", "no"),
        ("ドコモではありません", "affirm", "no"),
    ],
)
def test_docomo_line_answers(env, text, intent, value):
    events, messages = validate({"trouble_type": "defamation"}, text, intent, requested="docomo_line")
    slots = slot_events(events)
    assert slots["docomo_line"] == value
    assert slots[REQUESTED_SLOT] == (None if value == "no" else "is_member")
    assert messages == []


@pytest.mark.parametrize(
    "text, intent, value",
    [
        ("はい", "affirm", "yes"),
        ("会員です", "inform", "yes"),
        ("加入しています", "inform", "yes"),
        ("入ってます", "inform", "yes"),
        ("いいえ", "deny", "no"),
        ("入っていません", "inform", "no"),
        ("まだ加入していません", "inform", "no"),
        ("会員じゃないです", "inform", "no"),
        ("未加入です", "inform", "no"),
        ("/deny", "deny", "no"),
    ],
)
def test_membership_answers(env, text, intent, value):
    slots = {"trouble_type": "defamation", "docomo_line": "yes"}
    events, _ = validate(slots, text, intent, requested="is_member")
    got = slot_events(events)
    assert got["is_member"] == value
    assert got[REQUESTED_SLOT] == (None if value == "yes" else "person_key")


def test_an_answer_not_understood_is_asked_again(env):
    events, messages = validate({"trouble_type": "defamation"}, "うーん", "nlu_fallback", requested="docomo_line")
    assert slot_events(events) == {"docomo_line": None, REQUESTED_SLOT: "docomo_line"}
    assert "「はい」か「いいえ」" in texts(messages)


@pytest.mark.parametrize("requested", ["docomo_line", "is_member", "person_key"])
def test_a_skipped_question_ends_the_form_without_guessing(env, requested):
    slots = {"trouble_type": "defamation", "docomo_line": "yes", "is_member": "no"}
    slots.pop(requested, None)
    events, _ = validate(slots, "わからないです", "inform", requested=requested)
    assert slot_events(events) == {requested: None, REQUESTED_SLOT: None}


@pytest.mark.parametrize("intent", ["urgent_self_harm", "urgent_danger", "ask_hours", "trouble_phishing"])
def test_other_intents_are_left_to_the_rules(env, intent):
    # The form rejects and the rule for the intent answers; naming docomo is not having a line.
    events, messages = validate({"trouble_type": "defamation"}, "ドコモの営業時間は？", intent, requested="docomo_line")
    assert "docomo_line" not in slot_events(events) and messages == []
    assert any(e["event"] == "action_execution_rejected" for e in events)


def test_an_answer_given_with_a_request_for_staff_is_kept(env):
    events, messages = validate(
        {"trouble_type": "defamation"}, "ドコモですけど、もう電話したいです", "request_human", requested="docomo_line"
    )
    assert slot_events(events) == {"docomo_line": "yes"} and messages == []
    assert any(e["event"] == "action_execution_rejected" for e in events)


def test_the_membership_answered_ahead_is_not_asked(env):
    events, _ = validate(
        {"trouble_type": "defamation"}, "ドコモで、サポートには入ってないです", "inform", requested="docomo_line"
    )
    slots = slot_events(events)
    assert (slots["docomo_line"], slots["is_member"], slots[REQUESTED_SLOT]) == ("yes", "no", "person_key")


def test_the_safety_intent_is_never_swallowed_even_with_a_number(env):
    events, _ = validate(READY, "090-1111-2222 もう死にたい", "urgent_self_harm", requested="person_key")
    assert "person_key" not in slot_events(events)


def test_a_message_already_answered_by_a_rule_is_not_read_again(env):
    # The user asked the hours mid-form, a rule answered, and the form resumes.
    state = Tracker.from_dict(
        {
            "sender_id": "test-user",
            "slots": {"trouble_type": "defamation", REQUESTED_SLOT: "docomo_line"},
            "latest_message": parse("ドコモの受付時間は？", "ask_hours"),
            "events": [
                {"event": "slot", "name": REQUESTED_SLOT, "value": "docomo_line"},
                {
                    "event": "user",
                    "text": "ドコモの受付時間は？",
                    "parse_data": parse("ドコモの受付時間は？", "ask_hours"),
                },
                {"event": "action", "name": "utter_ask_hours"},
                {"event": "bot", "text": "受付時間は10:00〜18:00です。"},
                {"event": "action", "name": FORM},
            ],
            "active_loop": {"name": FORM},
        }
    )
    events, _ = run(ValidateEligibilityForm(), state)
    assert slot_events(events) == {REQUESTED_SLOT: "docomo_line"}


@pytest.mark.parametrize(
    "text",
    ["090-1111-2222", "０９０ー１１１１ー２２２２", "番号は+81 90 1111 2222です", "+81(0)90-1111-2222"],
)
def test_the_number_becomes_its_hash_and_nothing_else(env, text):
    events, messages = validate(READY, text, "inform", requested="person_key")
    slots = slot_events(events)
    assert slots == {"person_key": key_of("09011112222"), REQUESTED_SLOT: None}
    assert "1111" not in json.dumps(events) and messages == []


@pytest.mark.parametrize(
    "text, words",
    [
        ("03-1234-5678", "固定電話"),
        ("050-1234-5678", "050"),
        ("090-1234-567", "11桁"),
        ("090-1234-5678 と 080-1111-2222", "おひとつだけ"),
        ("+1 415 555 1234", "日本の"),
        ("電話番号ってなんで必要なの", "070・080・090"),
    ],
)
def test_an_invalid_number_is_asked_again_with_the_accepted_form(env, text, words):
    events, messages = validate(READY, text, "inform", requested="person_key")
    assert slot_events(events) == {"person_key": None, REQUESTED_SLOT: "person_key"}
    assert words in texts(messages) and "スキップ" in texts(messages)
    assert "1234" not in texts(messages)


def test_a_forged_person_key_is_dropped(env):
    # A payload such as /inform{"person_key": "09011112222"} must not put a number in the slot.
    form = ValidateEligibilityForm()
    dispatcher = RenderingDispatcher()
    assert form.validate_person_key("09011112222", dispatcher, None, DOMAIN) == {"person_key": None}
    assert form.validate_docomo_line("maybe", dispatcher, None, DOMAIN) == {"docomo_line": None}


# --- the number never lands anywhere ----------------------------------------------------

KNOWN = "09087654321"
SPELLINGS = [
    KNOWN,
    "090-8765-4321",
    "090 8765 4321",
    "+819087654321",
    "+81-90-8765-4321",
    "9087654321",
    "87654321",
    "8765-4321",
    "０９０８７６５４３２１",
    "０９０－８７６５－４３２１",
]


def test_the_number_is_in_neither_the_database_nor_the_logs(env, database, caplog):
    caplog.set_level(logging.DEBUG)
    form, check_action = ValidateEligibilityForm(), ActionCheckEligibility()
    # An open connection keeps SQLite from checkpointing and deleting the -wal file, so the
    # scan below also reads the writes that have not reached the main file yet.
    held = db.prepare().connect()
    held.execute(text("SELECT 1"))
    try:
        _reserve_and_scan(form, check_action, database, caplog)
    finally:
        held.close()


def _reserve_and_scan(form, check_action, database, caplog):
    seen = []
    for typed in ("０９０ー８７６５ー４３２１", "+81 (0)90 8765 4321"):
        events, messages = run(form, tracker(READY, text=f"番号は{typed}です", requested="person_key"))
        seen += [events, messages]
        key = slot_events(events)["person_key"]
        assert ledger.is_person_key(key)
        events, messages = run(check_action, tracker({**READY, "person_key": key}))
        seen += [events, messages]
        # The handoff's reservation, through the real ledger code path.
        ledger.reserve(
            db.prepare(),
            slot_events(events)["eligibility_campaign"] or CAMPAIGN,
            key,
            "NT-2007-12345-6",
            proved_by=ledger.VIA_CODE,
        )
        events, messages = run(
            check_action,
            tracker({**READY, "person_key": key, "case_reference": "NT-2007-99999-0"}, metadata=sms_sender(KNOWN)),
        )
        assert slot_events(events)["eligibility"] == "already_used"
        seen += [events, messages]

    assert ledger.holder(db.prepare(), CAMPAIGN, key_of(KNOWN)).case_reference == "NT-2007-12345-6"
    files = [p for p in database.parent.iterdir() if p.name.startswith(database.name)]
    assert {p.name for p in files} == {database.name, database.name + "-wal", database.name + "-shm"}
    blobs = [p.read_bytes() for p in files] + [
        caplog.text.encode("utf-8"),
        json.dumps(seen, ensure_ascii=False).encode("utf-8"),
    ]
    for spelling in SPELLINGS:
        for encoded in {spelling.encode("utf-8"), spelling.encode("utf-16-le")}:
            for blob in blobs:
                assert encoded not in blob, spelling


def test_no_number_is_asked_for_once_an_adviser_was_requested(env):
    history = [{"event": "user", "text": "消費生活アドバイザーに無料で相談できますか？"}, {"event": "bot", "text": "…"}]
    state = tracker({**READY, "person_key": None}, text="いいえ", intent="deny", requested="is_member", history=history)
    required = asyncio.run(ValidateEligibilityForm().required_slots([], RenderingDispatcher(), state, {}))
    assert "person_key" not in required


def test_a_number_typed_before_its_question_is_kept_and_not_asked(env):
    events, messages = validate(
        {"trouble_type": "defamation"}, "０９０１１１１２２２２", "inform", requested="docomo_line"
    )
    slots = slot_events(events)
    assert slots["person_key"] == key_of("090-1111-2222") and slots[REQUESTED_SLOT] == "docomo_line"
    assert "docomo_line" not in slots or slots["docomo_line"] is None


# --- proving the number: the SMS sender, a one-time code, the limits on number checks -----


class FakeSms:
    """The SMS provider, recording what would have been sent."""

    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    async def send(self, to, text):
        if self.fail:
            raise sms_providers.SmsSendError("refused")
        self.sent.append((to, text))


@pytest.fixture
def sms(monkeypatch):
    provider = FakeSms()
    monkeypatch.setattr(sms_providers, "configured", lambda: provider)
    return provider


def sent_code(provider):
    return number_proof.read_code(provider.sent[-1][1])


def give_number(typed, sender="test-user", metadata=None, slots=None):
    return run(
        ValidateEligibilityForm(),
        tracker(
            {**READY, **(slots or {})},
            text=typed,
            intent="inform",
            requested="person_key",
            sender=sender,
            metadata=metadata,
        ),
    )


def give_code(typed, key, sender="test-user"):
    return run(
        ValidateEligibilityForm(),
        tracker({**READY, "person_key": key}, text=typed, intent="inform", requested="number_code", sender=sender),
    )


def test_without_an_sms_provider_no_code_is_asked(env):
    events, _ = give_number("090-1111-2222")
    slots = slot_events(events)
    assert slots["person_key"] == key_of("090-1111-2222") and slots[REQUESTED_SLOT] is None


def test_a_code_is_sent_to_the_number_and_asked_for_then_proves_it(env, sms):
    events, _ = give_number("番号は090-1111-2222です")
    slots = slot_events(events)
    assert slots["person_key"] == key_of("090-1111-2222") and slots[REQUESTED_SLOT] == "number_code"
    [(to, text)] = sms.sent
    code = sent_code(sms)
    assert to == "+819011112222" and len(code) == 6 and "10分" in text
    events, messages = give_code(f"{code[:3]} {code[3:]}", key_of("090-1111-2222"))
    assert slot_events(events)["number_code"] == "verified" and "確認できました" in texts(messages)
    # the decision now reads the ledger and says "対象です"
    events, messages = check({**READY, "person_key": key_of("090-1111-2222"), "number_code": "verified"})
    assert "の対象です" in texts(messages)


def test_a_verified_slot_without_the_code_in_the_database_proves_nothing(env):
    events, messages = check({**READY, "person_key": key_of("090-1111-2222"), "number_code": "verified"})
    assert "見込み" in texts(messages)


def test_wrong_codes_are_counted_then_staff_confirm(env, sms):
    give_number("090-1111-2222")
    code = sent_code(sms)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        events, messages = give_code(wrong, key_of("090-1111-2222"))
        assert slot_events(events)["number_code"] is None and f"あと{left}回" in texts(messages)
    events, messages = give_code(wrong, key_of("090-1111-2222"))
    assert slot_events(events)["number_code"] == "unproved" and "スタッフ" in texts(messages)
    events, _ = give_code(code, key_of("090-1111-2222"))  # too late: locked
    assert slot_events(events)["number_code"] == "unproved"


def test_a_code_of_another_conversation_proves_nothing(env, sms):
    give_number("090-1111-2222", sender="owner")
    code = sent_code(sms)
    events, _ = give_code(code, key_of("090-1111-2222"), sender="attacker")
    assert slot_events(events)["number_code"] == "unproved"


def test_a_code_can_be_skipped_and_an_expired_one_asks_for_the_number_again(env, sms):
    give_number("090-1111-2222")
    events, messages = give_code("スキップ", key_of("090-1111-2222"))
    assert slot_events(events)["number_code"] == "unproved" and "スタッフ" in texts(messages)
    give_number("090-1111-2222")
    code = sent_code(sms)
    env(CLOCK_OVERRIDE="2020-07-15T11:11:00+09:00")  # 11 minutes later
    events, messages = give_code(code, key_of("090-1111-2222"))
    assert slot_events(events)["person_key"] is None and "有効期限" in texts(messages)


def test_the_sms_senders_own_number_needs_no_code(env, sms):
    events, _ = give_number("09011112222", metadata={limits.SENDER_PERSON_KEY: key_of("090-1111-2222")})
    slots = slot_events(events)
    assert slots["person_key"] == key_of("090-1111-2222") and slots[REQUESTED_SLOT] is None
    assert sms.sent == []


def test_a_code_that_cannot_be_sent_leaves_it_to_staff(env, monkeypatch):
    monkeypatch.setattr(sms_providers, "configured", lambda: FakeSms(fail=True))
    events, messages = give_number("090-1111-2222")
    assert slot_events(events)["number_code"] == "unproved" and "お送りできませんでした" in texts(messages)


def test_number_checks_are_limited_per_conversation_and_per_client(env):
    env(NUMBER_CHECKS_PER_CONVERSATION="2", NUMBER_CHECKS_PER_HOUR="3")
    client = {limits.CLIENT: "web:prober"}
    for number in ("090-1111-0001", "090-1111-0002"):
        events, _ = give_number(number, metadata=client)
        assert slot_events(events)["person_key"] == key_of(number)
    events, messages = give_number("090-1111-0003", metadata=client)
    slots = slot_events(events)
    assert slots["person_key"] is None and slots[REQUESTED_SLOT] is None  # the form ends
    assert "上限" in texts(messages) and "スタッフ" in texts(messages)
    # a new conversation of the same client has one check left this hour
    assert slot_events(give_number("090-1111-0004", sender="second", metadata=client)[0])["person_key"]
    assert slot_events(give_number("090-1111-0005", sender="third", metadata=client)[0])["person_key"] is None
