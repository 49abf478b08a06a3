"""Callback slots from the calendar, a slot as users type it, the number to call and its seal:
nettrouble/callbacks/ without a database."""

import logging
from datetime import date, datetime, timedelta

import pytest

from nettrouble.callbacks import labels, numbers, reading, sealing, slots
from nettrouble.cases.reference import BAD_CHECK_DIGIT, OK
from nettrouble.content import hours
from nettrouble.core.clock import JST
from nettrouble.core.datafiles import DataFileError
from nettrouble.core.settings import PRODUCTION_SECRETS, SettingsError, check_production
from nettrouble.monitoring import log_privacy
from nettrouble.triage import intents

SATURDAY_NIGHT = datetime(2026, 12, 12, 21, 30, tzinfo=JST)
MONDAY_10 = datetime(2026, 12, 14, 10, 0, tzinfo=JST)


def jst(*args):
    return datetime(*args, tzinfo=JST)


@pytest.fixture(scope="module")
def cal():
    return hours.load()  # the operator's real file


def calendar(tmp_path, **overrides):
    values = {
        "opening_time": '"10:00"',
        "closing_time": '"18:00"',
        "weekdays": "[mon, tue, wed, thu, fri]",
        "public_holidays_closed": "true",
        "queue_wait_alert_minutes": "30",
        "callback_capacity": "2",
        "closures": '[{id: year_end, name: 年末年始, yearly: {from: "12-29", to: "01-03"}}]',
    }
    values.update(overrides)
    path = tmp_path / "hours.yml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in values.items() if v is not None), encoding="utf-8")
    return hours.load(path)


# ---- slots of the calendar ----------------------------------------------------------------------


def test_the_real_file_offers_callbacks_in_slots_of_the_opening_hours(cal):
    assert cal.callback_capacity >= 1
    starts = slots.starts_on(date(2026, 12, 14), cal)
    assert starts[0] == MONDAY_10 and starts[-1] == jst(2026, 12, 14, 17, 30) and len(starts) == 16
    assert all(b - a == slots.SLOT for a, b in zip(starts, starts[1:]))


def test_saturday_night_the_first_slot_is_monday_at_ten(cal):
    first = list(slots.upcoming(SATURDAY_NIGHT, cal))[:3]
    assert first == [MONDAY_10, jst(2026, 12, 14, 10, 30), jst(2026, 12, 14, 11, 0)]


def test_a_public_holiday_has_no_slot(cal):
    # Friday 2026-07-17 evening; Monday 07-20 is 海の日: the next slot is Tuesday's first.
    assert next(slots.upcoming(jst(2026, 7, 17, 18, 5), cal)) == jst(2026, 7, 21, 10, 0)
    assert slots.starts_on(date(2026, 7, 20), cal) == []


def test_the_year_end_closure_moves_the_next_slot_to_january(cal):
    # Monday 2026-12-28 after closing: closed 12-29 to 01-03, and 01-04 is a Monday.
    assert next(slots.upcoming(jst(2026, 12, 28, 18, 0), cal)) == jst(2027, 1, 4, 10, 0)


def test_a_slot_already_started_is_not_offered(cal):
    assert next(slots.upcoming(jst(2026, 12, 14, 10, 0), cal)) == jst(2026, 12, 14, 10, 30)
    assert next(slots.upcoming(jst(2026, 12, 14, 10, 1), cal)) == jst(2026, 12, 14, 10, 30)


def test_slots_end_by_the_closing_time(tmp_path):
    cal = calendar(tmp_path, opening_time='"09:15"', closing_time='"10:30"')
    assert slots.starts_on(date(2026, 12, 14), cal) == [jst(2026, 12, 14, 9, 15), jst(2026, 12, 14, 9, 45)]
    assert slots.is_slot(jst(2026, 12, 14, 9, 45), cal) and not slots.is_slot(jst(2026, 12, 14, 10, 0), cal)


