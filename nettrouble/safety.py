"""Second, rule-based detection of danger and self-harm messages.

The intent classifier is the first layer; this one does not depend on it. It reads the user's
text after folding the usual spelling variation of chat Japanese (full-width and half-width
forms, katakana written for hiragana, spaces or dots between letters) and looks for phrases that
signal suicidal thoughts, self-harm or a threat to someone's life or body. A false alarm costs
one gentle message with helpline numbers; a miss can cost a life, so the lists lean wide.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, List, Optional

SELF_HARM = "urgent_self_harm"
DANGER = "urgent_danger"

# Matched against folded text: NFKC, lower case, katakana as hiragana, no spaces or symbols.
_SELF_HARM_PATTERNS = [
    # 死にたい and its slang and typo spellings (しにたい, ﾀﾋにたい, 4にたい, 氏にたい, 死にたみ)
    r"(死|し|氏|4|たひ)に(たい|たく|たす|たみ|たか|てえ|てぇ)",
    r"死(のう|ねたら|ねば楽|ぬしか|ぬ方法|ぬほうほう|ぬつもり|ぬ気|ぬこと|にそう|に方|にかた)",
    r"死んで(しまい|しまおう|お詫び|おわび|楽)|死んだ(ほうが|方が|ら楽)",
    r"(もう|いっそ)死ぬ|しのう(かな|と思|とおも|よ)|しんだ(ほうが|方が)",
    r"(殺|ころ)して(ほしい|欲しい|ください|くれ)",
    r"(消|き)え(たい|たく|てしまいたい|ちゃいたい|てなくなりたい)",
    r"(いなく|居なく)(なりたい|なってしまいたい|なったほうが|なった方が|なれたら)",
    r"(消|き)え(てしまえたら|てしまえば|られたら|られれば)",
    r"生きる気(力)?が(しない|ない|起きない|おきない)|何もかも(どうでもいい|どうでもよく)",
    r"(私|わたし|僕|ぼく|俺|おれ|自分)(なんて|なんか)(いない|居ない|消え|死ん|生まれ)",
    r"自殺|自死|じさつ|希死念慮",
    r"生き(て|てる|ている|てく|ていく|る)?(の|こと)?(が|も|を)?(つら|辛|しんど|苦し|くるし|嫌|いや|疲れ|つかれ|やめ|止め)",
    r"生き(ていけな|ていく自信が|てい(る|く)意味|てる意味|る意味|る価値|てる価値|る気力|る希望|たくない|ていたくない|てたくない|ててもしょうがない|てても仕方)",
    r"生まれてこなければ|生まれてこなきゃ|生まれてきたくなかった",
    r"りすとかっと|りすか|あむか|自傷|自分を(傷つけ|きずつけ)",
    r"(手首|腕|うで)(を)?(切|き(っ|ら|り|ろ))",
    r"(?<![a-z])od(?![a-z])|おーばーどーず",
    r"薬を?(大量|たくさん|全部|ぜんぶ|ためて|貯めて|まとめて|いっぱい)",
    r"首(を)?(吊|つる|つろ|つり)|くびつり",
    r"飛び降り|とびおり|飛びおり|(電車|線路|ほーむ)に飛び込",
    r"練炭|れんたん",
    # 「質問はもう終わりにしたい」 ends a conversation, not a life.
    r"楽になりたい|(全部|ぜんぶ|全て|すべて|何もかも)終わりにしたい|(?<!は)もう終わりにしたい|人生(を)?終わ",
    r"(目覚め|目が覚め|めざめ|目がさめ)(たくない|なければ|なきゃ|ないで)",
    r"(朝|明日)が?(来|こ)な(ければ|きゃ)",
    r"遺書|命を?(絶|断)",
    r"この世(から|に)?(いなく|消え|去り|さよなら|おさらば)",
    r"逝き(たい|たく)",
    # Spaces are folded away, so English phrases are written without them.
    r"suicid|killmyself|wanttodie|wannadie|selfharm",
]

_DANGER_PATTERNS = [
    r"(?<!自)殺(す|され|さ(れ|な)|してやる|しに|害|人予告)|(?<![とこ])ころ(す|され|してやる|しに)",
    # 殺す written with a mask character (〇す, ●す) to get past word filters
    r"〇(す(ぞ|って|と|から|よ)|され|してやる)",
    r"しぇるたー|避難先|逃げ先",
    r"刺(す|され|さ(れ|な)|してやる|しに)",
    r"爆破|放火|(火|ひ)を(つけ|付け)",
    r"(今から|いまから|今夜|これから)(行く|いく|向かう)",
    r"押しかけ|押し掛け|おしかけ|うろつ",
    r"襲(う|われ|撃|い(に|か))|おそわれ|危害|暴力を(ふる|振る|受け)|殴(る|られ|り)|なぐ(る|られ)",
    r"監禁|拉致|誘拐|(?<![a-z])dv(?![a-z])",
    r"身の危険|命の危険|命(を|が)(狙|危|ねら)",
    r"(追いかけ|追い回)られ",
    r"(gps|位置情報)(を)?(つけ|付け|仕掛け|しかけ)",
]

# Someone following the user or turning up where they live: the answer 「家に来られたことはない」
# to the question whether anyone came is a no, so a negation right after these does not count.
_PRESENCE_PATTERNS = [
    r"つきまと|付きまと|付け回|つけまわ|(後|あと|跡)をつけ",
    r"すとーかー|すとーきんぐ|待ち伏せ|まちぶせ|待ちぶせ",
    r"(家|自宅|部屋|職場|玄関|会社|学校)(の前|の近く|のまわり|の周り|の外)(に|で|を)?(いる|い(た|ます|ないか|そう)|来|き(た|て)|うろつ|待って|立って)",
    r"(家|自宅|職場|住所|部屋)(まで|に)(来|き(た|て|ます|そう)|押しかけ|押し掛け|現れ|あらわれ|行く(ぞ|から|って|と))",
    r"(家|自宅|部屋|職場|玄関|会社)(の前|の近く|のまわり|の周り|の外)(に|で)?.{0,8}(人|男|女|誰か|だれか|車)が(いる|い(た|ます)|うろつ|立って|待って|止ま)",
    r"(知らない|しらない|見知らぬ)(人|男|女)が(家|玄関|部屋|うち)",
    # someone at the door: 「ドアの外にずっといる」「チャイムが鳴りっぱなし」
    r"(どあ|玄関|窓|まど|ベランダ|べらんだ)(の外|の前|の向こう|のそと)(に|で)?.{0,6}(いる|い(た|ます)|立って|待って|叩|たた)",
    r"(ちゃいむ|いんたーほん|インターホン)(が|を)?.{0,4}(鳴りっぱなし|なりっぱなし|鳴り続|なり続|連打|何度も)",
    r"(どあ|玄関)を?(叩|たた|こじ開|ガチャガチャ|がちゃがちゃ)",
]
# 「来てない」「来られたことはありません」, but not 「来ないで」 (they do come) or 「かもしれない」.
_NEGATED = re.compile(
    r"(は|も)?(い|われ|され|られ|れ)?(て|た)?(こと)?(は|も)?(い)?(ない(?!で(?!す)|よう|か)|ありません|なかった|ません)"
)

_SELF_HARM = re.compile("|".join(f"(?:{p})" for p in _SELF_HARM_PATTERNS))
_DANGER = re.compile("|".join(f"(?:{p})" for p in _DANGER_PATTERNS))
_PRESENCE = re.compile("|".join(f"(?:{p})" for p in _PRESENCE_PATTERNS))

# Everything that is neither a letter nor a digit; ー is kept because it is part of words.
_NOT_WORD = re.compile(r"[^\w\u30fc]|_")
_KATAKANA = re.compile("[\u30a1-\u30f6]")
# Circles that stand in for a censored letter, as in 〇す for 殺す.
_MASK = re.compile("[〇○●◯⚪⭕]")


def fold(text: str) -> str:
    """The text as the patterns see it: ﾀﾋ, タヒ and たひ all become たひ."""
    text = _MASK.sub("〇", unicodedata.normalize("NFKC", text).lower())
    text = _KATAKANA.sub(lambda match: chr(ord(match.group()) - 0x60), text)
    return _NOT_WORD.sub("", text)


def most_urgent(intents: Iterable[Optional[str]]) -> Optional[str]:
    """The safety intent to answer first among ``intents``, or None when there is none."""
    present = set(intents)
    return next((intent for intent in (SELF_HARM, DANGER) if intent in present), None)


def _presence(folded: str) -> bool:
    return any(not _NEGATED.match(folded, match.end()) for match in _PRESENCE.finditer(folded))


def signals(text: str) -> List[str]:
    """The safety intents the text signals, self-harm first; empty when none."""
    if not text:
        return []
    folded = fold(text)
    found = []
    if _SELF_HARM.search(folded):
        found.append(SELF_HARM)
    if _DANGER.search(folded) or _presence(folded):
        found.append(DANGER)
    return found
