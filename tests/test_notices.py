"""New-article notices: where they go (a LINE user id, an SMS number sealed), the consents and
their end, the quiet hours, the text of a notice, which articles are new for whom, the actions
that offer, record and stop them, and make purge. The sending itself, against the local LINE and
SMS servers: tests/test_notices_delivery.py."""

import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from actions.articles import ActionOfferArticles
from actions.notices import ActionDeclineArticleNotices, ActionStopArticleNotices, ActionSubscribeArticleNotices
from nettrouble.cases import retention
from nettrouble.content import articles, service
from nettrouble.content.articles import Article, Catalogue
from nettrouble.core import db
from nettrouble.core.clock import JST
from nettrouble.notices import addresses, messages, records, runner, schedule, subscriptions
from tests.tracker_states import message, tracker

ROOT = Path(__file__).resolve().parent.parent
LINE_USER = "U4af4980629a0b0c0d0e0f0a0b0c0d0e0f"
LINE_CONVERSATION = "line-" + LINE_USER
SMS_CONVERSATION = "sms-" + "0123456789abcdef" * 2
PHONE = "+819012345678"
CONSENT = datetime(2026, 3, 2, 10, 0, tzinfo=JST)


@pytest.fixture
def database(env, tmp_path):
    url = f"sqlite:///{tmp_path / 'service.db'}"
    env(DATABASE_URL=url, PERSON_KEY_SECRET="notice-test-secret-" + "x" * 24)
    yield db.prepare(url)
    db.dispose_all()


def article(article_id, category="defamation", published=date(2026, 3, 5)):
    return Article(
        id=article_id,
        title=f"{article_id}の記事",
        category=category,
        tags=("タグ",),
        summary="一文目です。二文目です。",
        url=f"https://nettrouble.docomo.ne.jp/article/{article_id}/",
        published=published,
        access="members",
        free_windows=(),
    )


def catalogue(*found):
    return Catalogue(articles=tuple(found), topic_labels=articles.load().topic_labels)


# ---- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conversation_id, channel",
    [
        (LINE_CONVERSATION, "line"),
        (SMS_CONVERSATION, "sms"),
        ("line-C0123456789abcdef", None),  # a group cannot consent as one person
        ("line-R0123456789abcdef", None),  # nor a room
        ("web-0123456789abcdef", None),
        ("test-user", None),
        ("sms-", None),
    ],
)
def test_only_one_to_one_line_and_sms_conversations_can_subscribe(conversation_id, channel):
    assert addresses.channel_of(conversation_id) == channel


def test_an_sms_number_is_stored_sealed_and_opens_only_with_the_same_secret(env):
    env(PERSON_KEY_SECRET="first-secret-" + "y" * 30)
    sealed, again = addresses.seal(PHONE), addresses.seal(PHONE)
    assert sealed != again and "9012345678" not in sealed
    assert addresses.unseal(sealed) == PHONE
    env(PERSON_KEY_SECRET="another-secret-" + "z" * 30)
    with pytest.raises(addresses.UnreadableAddress):
        addresses.unseal(sealed)


# ---- subscriptions -----------------------------------------------------------------------------


def test_a_line_consent_keeps_the_user_id_its_time_and_channel(database):
    subscriptions.subscribe(database, LINE_CONVERSATION, "defamation", CONSENT)
    (stored,) = subscriptions.every(database)
    assert stored == subscriptions.Subscription(LINE_CONVERSATION, "defamation", "line", LINE_USER, CONSENT)


def test_an_sms_consent_waits_for_the_channel_to_add_the_sealed_number(database):
    subscriptions.subscribe(database, SMS_CONVERSATION, "phishing", CONSENT)
    assert subscriptions.every(database)[0].address is None
    assert subscriptions.add_sms_address(database, SMS_CONVERSATION, PHONE) == 1
    assert subscriptions.add_sms_address(database, SMS_CONVERSATION, PHONE) == 0  # nothing waits any more
    (stored,) = subscriptions.every(database)
    assert stored.channel == "sms" and addresses.unseal(stored.address) == PHONE
    with database.connect() as connection:
        raw = connection.execute(select(subscriptions.article_subscriptions.c.address)).scalar_one()
    assert "9012345678" not in raw


def test_a_consent_given_again_is_renewed_and_keeps_the_number(database):
    subscriptions.subscribe(database, SMS_CONVERSATION, "phishing", CONSENT)
    subscriptions.add_sms_address(database, SMS_CONVERSATION, PHONE)
    later = CONSENT + timedelta(days=30)
    subscriptions.subscribe(database, SMS_CONVERSATION, "phishing", later)
    (stored,) = subscriptions.every(database)
    assert stored.consented_at == later and addresses.unseal(stored.address) == PHONE


