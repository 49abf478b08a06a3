"""The answer reader: every slot's reader, one message answering several questions, kana and
casual forms, negations, skips and buttons."""

import json

import pytest
from rasa.core.nlg.interpolator import interpolate_text

from nettrouble.triage import answers, plans
from tests import project_files

DEFAMATION = plans.PLANS["defamation"]


def read_one(slot, text, intent=None, trouble_type="phishing"):
    return answers.read(text, [slot], slot, intent=intent, trouble_type=trouble_type).get(slot)


@pytest.mark.parametrize(
    "slot, text, intent, expected",
    [
        ("ongoing", "まだ続いています", None, "yes"),
        ("ongoing", "今は止まっています", None, "no"),
        ("ongoing", "続いていない", None, "no"),
        ("ongoing", "はい", "affirm", "yes"),
        ("ongoing", "うーん", "deny", "no"),
        ("ongoing", "うん", None, "yes"),
        ("ongoing", "ううん", None, "no"),
        ("ongoing", "まだ", None, "yes"),
        ("ongoing", "止まらない", None, "yes"),
        ("ongoing", "止まっていないです", None, "yes"),
        ("ongoing", "最近は落ち着いています", None, "no"),
        ("ongoing", "たまにまだ書かれます", None, "yes"),
        ("ongoing", "まだ書かれていないです", None, "no"),
        ("ongoing", "わからない", None, "unknown"),
        ("ongoing", "わかんない", None, "unknown"),
        ("ongoing", "スキップ", None, "unknown"),
        ("ongoing", "答えたくないです", None, "unknown"),
        ("ongoing", "ラーメン食べたい", None, None),
        ("evidence_saved", "スクショは撮ってあります", None, "yes"),
        ("evidence_saved", "すくしょとってある", None, "yes"),
        ("evidence_saved", "保存してない", None, "no"),
        ("evidence_saved", "まだ保存していない", None, "no"),
        ("evidence_saved", "まだ", None, "no"),
        ("evidence_saved", "スクショ撮り忘れました", None, "no"),
        # まだ closing the subject means "not yet", though the subject's name comes first.
        ("evidence_saved", "すくしょはまだです", None, "no"),
        ("evidence_saved", "保存もまだで、どうしたらいいか", None, "no"),
        ("evidence_saved", "スクショはまだ残ってます", None, "yes"),
        ("can_login", "ログインできません", None, "no"),
        ("can_login", "ログインできる", None, "yes"),
        ("can_login", "入れなくなった", None, "no"),
        ("post_still_up", "削除した", None, "no"),
        ("post_still_up", "公開したまま", None, "yes"),
        ("post_still_up", "まだ消してません", None, "yes"),
        ("post_still_up", "削除はしていない", None, "yes"),
        ("post_still_up", "非公開にしました", None, "no"),
        ("offline_contact", "あった", None, "yes"),
        ("offline_contact", "ない", None, "no"),
        ("offline_contact", "ないです", None, "no"),
        ("offline_contact", "家に来られたことはないです", None, "no"),
        ("money_demanded", "求められていない", None, "no"),
        ("money_demanded", "払わないと拡散するって言われてる", None, "yes"),
        ("money_demanded", "お金を送れって", None, "yes"),
        ("provider_contacted", "まだ連絡していない", None, "no"),
        ("provider_contacted", "してない", None, "no"),
        ("provider_contacted", "カード会社に電話して止めてもらった", None, "yes"),
        ("payments_linked", "カード登録してる", None, "yes"),
        ("payments_linked", "してないです", None, "no"),
    ],
)
def test_yes_no_answers(slot, text, intent, expected):
    assert read_one(slot, text, intent) == expected


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
    assert read_one("user_role", text, trouble_type=trouble_type) == expected


@pytest.mark.parametrize(
    "slot, text, expected",
    [
        ("money_amount", "5,000円くらい", 5000),
        ("money_amount", "2万", 20000),
        ("money_amount", "1万5千円", 15000),
        ("money_amount", "三万円", 30000),
        ("money_amount", "３００００円", 30000),
        ("money_amount", "さんまんえん", 30000),
        ("money_amount", "払っていない", 0),
        ("money_amount", "たくさん", None),
        ("entered_info", "パスワードとカード番号", "password,card"),
        ("entered_info", "何も入力していない", "nothing"),
        ("entered_info", "アプリを入れた", "app"),
        ("entered_info", "パスワードは入れてないです", "nothing"),
        ("entered_info", "IDは入れてないけどカード番号を入れてしまった", "card"),
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
        ("child_grade", "中学2年です", "中学2年"),
        ("child_grade", "中2", "中学2年"),
        ("child_grade", "中1", "中学1年"),
        ("child_grade", "高2です", "高校2年"),
        ("child_grade", "小5", "小学5年"),
        ("child_grade", "ちゅうにです", "中学2年"),
        ("child_grade", "中学生です", "中学生"),
        ("payment_method", "払ってないです", answers.NOT_PAID),
        ("payment_method", "コンビニでアマギフ買って番号を送った", "ギフトカード"),
        ("payment_method", "ぺいぺいではらった", "PayPay"),
        ("payment_method", "でぃーばらいです", "d払い"),
        ("platform", "地域の掲示板", "掲示板"),
        ("platform", "はい", None),
        ("platform", "あ" * 200, None),
    ],
)
def test_other_answers(slot, text, expected):
    assert read_one(slot, text) == expected


