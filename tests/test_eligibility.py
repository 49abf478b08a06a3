"""The eligibility rule engine and the campaigns file it reads."""

import time
from datetime import date, datetime

import pytest

from nettrouble.core.clock import now
from nettrouble.core.datafiles import DataFileError
from nettrouble.eligibility import campaigns
from nettrouble.eligibility.campaigns import Campaign
from nettrouble.eligibility.rules import (
    ADVISER_EXCLUDED,
    ALREADY_USED,
    ELIGIBLE,
    ENDED,
    MEMBER,
    NEEDS_DOCOMO_LINE,
    NEEDS_IS_MEMBER,
    NEEDS_PERSON_KEY,
    NEEDS_TOPIC,
    NOT_DOCOMO,
    NOT_STARTED,
    REASONS,
    TOPIC_NOT_COVERED,
    Applicant,
    decide,
)
from nettrouble.triage import referrals

KEY = "c" * 64
DEFAULT = "sns-defamation-2020"
IN_CAMPAIGN = "2020-07-15T11:00:00+09:00"
AFTER = "2026-01-05T11:00:00+09:00"
BEFORE = "2020-05-01T11:00:00+09:00"

# A docomo customer, not a member, with a defamation case and a known number: eligible while
# the campaign runs, unless a row below changes one thing.
READY = dict(topic="defamation", docomo_line=True, is_member=False, person_key=KEY)


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ledger_of(holdings):
    """A ledger lookup over {campaign id: case reference} for KEY, recording every call."""
    calls = []

    def used_for(campaign_id, person_key):
        calls.append((campaign_id, person_key))
        return holdings.get(campaign_id) if person_key == KEY else None

    used_for.calls = calls
    return used_for


@pytest.fixture(scope="module")
def default_campaigns():
    return campaigns.load()


@pytest.fixture(scope="module")
def public_bodies():
    return referrals.load()


