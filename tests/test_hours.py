"""Business hours: open now, or the exact next opening, from business/hours.yml and jpholiday."""

from datetime import date, datetime, time, timedelta, timezone

import pytest

from nettrouble.content import hours, service
from nettrouble.core.clock import JST
from nettrouble.core.datafiles import DataFileError


def jst(*args):
    return datetime(*args, tzinfo=JST)


@pytest.fixture(scope="module")
def cal():
    return hours.load()  # the operator's real file


def test_real_file_has_the_published_hours(cal):
    assert (cal.opening, cal.closing) == (time(10, 0), time(18, 0))
    assert cal.weekdays == frozenset(range(5)) and cal.public_holidays_closed
    assert hours.hours_text(cal) == "10:00〜18:00（土日・祝日・年末年始を除く）"
    assert service.load().phone == "0120-221-360"


@pytest.mark.parametrize(
    "moment, open_now",
    [
        (jst(2026, 7, 15, 9, 59), False),  # a Wednesday, the minute before opening
        (jst(2026, 7, 15, 10, 0), True),
        (jst(2026, 7, 15, 10, 1), True),
        (jst(2026, 7, 15, 17, 59), True),  # the minute before closing
        (jst(2026, 7, 15, 18, 0), False),  # closing time itself is closed
        (jst(2026, 7, 15, 18, 1), False),
    ],
)
def test_minutes_around_opening_and_closing(cal, moment, open_now):
    assert hours.status_at(moment, cal).open_now is open_now


def test_open_now_says_until_when(cal):
    status = hours.status_at(jst(2026, 7, 15, 11, 30), cal)
    assert status.closes_at == jst(2026, 7, 15, 18, 0) and status.next_opening is None
    assert hours.availability_sentence(status) == "ただいま受付時間内です（本日18:00まで）。"


def test_before_opening_today(cal):
    status = hours.status_at(jst(2026, 7, 15, 9, 59), cal)
    assert status.next_opening == jst(2026, 7, 15, 10, 0)
    assert hours.availability_sentence(status) == (
        "ただいま受付時間外です。次の受付開始は 本日 7月15日(水) 10:00 です。"
    )


def test_after_closing_opens_tomorrow(cal):
    status = hours.status_at(jst(2026, 7, 15, 18, 0), cal)
    assert status.next_opening == jst(2026, 7, 16, 10, 0)
    assert "次の受付開始は 明日 7月16日(木) 10:00 です。" in hours.availability_sentence(status)


def test_friday_evening_opens_monday(cal):
    status = hours.status_at(jst(2026, 7, 3, 18, 5), cal)  # Friday 18:05
    assert not status.open_now and status.closed_today is None
    assert status.next_opening == jst(2026, 7, 6, 10, 0)
    assert hours.availability_sentence(status) == ("ただいま受付時間外です。次の受付開始は 7月6日(月) 10:00 です。")


@pytest.mark.parametrize("moment", [jst(2026, 7, 4, 12, 0), jst(2026, 7, 5, 12, 0)])
def test_weekend_is_closed_all_day(cal, moment):
    status = hours.status_at(moment, cal)
    assert not status.open_now and status.next_opening == jst(2026, 7, 6, 10, 0)


def test_public_holiday_is_closed_and_named(cal):
    # 2026-07-20 is 海の日 (a Monday).
    status = hours.status_at(jst(2026, 7, 20, 11, 0), cal)
    assert not status.open_now and status.closed_today == "海の日"
    assert status.next_opening == jst(2026, 7, 21, 10, 0)
    assert "本日は海の日のため、お休みをいただいております。" in hours.availability_sentence(status)


def test_golden_week_2027(cal):
    # 4/29 (Thu) 昭和の日, 4/30 Fri open, 5/1-5/2 weekend, 5/3-5/5 holidays, 5/6 Thu open.
    assert hours.status_at(jst(2027, 4, 29, 11, 0), cal).next_opening == jst(2027, 4, 30, 10, 0)
    assert hours.status_at(jst(2027, 4, 30, 11, 0), cal).open_now
    evening = hours.status_at(jst(2027, 4, 30, 18, 5), cal)
    assert evening.next_opening == jst(2027, 5, 6, 10, 0)
    assert hours.availability_sentence(evening) == ("ただいま受付時間外です。次の受付開始は 5月6日(木) 10:00 です。")
    for day in (3, 4, 5):
        status = hours.status_at(jst(2027, 5, day, 12, 0), cal)
        assert not status.open_now and status.closed_today is not None
        assert status.next_opening == jst(2027, 5, 6, 10, 0)
    assert hours.status_at(jst(2027, 5, 6, 10, 0), cal).open_now