def test_platform_prefers_the_canonical_entity():
    entity = [{"entity": "sns_platform", "value": "X"}]
    assert answers.read("ツイッターです", ["platform"], "platform", entities=entity) == {"platform": "X"}


def test_an_opening_message_answers_every_question_it_can():
    found = answers.read(
        "Xで悪口を書かれています。自分のことで、スクショは撮ってあります",
        DEFAMATION,
        None,
        entities=[{"entity": "sns_platform", "value": "X"}],
        trouble_type="defamation",
    )
    assert found == {"platform": "X", "user_role": "self", "evidence_saved": "yes"}


def test_a_bare_passive_opener_does_not_answer_the_role():
    assert "user_role" not in answers.read("Xで悪口を書かれています", DEFAMATION, None, trouble_type="defamation")


def test_two_answers_in_one_reply():
    plan = plans.PLANS["bullying"]
    found = answers.read("息子です、小5です", plan, "user_role", trouble_type="bullying")
    assert found == {"user_role": "parent", "child_grade": "小学5年"}


def test_a_bare_answer_is_for_the_question_asked_only():
    found = answers.read("スクショは撮ってないけど、まだ続いてます", DEFAMATION, "ongoing", trouble_type="defamation")
    assert found == {"ongoing": "yes", "evidence_saved": "no"}
    # 「はい」 answers what was asked, not every yes/no question of the type.
    assert answers.read("はい", DEFAMATION, "ongoing", trouble_type="defamation") == {"ongoing": "yes"}


def test_a_reply_to_another_question_fills_that_one_only():
    found = answers.read("スクショは撮ってあります", DEFAMATION, "user_role", trouble_type="defamation")
    assert found == {"evidence_saved": "yes"}


def test_a_correction_is_read_without_a_question():
    assert answers.read("すみません、もう止まってました", DEFAMATION, None, trouble_type="defamation") == {
        "ongoing": "no"
    }


def test_kana_openers_read_like_kanji_ones():
    kanji = answers.read(
        "偽サイトにカード番号を入力してしまいました", plans.PLANS["phishing"], None, trouble_type="phishing"
    )
    kana = answers.read(
        "にせさいとにかーどばんごうをにゅうりょくしてしまいました",
        plans.PLANS["phishing"],
        None,
        trouble_type="phishing",
    )
    assert kanji == kana == {"entered_info": "card"}


def test_money_lost_with_an_amount_answers_both():
    found = answers.read("3万円取られました", ["money_lost", "money_amount"], "money_lost", trouble_type="phishing")
    assert found == {"money_lost": "yes", "money_amount": 30000}


def test_a_demanded_amount_is_not_a_loss():
    plan = plans.PLANS["billing_scam"]
    assert answers.read("10万円請求されたけど払ってない", plan, "money_lost", trouble_type="billing_scam") == {
        "money_lost": "no"
    }
    # Asked whether anything was paid, a demand means not yet; the sum is not a loss.
    assert answers.read("10万払えって言われてるんです", plan, "money_lost", trouble_type="billing_scam") == {
        "money_lost": "no"
    }
    assert answers.read("10万円の請求が来た", plan, None, trouble_type="billing_scam") == {}


def test_an_amount_counts_ahead_only_with_a_loss_for_types_that_ask_about_the_loss():
    plan = plans.PLANS["phishing"]
    assert answers.read("5万円使われた", plan, None, trouble_type="phishing")["money_amount"] == 50000
    fraud = plans.PLANS["payment_fraud"]
    assert answers.read(
        "PayPayで3万円使われた",
        fraud,
        None,
        trouble_type="payment_fraud",
        entities=[{"entity": "payment_service", "value": "PayPay"}],
    ) == {"payment_method": "PayPay", "money_amount": 30000}


@pytest.mark.parametrize(
    "slot, text, expected",
    [
        ("docomo_line", "ドコモです", "yes"),
        ("docomo_line", "どこもです", "yes"),
        ("docomo_line", "auです", "no"),
        ("docomo_line", "ドコモじゃないです", "no"),
        ("docomo_line", "はい", "yes"),
        ("is_member", "はいってないです", "no"),
        ("is_member", "入ってます", "yes"),
        ("is_member", "会員ではありません", "no"),
        ("is_member", "間違いありません", "yes"),
        ("is_member", "わからない", "unknown"),
    ],
)
def test_free_consultation_answers(slot, text, expected):
    assert answers.read(text, ["docomo_line", "is_member"], slot).get(slot) == expected