DECISIONS = [
    # id, applicant, moment, ledger holdings, reason, campaign, needs
    ("eligible", READY, IN_CAMPAIGN, {}, ELIGIBLE, DEFAULT, ()),
    ("eligible for the poster's side", dict(READY, topic="own_post"), IN_CAMPAIGN, {}, ELIGIBLE, DEFAULT, ()),
    ("member", dict(READY, is_member=True), IN_CAMPAIGN, {}, MEMBER, None, ()),
    ("not docomo", dict(READY, docomo_line=False), IN_CAMPAIGN, {}, NOT_DOCOMO, None, ()),
    ("adviser", dict(READY, adviser_requested=True), IN_CAMPAIGN, {}, ADVISER_EXCLUDED, None, ()),
    ("topic", dict(READY, topic="phishing"), IN_CAMPAIGN, {}, TOPIC_NOT_COVERED, None, ()),
    ("not started", READY, BEFORE, {}, NOT_STARTED, DEFAULT, ()),
    ("ended", READY, AFTER, {}, ENDED, DEFAULT, ()),
    ("already used", READY, IN_CAMPAIGN, {DEFAULT: "NT-2007-00001-1"}, ALREADY_USED, DEFAULT, ()),
    (
        "same case again",
        dict(READY, case_reference="NT-2007-00001-1"),
        IN_CAMPAIGN,
        {DEFAULT: "NT-2007-00001-1"},
        ELIGIBLE,
        DEFAULT,
        (),
    ),
    (
        "another case",
        dict(READY, case_reference="NT-2007-00002-2"),
        IN_CAMPAIGN,
        {DEFAULT: "NT-2007-00001-1"},
        ALREADY_USED,
        DEFAULT,
        (),
    ),
    # Boundaries at Japan-time midnight, written in Japan time and in UTC.
    ("last second before", READY, "2020-06-30T23:59:59+09:00", {}, NOT_STARTED, DEFAULT, ()),
    ("first second", READY, "2020-07-01T00:00:00+09:00", {}, ELIGIBLE, DEFAULT, ()),
    ("last second", READY, "2020-08-31T23:59:59+09:00", {}, ELIGIBLE, DEFAULT, ()),
    ("first second after", READY, "2020-09-01T00:00:00+09:00", {}, ENDED, DEFAULT, ()),
    ("last second before, UTC", READY, "2020-06-30T14:59:59Z", {}, NOT_STARTED, DEFAULT, ()),
    ("first second, UTC", READY, "2020-06-30T15:00:00Z", {}, ELIGIBLE, DEFAULT, ()),
    ("last second, UTC", READY, "2020-08-31T14:59:59Z", {}, ELIGIBLE, DEFAULT, ()),
    ("first second after, UTC", READY, "2020-08-31T15:00:00Z", {}, ENDED, DEFAULT, ()),
    ("first second, New York", READY, "2020-06-30T11:00:00-04:00", {}, ELIGIBLE, DEFAULT, ()),
    ("first second after, New York", READY, "2020-08-31T11:00:00-04:00", {}, ENDED, DEFAULT, ()),
    # The check order, with inputs that trip several reasons at once.
    (
        "not docomo before everything",
        dict(topic="phishing", docomo_line=False, is_member=True, person_key=KEY, adviser_requested=True),
        AFTER,
        {DEFAULT: "NT-1"},
        NOT_DOCOMO,
        None,
        (),
    ),
    (
        "member before adviser, topic, time, ledger",
        dict(READY, topic="phishing", is_member=True, adviser_requested=True),
        AFTER,
        {DEFAULT: "NT-1"},
        MEMBER,
        None,
        (),
    ),
    (
        "adviser before topic and time",
        dict(READY, topic="phishing", adviser_requested=True),
        AFTER,
        {},
        ADVISER_EXCLUDED,
        None,
        (),
    ),
    (
        "adviser before ledger",
        dict(READY, adviser_requested=True),
        IN_CAMPAIGN,
        {DEFAULT: "NT-1"},
        ADVISER_EXCLUDED,
        None,
        (),
    ),
    ("topic before time", dict(READY, topic="phishing"), AFTER, {}, TOPIC_NOT_COVERED, None, ()),
    ("time before ledger", READY, AFTER, {DEFAULT: "NT-1"}, ENDED, DEFAULT, ()),
    ("not started before ledger", READY, BEFORE, {DEFAULT: "NT-1"}, NOT_STARTED, DEFAULT, ()),
    # Unknown answers are not guessed: the engine lists what it still needs, in check order.
    (
        "nothing known yet",
        dict(topic="defamation"),
        IN_CAMPAIGN,
        {},
        None,
        None,
        (NEEDS_DOCOMO_LINE, NEEDS_IS_MEMBER, NEEDS_PERSON_KEY),
    ),
    ("only the number missing", dict(READY, person_key=None), IN_CAMPAIGN, {}, None, None, (NEEDS_PERSON_KEY,)),
    ("membership skipped", dict(READY, is_member=None), IN_CAMPAIGN, {}, None, None, (NEEDS_IS_MEMBER,)),
    ("no topic yet", dict(READY, topic=None), IN_CAMPAIGN, {}, None, None, (NEEDS_TOPIC,)),
    ("a refusal that holds whatever the answers: time", dict(topic="defamation"), AFTER, {}, ENDED, DEFAULT, ()),
    (
        "a refusal that holds whatever the answers: topic",
        dict(topic="shopping"),
        IN_CAMPAIGN,
        {},
        TOPIC_NOT_COVERED,
        None,
        (),
    ),
    ("no topic and nothing running", dict(), AFTER, {}, ENDED, DEFAULT, ()),
    (
        "already used though membership unknown",
        dict(READY, is_member=None),
        IN_CAMPAIGN,
        {DEFAULT: "NT-1"},
        ALREADY_USED,
        DEFAULT,
        (),
    ),
]


@pytest.mark.parametrize(
    "applicant, moment, holdings, reason, campaign_id, needs",
    [row[1:] for row in DECISIONS],
    ids=[row[0] for row in DECISIONS],
)
def test_decision_table(default_campaigns, public_bodies, applicant, moment, holdings, reason, campaign_id, needs):
    decision = decide(Applicant(**applicant), at(moment), default_campaigns, ledger_of(holdings), public_bodies)
    assert decision.reason == reason
    assert (decision.campaign.id if decision.campaign else None) == campaign_id
    assert decision.needs == needs
    assert decision.decided == (reason is not None)


def test_the_table_covers_every_reason_code():
    assert {row[4] for row in DECISIONS} >= set(REASONS)