def test_year_end_closure_from_the_data_file(cal):
    # 2026-12-28 (Mon) is the last working day; 12-29..01-03 is 年末年始 in hours.yml; 2027-01-04
    # is a Monday.
    assert hours.status_at(jst(2026, 12, 28, 17, 59), cal).open_now
    evening = hours.status_at(jst(2026, 12, 28, 18, 0), cal)
    assert evening.next_opening == jst(2027, 1, 4, 10, 0)
    assert "次の受付開始は 2027年1月4日(月) 10:00 です。" in hours.availability_sentence(evening)
    weekday_in_closure = hours.status_at(jst(2026, 12, 30, 11, 0), cal)  # a Wednesday
    assert not weekday_in_closure.open_now and weekday_in_closure.closed_today == "年末年始"
    assert "本日は年末年始のため" in hours.availability_sentence(weekday_in_closure)


def test_year_end_closure_really_comes_from_the_file(tmp_path):
    path = tmp_path / "hours.yml"
    path.write_text(
        'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon, tue, wed, thu, fri]\n'
        "public_holidays_closed: true\nqueue_wait_alert_minutes: 30\nclosures: []\n",
        encoding="utf-8",
    )
    without = hours.load(path)
    assert hours.status_at(jst(2026, 12, 30, 11, 0), without).open_now
    assert hours.hours_text(without) == "10:00〜18:00（土日・祝日を除く）"


def test_fixed_date_and_range_closures(tmp_path):
    path = tmp_path / "hours.yml"
    path.write_text(
        'opening_time: "09:30"\nclosing_time: "17:00"\nweekdays: [mon, tue, wed, thu, fri, sat]\n'
        "public_holidays_closed: false\nqueue_wait_alert_minutes: 30\nclosures:\n"
        "  - {id: inspection, name: 設備点検, date: 2026-07-15}\n"
        "  - {id: summer, name: 夏季休業, from: 2026-08-12, to: 2026-08-14}\n",
        encoding="utf-8",
    )
    cal = hours.load(path)
    assert hours.hours_text(cal) == "09:30〜17:00（日曜を除く）"
    inspection = hours.status_at(jst(2026, 7, 15, 12, 0), cal)
    assert inspection.closed_today == "設備点検" and inspection.next_opening == jst(2026, 7, 16, 9, 30)
    # Saturdays work here, and holidays do not close (7/20 海の日 is open).
    assert hours.status_at(jst(2026, 7, 18, 9, 30), cal).open_now
    assert hours.status_at(jst(2026, 7, 20, 9, 30), cal).open_now
    assert hours.status_at(jst(2026, 8, 11, 17, 0), cal).next_opening == jst(2026, 8, 15, 9, 30)


def test_no_working_day_within_a_year(tmp_path):
    path = tmp_path / "hours.yml"
    path.write_text(
        'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n'
        'queue_wait_alert_minutes: 30\nclosures:\n  - {id: all, name: 休業, yearly: {from: "01-01", to: "12-31"}}\n',
        encoding="utf-8",
    )
    status = hours.status_at(jst(2026, 7, 6, 11, 0), hours.load(path))
    assert not status.open_now and status.next_opening is None
    assert "サービスサイトでご確認ください" in hours.availability_sentence(status)


