"""Reading typed answers to the fraud-cover pre-check, as tables: the provider's decision, two
amounts in one message, membership, and what is no answer at all."""

import pytest

from nettrouble.cover import answers
from nettrouble.cover.codes import (
    AMOUNT_LOST,
    IS_MEMBER,
    NOT_ASKED,
    PROVIDER_DECISION,
    PROVIDER_PAYS,
    RECOGNISED,
    REFUSED,
    UNKNOWN,
    WAITING,
)

# (typed, question asked or None, what is read)
READ = [
    # the provider's decision, said in so many words: read asked or not
    ("カード会社は不正利用と認めてくれました", None, {PROVIDER_DECISION: RECOGNISED}),
    ("かーどがいしゃは みとめてくれました", None, {PROVIDER_DECISION: RECOGNISED}),
    ("PayPayから不正利用と判断されたと連絡が来ました", None, {PROVIDER_DECISION: RECOGNISED}),
    ("認めてもらえませんでした", PROVIDER_DECISION, {PROVIDER_DECISION: REFUSED}),
    ("本人の利用だと言われて断られました", None, {PROVIDER_DECISION: REFUSED}),
    ("連絡したら認めてもらえなかった", None, {PROVIDER_DECISION: REFUSED}),
    ("まだ連絡していません", None, {PROVIDER_DECISION: NOT_ASKED}),
    ("これから電話します", None, {PROVIDER_DECISION: NOT_ASKED}),
    ("連絡はしたけど、まだ返事がないです", None, {PROVIDER_DECISION: WAITING}),
    ("今調査中です", None, {PROVIDER_DECISION: WAITING}),
    ("ちょうさちゅうです", None, {PROVIDER_DECISION: WAITING}),
    ("認めてもらえるかどうか、まだわかりません", None, {PROVIDER_DECISION: WAITING}),
    # bare answers count only for the question asked
    ("はい", PROVIDER_DECISION, {PROVIDER_DECISION: RECOGNISED}),
    ("はい", None, {}),
    ("まだです", PROVIDER_DECISION, {PROVIDER_DECISION: WAITING}),
    ("わからない", PROVIDER_DECISION, {PROVIDER_DECISION: UNKNOWN}),
    ("わからない", AMOUNT_LOST, {}),
    # a bare no to "did they recognise it?" may be a refusal or no decision yet: asked again
    ("いいえ", PROVIDER_DECISION, {}),
    # amounts, each placed by its words
    # a refund to come says the provider recognised the use
    (
        "5万円のうち3万円は返金されるそうです",
        None,
        {AMOUNT_LOST: 50_000, PROVIDER_PAYS: 30_000, PROVIDER_DECISION: RECOGNISED},
    ),
    ("5万円使われて、2万円は戻ってくるみたいです", None, {AMOUNT_LOST: 50_000, PROVIDER_PAYS: 20_000}),
    ("被害は12万円で、カード会社から10万円補償されます", None, {AMOUNT_LOST: 120_000, PROVIDER_PAYS: 100_000}),
    ("九十八万円使われました", None, {AMOUNT_LOST: 980_000}),
    ("3万円です", None, {}),
    ("3万円です", AMOUNT_LOST, {AMOUNT_LOST: 30_000}),
    ("3万円です", PROVIDER_PAYS, {PROVIDER_PAYS: 30_000}),
    ("5万じゃなくて3万円でした", AMOUNT_LOST, {AMOUNT_LOST: 30_000}),
    ("返金はありません", None, {PROVIDER_PAYS: 0}),
    ("1円も戻ってこないそうです", None, {PROVIDER_PAYS: 0}),
    ("ないです", PROVIDER_PAYS, {PROVIDER_PAYS: 0}),
    ("3万円は返金されないそうです", PROVIDER_PAYS, {PROVIDER_PAYS: 0}),
    # numbers that are not amounts
    ("千葉のお店で3回使われた", None, {}),
    ("2件です", AMOUNT_LOST, {}),
    # membership, read as the triage reads it
    ("会員です", None, {IS_MEMBER: "yes"}),
    ("加入していません", IS_MEMBER, {IS_MEMBER: "no"}),
    ("はい", IS_MEMBER, {IS_MEMBER: "yes"}),
    ("会員かはわからないです", IS_MEMBER, {}),
    ("たぶん加入してると思います", None, {}),
    (
        "会員かはわからないけど、カード会社には本人の利用だと言われて断られました",
        IS_MEMBER,
        {PROVIDER_DECISION: REFUSED},
    ),
    # several answers ahead in one message
    (
        "会員です。カード会社は不正利用と認めてくれて、5万円のうち3万円は返金されます",
        None,
        {IS_MEMBER: "yes", PROVIDER_DECISION: RECOGNISED, AMOUNT_LOST: 50_000, PROVIDER_PAYS: 30_000},
    ),
]


@pytest.mark.parametrize("text, asked, expected", READ)
def test_typed_answers(text, asked, expected):
    assert answers.read(text, asked) == expected


def test_the_whole_loss_is_paid_back_only_when_the_loss_is_known():
    assert answers.read("全額返金されます", PROVIDER_PAYS, known={AMOUNT_LOST: 45_000}) == {PROVIDER_PAYS: 45_000}
    assert answers.read("全額返金されます", PROVIDER_PAYS) == {}
    assert answers.read("4万5千円使われて、全額返金されました") == {AMOUNT_LOST: 45_000, PROVIDER_PAYS: 45_000}


def test_a_yes_or_no_button_answers_membership():
    assert answers.read("/affirm", IS_MEMBER, intent="affirm") == {IS_MEMBER: "yes"}
    assert answers.read("/deny", IS_MEMBER, intent="deny") == {IS_MEMBER: "no"}
    assert answers.read("/affirm", PROVIDER_DECISION, intent="affirm") == {}


@pytest.mark.parametrize(
    "value, asked, expected",
    [
        ("recognised", PROVIDER_DECISION, {PROVIDER_DECISION: RECOGNISED}),
        ("unknown", PROVIDER_DECISION, {PROVIDER_DECISION: UNKNOWN}),
        ("approved", PROVIDER_DECISION, {}),
        ("0", PROVIDER_PAYS, {PROVIDER_PAYS: 0}),
        ("3万円", AMOUNT_LOST, {AMOUNT_LOST: 30_000}),
        ("recognised", None, {}),
    ],
)
def test_a_pressed_button_answers_the_question_asked(value, asked, expected):
    assert answers.read("/inform", asked, entities=[{"entity": "answer", "value": value}]) == expected


def test_amounts_found_in_order_with_their_words():
    found = answers.amounts_in("5万円のうち3万円は返金")
    assert [a.value for a in found] == [50_000, 30_000]
    assert found[0].after.startswith("のうち") and "返金" in found[1].after