@pytest.mark.parametrize("zone", ["America/New_York", "UTC", "Asia/Tokyo", "Pacific/Kiritimati"])
def test_boundaries_do_not_depend_on_the_servers_time_zone(monkeypatch, default_campaigns, public_bodies, zone):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        rows = [row for row in DECISIONS if row[0].startswith(("last second", "first second"))]
        assert len(rows) >= 2
        for _, applicant, moment, holdings, reason, _, _ in rows:
            decision = decide(Applicant(**applicant), at(moment), default_campaigns, ledger_of(holdings), public_bodies)
            assert decision.reason == reason, (zone, moment)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    "override, reason",
    [
        ("2020-06-30T23:59:59+09:00", NOT_STARTED),
        ("2020-06-30T15:00:00+00:00", ELIGIBLE),
        ("2020-08-31T23:59:59+09:00", ELIGIBLE),
        ("2020-08-31T11:00:00-04:00", ENDED),
    ],
)
def test_the_pinned_clock_drives_the_decision(clock, default_campaigns, public_bodies, override, reason):
    clock(override)
    decision = decide(Applicant(**READY), now(), default_campaigns, ledger_of({}), public_bodies)
    assert decision.reason == reason


def test_the_ledger_is_consulted_only_when_it_can_matter(default_campaigns, public_bodies):
    for applicant, moment in [
        (dict(READY, person_key=None), IN_CAMPAIGN),
        (READY, AFTER),
        (dict(READY, docomo_line=False), IN_CAMPAIGN),
    ]:
        used_for = ledger_of({})
        decide(Applicant(**applicant), at(moment), default_campaigns, used_for, public_bodies)
        assert used_for.calls == []
    used_for = ledger_of({})
    decide(Applicant(**READY), at(IN_CAMPAIGN), default_campaigns, used_for, public_bodies)
    assert used_for.calls == [(DEFAULT, KEY)]


def test_what_is_offered_instead(default_campaigns, public_bodies):
    def offer(applicant, moment=IN_CAMPAIGN, holdings=None):
        return decide(
            Applicant(**applicant), at(moment), default_campaigns, ledger_of(holdings or {}), public_bodies
        ).offer

    defamation_bodies = tuple(r.id for r in referrals.for_topic("defamation", public_bodies))
    assert defamation_bodies  # the data file lists bodies for defamation

    eligible = offer(READY)
    assert eligible.call_centre and not eligible.join_service and eligible.referral_ids == ()

    member = offer(dict(READY, is_member=True))
    assert member.call_centre and not member.join_service

    not_docomo = offer(dict(READY, docomo_line=False))
    assert not not_docomo.join_service and not not_docomo.call_centre
    assert not_docomo.referral_ids == defamation_bodies

    used = offer(READY, holdings={DEFAULT: "NT-2007-00001-1"})
    assert used.first_case_reference == "NT-2007-00001-1" and used.join_service
    assert used.referral_ids == defamation_bodies

    before = offer(READY, BEFORE)
    assert before.starts_on == date(2020, 7, 1) and before.join_service

    phishing = offer(dict(READY, topic="phishing"))
    assert phishing.join_service
    assert phishing.referral_ids == tuple(r.id for r in referrals.for_topic("phishing", public_bodies))

    assert offer(dict(READY, adviser_requested=True)).join_service
    assert offer(READY, AFTER).join_service


def _campaign(cid, first, last, topics):
    return Campaign(cid, cid, date.fromisoformat(first), date.fromisoformat(last), tuple(topics))


def test_several_campaigns(public_bodies):
    summer = _campaign("summer", "2021-07-01", "2021-08-31", ["defamation"])
    overlap = _campaign("overlap", "2021-08-01", "2021-09-30", ["defamation", "privacy"])
    winter = _campaign("winter", "2022-01-10", "2022-02-10", ["defamation"])
    phishing = _campaign("phishing-week", "2021-06-01", "2021-06-07", ["phishing"])
    every = [summer, overlap, winter, phishing]

    def run(applicant, moment, holdings=None):
        return decide(Applicant(**applicant), at(moment), every, ledger_of(holdings or {}), public_bodies)

    assert run(READY, "2021-06-03T12:00:00+09:00").reason == NOT_STARTED
    assert run(READY, "2021-06-03T12:00:00+09:00").offer.starts_on == date(2021, 7, 1)
    assert run(dict(READY, topic="phishing"), "2021-06-03T12:00:00+09:00").campaign.id == "phishing-week"
    assert run(READY, "2021-07-15T12:00:00+09:00").campaign.id == "summer"
    # Used in the first running campaign: the other one running at the same time still applies.
    both = run(READY, "2021-08-15T12:00:00+09:00", {"summer": "NT-1"})
    assert (both.reason, both.campaign.id) == (ELIGIBLE, "overlap")
    used = run(READY, "2021-08-15T12:00:00+09:00", {"summer": "NT-1", "overlap": "NT-2"})
    assert (used.reason, used.offer.first_case_reference) == (ALREADY_USED, "NT-1")
    # Between campaigns the next one is announced; after the last, the latest one has ended.
    between = run(READY, "2021-11-01T12:00:00+09:00")
    assert (between.reason, between.campaign.id, between.offer.starts_on) == (NOT_STARTED, "winter", date(2022, 1, 10))
    assert run(dict(READY, topic="privacy"), "2021-11-01T12:00:00+09:00").campaign.id == "overlap"
    assert run(dict(READY, topic="privacy"), "2021-11-01T12:00:00+09:00").reason == ENDED
    assert run(READY, "2023-01-01T12:00:00+09:00").campaign.id == "winter"
    assert decide(Applicant(**READY), at(IN_CAMPAIGN), [], ledger_of({}), public_bodies).reason == TOPIC_NOT_COVERED