def test_slots_are_offered_two_weeks_ahead_at_most(cal):
    ahead = list(slots.upcoming(SATURDAY_NIGHT, cal))
    assert ahead[-1] <= SATURDAY_NIGHT + slots.HORIZON < ahead[-1] + timedelta(days=3)


@pytest.mark.parametrize("value", ["-1", "true", "'3'", "1.5"])
def test_a_wrong_capacity_stops_the_start_naming_it(tmp_path, value):
    with pytest.raises(DataFileError, match="callback_capacity"):
        calendar(tmp_path, callback_capacity=value)


def test_no_capacity_entry_means_no_callbacks(tmp_path):
    assert calendar(tmp_path, callback_capacity=None).callback_capacity == 0


def test_the_slot_slot_holds_iso_8601_with_the_japan_offset():
    assert slots.iso(MONDAY_10) == "2026-12-14T10:00:00+09:00"
    assert slots.parse_start("2026-12-14T01:00:00+00:00") == MONDAY_10
    assert slots.parse_start("2026-12-14T10:00:00") is None  # no offset
    assert slots.parse_start("monday") is None and slots.parse_start(None) is None


def test_labels():
    assert labels.slot_text(MONDAY_10, date(2026, 12, 12)) == "12月14日(月) 10:00〜10:30"
    assert labels.slot_text(jst(2027, 1, 4, 17, 30), date(2026, 12, 28)) == "2027年1月4日(月) 17:30〜18:00"
    assert labels.button_label(MONDAY_10) == "12/14(月) 10:00"
    assert len(labels.button_label(jst(2026, 12, 31, 17, 30))) <= 20
    assert labels.slot_time(MONDAY_10) == "10:00〜10:30"
    assert labels.state_label("booked") == "予約済み"
    assert labels.state_label("no_answer", 2) == "不在（2回目）"
    assert labels.state_label("retried", 1) == "再発信済み（不在1回）"
    assert labels.changed_by("chat") == "お客さま（チャット）" and labels.changed_by("sato") == "sato"


# ---- a slot as users type it -------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_starts(cal):
    return list(slots.upcoming(SATURDAY_NIGHT, cal))


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("2番", jst(2026, 12, 14, 10, 30)),
        ("２番で", jst(2026, 12, 14, 10, 30)),
        ("二番目でお願いします", jst(2026, 12, 14, 10, 30)),
        ("にばんでおねがいします", jst(2026, 12, 14, 10, 30)),
        ("いちばん早い時間で", MONDAY_10),
        ("3", jst(2026, 12, 14, 11, 0)),
        ("月曜の10:00で", MONDAY_10),
        ("月曜の１０：００で", MONDAY_10),
        ("げつようの10じはん", jst(2026, 12, 14, 10, 30)),
        ("火曜の11時", jst(2026, 12, 15, 11, 0)),
        ("12月15日 11時", jst(2026, 12, 15, 11, 0)),
        ("15日の10時半", jst(2026, 12, 15, 10, 30)),
        ("月曜の午後3時", jst(2026, 12, 14, 15, 0)),
        ("月曜の3時", jst(2026, 12, 14, 15, 0)),
        ("月曜で", MONDAY_10),
        ("11時半", jst(2026, 12, 14, 11, 30)),
        ("来週の水曜の13時", jst(2026, 12, 16, 13, 0)),
    ],
)
def test_a_typed_choice_is_read(typed, expected, open_starts):
    choice = reading.choose(typed, open_starts[:5], open_starts, SATURDAY_NIGHT)
    assert (choice.status, choice.start) == (reading.CHOSEN, expected)


def test_saturday_half_past_ten_is_read_where_saturdays_are_worked(tmp_path):
    cal = calendar(tmp_path, weekdays="[mon, tue, wed, thu, fri, sat]")
    friday_night = jst(2026, 12, 11, 21, 0)
    open_starts = list(slots.upcoming(friday_night, cal))
    choice = reading.choose("土曜の10時半", open_starts[:5], open_starts, friday_night)
    assert (choice.status, choice.start) == (reading.CHOSEN, jst(2026, 12, 12, 10, 30))