@pytest.mark.parametrize(
    "body, complaint",
    [
        ("- a\n", "expected a mapping"),
        ('opening_time: "10:00"\nweekdays: [mon]\npublic_holidays_closed: true\n', "'closing_time' is missing"),
        (
            'opening_time: "25:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n',
            "'opening_time' must be a time",
        ),
        ('opening_time: "18:00"\nclosing_time: "10:00"\nweekdays: [mon]\npublic_holidays_closed: true\n', "later than"),
        (
            'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [monday]\npublic_holidays_closed: true\n',
            "'weekdays'",
        ),
        (
            'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: "yes"\n',
            "true or false",
        ),
        (
            'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n'
            'closures:\n  - {id: x, name: X, yearly: {from: "02-30", to: "03-01"}}\n',
            "entry 'x' field 'yearly.from'",
        ),
        (
            'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n'
            "closures:\n  - {id: x, name: X, date: 2026-07-01, from: 2026-07-01, to: 2026-07-02}\n",
            "entry 'x' needs",
        ),
        (
            'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n'
            "closures:\n  - {id: x, name: X, from: 2026-07-05, to: 2026-07-01}\n",
            "ends ('to') before",
        ),
        (
            'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n'
            "closures:\n  - {id: x, date: 2026-07-05}\n",
            "has no 'name'",
        ),
        (
            'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n'
            'closures:\n  - {id: x, name: X, date: "July 5"}\n',
            "field 'date' must be a date",
        ),
    ],
)
def test_mistakes_in_the_file_name_the_field(tmp_path, body, complaint):
    path = tmp_path / "hours.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataFileError) as error:
        hours.load(path)
    assert str(path) in str(error.value) and complaint in str(error.value)


def test_moment_in_another_zone_is_read_in_japan_time(cal):
    # 2026-07-15 00:30 UTC is 09:30 in Japan (closed); 01:00 UTC is 10:00 (open).
    assert not hours.status_at(datetime(2026, 7, 15, 0, 30, tzinfo=timezone.utc), cal).open_now
    status = hours.status_at(datetime(2026, 7, 15, 1, 0, tzinfo=timezone.utc), cal)
    assert status.open_now and status.closes_at == jst(2026, 7, 15, 18, 0)
    # A Friday 09:05 UTC is already 18:05 in Japan.
    evening = hours.status_at(datetime(2026, 7, 3, 9, 5, tzinfo=timezone.utc), cal)
    assert evening.next_opening == jst(2026, 7, 6, 10, 0)


def test_clock_override_drives_the_edge(clock, cal):
    from nettrouble.core.clock import now

    clock("2027-04-30T18:05:00+09:00")
    assert hours.status_at(now(), cal).next_opening == jst(2027, 5, 6, 10, 0)


def test_format_day_adds_the_year_only_when_it_changes():
    assert hours.format_day(date(2027, 5, 6), date(2027, 4, 30)) == "5月6日(木)"
    assert hours.format_day(date(2027, 1, 4), date(2026, 12, 28)) == "2027年1月4日(月)"
    assert hours.WEEKDAY_JA[date(2026, 7, 5).weekday()] == "日"


def test_every_moment_of_a_week_is_consistent(cal):
    # Whatever the moment, either open (and closes later today) or the next opening is later,
    # on a working day, at the opening time.
    moment = jst(2027, 4, 26, 0, 0)
    while moment < jst(2027, 5, 10, 0, 0):
        status = hours.status_at(moment, cal)
        if status.open_now:
            assert moment < status.closes_at and status.closes_at.date() == moment.date()
        else:
            assert status.next_opening > moment and status.next_opening.time() == time(10, 0)
            assert cal.closed_because(status.next_opening.date()) is None
        moment += timedelta(minutes=37)


# --- business minutes (the staff queue's waiting time) ---------------------------------------


def test_real_file_has_the_queue_alert(cal):
    assert cal.queue_wait_alert_minutes == 30


