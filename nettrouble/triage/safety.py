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

from nettrouble.core import japanese

SELF_HARM = "urgent_self_harm"
DANGER = "urgent_danger"

# Matched against folded text: NFKC, lower case, katakana as hiragana, no spaces or symbols.
_SELF_HARM_PATTERNS = [
    # 死にたい and its slang and typo spellings (しにたい, ﾀﾋにたい, 4にたい, 氏にたい, 死にたみ)
    r"(死|し|氏|4|たひ)に(たい|たく|たす|たみ|たか|てえ|てぇ)",
    r"(死|し)に(たさ|ます(?!か))|(死|し)ね(る|ない)?(方法|ほうほう)|(死|し)ぬ前に|しぬまえに|(消|き)えた(す|み)",
    r"死(のう|ねたら|ねば楽|ぬしか|ぬ方法|ぬほうほう|ぬつもり|ぬ気|ぬこと|にそう|に方|にかた)",
    r"しぬ(しか|ほうほう|つもり|き(で|だ|です))|しねたら|しねばらく|しんだら(らく|楽)",
    r"(死|し)んで(しまい|しまおう|お詫び|おわび|楽|らく)|死んだ(ほうが|方が|ら楽)",
    r"(もう|いっそ)(死|し)ぬ(?!ほど)|しのう(かな|と思|とおも|よ)|しんだ(ほうが|方が)|しにかた|しぬほうほう",
    r"(殺|ころ)して(ほしい|欲しい|ください|くれ)",
    r"(消|き)え(たい|たく|てしまいたい|ちゃいたい|てなくなりたい)",
    r"(いなく|居なく)(なりたい|なってしまいたい|なったほうが|なった方が|なれたら)",
    r"(消|き)え(てしまえたら|てしまえば|られたら|られれば|てもいい)",
    r"生きる気(力)?が(しない|ない|起きない|おきない)|何もかも(どうでもいい|どうでもよく)",
    r"(私|わたし|わたくし|あたし|僕|ぼく|俺|おれ|自分|じぶん)(なんて|なんか)(いない|居ない|消え|きえ|死ん|しん|生まれ|うまれ)|"
    r"(いない|いなくなった)(ほう|方)が(いい|まし)",
    r"自殺|自死|じさつ|希死念慮|きしねんりょ",
    r"生き(て|てる|ている|てく|ていく|る)?(の|こと)?(が|も|を)?(つら|辛|しんど|苦し|くるし|嫌|いや|疲れ|つかれ|やめ|止め)",
    r"生き(ていけな|ていく自信が|てい(る|く)意味|てる意味|る意味|る価値|てる価値|る気力|る希望|たくない|ていたくない|てたくない|ててもしょうがない|てても仕方)",
    r"いき(ていけな|ていくじしんが|てるいみ|ているいみ|るいみ|るかち|てるかち|るきりょく|るきぼう|ていたくない|てたくない|ててもしょうがな|ててもしかたな)|"
    r"いきるの(を|が|に|も)?(やめ|つら|しんど|くるし|いや|つかれ|疲れ)|いきてるのが(つら|しんど|くるし|いや)|生きるの(に|が)?(疲|つか)れ",
    r"生まれてこなければ|生まれてこなきゃ|生まれてきたくなかった",
    r"りすとかっと|りすか|あむか|自傷|じしょう(が|を)?(こうい|して|しちゃ|ぐせ|癖|やめ)|自分を(傷つけ|きずつけ)|じぶんをきずつけ",
    r"(手首|てくび|腕|うで)(を)?(切|き(っ|ら|り|ろ))",
    r"(?<![a-z])od(?![a-z])|おーばーどーず",
    r"(薬|くすり)を?(大量|たいりょう|たくさん|全部|ぜんぶ|ためて|貯めて|まとめて|いっぱい)",
    r"首(を)?(吊|つる|つろ|つり)|くび(を)?(つる|つろ|つり)|くびつり",
    r"飛び降り|とびおり|飛びおり|(電車|線路|ほーむ)に飛び込",
    r"練炭|れんたん",
    # 「質問はもう終わりにしたい」 ends a conversation, not a life.
    r"楽になりたい|らくになりたい|(全部|ぜんぶ|全て|すべて|何もかも|なにもかも)(終|お)わりにしたい|(?<!は)もう(終|お)わりにしたい|"
    # Ending one's life on purpose; 「人生終わった」 alone is everyday exaggeration (two
    # independent writers of test messages both used it so).
    r"(人生|じんせい)(を)?(終|お)わ(らせ|りにし)",
    r"(目覚め|目が覚め|めざめ|目がさめ|めがさめ)(たくない|なければ|なきゃ|ないで)",
    # 「明日になったらもういないかもしれない」
    r"(明日|あした|あす)(に(なったら|は))?.{0,6}(もう)?(いない|居ない)(かも|と思|とおも|だろう)|(もう|この世に|このよに)(いない|居ない)かも",
    r"(朝|明日|あさ|あした)が?(来|こ)な(ければ|きゃ)",
    r"遺書|いしょ(を)?(か(い|き|く)|のこ)|命を?(絶|断)|いのちを?たつ|いのちをたち",
    r"(この世|このよ)(から|に)?(いなく|いない|消え|きえ|去り|さり|さよなら|おさらば)",
    r"逝き(たい|たく)|(いなく|消え|きえ)(たい|ちゃいたい)",
    # Spaces are folded away, so English phrases are written without them.
    r"suicid|killmyself|wanttodie|wannadie|selfharm",
]

