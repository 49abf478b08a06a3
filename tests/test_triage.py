"""Triage questions and the reading of free answers, without a bot."""
import pytest

from nettrouble import triage
from nettrouble.money import parse_yen


def test_every_type_asks_two_to_four_questions():
    assert set(triage.PLANS) == set(triage.TYPE_LABELS)
    for trouble_type, plan in triage.PLANS.items():
        assert 2 <= len(triage.questions(trouble_type, {})) <= 4, trouble_type
        assert all(slot in triage.LABELS and slot in triage.HINTS for slot in plan)


def test_amount_is_asked_only_when_money_was_lost():
    assert triage.questions("phishing", {"entered_info": "card", "money_lost": "no"}) == []
    assert triage.questions("phishing", {"entered_info": "card", "money_lost": "yes"}) == ["money_amount"]
    assert triage.questions("phishing", {"entered_info": "card", "money_lost": "unknown"}) == []
    assert triage.questions("billing_scam", {"money_lost": "no"}) == []


def test_unknown_type_has_no_questions():
    assert triage.questions(None, {}) == []
    assert triage.questions("weather", {}) == []


@pytest.mark.parametrize(
    "slot, text, intent, expected",
    [
        ("ongoing", "まだ続いています", None, "yes"),
        ("ongoing", "今は止まっています", None, "no"),
        ("ongoing", "続いていない", None, "no"),
        ("ongoing", "はい", "affirm", "yes"),
        ("ongoing", "うーん", "deny", "no"),
        ("evidence_saved", "スクショは撮ってあります", None, "yes"),
        ("evidence_saved", "保存してない", None, "no"),
        ("evidence_saved", "まだ保存していない", None, "no"),
        ("can_login", "ログインできません", None, "no"),
        ("can_login", "ログインできる", None, "yes"),
        ("post_still_up", "削除した", None, "no"),
        ("post_still_up", "公開したまま", None, "yes"),
        ("offline_contact", "あった", None, "yes"),
        ("offline_contact", "ない", None, "no"),
        ("money_demanded", "求められていない", None, "no"),
        ("provider_contacted", "まだ連絡していない", None, "no"),
        ("ongoing", "わからない", None, "unknown"),
        ("ongoing", "スキップ", None, "unknown"),
        ("ongoing", "答えたくないです", None, "unknown"),
        ("ongoing", "ラーメン食べたい", None, None),
        # A word that usually means "stopped", negated, means it goes on.
        ("ongoing", "止まっていないです", None, "yes"),
        ("post_still_up", "まだ消してません", None, "yes"),
        ("post_still_up", "削除はしていない", None, "yes"),
        ("post_still_up", "非公開にしました", None, "no"),
        ("offline_contact", "家に来られたことはないです", None, "no"),
        ("ongoing", "最近は落ち着いています", None, "no"),
        ("ongoing", "たまにまだ書かれます", None, "yes"),
        ("ongoing", "まだ書かれていないです", None, "no"),
        ("evidence_saved", "スクショ撮り忘れました", None, "no"),
    ],
)
def test_yes_no_answers(slot, text, intent, expected):
    assert triage.interpret(slot, text, intent).value == expected


@pytest.mark.parametrize(
    "trouble_type, text, expected",
    [
        ("defamation", "自分です", "self"),
        ("defamation", "子どものことで相談している保護者です", "parent"),
        ("defamation", "娘が書かれています", "parent"),
        ("defamation", "書き込んだのは自分です", "poster"),
        ("defamation", "友人のことです", "other"),
        ("bullying", "本人です", "student"),
        ("bullying", "保護者です", "parent"),
        ("bullying", "担任です", "teacher"),
        ("sexual_image", "わたし", "self"),
    ],
)
def test_user_role(trouble_type, text, expected):
    assert triage.interpret("user_role", text, trouble_type=trouble_type).value == expected


def test_platform_prefers_the_canonical_entity_and_keeps_free_text():
    entity = [{"entity": "sns_platform", "value": "X"}]
    assert triage.interpret("platform", "ツイッターです", entities=entity).value == "X"
    assert triage.interpret("platform", "地域の掲示板").value == "地域の掲示板"
    assert triage.interpret("platform", "はい").value is None
    assert triage.interpret("platform", "あ" * 200).value is None


def test_money_lost_with_an_amount_answers_both():
    answer = triage.interpret("money_lost", "3万円取られました")
    assert answer.value == "yes" and answer.also == {"money_amount": 30000}


def test_a_demanded_amount_is_not_a_loss():
    assert triage.interpret("money_lost", "10万円払えと言われました").value is None
    answer = triage.interpret("money_lost", "10万円請求されたけど払ってない")
    assert answer.value == "no" and answer.also == {}