def test_stopping_ends_every_subscription_of_the_conversation_only(database):
    subscriptions.subscribe(database, LINE_CONVERSATION, "defamation", CONSENT)
    subscriptions.subscribe(database, LINE_CONVERSATION, "privacy", CONSENT)
    subscriptions.subscribe(database, SMS_CONVERSATION, "phishing", CONSENT)
    assert subscriptions.end(database, LINE_CONVERSATION) == 2
    assert [s.conversation_id for s in subscriptions.every(database)] == [SMS_CONVERSATION]
    assert subscriptions.end(database, LINE_CONVERSATION) == 0


@pytest.mark.parametrize("conversation_id, topic", [("web-abc", "defamation"), (LINE_CONVERSATION, "weather")])
def test_a_consent_from_elsewhere_or_for_an_unknown_type_is_refused(database, conversation_id, topic):
    with pytest.raises(ValueError):
        subscriptions.subscribe(database, conversation_id, topic, CONSENT)
    assert subscriptions.every(database) == []


def test_make_purge_deletes_old_consents_and_finished_notices_and_keeps_the_last_run(database):
    now = datetime(2026, 11, 29, 12, 0, tzinfo=JST)
    subscriptions.subscribe(database, LINE_CONVERSATION, "defamation", now - timedelta(days=100))
    subscriptions.subscribe(database, SMS_CONVERSATION, "phishing", now - timedelta(days=5))
    with database.begin() as connection:
        records.start_run(connection, now - timedelta(days=120), date(2026, 8, 1))
        records.start_run(connection, now - timedelta(days=100), date(2026, 8, 21))
        old = records.add_articles(connection, LINE_CONVERSATION, "line", ["a"], now - timedelta(days=100))
        records.mark(connection, old, records.SENT, now - timedelta(days=100))
        waiting = records.add_articles(connection, SMS_CONVERSATION, "sms", ["b"], now - timedelta(days=100))
    retention.purge_cases(database, retention.cutoff(now, 90))
    assert [s.conversation_id for s in subscriptions.every(database)] == [SMS_CONVERSATION]
    with database.connect() as connection:
        assert [n.id for n in records.waiting(connection)] == [waiting]
        assert records.notified(connection, [LINE_CONVERSATION, SMS_CONVERSATION]) == {(SMS_CONVERSATION, "b")}
        # The next run starts from the latest run, however old.
        assert records.last_through_day(connection) == date(2026, 8, 21)


# ---- schedule and text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clock_time, quiet",
    [("07:59", True), ("08:00", False), ("12:00", False), ("20:59", False), ("21:00", True), ("23:30", True)],
)
def test_the_quiet_hours_are_21_to_8_japan_time(clock_time, quiet):
    hour, minute = map(int, clock_time.split(":"))
    assert schedule.is_quiet(datetime(2026, 12, 1, hour, minute, tzinfo=JST)) is quiet


def test_the_quiet_hours_are_read_in_japan_whatever_the_zone_given():
    assert schedule.is_quiet(datetime.fromisoformat("2026-12-01T04:00:00+00:00")) is False  # 13:00 in Japan
    assert schedule.is_quiet(datetime.fromisoformat("2026-12-01T12:30:00+00:00")) is True  # 21:30 in Japan


def test_the_offer_quotes_the_quiet_hours_the_sending_keeps(responses):
    text = responses["utter_offer_article_notices"]["text"]
    assert f"夜{schedule.QUIET_FROM.hour - 12}時から朝{schedule.QUIET_UNTIL.hour}時まではお送りしません" in text
    assert "1日1回まで" in text and "「配信停止」" in text


def test_held_notices_wait_until_8_the_same_or_the_next_morning():
    assert schedule.quiet_ends(datetime(2026, 12, 1, 6, 0, tzinfo=JST)) == datetime(2026, 12, 1, 8, 0, tzinfo=JST)
    assert schedule.quiet_ends(datetime(2026, 12, 1, 22, 0, tzinfo=JST)) == datetime(2026, 12, 2, 8, 0, tzinfo=JST)


def test_a_notice_names_the_service_lists_the_articles_and_says_how_to_stop():
    facts = service.facts()
    found = [article("first"), article("second")]
    line = messages.notice_text("line", found, facts)
    assert line.startswith(f"【{facts.name}】") and "2件" in line
    assert "1. firstの記事\n一文目です。\nhttps://nettrouble.docomo.ne.jp/article/first/" in line
    assert line.endswith("「配信停止」とお送りください。")
    sms = messages.notice_text("sms", found, facts)
    assert "・secondの記事\nhttps://nettrouble.docomo.ne.jp/article/second/" in sms
    assert "一文目です。" not in sms  # every character costs on SMS


