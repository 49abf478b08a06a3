"""The fraud-cover pre-check (不正決済補償) as tables: the rule engine, amounts as people type them,
the date from which the terms apply, and business/fraud_cover.yml's checks."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from nettrouble.content import service
from nettrouble.core.clock import JST
from nettrouble.core.datafiles import DataFileError
from nettrouble.core.money import yen_text
from nettrouble.cover import answers, codes, messages, rules, terms
from nettrouble.cover.codes import (
    AMOUNT_LOST,
    FULLY_PAID_BY_PROVIDER,
    IS_MEMBER,
    MAY_BE_COVERED,
    NOT_ASKED,
    NOT_MEMBER,
    PROVIDER_DECISION,
    PROVIDER_DECISION_NEEDED,
    PROVIDER_PAYS,
    PROVIDER_REFUSED,
    RECOGNISED,
    REFUSED,
    UNKNOWN,
    WAITING,
)

CAP = 1_000_000
# The rules under test, fixed here so that an operator's edit of the file does not change them.
TERMS = terms.Terms(
    name="不正決済補償",
    applies_from=datetime(2020, 6, 1).date(),
    cap=CAP,
    conditions=(
        terms.Condition("会員であること", codes.MEMBER_CHECK),
        terms.Condition("決済事業者が認めたこと", codes.RECOGNISED_CHECK),
    ),
    outcomes={code: code for code in codes.OUTCOMES},
    prepare=(terms.PrepareItem("statement", "利用明細"),),
)
IN_FORCE = datetime(2026, 12, 2, 11, 0, tzinfo=JST)


def claim(member=True, decision=RECOGNISED, lost=None, pays=None):
    return rules.Claim(is_member=member, provider_decision=decision, amount_lost=lost, provider_pays=pays)


# (what the table row shows, claim, outcome, estimate, needs)
ENGINE = [
    ("a loss below the cap", claim(lost=50_000, pays=0), MAY_BE_COVERED, 50_000, ()),
    ("what the provider pays is taken off", claim(lost=300_000, pays=120_000), MAY_BE_COVERED, 180_000, ()),
    ("one yen left", claim(lost=50_001, pays=50_000), MAY_BE_COVERED, 1, ()),
    ("the difference exactly the cap", claim(lost=1_200_000, pays=200_000), MAY_BE_COVERED, CAP, ()),
    ("one yen over the cap", claim(lost=1_000_001, pays=0), MAY_BE_COVERED, CAP, ()),
    ("far over the cap", claim(lost=5_000_000, pays=1_000_000), MAY_BE_COVERED, CAP, ()),
    ("zero difference: the provider pays it all", claim(lost=50_000, pays=50_000), FULLY_PAID_BY_PROVIDER, 0, ()),
    ("negative difference: the provider pays more", claim(lost=30_000, pays=50_000), FULLY_PAID_BY_PROVIDER, 0, ()),
    ("nothing lost", claim(lost=0, pays=0), FULLY_PAID_BY_PROVIDER, 0, ()),
    ("not a member", claim(member=False, lost=50_000, pays=0), NOT_MEMBER, None, ()),
    ("not a member comes before a refusal", claim(member=False, decision=REFUSED), NOT_MEMBER, None, ()),
    ("not a member comes before a full refund", claim(member=False, lost=1, pays=1), NOT_MEMBER, None, ()),
    ("refused", claim(decision=REFUSED, lost=50_000, pays=0), PROVIDER_REFUSED, None, ()),
    ("refused whatever the membership", claim(member=None, decision=REFUSED), PROVIDER_REFUSED, None, ()),
    ("waiting for the decision", claim(decision=WAITING), PROVIDER_DECISION_NEEDED, None, ()),
    ("the provider not asked yet", claim(decision=NOT_ASKED, lost=80_000), PROVIDER_DECISION_NEEDED, None, ()),
    ("the decision not known to the user", claim(decision=UNKNOWN), PROVIDER_DECISION_NEEDED, None, ()),
    ("waiting, membership unknown: membership first", claim(member=None, decision=WAITING), None, None, (IS_MEMBER,)),
    (
        "a full refund needs neither membership nor the decision",
        claim(member=None, decision=None, lost=40_000, pays=40_000),
        FULLY_PAID_BY_PROVIDER,
        0,
        (),
    ),
    ("nothing known", claim(member=None, decision=None), None, None, codes.INPUTS),
    ("the refund not known", claim(lost=50_000), None, None, (PROVIDER_PAYS,)),
    ("the loss not known", claim(pays=10_000), None, None, (AMOUNT_LOST,)),
    (
        "an estimate but membership unknown",
        claim(member=None, lost=50_000, pays=0),
        None,
        None,
        (IS_MEMBER,),
    ),
    (
        "an estimate but the decision unknown",
        claim(decision=None, lost=50_000, pays=10_000),
        None,
        None,
        (PROVIDER_DECISION,),
    ),
]


@pytest.mark.parametrize("about, given, outcome, estimate, needs", ENGINE, ids=[row[0] for row in ENGINE])
def test_the_rules(about, given, outcome, estimate, needs):
    assessment = rules.assess(given, TERMS, IN_FORCE)
    assert (assessment.outcome, assessment.estimate, assessment.needs) == (outcome, estimate, needs)
    assert assessment.in_force and assessment.decided == (outcome is not None)


def test_the_table_has_every_outcome():
    assert {row[2] for row in ENGINE} >= set(codes.OUTCOMES)


def test_a_condition_the_terms_do_not_check_is_not_applied():
    anyone = replace(TERMS, conditions=(terms.Condition("決済事業者が認めたこと", codes.RECOGNISED_CHECK),))
    assert rules.assess(claim(member=False, lost=10_000, pays=0), anyone, IN_FORCE).outcome == MAY_BE_COVERED
    undecided = replace(TERMS, conditions=(terms.Condition("会員であること", codes.MEMBER_CHECK),))
    assert rules.assess(claim(decision=WAITING, lost=10_000, pays=0), undecided, IN_FORCE).estimate == 10_000


# (lost as typed, provider pays as typed, outcome, estimate): the answers read, then the rules.
TYPED_AMOUNTS = [
    ("3万円", "なし", MAY_BE_COVERED, 30_000),
    ("３万円", "0円", MAY_BE_COVERED, 30_000),
    ("9万8千円", "1万円", MAY_BE_COVERED, 88_000),
    ("九十八万円", "三万円", MAY_BE_COVERED, 950_000),
    ("百五十万円です", "二十万円です", MAY_BE_COVERED, CAP),
    ("1,200,000円", "¥5000", MAY_BE_COVERED, CAP),
    ("￥５０００", "返金はありません", MAY_BE_COVERED, 5_000),
    ("12万5千円くらい", "2万5千円", MAY_BE_COVERED, 100_000),
    ("1.5万円", "5千円", MAY_BE_COVERED, 10_000),
    ("さんまんえん", "いちまんえん", MAY_BE_COVERED, 20_000),
    ("30000", "20000", MAY_BE_COVERED, 10_000),
    ("5万円", "全額", FULLY_PAID_BY_PROVIDER, 0),
    ("五万円", "五万円", FULLY_PAID_BY_PROVIDER, 0),
    ("4万円", "5万円返ってきました", FULLY_PAID_BY_PROVIDER, 0),
]


@pytest.mark.parametrize("lost_text, pays_text, outcome, estimate", TYPED_AMOUNTS)
def test_amounts_as_people_type_them(lost_text, pays_text, outcome, estimate):
    lost = answers.read(lost_text, AMOUNT_LOST)[AMOUNT_LOST]
    pays = answers.read(pays_text, PROVIDER_PAYS, known={AMOUNT_LOST: lost})[PROVIDER_PAYS]
    assessment = rules.assess(claim(lost=lost, pays=pays), TERMS, IN_FORCE)
    assert (assessment.outcome, assessment.estimate) == (outcome, estimate)


BEFORE = datetime(2020, 5, 31, 23, 59, 59, tzinfo=JST)


@pytest.mark.parametrize(
    "moment, in_force",
    [
        (BEFORE, False),
        (datetime(2020, 6, 1, 0, 0, tzinfo=JST), True),
        # 15:00 UTC on 31 May is midnight of 1 June in Japan, where the day is counted.
        (datetime(2020, 5, 31, 14, 59, tzinfo=timezone.utc), False),
        (datetime(2020, 5, 31, 15, 0, tzinfo=timezone.utc), True),
        # A naive moment is Japan time.
        (datetime(2020, 6, 1, 0, 0), True),
    ],
)
def test_before_the_rules_start_date_there_is_no_outcome(moment, in_force):
    for given in (claim(lost=50_000, pays=0), claim(member=False), claim(decision=REFUSED), claim(member=None)):
        assessment = rules.assess(given, TERMS, moment)
        assert assessment.in_force is in_force
        if not in_force:
            assert (assessment.outcome, assessment.estimate, assessment.needs) == (None, None, ())
    assert rules.assess(claim(lost=50_000, pays=0), TERMS, moment + timedelta(days=1)).in_force


@pytest.mark.parametrize(
    "fields",
    [
        {"amount_lost": -1},
        {"provider_pays": -500},
        {"amount_lost": 1.5},
        {"amount_lost": True},
        {"provider_decision": "maybe"},
    ],
)
def test_a_claim_the_readers_cannot_give_is_refused(fields):
    with pytest.raises(ValueError):
        rules.Claim(**fields)


@pytest.mark.parametrize(
    "amount, text",
    [
        (0, "0円"),
        (5_000, "5,000円"),
        (12_000, "12,000円"),
        (30_000, "3万円"),
        (1_000_000, "100万円"),
        (1_250_000, "125万円"),
        (1_234_567, "1,234,567円"),
    ],
)
def test_amounts_are_written_back_as_people_read_them(amount, text):
    assert yen_text(amount) == text


# --- business/fraud_cover.yml ----------------------------------------------------------------


def test_the_shipped_terms():
    shipped = terms.load()
    assert shipped.name == "不正決済補償" and shipped.cap == CAP
    assert shipped.checks == {codes.MEMBER_CHECK, codes.RECOGNISED_CHECK}
    assert {item.id for item in shipped.prepare} == {"statement", "police_receipt", "provider_decision"}
    assert shipped.in_force(IN_FORCE) and not shipped.in_force(datetime(2020, 5, 31, 12, 0, tzinfo=JST))


def test_every_shipped_outcome_is_worded_with_its_figures():
    shipped, facts = terms.load(), service.facts()
    figures = claim(lost=1_500_000, pays=200_000)
    text = messages.outcome_text(rules.assess(figures, shipped, IN_FORCE), figures, shipped, facts)
    assert "150万円" in text and "20万円" in text and "130万円" in text and "100万円" in text
    for code in codes.OUTCOMES:
        worded = messages.outcome_text(
            rules.Assessment(code, estimate=0), claim(lost=50_000, pays=50_000), shipped, facts
        )
        assert shipped.name in worded and "{" not in worded


@pytest.fixture
def write(tmp_path):
    """Writes business/fraud_cover.yml changed by ``change`` (a function of its document)."""

    def written(change):
        document = yaml.safe_load(terms.datafiles.business_file("fraud_cover.yml").read_text(encoding="utf-8"))
        change(document)
        path = tmp_path / "fraud_cover.yml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        return path

    return written


def _set(key, value):
    return lambda document: document.__setitem__(key, value)


def _outcome(code, text):
    return lambda document: document["outcomes"].__setitem__(code, text)


BROKEN = [
    ("cap_yen", _set("cap_yen", 0), "cap_yen"),
    ("cap_yen", _set("cap_yen", "100万円"), "cap_yen"),
    ("cap_yen", _set("cap_yen", True), "cap_yen"),
    ("applies_from", _set("applies_from", "2020-06-31"), "applies_from"),
    ("name", _set("name", ""), "name"),
    ("unknown field", _set("cap", 1), "unknown field"),
    ("missing field", lambda d: d.pop("prepare"), "prepare"),
    ("empty conditions", _set("conditions", []), "conditions"),
    ("unknown check", lambda d: d["conditions"][0].__setitem__("check", "docomo"), "unknown check"),
    ("repeated check", lambda d: d["conditions"][1].__setitem__("check", "member"), "repeats"),
    ("missing outcome", lambda d: d["outcomes"].pop("not_member"), "missing: not_member"),
    ("unknown outcome", _outcome("covered", "x"), "unknown: covered"),
    ("a figure where there is none", _outcome("not_member", "{estimate}"), "placeholder"),
    ("an unknown placeholder", _outcome("may_be_covered", "{amount}"), "placeholder"),
    ("a broken placeholder", _outcome("may_be_covered", "{estimate"), "placeholder"),
    ("duplicate prepare id", lambda d: d["prepare"].append(dict(d["prepare"][0])), "duplicate"),
]


@pytest.mark.parametrize("about, change, words", BROKEN, ids=[row[0] for row in BROKEN])
def test_a_broken_file_stops_the_start_naming_the_field(write, about, change, words):
    with pytest.raises(DataFileError, match=words):
        terms.load(write(change))


def test_the_file_must_agree_with_the_service_facts(write):
    path = write(lambda document: None)
    facts = service.facts()
    assert terms.load(path, facts).cap == CAP
    with pytest.raises(DataFileError, match="fraud_cover_cap_text"):
        terms.load(path, replace(facts, fraud_cover_cap_text="50万円"))
    with pytest.raises(DataFileError, match="fraud_cover_name"):
        terms.load(path, replace(facts, fraud_cover_name="不正利用補償"))
    assert terms.load(write(_set("cap_yen", 500_000)), replace(facts, fraud_cover_cap_text="50万円")).cap == 500_000