@pytest.mark.parametrize(
    "start, end, minutes",
    [
        (jst(2026, 7, 15, 10, 0), jst(2026, 7, 15, 10, 30), 30),
        (jst(2026, 7, 15, 8, 0), jst(2026, 7, 15, 10, 30), 30),  # before opening counts nothing
        (jst(2026, 7, 15, 17, 50), jst(2026, 7, 15, 23, 0), 10),  # after closing neither
        (jst(2026, 7, 15, 0, 0), jst(2026, 7, 16, 0, 0), 480),  # one whole working day
        (jst(2026, 7, 15, 10, 0, 0), jst(2026, 7, 15, 10, 0, 59), 0),  # whole minutes only
        (jst(2026, 7, 15, 17, 30), jst(2026, 7, 16, 10, 15), 45),  # over a night
        (jst(2026, 7, 3, 17, 0), jst(2026, 7, 6, 10, 30), 90),  # Friday to Monday over a weekend
        (jst(2026, 7, 4, 9, 0), jst(2026, 7, 5, 20, 0), 0),  # a whole weekend
        # Friday 17:00 to Tuesday 10:20 over the weekend and 海の日 (Monday 7/20).
        (jst(2026, 7, 17, 17, 0), jst(2026, 7, 21, 10, 20), 80),
        # The last working day of the year to the first of the next, over 年末年始 of hours.yml.
        (jst(2026, 12, 28, 17, 45), jst(2027, 1, 4, 10, 10), 25),
        (jst(2026, 12, 30, 11, 0), jst(2026, 12, 30, 15, 0), 0),  # a Wednesday in the closure
        (jst(2026, 7, 15, 11, 0), jst(2026, 7, 15, 11, 0), 0),
        (jst(2026, 7, 15, 12, 0), jst(2026, 7, 15, 11, 0), 0),  # the end before the start
    ],
)
def test_business_minutes_count_only_open_minutes(cal, start, end, minutes):
    assert hours.business_minutes_between(start, end, cal) == minutes


def test_business_minutes_read_other_zones_in_japan_time(cal):
    # 00:30 to 01:15 UTC is 09:30 to 10:15 in Japan: 15 open minutes.
    start = datetime(2026, 7, 15, 0, 30, tzinfo=timezone.utc)
    assert hours.business_minutes_between(start, start + timedelta(minutes=45), cal) == 15


def test_business_minutes_follow_the_calendar_file(tmp_path):
    path = tmp_path / "hours.yml"
    path.write_text(
        'opening_time: "09:30"\nclosing_time: "17:00"\nweekdays: [mon, tue, wed, thu, fri, sat]\n'
        "public_holidays_closed: false\nqueue_wait_alert_minutes: 15\nclosures:\n"
        "  - {id: inspection, name: 設備点検, date: 2026-07-15}\n",
        encoding="utf-8",
    )
    own = hours.load(path)
    assert own.queue_wait_alert_minutes == 15
    # Tuesday 16:50 to Thursday 09:40: 10 minutes, the inspection day, 10 minutes.
    assert hours.business_minutes_between(jst(2026, 7, 14, 16, 50), jst(2026, 7, 16, 9, 40), own) == 20
    # Saturdays work and 海の日 does not close here.
    assert hours.business_minutes_between(jst(2026, 7, 18, 9, 0), jst(2026, 7, 18, 10, 0), own) == 30
    assert hours.business_minutes_between(jst(2026, 7, 20, 9, 0), jst(2026, 7, 20, 10, 0), own) == 30


def test_business_minutes_add_up_over_any_split(cal):
    # Cutting a fortnight (Golden Week included) anywhere gives parts that sum to the whole.
    start, end = jst(2027, 4, 26, 0, 0), jst(2027, 5, 10, 0, 0)
    whole = hours.business_minutes_between(start, end, cal)
    # Working days: 4/26-4/28, 4/30, 5/6, 5/7 (4/29 and 5/3-5/5 are holidays, the rest weekends).
    assert whole == 6 * 480
    moment = start
    while moment < end:
        parts = hours.business_minutes_between(start, moment, cal) + hours.business_minutes_between(moment, end, cal)
        assert parts == whole, moment
        moment += timedelta(minutes=37)


@pytest.mark.parametrize("value", ["0", "-5", '"30"', "true", "1.5", "null"])
def test_queue_alert_must_be_a_positive_whole_number(tmp_path, value):
    path = tmp_path / "hours.yml"
    path.write_text(
        'opening_time: "10:00"\nclosing_time: "18:00"\nweekdays: [mon]\npublic_holidays_closed: true\n'
        f"queue_wait_alert_minutes: {value}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as error:
        hours.load(path)
    assert str(path) in str(error.value) and "'queue_wait_alert_minutes'" in str(error.value)