def test_an_sms_notice_lists_three_articles_and_sends_to_the_list_for_the_rest():
    facts = service.facts()
    text = messages.notice_text("sms", [article(f"a{n}") for n in range(5)], facts)
    assert text.count("・") == 3 and f"ほか2件は {facts.articles_url} " in text
    with pytest.raises(ValueError):
        messages.notice_text("sms", [], facts)


# ---- which articles are new for whom -----------------------------------------------------------


def subscription(conversation_id=LINE_CONVERSATION, topic="defamation", consented=CONSENT):
    return subscriptions.Subscription(conversation_id, topic, "line", LINE_USER, consented)


def test_new_articles_are_those_of_the_type_published_after_the_consent_day_through_today():
    found = catalogue(
        article("same-day", published=CONSENT.date()),
        article("next-day", published=CONSENT.date() + timedelta(days=1)),
        article("other-type", category="phishing", published=date(2026, 3, 10)),
        article("tomorrow", published=date(2026, 3, 21)),
    )
    planned = runner.new_articles(found, [subscription()], None, date(2026, 3, 20), set())
    assert planned == {LINE_CONVERSATION: ["next-day"]}


def test_new_articles_start_at_the_last_runs_day_and_none_goes_twice():
    found = catalogue(
        article("before-last-run", published=date(2026, 3, 9)),
        article("on-last-run-day", published=date(2026, 3, 10)),
        article("since", published=date(2026, 3, 12)),
    )
    planned = runner.new_articles(found, [subscription()], date(2026, 3, 10), date(2026, 3, 20), set())
    assert planned == {LINE_CONVERSATION: ["on-last-run-day", "since"]}
    already = {(LINE_CONVERSATION, "on-last-run-day")}
    planned = runner.new_articles(found, [subscription()], date(2026, 3, 10), date(2026, 3, 20), already)
    assert planned == {LINE_CONVERSATION: ["since"]}


# ---- the actions -------------------------------------------------------------------------------


# The responses that show articles (the offer, when made, follows them).
ARTICLES_SHOWN = ("utter_articles_found", "utter_articles_found_for_members")


def articles_tracker(sender_id, intent="ask_articles", active_loop=None, slots=None):
    latest = message(
        "誹謗中傷の記事が読みたいです",
        intent,
        entities=[{"entity": "article_topic", "value": "defamation"}] if intent == "ask_articles" else [],
    )
    return tracker(latest, slots=slots, active_loop=active_loop, sender_id=sender_id)


@pytest.mark.parametrize("sender_id, channel_name", [(LINE_CONVERSATION, "LINE"), (SMS_CONVERSATION, "SMS")])
def test_articles_asked_for_on_line_or_sms_end_with_the_offer(database, run_action, clock, sender_id, channel_name):
    clock("2026-11-01T12:00:00+09:00")
    events, sent = run_action(ActionOfferArticles(), articles_tracker(sender_id))
    assert [m.get("response") for m in sent][0] in ARTICLES_SHOWN
    assert [m.get("response") for m in sent][1:] == ["utter_offer_article_notices"]
    offer = sent[-1]
    assert f"「SNSでの誹謗中傷」の新しい記事が公開されたら、この{channel_name}でお知らせしましょうか。" in offer["text"]
    assert [b["payload"] for b in offer["buttons"]] == ["/affirm", "/deny"]
    assert SlotSet("article_notice_topic", "defamation") in events


@pytest.mark.parametrize(
    "sender_id, intent, active_loop",
    [
        ("web-0123456789abcdef", "ask_articles", None),  # not on the web chat
        ("line-C0123456789abcdef", "ask_articles", None),  # nor in a LINE group
        (LINE_CONVERSATION, "ask_articles", "triage_form"),  # the form's question comes next
        (LINE_CONVERSATION, "affirm", None),  # after the triage: the offer of staff comes next
    ],
)
def test_no_offer_where_it_cannot_be_used_or_another_question_follows(
    database, run_action, clock, sender_id, intent, active_loop
):
    clock("2026-11-01T12:00:00+09:00")
    events, sent = run_action(
        ActionOfferArticles(),
        articles_tracker(sender_id, intent, active_loop, slots={"trouble_type": "defamation"}),
    )
    assert len(sent) == 1 and sent[0].get("response") in ARTICLES_SHOWN
    assert not [e for e in events if e.get("name") == "article_notice_topic"]


def test_no_offer_for_a_type_already_subscribed_and_a_stale_offer_is_cleared(database, run_action, clock):
    clock("2026-11-01T12:00:00+09:00")
    subscriptions.subscribe(database, LINE_CONVERSATION, "defamation", CONSENT)
    events, sent = run_action(
        ActionOfferArticles(), articles_tracker(LINE_CONVERSATION, slots={"article_notice_topic": "privacy"})
    )
    assert len(sent) == 1
    assert SlotSet("article_notice_topic", None) in events