# --- the campaigns file ------------------------------------------------------------------


def test_the_default_campaign_is_the_sources(default_campaigns):
    default = {c.id: c for c in default_campaigns}[DEFAULT]
    assert (default.first_day, default.last_day) == (date(2020, 7, 1), date(2020, 8, 31))
    assert set(default.topics) == {"defamation", "own_post"}
    assert default.starts_at.isoformat() == "2020-07-01T00:00:00+09:00"
    assert default.ends_at.isoformat() == "2020-09-01T00:00:00+09:00"


def test_a_new_campaign_is_data_only(tmp_path, public_bodies):
    path = tmp_path / "campaigns.yml"
    path.write_text(
        "campaigns:\n"
        "  - id: privacy-2027\n    name: 晒し被害の無料相談\n"
        "    first_day: '2027-04-01'\n    last_day: 2027-04-30\n    topics: [privacy]\n",
        encoding="utf-8",
    )
    loaded = campaigns.load(path)
    decision = decide(
        Applicant(**dict(READY, topic="privacy")), at("2027-04-30T23:00:00+09:00"), loaded, ledger_of({}), public_bodies
    )
    assert (decision.reason, decision.campaign.id) == (ELIGIBLE, "privacy-2027")


ENTRY = "  - id: x-1\n    name: 名前\n    first_day: 2020-07-01\n    last_day: 2020-08-31\n    topics: [defamation]\n"


@pytest.mark.parametrize(
    "content, expected",
    [
        ("campaigns:\n" + ENTRY.replace("    name: 名前\n", ""), ["entry 'x-1'", "'name'"]),
        ("campaigns:\n" + ENTRY.replace("2020-07-01", "2020-07-32"), ["entry 'x-1'", "'first_day'"]),
        ("campaigns:\n" + ENTRY.replace("2020-07-01", "7月1日"), ["entry 'x-1'", "'first_day'"]),
        ("campaigns:\n" + ENTRY.replace("2020-08-31", "2020-06-30"), ["entry 'x-1'", "'last_day'"]),
        ("campaigns:\n" + ENTRY.replace("[defamation]", "[defamation, gossip]"), ["entry 'x-1'", "'topics'", "gossip"]),
        ("campaigns:\n" + ENTRY.replace("[defamation]", "defamation"), ["entry 'x-1'", "'topics'"]),
        ("campaigns:\n" + ENTRY.replace("[defamation]", "[]"), ["entry 'x-1'", "'topics'"]),
        ("campaigns:\n" + ENTRY.replace("x-1", "Summer Campaign"), ["Summer Campaign", "'id'"]),
        ("campaigns:\n" + ENTRY.replace("x-1", "x" * 65), ["'id'"]),
        ("campaigns:\n" + ENTRY + ENTRY, ["duplicate id 'x-1'"]),
        ("campaigns:\n" + ENTRY.replace("    last_day: 2020-08-31\n", ""), ["entry 'x-1'", "'last_day'"]),
        ("campaign:\n" + ENTRY, ["'campaigns:'"]),
        ("campaigns: [\n", ["not valid YAML"]),
        ("campaigns:\n  - just text\n", ["entry 1"]),
    ],
)
def test_a_malformed_file_names_file_entry_and_field(tmp_path, content, expected):
    path = tmp_path / "campaigns.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFileError) as error:
        campaigns.load(path)
    message = str(error.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DataFileError, match="file not found"):
        campaigns.load(tmp_path / "nothing.yml")


def test_no_campaigns_is_allowed(tmp_path):
    path = tmp_path / "campaigns.yml"
    path.write_text("campaigns: []\n", encoding="utf-8")
    assert campaigns.load(path) == ()
