"""The rule-based safety layer on its own, without the classifier."""

from pathlib import Path

import pytest

from nettrouble.triage import safety
from tests import project_files

ROOT = Path(__file__).resolve().parent.parent

SELF_HARM_MESSAGES = [
    "もう死にたい",
    "しにたい",
    "ｼﾆﾀｲ",
    "シニタイ",
    "死 に た い",
    "死にたくなる毎日です",
    "タヒにたい",
    "4にたい",
    "死にたみが深い",
    "誹謗中傷がひどくて消えたい",
    "きえたいです",
    "いなくなりたい",
    "自殺を考えています",
    "じさつしたい",
    "生きているのがつらい",
    "生きてるのしんどい",
    "もう生きていけない",
    "生きる意味がない",
    "生まれてこなければよかった",
    "リスカしちゃった",
    "リストカットがやめられない",
    "手首を切った",
    "ODしました",
    "薬を全部飲んでしまおうか",
    "首を吊ろうと思う",
    "屋上から飛び降りたい",
    "練炭を買った",
    "楽になりたい",
    "もう終わりにしたい",
    "目が覚めなければいいのに",
    "明日が来なければいい",
    "遺書を書いた",
    "私なんていないほうがいい",
    "死んだほうがましだ",
    "死ぬしかない",
    "死のうかな",
    "殺してほしい",
    "I want to die",
    "ネットで叩かれて、もう生きていけない…",
    "晒されたので人生を終わらせたい",
    "中傷のせいで生きる気がしない",
    "いっそいなくなれたら",
    "消えてしまえたら楽なのに",
    "もう限界、何もかもどうでもいい",
]

DANGER_MESSAGES = [
    "殺すってDMが何度も来る",
    "ころすぞと書き込まれた",
    "殺害予告が届いた",
    "刺しに行くと言われた",
    "家に火をつけるって",
    "爆破予告をされた",
    "元彼につきまとわれている",
    "ストーカーがいる",
    "ｽﾄｰｶｰ被害",
    "待ち伏せされた",
    "家の前に知らない人がいる",
    "職場まで来られた",
    "今から行くって連絡が来た",
    "家に押しかけてきた",
    "襲われそうで怖い",
    "殴られた",
    "監禁されそう",
    "子どもを誘拐すると脅された",
    "DVから逃げています",
    "身の危険を感じる",
    "命を狙われている",
    "後をつけられている",
    "GPSを付けられていた",
    "〇すってDMが来る",
    "シェルターの場所がばれたかもしれない",
    "玄関の外に誰かがずっと立っている",
    "インターホンが何度も鳴らされて怖い",
    "夜中にドアをガチャガチャされた",
    "家の前にいないか不安です",
    "もう家に来ないでほしい",
    "家に来てないけど殺すと言われた",
]

ORDINARY_MESSAGES = [
    "リツイートしただけで訴えられる？",
    "ツイッターで悪口を書かれて困っています",
    "PayPayで身に覚えのない決済がありました",
    "インスタのアカウントが乗っ取られた",
    "今のところすごく困ってる",
    "ひどい言葉で傷つけられた",
    "首をつっこまないでほしいと言われた",
    "家にいるときに通知が来た",
    "投稿を消したい",
    "オンラインショップで買った商品が届かない",
    "意見照会書が届きました",
    "架空請求のSMSが来た",
    "娘が学校に行くのがつらいと言っている",
    "自分が書き込んだ投稿が炎上した",
    "アカウントを消したいです",
    "ライブ配信のコメントで中傷された",
    "偽のサイトにカード番号を入れてしまった",
    "家族に知られたくない",
    "こんにちは",
    "電話番号を教えてください",
    "質問はもう終わりにしたい",
    # Answers to 「自宅に誰か来たことは？」: a negated visit is a no, not an alarm.
    "家に来られたことはないです",
    "家まで来てはいない",
    "つきまといはないです",
    "待ち伏せはされていません",
]


@pytest.mark.parametrize("text", SELF_HARM_MESSAGES)
def test_self_harm_is_detected(text):
    assert safety.signals(text)[0] == safety.SELF_HARM


@pytest.mark.parametrize("text", DANGER_MESSAGES)
def test_danger_is_detected(text):
    assert safety.DANGER in safety.signals(text)


@pytest.mark.parametrize("text", ORDINARY_MESSAGES)
def test_ordinary_troubles_raise_no_alarm(text):
    assert safety.signals(text) == []


def test_self_harm_comes_before_danger_when_both_are_present():
    assert safety.signals("ストーカーが怖くてもう死にたい") == [safety.SELF_HARM, safety.DANGER]


@pytest.mark.parametrize(
    "intents, expected",
    [
        ([safety.DANGER, safety.SELF_HARM], safety.SELF_HARM),
        ([safety.DANGER, "trouble_defamation"], safety.DANGER),
        (["trouble_defamation", None], None),
    ],
)
def test_most_urgent(intents, expected):
    assert safety.most_urgent(intents) == expected


@pytest.mark.parametrize("text", ["", " ", "\x00\x01", "😀" * 5000, "あ" * 20000])
def test_odd_input_is_handled(text):
    assert safety.signals(text) == []


def test_folding_unifies_spellings():
    assert safety.fold("ﾀﾋ に　たい！") == safety.fold("タヒにたい") == "たひにたい"


def test_every_danger_and_self_harm_example_holds_a_plausible_word():
    """The guard drops a classifier's safety intent only in messages without any such word:
    no known danger or self-harm message may be one of those."""
    files = [ROOT / "data" / "nlu" / "safety.yml"] + [
        ROOT / "tests" / name for name in ("nlu_heldout.yml", "nlu_heldout_kana.yml", "nlu_heldout_kana_natural.yml")
    ]
    harmful = [
        text
        for path in files
        for text, intent in project_files.intent_examples(path)
        if intent in (safety.DANGER, safety.SELF_HARM)
    ]
    assert len(harmful) > 50, "the danger and self-harm examples were not found"
    assert [text for text in harmful if not safety.plausible(text)] == []


def test_ordinary_troubles_without_harm_words_are_not_plausible():
    assert not safety.plausible("子どもの顔と名前が勝手にYouTubeに上げられている")
    assert not safety.plausible("ゆーちゅーぶのこめらんでなまえだされてぼろくそいわれてる")