def test_the_membership_answered_ahead_of_its_question():
    found = answers.read("ドコモで、サポートには入ってないです", ["docomo_line", "is_member"], "docomo_line")
    assert found == {"docomo_line": "yes", "is_member": "no"}


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
    assert answers.mentions_minor(text) is expected


def test_an_adviser_request_is_spotted():
    assert answers.asks_for_adviser("消費生活アドバイザーに相談したいです")
    assert not answers.asks_for_adviser("弁護士に相談したいです")


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
    assert (
        answers.read(f'/inform{{"answer": "{answer}"}}', [slot], slot, intent="inform", entities=entities).get(slot)
        == expected
    )


def test_a_pressed_button_answers_nothing_when_no_question_is_open():
    assert (
        answers.read('/inform{"answer": "yes"}', DEFAMATION, None, entities=[{"entity": "answer", "value": "yes"}])
        == {}
    )


def test_every_answer_button_of_the_domain_sends_a_value_its_question_accepts():
    domain = project_files.domain()
    checked = 0
    for slot in plans.TRIAGE_SLOTS:
        for variant in domain["responses"][f"utter_ask_{slot}"]:
            for button in variant.get("buttons", []):
                # As Rasa's interpolator sends it: the domain doubles the braces (domain.yml).
                payload = interpolate_text(button["payload"], {})
                assert payload.startswith('/inform{"answer": '), (slot, button)
                value = json.loads(payload[len("/inform") :])["answer"]
                entities = [{"entity": "answer", "value": value}]
                found = answers.read(payload, [slot], slot, intent="inform", entities=entities)
                assert answers.valid(slot, found.get(slot)), (slot, button)
                checked += 1
    assert checked >= 80


@pytest.mark.parametrize(
    "slot, value, expected",
    [
        ("ongoing", "yes", True),
        ("ongoing", "sure", False),
        ("money_amount", 3000, True),
        ("money_amount", -5, False),
        ("money_amount", True, False),
        ("entered_info", "card,app", True),
        ("entered_info", "card,root", False),
        ("platform", "/inform", False),
        ("platform", "X", True),
    ],
)
def test_valid_rejects_what_no_reader_gives(slot, value, expected):
    assert answers.valid(slot, value) is expected


@pytest.mark.parametrize(
    "slot, text, intent, expected",
    [
        # Free text stands only for a name, never for a yes, a thanks or another sentence.
        ("platform", "お願いします", "affirm", None),
        ("platform", "はい、合ってます", "affirm", None),
        ("platform", "ドコモです。あんしんサポートには入ってない", "inform", None),
        ("payment_method", "今はやめときます", "deny", None),
        ("child_grade", "今は止まっています", "inform", None),
        # A short answer after a filler word is still a bare answer.
        ("offline_contact", "今のところ何もないです", "inform", "no"),
        ("offline_contact", "それはないです", "deny", "no"),
        # A vague clause inside a longer reply skips the question.
        ("money_amount", "金額はちょっとわかんないです。何件かあって", "inform", "unknown"),
    ],
)
def test_what_is_not_an_answer_and_what_still_is(slot, text, intent, expected):
    assert read_one(slot, text, intent, trouble_type="defamation") == expected


def test_a_named_service_answers_the_question_asked_beside_another_answer():
    found = answers.read(
        "LINEのオープンチャットです。家に人が来たりはしてないです",
        plans.PLANS["privacy"],
        "platform",
        entities=[{"entity": "sns_platform", "value": "LINE"}],
        trouble_type="privacy",
    )
    assert found == {"platform": "LINE", "offline_contact": "no"}


def test_a_negative_answer_is_not_turned_by_its_own_negation():
    assert read_one("offline_contact", "今のところ誰も来てないし、連絡もないです") == "no"
    assert read_one("money_lost", "何も取られてないです") == "no"
    assert read_one("provider_contacted", "連絡はまだしてない") == "no"


def test_questions_are_told_from_answers():
    assert answers.asks_question("不正利用の補償って、最大でいくらまで出るんですか？")
    assert answers.asks_question("アプリってある？")
    assert not answers.asks_question("よくわからないのですが、アプリを入れるように出たので入れました")


@pytest.mark.parametrize("text", ["発行してください", "はっこうしてください", "お願いします"])
def test_a_request_classified_as_affirm_is_no_yes_to_a_question_about_the_user(text):
    # Typed on make run: 「はっこうしてください」 to "are you a member?" was taken as "yes, a member".
    assert answers.read(text, ("docomo_line", "is_member"), "is_member", intent="affirm") == {}
    assert answers.read("はい、お願いします", ("is_member",), "is_member", intent="affirm") == {"is_member": "yes"}