@pytest.mark.parametrize("typed", ["土曜の10時半", "明日の午後3時", "月曜の9時", "月曜の18時", "6番"])
def test_a_day_or_time_without_an_open_slot_is_unavailable(typed, open_starts):
    # Saturday night: Saturday and Sunday are closed, Monday opens at 10:00 and closes at 18:00.
    choice = reading.choose(typed, open_starts[:5], open_starts, SATURDAY_NIGHT)
    assert (choice.status, choice.start) == (reading.UNAVAILABLE, None)


def test_a_weekday_said_on_that_day_after_closing_is_the_next_one(cal):
    monday_evening = jst(2026, 12, 14, 19, 0)
    open_starts = list(slots.upcoming(monday_evening, cal))
    choice = reading.choose("月曜の10時", open_starts[:5], open_starts, monday_evening)
    assert choice.start == jst(2026, 12, 21, 10, 0)


def test_a_full_slot_is_not_chosen_by_day_and_time(open_starts):
    without_ten = [start for start in open_starts if start != MONDAY_10]
    assert reading.choose("月曜の10時", without_ten[:5], without_ten, SATURDAY_NIGHT).status == reading.UNAVAILABLE


@pytest.mark.parametrize("typed", ["よろしくお願いします", "", "x" * 300, "090-1234-5678"])
def test_other_messages_choose_nothing(typed, open_starts):
    assert reading.choose(typed, open_starts[:5], open_starts, SATURDAY_NIGHT).status == reading.UNREADABLE


def test_a_reference_is_found_in_a_message():
    found = reading.reference_in("折り返しをキャンセルしたい NT-2607-12345-1")
    assert found is not None and (found.status, found.reference) == (OK, "NT-2607-12345-1")
    full_width = reading.reference_in("ｎｔー２６０７ー１２３４５ー１の時間を変えたい")
    assert full_width is not None and full_width.reference == "NT-2607-12345-1"
    assert reading.reference_in("NT-2607-12345-2 です").status == BAD_CHECK_DIGIT
    assert reading.reference_in("折り返しの時間を変えたい") is None
    assert reading.reference_in("090-1234-5678") is None


# ---- the number to call ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, national",
    [
        ("090-1234-5678", "090-1234-5678"),
        ("０９０ー１２３４ー５６７８です", "090-1234-5678"),
        ("番号は08098765432でお願いします", "080-9876-5432"),
        ("+81 90 1234 5678", "090-1234-5678"),
        ("03(1234)5678", "03-1234-5678"),
        ("050-1234-5678", "050-1234-5678"),
    ],
)
def test_a_japanese_number_is_read(typed, national):
    assert numbers.read_number(typed).national == national


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("2番", numbers.NO_NUMBER),
        ("電話番号は教えたくないです", numbers.NO_NUMBER),
        ("12345678", numbers.INVALID),
        ("+1 415 555 2671", numbers.INVALID),
        ("0120-221-360", numbers.NOT_CALLABLE),
        ("0570-064-556", numbers.NOT_CALLABLE),
    ],
)
def test_a_number_staff_cannot_call_is_refused_with_its_reason(typed, reason):
    with pytest.raises(numbers.InvalidNumber) as refused:
        numbers.read_number(typed)
    assert refused.value.reason == reason


def test_a_number_never_shows_its_digits_in_a_log_line():
    assert "5678" not in repr(numbers.read_number("090-1234-5678"))


# ---- the seal ----------------------------------------------------------------------------------

KEY = "test-callback-number-key-0123456789abcdef"