@pytest.mark.parametrize(
    "text, expected",
    [("3万円払ってしまいました", True), ("ギフトカードを買わされた", True), ("5万円使われた", True),
     ("10万円払えと言われました", False), ("まだ払っていません", False), ("請求のSMSが来た", False)],
)
def test_reports_loss(text, expected):
    assert triage.reports_loss(text) is expected


def test_not_paid_yet_answers_the_payment_question_and_for_a_scam_the_loss():
    scam = triage.interpret("payment_method", "払ってないです", trouble_type="billing_scam")
    assert scam.value == triage.NOT_PAID and scam.also == {"money_lost": "no"}
    shop = triage.interpret("payment_method", "まだ支払っていません", trouble_type="shopping")
    assert shop.value == triage.NOT_PAID and shop.also == {}
    assert triage.display("payment_method", triage.NOT_PAID) == "まだ支払っていない"


@pytest.mark.parametrize(
    "slot, text, expected",
    [
        ("money_amount", "5,000円くらい", 5000),
        ("money_amount", "払っていない", 0),
        ("money_amount", "たくさん", None),
        ("entered_info", "パスワードとカード番号", "password,card"),
        ("entered_info", "何も入力していない", "nothing"),
        ("entered_info", "アプリを入れた", "app"),
        ("notice_received", "意見照会書が届いた", "opinion_letter"),
        ("notice_received", "訴えると言われた", "lawsuit_threat"),
        ("notice_received", "何も届いていない", "none"),
        ("notice_received", "弁護士から通知とかは来てないです", "none"),
        ("notice_received", "弁護士から内容証明が来ました", "lawsuit_threat"),
        ("exposed_info", "住所と本名", "住所・本名"),
        ("seller_type", "メルカリの個人出品者", "individual"),
        ("seller_type", "通販サイトのお店", "business"),
        ("image_status", "もう拡散されてる", "spread"),
        ("image_status", "ばらまくと脅されている", "threatened"),
        ("image_status", "まだ投稿されていません", "threatened"),
        ("entered_info", "パスワードは入れてないです", "nothing"),
        ("entered_info", "IDは入れてないけどカード番号を入れてしまった", "card"),
        ("child_grade", "中学2年です", "中学2年"),
        ("child_grade", "中2", "中2"),
    ],
)
def test_other_answers(slot, text, expected):
    assert triage.interpret(slot, text).value == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("中学2年の娘のことで", True),
        ("うちの子がいじめられて", True),
        ("15歳です", True),
        ("高1です", True),
        ("25歳の会社員です", False),
        ("大学生です", False),
        ("ツイッターで悪口を書かれた", False),
    ],
)
def test_minors_are_recognised(text, expected):
    assert triage.mentions_minor(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [("3万円", 30000), ("９万８千円", 98000), ("五千円", 5000), ("¥1,500", 1500), ("10万くらい", 100000),
     ("3人", None), ("090-1234-5678", None), ("", None)],
)
def test_parse_yen(text, expected):
    assert parse_yen(text) == expected


def test_summary_reads_back_answers_in_plan_order():
    lines = triage.summary_lines(
        "defamation", {"platform": "X", "user_role": "parent", "ongoing": "yes", "evidence_saved": "unknown"}
    )
    assert lines == [
        "・サービス：X",
        "・ご相談者：保護者（お子さまのご相談）",
        "・今も続いているか：続いている",
        "・証拠の保存：未回答",
    ]


def test_explanation_offers_to_skip():
    text = triage.explanation("ongoing")
    assert "スキップ" in text and "続いている" in text


@pytest.mark.parametrize(
    "slot, answer, expected",
    [
        ("ongoing", "yes", "yes"),
        ("ongoing", "unknown", "unknown"),
        ("ongoing", "maybe", None),
        ("user_role", "poster", "poster"),
        ("user_role", "admin", None),
        ("image_status", "threatened", "threatened"),
        ("platform", "Instagram", "Instagram"),
        ("payment_method", "銀行振込", "銀行振込"),
        ("money_amount", "unknown", "unknown"),
        ("child_grade", "中学生", "中学生"),
    ],
)
def test_a_pressed_button_is_taken_as_sent(slot, answer, expected):
    entities = [{"entity": "answer", "value": answer}]
    assert triage.interpret(slot, f'/inform{{"answer": "{answer}"}}', "inform", entities).value == expected


def test_every_answer_button_of_the_domain_sends_a_value_its_question_accepts():
    import yaml
    from pathlib import Path
    import json as json_module

    domain = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text(encoding="utf-8"))
    checked = 0
    for slot in triage.TRIAGE_SLOTS:
        for variant in domain["responses"][f"utter_ask_{slot}"]:
            for button in variant.get("buttons", []):
                assert button["payload"].startswith('/inform{"answer": '), (slot, button)
                value = json_module.loads(button["payload"][len("/inform"):])["answer"]
                entities = [{"entity": "answer", "value": value}]
                assert triage.interpret(slot, button["payload"], "inform", entities).value is not None, (slot, button)
                checked += 1
    assert checked >= 80