_DANGER_PATTERNS = [
    r"(?<!自)殺(す|され|さ(れ|な)|してやる|しに|害|人予告)|(?<![とこ])ころ(す(?!でに|こし)|され|してやる|しに)|さつがい|さつじんよこく",
    # 殺す written with a mask character (〇す, ●す) to get past word filters
    r"〇(す(ぞ|って|と|から|よ)|され|してやる)",
    r"しぇるたー|避難先|逃げ先",
    r"刺(す|され|さ(れ|な)|してやる|しに)|さしに(い|行)く|(人|ひと)を(刺|さ)す",
    r"無差別|むさべつ|(爆弾|ばくだん)(を)?(仕掛|しかけ|置|お(く|い))",
    r"爆破|ばくは(?!つ)|放火|ほうか(する|します|して|やる|され)|(火|ひ)を(つけ|付け)",
    r"(今から|いまから|今夜|こんや|これから)(行く|いく|向かう|むかう)|(襲|おそ)いに(い|行)く",
    r"(家|いえ|住所|じゅうしょ)(は|も)?(わかって|分かって|知って|しって)(る|い)(から|ぞ|んだ)",
    r"押しかけ|押し掛け|おしかけ|うろつ",
    r"襲(う|われ|撃|い(に|か))|おそわれ|危害|きがいを|(暴力|ぼうりょく)を(ふる|振る|受け|うけ)|殴(る|られ|り)|なぐ(る|られ)",
    r"監禁|かんきん|拉致|らち(され|する|って)|誘拐|ゆうかい|(?<![a-z])dv(?![a-z])",
    r"身の危険|みのきけん|命の危険|いのちのきけん|(命|いのち)(を|が)?(狙|危|ねら|あぶ)",
    r"(追いかけ|追い回|おいかけ|おいまわ)(ら|さ)れ|おそう(ぞ|から|って)",
    r"(gps|位置情報)(を)?(つけ|付け|仕掛け|しかけ)",
]