def test_a_sealed_number_opens_only_with_its_key_and_case():
    sealed = sealing.seal("+819012345678", 7, KEY)
    assert sealed.startswith(sealing.VERSION) and "9012345678" not in sealed
    assert sealing.unseal(sealed, 7, KEY) == "+819012345678"
    assert sealing.seal("+819012345678", 7, KEY) != sealed  # a fresh nonce every time
    for case_id, key in ((8, KEY), (7, KEY + "x")):
        with pytest.raises(sealing.Unreadable):
            sealing.unseal(sealed, case_id, key)
    with pytest.raises(sealing.Unreadable):
        sealing.unseal(sealed[:-4] + "AAAA", 7, KEY)


def test_without_the_key_nothing_is_sealed(env):
    env(CALLBACK_NUMBER_KEY="")
    assert not sealing.available()
    with pytest.raises(sealing.NoKey):
        sealing.seal("+819012345678", 1)


# ---- cancelling or moving, in words --------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, intent",
    [
        ("折り返しをキャンセルしたい NT-2607-12345-1", reading.CANCEL_CALLBACK),
        ("おりかえしをきゃんせるしたい", reading.CANCEL_CALLBACK),
        ("予約した電話を取り消してください", reading.CANCEL_CALLBACK),
        ("折り返しの時間を変えたい", reading.CHANGE_CALLBACK),
        ("おりかえしのにちじをへんこうしたい", reading.CHANGE_CALLBACK),
        ("キャンセルしたい", None),
        ("パスワードを変えたいです", None),
        ("折り返しの電話をお願いします", None),
    ],
)
def test_a_request_to_cancel_or_move_the_callback_is_read(typed, intent):
    assert reading.callback_request(typed) == intent


@pytest.mark.parametrize(
    "typed, classified, kept",
    [
        ("2番", "choose_callback", True),
        ("にばん", "choose_callback", True),
        ("月曜の１０：００で", "choose_callback", True),
        ("月500円で何ができるの", "choose_callback", False),
        ("予約した時間だと都合が悪くなりました", "change_callback", True),
        ("機種変更の予約はどうすればいいですか", "change_callback", False),
        ("電話の予約をキャンセルします", "cancel_callback", True),
        ("キャンセルで", "cancel_callback", False),
    ],
)
def test_the_callback_intents_need_their_words(typed, classified, kept):
    ranking = [{"name": classified, "confidence": 0.9}, {"name": "out_of_scope", "confidence": 0.05}]
    assert (intents.review(classified, ranking, typed) == classified) is kept


def test_the_callback_words_outweigh_the_classifier_but_not_a_trouble_or_safety():
    text = "折り返しをキャンセルしたい"
    assert intents.review("cancel", [], text) == reading.CANCEL_CALLBACK
    assert (
        intents.review("trouble_shopping", [], "予約したホテルをキャンセルしたのに返金されない") == "trouble_shopping"
    )
    assert intents.review("urgent_self_harm", [], text) == "urgent_self_harm"


def test_production_refuses_a_weak_callback_key_but_runs_without_callbacks(env):
    strong = "g" * 43
    env(APP_ENV="production", CLOCK_OVERRIDE="", HANDOFF_WEBHOOK_URL="")
    env(**{name.upper(): strong for name in PRODUCTION_SECRETS})
    env(CALLBACK_NUMBER_KEY="short")
    with pytest.raises(SettingsError, match="CALLBACK_NUMBER_KEY is shorter than 32"):
        check_production()
    env(CALLBACK_NUMBER_KEY="")
    check_production()  # callbacks off
    env(CALLBACK_NUMBER_KEY=strong)
    check_production()


def test_the_callback_key_never_reaches_a_log(env):
    factory, last_resort = logging.getLogRecordFactory(), logging.lastResort.formatter
    env(CALLBACK_NUMBER_KEY=KEY)
    try:
        log_privacy.install()
        assert KEY not in log_privacy.clean(f"sealing with {KEY} failed")
    finally:
        logging.setLogRecordFactory(factory)
        logging.captureWarnings(False)
        logging.lastResort.setFormatter(last_resort)