def test_yes_to_the_offer_records_the_consent_with_its_time(database, run_action, clock):
    clock("2026-11-01T12:34:00+09:00")
    yes = tracker(message("はい", "affirm"), slots={"article_notice_topic": "phishing"}, sender_id=LINE_CONVERSATION)
    events, sent = run_action(ActionSubscribeArticleNotices(), yes)
    assert [m["response"] for m in sent] == ["utter_article_notices_subscribed"]
    assert "「偽SMS・フィッシング」の新しい記事が公開されたら" in sent[0]["text"]
    assert events == [SlotSet("article_notice_topic", None)]
    (stored,) = subscriptions.every(database)
    assert (stored.conversation_id, stored.topic, stored.channel) == (LINE_CONVERSATION, "phishing", "line")
    assert stored.consented_at == datetime(2026, 11, 1, 12, 34, tzinfo=JST)


def test_no_to_the_offer_records_nothing_and_ends_the_offer(database, run_action):
    no = tracker(message("いいえ", "deny"), slots={"article_notice_topic": "phishing"}, sender_id=SMS_CONVERSATION)
    events, sent = run_action(ActionDeclineArticleNotices(), no)
    assert [m["response"] for m in sent] == ["utter_article_notices_declined"]
    assert events == [SlotSet("article_notice_topic", None)] and subscriptions.every(database) == []


@pytest.mark.parametrize(
    "sender_id, slots",
    [("web-0123456789abcdef", {"article_notice_topic": "defamation"}), (LINE_CONVERSATION, {})],
)
def test_a_yes_where_nothing_was_offered_is_explained_not_recorded(database, run_action, sender_id, slots):
    yes = tracker(message("はい", "affirm"), slots={"trouble_type": "defamation", **slots}, sender_id=sender_id)
    _, sent = run_action(ActionSubscribeArticleNotices(), yes)
    assert [m["response"] for m in sent] == ["utter_article_notices_unavailable"]
    assert subscriptions.every(database) == []


def test_stop_ends_the_notices_at_once_and_says_so(database, run_action):
    subscriptions.subscribe(database, LINE_CONVERSATION, "defamation", CONSENT)
    stop = tracker(message("/stop_article_notices", "stop_article_notices"), sender_id=LINE_CONVERSATION)
    _, sent = run_action(ActionStopArticleNotices(), stop)
    assert [m["response"] for m in sent] == ["utter_article_notices_stopped"]
    assert subscriptions.every(database) == []
    _, sent = run_action(ActionStopArticleNotices(), stop)
    assert [m["response"] for m in sent] == ["utter_article_notices_none"]


def test_a_stop_that_cannot_be_recorded_is_not_confirmed(database, run_action, monkeypatch):
    def locked(*args):
        raise OperationalError("DELETE FROM article_subscriptions", {}, Exception("database is locked"))

    monkeypatch.setattr(subscriptions, "end", locked)
    stop = tracker(message("/stop_article_notices", "stop_article_notices"), sender_id=LINE_CONVERSATION)
    _, sent = run_action(ActionStopArticleNotices(), stop)
    assert [m["response"] for m in sent] == ["utter_article_notices_failed"]


# ---- the command -------------------------------------------------------------------------------


def test_make_notify_new_articles_dry_run_prints_what_would_go_and_records_nothing(database, env, capsys):
    from scripts import notify_new_articles

    env(CLOCK_OVERRIDE="2025-04-11T10:00:00+09:00", LINE_CHANNEL_ACCESS_TOKEN="line-token")
    subscriptions.subscribe(database, LINE_CONVERSATION, "defamation", datetime(2025, 1, 6, 10, 0, tzinfo=JST))
    assert notify_new_articles.main(["--dry-run"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == [
        "notify-new-articles at 2025-04-11 10:00 Japan time (dry run: nothing is sent or recorded)",
        f"would send: {LINE_CONVERSATION} (LINE; articles: platform-act-2025)",
    ]
    assert "    https://nettrouble.docomo.ne.jp/article/platform-act-2025/" in printed
    assert printed[-2:] == [
        "articles published since each consent (first run) through 2025-04-11: 1 new for subscribers",
        "notify-new-articles: 1 would be sent, 0 held, 0 cancelled, 0 unknown, 0 failed",
    ]
    with database.connect() as connection:
        assert records.waiting(connection) == [] and records.last_through_day(connection) is None


@pytest.mark.parametrize("value, dry", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_make_target_passes_dry_run_on(value, dry):
    shown = subprocess.run(
        ["make", "-n", "notify-new-articles", f"DRY_RUN={value}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "scripts/notify_new_articles.py" in shown and ("--dry-run" in shown) is dry