# Someone following the user or turning up where they live: the answer 「家に来られたことはない」
# to the question whether anyone came is a no, so a negation right after these does not count.
_PRESENCE_PATTERNS = [
    r"つきまと|付きまと|付け回|つけまわ|(後|あと|跡)をつけ|(ずっと|だれかに|誰かに)(後を|あとを)?つけられ|つけられて(る|い)(きが|気が|みたい)",
    r"すとーかー|すとーきんぐ|待ち伏せ|まちぶせ|待ちぶせ",
    r"(家|自宅|部屋|職場|玄関|会社|学校|いえ|じたく|へや|しょくば|げんかん|かいしゃ|がっこう)(の前|の近く|のまわり|の周り|の外|のまえ|のちかく|のそと)"
    r"(に|で|を)?(ずっと)?(いる|い(た|ます|ないか|そう)|来|き(た|て)|うろつ|待って|まって|立って|たって)",
    r"(家|自宅|職場|住所|部屋|いえ|じたく|しょくば|へや)(まで|に)(来|き(た|て|ます|そう)|くる(って|と|ぞ|から|らしい)|押しかけ|押し掛け|おしかけ|現れ|あらわれ|行く(ぞ|から|って|と)|いく(ぞ|から|って))",
    r"(家|自宅|部屋|職場|玄関|会社|いえ|じたく|へや|しょくば|げんかん|かいしゃ)(の前|の近く|のまわり|の周り|の外|のまえ|のちかく|のそと)(に|で)?.{0,8}"
    r"(人|男|女|誰か|だれか|車|ひと|おとこ|おんな|くるま)が?(いる|い(た|ます)|うろつ|立って|たって|待って|まって|止ま|とま)",
    r"(人|男|誰か|だれか|車|ひと|おとこ|くるま)が(家|いえ|自宅|じたく|玄関|げんかん)(の前|のまえ|の近く|のちかく)(に|で)(止ま|とま|い(る|た)|立って|たって|待って|まって)",
    r"(知らない|しらない|見知らぬ|みしらぬ)(人|男|女|ひと|おとこ|おんな)が(家|玄関|部屋|うち|いえ|げんかん|へや)",
    # someone at the door: 「ドアの外にずっといる」「チャイムが鳴りっぱなし」
    r"(どあ|玄関|窓|まど|ベランダ|べらんだ)(の外|の前|の向こう|のそと)(に|で)?.{0,6}(いる|い(た|ます)|立って|待って|叩|たた)",
    r"(ちゃいむ|いんたーほん|インターホン)(が|を)?.{0,4}(鳴りっぱなし|なりっぱなし|鳴り続|なり続|連打|何度も)|(ちゃいむ|いんたーほん)(を|が)?(鳴ら|なら)(して|され)",
    r"(子ども|子供|こども|娘|むすめ|息子|むすこ)が.{0,24}(帰|かえ)って(こな|きませ|来な)",
    r"(どあ|玄関)を?(叩|たた|こじ開|ガチャガチャ|がちゃがちゃ)",
]
# 「来てない」「来られたことはありません」, but not 「来ないで」 (they do come) or 「かもしれない」.
_NEGATED = re.compile(
    r"(は|も)?(い|われ|され|られ|れ)?(て|た)?(り)?(という|とかいう|って)?(こと)?(は|も)?(し)?(て)?(い)?"
    r"(ない(?!で(?!す)|か)|ありません|なかった|ません)"
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


# Words that a message about a threat to life or to oneself nearly always holds in some form:
# death, harm, fear, someone coming, a place to end one's life, a limit reached. A classifier that hears danger
# in a message without any of them (「子どもの顔と名前を勝手に上げられている」) has learnt a
# spurious cue; the message is answered as what it is about instead.
_PLAUSIBLE = re.compile(
    r"死|しに|しぬ|しね|殺|(?<![とこ])ころ(す|さ|し)|消え|きえ|生き|いき(て|る|た)|命|いのち|危|あぶな|怖|こわ|助け|たすけ|"
    r"逃げ|にげ|くる(ぞ|って|から|と)|(誰|だれ)か(来|き)て|家|いえ|うち|住所|じゅうしょ|待ち|まち(ぶせ|伏)|つけ(られ|まわ)|"
    r"付け|つきまと|脅|おど(さ|し|す)|刺|さし(に|て)|爆|ばくは|ばくだん|襲|おそ(う|わ|い)|殴|なぐ|暴力|ぼうりょく|監禁|拉致|誘拐|ゆうかい|らち(さ|し)|かんきん|"
    r"警察|けいさつ|110|限界|げんかい|無理|むり|辛|つら|しんど|苦し|くるし|楽に|らくに|終わり|おわり|薬|くすり|飛び|とび(お|こ)|"
    r"首|くび|切|傷|きず|遺書|いしょ|自傷|じしょう|眠れ|ねむれ|いなく|居なく|最後|さいご|覗|のぞ|見て(る|い)|みてる|位置|いちじょうほう|"
    r"gps|外に|そとに|玄関|げんかん|どあ|窓|まど|ついて(く|こ)|帰って|かえって|呼び出|よびだ|会いに|あいに|燃や|もや|火|"
    r"痛い目|いたいめ|お前|おまえ|てめえ|許さ|ゆるさ|覚えて(ろ|お)|おぼえて(ろ|お)|復讐|ふくしゅう|やる(から|ぞ)|行く|いく(から|ぞ)|"
    r"無差別|むさべつ|予告|よこく|狙|ねら|体|からだ|けが|怪我|血|ち(が|を)|病院|びょういん|119|"
    r"すとーか|いんたーほん|ちゃいむ|尾行|びこう|閉じ込|とじこ|しぇるたー|居場所|いばしょ|気をつけろ|きをつけろ|〇|最寄|もより|"
    r"押しかけ|おしかけ|手紙|てがみ|たひ|4に|氏に|自殺|じさつ|りすか|りすとかっと|あむか|練炭|れんたん|いない(ほう|方)|生まれ|うまれ|"
    r"しの(う|か)|(?<![a-z])od(?![a-z])|おーばーどーず|目覚め|めざめ|目が覚め|めがさめ|来なければ|こなければ|来なきゃ|こなきゃ|"
    r"die|suicid|kill|しんで|死んで|しんだ|死んだ|しにたい|この世|このよ|いなくなり|希死|きし|疲れた|つかれた|もう(嫌|いや)|"
    r"いないかも|もういない|"
    # places people go to end their life: 「今ビルの屋上にいます」「線路の近くにいる」
    r"屋上|おくじょう|線路|せんろ|踏切|ふみきり|橋の上|はしのうえ|崖|がけ|高い(所|ところ)|たかいところ|ほーむの(端|はし)"
)


# Everyday exaggeration and other people's words are not about the user's life: 「しぬほど
# びっくりした」「消えてほしいってリプが来た」「死ねって言われた」.
_NOT_ABOUT_LIFE = re.compile(r"(死|し)ぬ(ほど|かと)|(消|き)えて(ほしい|ほし)|(死|し)ね(って|と)")


def plausible(text: str, reading: Optional[str] = None) -> bool:
    """Whether the text holds any word a danger or self-harm message would."""
    views = [fold(text), fold(japanese.reading(text) if reading is None else reading)]
    return any(_PLAUSIBLE.search(_NOT_ABOUT_LIFE.sub("", view)) for view in views)


def most_urgent(intents: Iterable[Optional[str]]) -> Optional[str]:
    """The safety intent to answer first among ``intents``, or None when there is none."""
    present = set(intents)
    return next((intent for intent in (SELF_HARM, DANGER) if intent in present), None)


def _presence(folded: str) -> bool:
    return any(not _NEGATED.match(folded, match.end()) for match in _PRESENCE.finditer(folded))


def signals(text: str, reading: Optional[str] = None) -> List[str]:
    """The safety intents the text signals, self-harm first; empty when none.

    The patterns see the text as typed and as it sounds (``reading``, in hiragana, computed
    when not given): 「ばくはよこく」 and 「爆破予告」, 「いえのまえにしらないひとがいる」 and
    「家の前に知らない人がいる」 are the same message."""
    if not text:
        return []
    views = [fold(text)]
    sounded = fold(japanese.reading(text) if reading is None else reading)
    if sounded not in views:
        views.append(sounded)
    found = []
    if any(_SELF_HARM.search(view) for view in views):
        found.append(SELF_HARM)
    if any(_DANGER.search(view) or _presence(view) for view in views):
        found.append(DANGER)
    return found
