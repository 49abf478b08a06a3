"""Reading what people type in answer to the assistant's questions.

Plain Python, no Rasa. One normaliser (``Message``: each clause of the text seen twice, as
typed and as it sounds in hiragana, so that 「スクショ撮ってある」 and 「すくしょとってある」 read
alike), one negation rule (``negated``) and a table of small readers, one per slot (``READERS``).

``read`` applies every reader of the slots asked about to one message:

- A reader names what the message says about its own subject (「ログインできない」 about
  logging in, 「3万円」 about the amount). Such a *cue* counts whether or not its question was
  asked, so an opening message or a reply fills every slot it answers.
- Bare answers (「はい」「まだです」「ないです」, an option's words, short free text) mean
  something only for the question just asked, and only in clauses no cue has claimed:
  「スクショは撮ってないけど、まだ続いてます」 asked about "still going on" is yes for that and
  no for the evidence.
- A skip (「スキップ」「わからない」) answers the question asked with ``unknown``.
- A pressed button (``/inform{"answer": ...}``) answers the question asked with its value.

A value of ``None`` is never returned; a slot missing from the result was not answered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from nettrouble.core import japanese
from nettrouble.core.money import parse_yen

YES = "yes"
NO = "no"
UNKNOWN = "unknown"
NOT_PAID = "not_paid"
NOTHING = "nothing"

# ---------------------------------------------------------------------------------------------
# The normaliser


def fold(text: str) -> str:
    """NFKC, lower case, katakana as hiragana: ｽｸｼｮ, スクショ and すくしょ are one word."""
    return japanese.hiragana(unicodedata.normalize("NFKC", text or "").lower()).strip()


# Clauses end at punctuation, at a line break and at the usual "but" and "and" joints;
# 「IDは入れてないけど、カード番号は入れた」 holds two answers.
_CLAUSE_END = re.compile(
    r"[、。!?！？\n;；]+|(?<![0-9])[,.]+|[,.]+(?![0-9])|(?<=[^\s])(?:けど|けれど|だけど|でも|ですが|ますが)"
)
_MAX_CHARS = 400


@dataclass(frozen=True)
class Clause:
    index: int
    folded: str
    reading: str

    def views(self) -> Tuple[str, ...]:
        return (self.folded, self.reading) if self.reading != self.folded else (self.folded,)


class Message:
    """A user's message cut into clauses, each folded and read aloud."""

    def __init__(self, text: str) -> None:
        self.text = unicodedata.normalize("NFKC", text or "")[:_MAX_CHARS]
        pieces = [piece.strip() for piece in _CLAUSE_END.split(self.text)]
        self.clauses = [
            Clause(index, fold(piece), japanese.reading(piece.lower()))
            for index, piece in enumerate(p for p in pieces if p)
        ]
        self.folded = fold(self.text)

    @property
    def short(self) -> bool:
        return len(self.folded) <= 15


@dataclass(frozen=True)
class Hit:
    clause: int
    end: int
    view: str


def find(pattern: "re.Pattern[str]", clause: Clause) -> Optional[Hit]:
    """The first match of ``pattern`` in the clause as typed, else as read aloud."""
    for view in clause.views():
        match = pattern.search(view)
        if match:
            return Hit(clause.index, match.end(), view)
    return None


def find_all(pattern: "re.Pattern[str]", message: Message) -> List[Hit]:
    return [hit for hit in (find(pattern, clause) for clause in message.clauses) if hit]


# ---------------------------------------------------------------------------------------------
# The negation rule: a negative ending closing the same clause soon after a cue.
# 「保存してません」「続いていない」「消してないです」「ドコモじゃないです」; not 「わからない」
# (a doubt), 「かもしれない」 or 「しかない」.
_NEGATION = re.compile(
    r"^[^、。]{0,8}?(?:(?<!わから)(?<!わかん)(?<!しれ)(?<!しか)(?<!知ら)(?<!しら)ない|なく(な|て)|ません|なかった|"
    r"ねー|ねえ|(?:じゃ|では)(?:な|ありま)|ず(?:に|で|$))"
)


def negated(hit: Optional[Hit]) -> bool:
    return hit is not None and bool(_NEGATION.match(hit.view[hit.end :]))


def _compile(pattern: str) -> "re.Pattern[str]":
    """Patterns see folded text, so their katakana is folded too: ドコモ matches どこも."""
    return re.compile(japanese.hiragana(pattern))


# ---------------------------------------------------------------------------------------------
# Bare answers, meaningful only for the question asked.

_SKIP_EXPLICIT = _compile(
    r"すきっぷ|skip|(?<![a-z])pass(?!word)|ぱす(?!わ|ぽ)|飛ばし|とばし|答えたくな|こたえたくな|"
    r"言いたくな|いいたくな|次へ|つぎへ|秘密|ひみつ|内緒|ないしょ|教えたくな|おしえたくな|伝えたくな"
)
_SKIP_VAGUE = _compile(
    r"わから|分から|判ら|わかん|わかりませ|分かりませ|判りませ|不明|ふめい|知らな|しらな|知りませ|しりませ|覚えてな|おぼえてな|忘れ(た|ちゃ|まし)|"
    r"わすれ(た|ちゃ|まし)|びみょう|微妙|なんとも|何とも|どうだろ|どうかな|さあ"
)
_BARE_NO = _compile(
    r"^(いいえ|いえ(?!の)|いや(?!が)|ううん|うーうん|うぅん|no(?![a-z])|ちが|違|ない|無い|なし|無し|"
    r"ありません|ぜんぜん|全然|特に(な|何も)|とくに(な|なにも)|何も|なにも|ゼロ|ぜろ|0(円|件)?$|未|してな|"
    r"してません|いない|いません|出てな|でてな|だめ)"
)
_BARE_YES = _compile(
    r"^(はい|はーい|うん|ええ|yes|ok|おk|おけ|そう|その通り|そのとおり|もちろん|ある|あります|あった|"
    r"ありました|あり|いる|います|もう?(した|しました|してる|してます)|した|しました|してる|してます|"
    r"できる|できます|でき(た|まし)|出てる|でてる|出て(い)?ます|でています|出ました|でました|ばっちり|"
    r"大丈夫|だいじょうぶ|済み|ずみ|すみ)"
)
# A short reply that ends like a yes or a no: 「一応あります」「たぶんないです」.
_BARE_END_NO = _compile(r"(ない|ません|なし|無し|なかった|ねー|ねえ)(です|でした|よ|ね|わ|な|かな)*$")
_BARE_END_YES = _compile(
    r"(ある|あります|あった|ありました|いる|います|してる|してます|できます|出てます|でてます)(よ|ね|けど)*$"
)
_BARE_END_CHARS = 12
# A request (「発行してください」「お願いします」) is no answer to a question about the user's
# situation, whatever intent the classifier gave it: affirm is not a yes there.
_REQUEST = _compile(r"(く|下)ださい|おねがい|お願い|してほしい|してもらえ")
# Words before a bare answer that change nothing: 「今のところ何もないです」「それはないです」.
_FILLER = re.compile(
    r"^(今のところ|いまのところ|今は|いまは|今も|いまも|特に|とくに|それは|そういうのは|まあ|えっと|えーと|うーん|あっ?[、,]|一応|いちおう)+"
)
_MADA = _compile(r"^まだ")
# Questions whose bare 「まだ」 means "still" (still going on, still up) rather than "not yet".
_MADA_MEANS_STILL = {"ongoing", "post_still_up", "can_login"}


_ASKS = _compile(r"[?？]|って(本当|ほんと)|教えて|おしえて|知りたい|しりたい")
# Question endings count at the end of the message only: 「よくわからないのですが、…」 is not one.
_QUESTION_END = _compile(r"(です|ます|でしょう|ない|できる|れる|いい|ある)か[。!！]?$|の[?？。]?$|かな[?？。]?$")


def asks_question(text: str) -> bool:
    """Whether the message asks something rather than only answering."""
    message = Message(text)
    if not message.clauses:
        return False
    # Question marks end clauses, so they are looked for in the text itself.
    return (
        "?" in message.text
        or any(find(_ASKS, clause) for clause in message.clauses)
        or bool(find(_QUESTION_END, message.clauses[-1]))
    )


def is_skip(text: str) -> bool:
    """An explicit skip anywhere, or a vague 「わからない」 in a short reply."""
    message = Message(text)
    return _skip(message)


def _skip(message: Message) -> bool:
    """An explicit skip anywhere; 「わからない」 when the reply is short or one of its clauses is
    little more than that (「金額はちょっとわかんないです。何件かあって」)."""
    if message.text.lstrip().startswith("/"):
        return False
    if any(find(_SKIP_EXPLICIT, clause) for clause in message.clauses):
        return True
    vague = [clause for clause in message.clauses if find(_SKIP_VAGUE, clause)]
    return bool(vague) and (message.short or any(len(clause.folded) <= 20 for clause in vague))


def bare_yes_no(slot: str, clauses: Iterable[Clause], intent: Optional[str] = None) -> Optional[str]:
    """はい / いいえ and their casual forms in clauses no cue has claimed."""
    for clause in clauses:
        text = _FILLER.sub("", clause.folded) or clause.folded
        if re.fullmatch(r"(いや|いえ|うーん)?まだ(です|だ|かな)?(けど|よ|ね|です)*", text):
            return YES if slot in _MADA_MEANS_STILL else NO
        short = len(text) <= _BARE_END_CHARS
        if _BARE_NO.search(text) or (short and _BARE_END_NO.search(text)):
            return NO
        if _BARE_YES.search(text) or (short and _BARE_END_YES.search(text)):
            return YES
    if intent == "affirm" and any(_REQUEST.search(clause.folded) for clause in clauses):
        return None
    return {"affirm": YES, "deny": NO}.get(intent or "")


# ---------------------------------------------------------------------------------------------
# Readers


@dataclass(frozen=True)
class Found:
    """What a message says for one slot, and the clauses that say it. A weak answer (a bare
    はい, a short free text) stands only for the question asked, and only when the message
    answers nothing else."""

    value: object
    clauses: Tuple[int, ...] = ()
    weak: bool = False


@dataclass
class Context:
    asked: bool
    trouble_type: Optional[str]
    intent: Optional[str]
    entities: Sequence[Mapping[str, Any]]
    known: Mapping[str, object] = field(default_factory=dict)


Reader = Callable[[Message, Context], Optional[Found]]


@dataclass(frozen=True)
class YesNoCues:
    """Words that answer a yes/no question by naming its subject; a negation flips them."""

    yes: "re.Pattern[str]"
    no: "re.Pattern[str]"
    # Words that settle a no whatever follows: 「撮り忘れました」.
    firm_no: Optional["re.Pattern[str]"] = None


def _yes_no_reader(cues: YesNoCues) -> Reader:
    def read(message: Message, context: Context) -> Optional[Found]:
        # The last statement in the message wins: 「一度止まったけど、また続いてる」.
        verdict: Optional[Tuple[int, str]] = None
        for clause in message.clauses:
            if cues.firm_no and find(cues.firm_no, clause):
                verdict = (clause.index, NO)
                continue
            yes = find(cues.yes, clause)
            no = find(cues.no, clause)
            if yes and (not no or yes.end >= no.end):
                verdict = (clause.index, NO if negated(yes) else YES)
            elif no:
                verdict = (clause.index, YES if negated(no) else NO)
        return Found(verdict[1], (verdict[0],)) if verdict else None

    return read


_YES_NO = {
    "ongoing": YesNoCues(
        yes=_compile(
            r"続い|つづい|続け|つづけ|続く|つづく|今も|いまも|今でも|いまでも|毎日|まいにち|毎晩|まいばん|増え|ふえ|"
            r"えすかれ|止まらな|とまらな|やまな|ずっと|相変わらず|あいかわらず|"
            r"(今日|きょう|昨日|きのう|今朝|けさ)も|まだ(書|か|来|き|届|とど|言|い|送|おく|ある|あり|やって|され|出)|"
            r"(たまに|時々|ときどき)(.{0,6})(書|か|来|き|届|とど|言|い|あ)"
        ),
        no=_compile(
            r"止ま|とまっ|とまり|止ん|やんで|やんだ|おさま|収ま|終わっ|おわっ|終わり|おわり|なくなっ|"
            r"消え|きえ|落ち着|おちつ|静か|しずか|来なくな|こなくな|最近は(な|来|こ)|さいきんは(な|こ)"
        ),
    ),
    "evidence_saved": YesNoCues(
        yes=_compile(
            r"すくしょ|すくりーんしょっと|画面(を|は)?(保存|撮|と)|保存|ほぞん|撮っ|撮影|さつえい|撮れ|"
            r"控え|ひかえ|めも|録画|ろくが|とって(あ|お|る|ま)|とりました|とった|残して|のこして|記録|きろく|"
            r"url(を|は|も)?(控|ひか|めも|保存|ほぞん|こぴ|コピ)|証拠(は|を|も)?(あ|残|と|集)|しょうこ(は|を|も)?(あ|の|と)"
        ),
        # 「スクショはまだです」「保存もまだで」: まだ closing the subject is "not yet" (and it wins
        # over the subject's name, which comes first), unlike 「まだ残してあります」.
        no=_compile(
            r"撮れなかった|とれなかった|撮りそこ|とりそこ|(は|も)まだ(です|でした|だ|で|。|、|！|!|$)|"
            r"^まだ(です|でした|だ|で)?(。|！|!)?$"
        ),
        firm_no=_compile(r"忘れ|わすれ|消しちゃ|けしちゃ|消してしま|けしてしま|消えちゃ|きえちゃ"),
    ),
    "offline_contact": YesNoCues(
        yes=_compile(
            r"(家|いえ|うち|自宅|じたく|職場|しょくば|会社|かいしゃ|学校|がっこう|ばいと先|ばいとさき|実家|じっか)"
            r"(に|まで|の前|のまえ|の近く|のちかく)(.{0,6})(来|き(た|て|ま)|こられ|こら|現れ|あらわれ)|"
            r"待ち伏せ|まちぶせ|つきまと|付きまと|(手紙|てがみ|電話|でんわ|荷物|にもつ)(が|を)(来|き|かか|届|とど|送)|"
            r"直接(連絡|れんらく|会い|あい)(が|に)?(来|き|あ)|ちょくせつ(れんらく|あい)(が|に)?(き|あ)|訪ね|たずね|押しかけ|おしかけ|会いに(来|き)|あいにき|"
            r"見張|みは(ら|っ)|ついてこ|後をつけ|あとをつけ"
        ),
        no=_compile(r"(?!)"),
        # 「誰も来ていない」: the negation is the answer itself, not a turn of it.
        firm_no=_compile(r"(誰|だれ)も(来|こ|き)|何も(起|お)き|なにもおき|特に何も|とくになにも"),
    ),
    "post_still_up": YesNoCues(
        yes=_compile(r"(公開|こうかい)(した)?まま|残って|のこって|そのまま|まだ(あ|残|のこ|出|で|見|み|公開|こうかい)"),
        no=_compile(
            r"消し|けし|消した|削除|さくじょ|非公開|ひこうかい|鍵(を)?(かけ|付け|つけ)|かぎ(を)?(かけ|つけ)|"
            r"鍵垢|かぎあか|消えて|取り下げ|とりさげ|下げ(た|まし)|さげ(た|まし)|垢消し|あかけし"
        ),
    ),
    "can_login": YesNoCues(
        yes=_compile(
            r"(ろぐいん|ログイン)(は|が|も)?(まだ|今は|いまは|今も|いまも|一応|いちおう)?(でき|出来)|(入|はい)れ(る|ます|て)|(使|つか)え(る|ます|て)|"
            r"(まだ|今は|いまは)(ろぐいん|入れ|はいれ|使え|つかえ)|開け(る|ます)|ひらけ(る|ます)"
        ),
        no=_compile(
            r"(入|はい)れな|(使|つか)えな|締め出|しめだ|(ぱすわーど|パスワード|めーる|メール|電話番号)(を|が|も)?(変|か)え(ら|ちゃ)|"
            r"凍結|とうけつ|ろっく|乗っ取られて(入|はい)れ|開けな|ひらけな"
        ),
    ),
    "payments_linked": YesNoCues(
        yes=_compile(
            r"(かーど|くれか|クレカ|クレジット|くれじっと|決済|けっさい|paypay|ぺいぺい|口座|こうざ|支払い|しはらい|"
            r"d払い|でぃーばらい|銀行|ぎんこう)(.{0,8})(登録|とうろく|紐付|紐づ|ひもづ|連携|れんけい|入れて|いれて|つないで)|"
            r"登録して(る|い|あ|ま)|とうろくして|紐づけ|ひもづけ|紐付け"
        ),
        no=_compile(r"(?!)"),
        firm_no=_compile(r"(かーど|くれか|クレカ|決済|けっさい)(は|の|も)?(なし|無し|ない)|(何|なに)も(登録|とうろく)"),
    ),
    "money_lost": YesNoCues(
        yes=_compile(
            r"(?<!を)払っ|(?<!を)はらっ|支払っ|しはらっ|振り込ん|ふりこん|振込ん|取られ|とられ|盗られ|使われ|つかわれ|引かれ|ひかれ|"
            r"引き落と|ひきおと|引き出さ|ひきださ|抜かれ|ぬかれ|騙し取|だましと|送金|そうきん|買わされ|かわされ|"
            r"払わされ|はらわされ|買っちゃ|かっちゃ|払い?ました|はらいました|被害(が|は)?(出|で|あ)|ひがい(が|は)?(で|あ)|"
            r"損した|そんした|失っ|うしなっ|持っていかれ|もっていかれ"
        ),
        no=_compile(r"無事|ぶじ"),
        firm_no=_compile(
            r"被害(は|も)?(な|無)|ひがい(は|も)?な|(何|なに)も(取|払|盗|とら|はら|盗ら)|"
            r"(お金|おかね)(の(ほう|方))?(は|も|について)?(.{0,8})((何|なに)も)?(ない|なし|無い|無し)"
        ),
    ),
    "provider_contacted": YesNoCues(
        yes=_compile(
            r"(かーど会社|かーどがいしゃ|カード会社|決済|けっさい|paypay|ぺいぺい|銀行|ぎんこう|さぽーと|窓口|まどぐち|"
            r"運営|うんえい|こーるせんたー|問い合わせ|といあわせ|お店|おみせ|事業者|じぎょうしゃ|d払い|docomo|どこも)"
            r"(.{0,10})(連絡|れんらく|電話|でんわ|相談|そうだん|問い合わせ|問合せ|といあわせ|伝え|つたえ|報告|ほうこく|申告|しんこく)|"
            r"(かーど|カード|くれか)(を|は)?(止め|とめ|停止|ていし|利用停止)|"
            r"(連絡|れんらく|電話|でんわ|問い合わせ|といあわせ|相談|そうだん|報告|ほうこく)(は|も)?(し|済|ずみ)|止めてもら|とめてもら"
        ),
        no=_compile(r"(?!)"),
        firm_no=_compile(r"(連絡|れんらく|電話|でんわ)(は|も)?(まだ)"),
    ),
    "money_demanded": YesNoCues(
        yes=_compile(
            r"払え|はらえ|払わないと|はらわないと|払わなきゃ|はらわなきゃ|払って(くれ|ほし|くださ|って|と)|はらって(くれ|ほし|って)|"
            r"振り込め|ふりこめ|振り込んで(くれ|ほし|って)|要求|ようきゅう|求められ|もとめられ|請求|せいきゅう|"
            r"(金|かね|ぎふと|ギフト|カード|かーど|ぽいんと|お金|おかね)(を|が)?(.{0,6})(よこせ|寄こせ|送れ|おくれ|欲し|ほし|要求)|"
            r"(画像|がぞう|写真|しゃしん|動画|どうが)(を|も)?(もっと|さらに|追加で|ついかで)?(送れ|おくれ|送って|おくって)(って|と|こい)|"
            r"ゆすられ|ゆする|脅迫|きょうはく|恐喝|きょうかつ|(金|かね)(を)?(払|はら|出|だ)(せ|え)"
        ),
        no=_compile(r"(?!)"),
        firm_no=_compile(r"(何|なに)も(要求|ようきゅう|求め|もとめ|言われ|いわれ)"),
    ),
    "docomo_line": YesNoCues(
        yes=_compile(r"ドコモ|docomo|ahamo|あはも|irumo|いるも|eximo|えくしも|どこもの(回線|かいせん|けいたい|携帯)"),
        no=_compile(
            r"(?<![a-z])au(?![a-z])|えーゆー|そふとばんく|softbank|楽天(もばいる|モバイル)|らくてんもばいる|rakuten|"
            r"わいもばいる|y!mobile|ymobile|(?<![a-z])uq|povo|ぽゔぉ|linemo|らいんも|格安|かくやす|mvno|他社|たしゃ|"
            r"別の会社|べつのかいしゃ|海外|かいがい"
        ),
    ),
    "is_member": YesNoCues(
        yes=_compile(
            r"(?<!非)(?<!ひ)会員|(?<!ひ)かいいん|(?<!未)加入|(?<!み)かにゅう|(さぽーと|サポート)(に|は|も)?(入|はい)って|(月額|げつがく)(.{0,6})(払|はら)って|"
            r"(入|はい)って(る|ます|い)|契約して(る|ます)|けいやくして(る|ます)|使って(る|ます)|つかって(る|ます)|"
            r"利用して(る|ます)|りようして(る|ます)|加入済み|かにゅうずみ"
        ),
        no=_compile(
            r"未加入|みかにゅう|非会員|ひかいいん|知らなかった|しらなかった|初めて(知|聞)|はじめて(し|き)|(入|はい)ってな"
        ),
    ),
}
# 「間違いありません」 affirms, although it ends like a negation.
_CERTAIN = _compile(r"間違い(ない|なく|ありません|ございません)|まちがい(ない|なく|ありません)")


def _roles_for(trouble_type: Optional[str]) -> Sequence[Tuple[str, "re.Pattern[str]"]]:
    return _BULLYING_ROLES if trouble_type == "bullying" else _VICTIM_ROLES


_POSTER = _compile(
    r"(書いた|かいた|書き込んだ|かきこんだ|投稿した|とうこうした|載せた|のせた|上げた|あげた)(の)?(は|が)?(私|わたし|わたくし|自分|じぶん|僕|ぼく|俺|おれ)|"
    r"(私|わたし|わたくし|自分|じぶん|僕|ぼく|俺|おれ)(が|の方が)(書|か|投稿|とうこう|書き込|かきこ|載せ|のせ)|加害|かがい|"
    r"(書|か)いてしま|(書|か)いちゃ|書き込んでしま|かきこんでしま|投稿してしま|とうこうしてしま|"
    r"(悪口|わるぐち|中傷|ちゅうしょう)(.{0,6})(書|か)いた側|した側|しまった側"
)
_PARENT = _compile(
    r"(?<!ご)(?<!お)親(?!友|戚|切)|おや(?!つ|すみ)|保護者|ほごしゃ|子ども|子供|こども|娘|むすめ|息子|むすこ|うちの子|うちのこ|"
    r"お子|おこさん|長男|次男|長女|次女|ちょうなん|ちょうじょ|母親|父親|ははおや|ちちおや|(母|父|はは|ちち)です|ママ|まま(です|だ)|パパ|ぱぱ(です|だ)"
)
_TEACHER = _compile(
    r"先生|せんせい|教師|きょうし|教員|きょういん|担任|たんにん|学校関係|教諭|きょうゆ|職員|しょくいん|顧問|こもん"
)
_OTHER = _compile(
    r"家族|かぞく|友人|ゆうじん|友達|ともだち|友だち|知人|ちじん|知り合い|しりあい|同僚|どうりょう|代理|だいり|"
    r"(?<!自分の)(妻|夫|つま|おっと|彼女|かのじょ|彼氏|かれし|姉|妹|兄|弟|あね|いもうと|あに|おとうと|祖母|祖父|祖母|おばあ|おじい|姪|甥|めい|おい)(が|の|は)"
)
_SELF = _compile(
    r"本人|ほんにん|(?<!お)自分|じぶん|(?<!わ)私|わたし|わたくし|僕|ぼく|俺|おれ|あたし|うち(です|の(こと|悪口|わるぐち)|が)"
)
_STUDENT = _compile(
    r"本人|ほんにん|生徒|せいと|学生|がくせい|(?<!お)自分|じぶん|(?<!わ)私|わたし|僕|ぼく|俺|おれ|あたし|うち(です|が)"
)

_VICTIM_ROLES = (("poster", _POSTER), ("parent", _PARENT), ("other", _OTHER), ("self", _SELF))
_BULLYING_ROLES = (("teacher", _TEACHER), ("parent", _PARENT), ("student", _STUDENT))
# In an opening message, 「私」 alone often only tells whose phone it is; the role counts ahead
# only when the user says the trouble is about them.
_FIRST_PERSON = r"(自分|じぶん|私|わたし|わたくし|僕|ぼく|俺|おれ|あたし)"
_SELF_AHEAD = _compile(
    _FIRST_PERSON
    + r"の.{0,8}(こと|事|悪口|わるぐち|写真|しゃしん|画像|がぞう|動画|どうが|名前|なまえ|住所|じゅうしょ|顔|かお|噂|うわさ|"
    r"あかうんと|アカウント|個人情報|こじんじょうほう|裸|はだか)|"
    + _FIRST_PERSON
    + r"(が|は|も)?\s*(.{0,20})(書かれ|かかれ|言われ|いわれ|叩かれ|たたかれ|晒され|さらされ|中傷|ちゅうしょう|"
    r"ターゲット|たーげっと|標的|いじめ|撮られ|とられ|脅され|おどされ|からかわれ|無視され|むしされ|はぶられ|ハブられ)|"
    + _FIRST_PERSON
    + r"(について|に対して|にたいして|宛|あて)|"
    r"(対象|たいしょう|ターゲット|たーげっと|標的)(は|が)"
    + _FIRST_PERSON
    + "|"
    + _FIRST_PERSON
    + r"が(対象|たいしょう|ターゲット|たーげっと|標的)|"
    + _FIRST_PERSON
    + r"[\s、]*(は|も)?(中学生|ちゅうがくせい|高校生|こうこうせい|小学生|しょうがくせい|学生|がくせい|生徒|せいと|"
    r"中[1-3１-３]|高[1-3１-３]|ちゅう(いち|に|さん)|こう(いち|に|さん))"
)


def _read_role(message: Message, context: Context) -> Optional[Found]:
    poster = find_all(_POSTER, message)
    if poster and context.trouble_type != "bullying" and not negated(poster[0]):
        return Found("poster", (poster[0].clause,))
    for role, pattern in _roles_for(context.trouble_type):
        if role == "poster":
            continue
        hits = find_all(pattern, message)
        if not hits:
            continue
        if role in ("self", "student") and not context.asked:
            strong = find_all(_SELF_AHEAD, message)
            if not strong:
                continue
            hits = strong
        return Found(role, (hits[0].clause,))
    return None


_GRADE_NUMBERS = {
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5": 5,
    "6": 6,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "いち": 1,
    "に": 2,
    "さん": 3,
    "よん": 4,
    "し": 4,
    "ご": 5,
    "ろく": 6,
}
_LEVELS = {"小": "小学", "しょう": "小学", "中": "中学", "ちゅう": "中学", "高": "高校", "こう": "高校"}
_GRADE = _compile(
    r"(小学校?|中学校?|高校|高等学校|しょうがっこう|しょうがく|ちゅうがっこう|ちゅうがく|こうこう|(?<![a-z])[小中高]|しょう|ちゅう|こう)"
    r"\s*(?:の|生の)?\s*([1-6一二三四五六]|いち|に|さん|よん|ご|ろく)\s*(?:年|ねん|生|せい|$|(?=[^0-9]))"
)
_GRADE_LEVEL = _compile(
    r"(小学生|しょうがくせい|中学生|ちゅうがくせい|高校生|こうこうせい|大学生|だいがくせい|高専|こうせん|専門学校|せんもんがっこう)"
)
_LEVEL_NAMES = {
    "小学生": "小学生",
    "しょうがくせい": "小学生",
    "中学生": "中学生",
    "ちゅうがくせい": "中学生",
    "高校生": "高校生",
    "こうこうせい": "高校生",
    "大学生": "大学生",
    "だいがくせい": "大学生",
    "高専": "高専",
    "こうせん": "高専",
    "専門学校": "専門学校",
    "せんもんがっこう": "専門学校",
}
_AGE = _compile(r"(?<![0-9])([0-9]{1,2})\s*(歳|さい|才)")


def _level(prefix: str) -> Optional[str]:
    for key in sorted(_LEVELS, key=len, reverse=True):
        if prefix.startswith(key) or key in prefix[:3]:
            return _LEVELS[key]
    return None


_YEAR_ONLY = re.compile(r"(?<![0-9])([1-6一二三四五六])\s*(年生|ねんせい)")
_LEVEL_WORD = re.compile(r"(小学|しょうがく|中学|ちゅうがく|高校|こうこう)")


def _grade_of(text: str) -> Optional[str]:
    for match in _GRADE.finditer(text):
        level = _level(match.group(1))
        year = _GRADE_NUMBERS.get(match.group(2))
        if level and year and (level == "小学" or year <= 3):
            return f"{level}{year}年"
    # 「小学校の教員です。6年生の児童が…」: the school and the year apart.
    year_only, level_word = _YEAR_ONLY.search(text), _LEVEL_WORD.search(text)
    if year_only and level_word:
        level = _level(level_word.group(1))
        year = _GRADE_NUMBERS.get(year_only.group(1))
        if level and year and (level == "小学" or year <= 3):
            return f"{level}{year}年"
    level_only = _GRADE_LEVEL.search(text)
    if level_only:
        return _LEVEL_NAMES[level_only.group(1)]
    age = _AGE.search(text)
    if age and 6 <= int(age.group(1)) <= 22:
        return f"{int(age.group(1))}歳"
    return None


def _read_grade(message: Message, context: Context) -> Optional[Found]:
    # The typed text first: its digits survive; then the reading, for 「ちゅうに」.
    for clause in message.clauses:
        for view in clause.views():
            grade = _grade_of(view)
            if grade:
                return Found(grade, (clause.index,))
    grade = _grade_of(message.folded)  # the school and the year in different clauses
    if grade:
        return Found(grade)
    if context.asked and re.search(r"[0-9０-９]|年|ねん|生|せい|歳|さい|才|学|がく", message.folded):
        return _free_text(message, limit=15, intent=context.intent)
    return None


def mentions_minor(text: str) -> bool:
    """Whether the text speaks of a child or a pupil (school grades, an age under 18)."""
    message = Message(text)
    if find_all(_MINOR, message):
        return True
    grade = next((g for g in (_grade_of(c.folded) for c in message.clauses) if g), None)
    if grade and grade[:2] in ("小学", "中学", "高校"):
        return True
    age = _AGE.search(message.folded)
    return age is not None and int(age.group(1)) < 18


_MINOR = _compile(
    r"子ども|子供|こども|娘|むすめ|息子|むすこ|うちの子|うちのこ|お子|おこさん|生徒|せいと|児童|じどう|未成年|みせいねん|"
    r"(?<![a-z])(jk|jc|ds|js)(?![a-z])|小学|中学|高校|しょうがく|ちゅうがく|こうこう(?!く)|高専|こうせん"
)


def _items(pairs: Sequence[Tuple[str, "re.Pattern[str]"]], clause: Clause) -> List[str]:
    return [item for item, pattern in pairs if find(pattern, clause)]


_EXPOSED = (
    (
        "住所",
        _compile(
            r"住所|じゅうしょ|(?<!実)家(?!族|庭|電)|いえ(?!ない|ません)|自宅|じたく|最寄|もより|住んでる場所|すんでるばしょ|住まい|すまい"
        ),
    ),
    ("本名", _compile(r"本名|ほんみょう|(?<!店の)名前|なまえ|氏名|しめい|実名|じつめい|フルネーム|ふるねーむ")),
    (
        "勤務先・学校",
        _compile(
            r"勤務先|きんむさき|勤め先|つとめさき|職場|しょくば|会社|かいしゃ|学校|がっこう|学年|がくねん|クラス|くらす|バイト先|ばいとさき|大学|だいがく"
        ),
    ),
    ("顔写真", _compile(r"顔|かお|写真|しゃしん|画像|がぞう|動画|どうが|プリ|ぷり")),
    (
        "電話番号",
        _compile(r"電話番号|でんわばんごう|携帯(の)?番号|けいたいばんごう|番号|ばんごう|line(の)?id|ラインid|らいんid"),
    ),
    ("家族のこと", _compile(r"家族|かぞく|子ども|子供|こども|夫|妻|おっと|つま|両親|りょうしん")),
)
_EXPOSED_VERB = _compile(
    r"晒|さら(さ|し|す)|載せ|のせ|載っ|のっ|書かれ|かかれ|書き込|かきこ|出て|でて|出回|でまわ|公開|こうかい|特定|とくてい|"
    r"ばれ|バレ|流出|りゅうしゅつ|貼られ|はられ|拡散|かくさん|ばらされ|流され|ながされ|上げられ|あげられ|出され|だされ"
)


def _read_exposed(message: Message, context: Context) -> Optional[Found]:
    found: List[str] = []
    clauses: List[int] = []
    for clause in message.clauses:
        if not context.asked and not find(_EXPOSED_VERB, clause):
            continue
        items = [item for item in _items(_EXPOSED, clause) if item not in found]
        if items:
            found += items
            clauses.append(clause.index)
    if found:
        order = [item for item, _ in _EXPOSED]
        return Found("・".join(sorted(found, key=order.index)), tuple(clauses))
    return _free_text(message, intent=context.intent) if context.asked else None


_NOTICE_NONE = _compile(
    r"(届い|とどい|来|き|受け取っ|うけとっ|もらっ)て(は|も)?(い)?(な|ません)|(何|なに)も(届|とど|来|こ|き|ない)"
)
_NOTICES = (
    (
        "opinion_letter",
        _compile(
            r"意見照会|いけんしょうかい|照会書|しょうかいしょ|開示|かいじ|ぷろばいだ(から|より)|発信者情報|はっしんしゃじょうほう"
        ),
    ),
    (
        "lawsuit_threat",
        _compile(
            r"訴え|うったえ|訴訟|そしょう|裁判|さいばん|弁護士|べんごし|示談|じだん|慰謝料|いしゃりょう|内容証明|ないようしょうめい|"
            r"損害賠償|そんがいばいしょう|警察に(言|い)う|けいさつにいう|通報する|つうほうする"
        ),
    ),
)


def _read_notice(message: Message, context: Context) -> Optional[Found]:
    for clause in message.clauses:
        if find(_NOTICE_NONE, clause):
            return Found("none", (clause.index,))
        for value, pattern in _NOTICES:
            hit = find(pattern, clause)
            if hit and not negated(hit):
                return Found(value, (clause.index,))
    if context.asked and bare_yes_no("notice_received", message.clauses) == NO:
        return Found("none", weak=True)
    return None


_ENTERED = (
    (
        "password",
        _compile(
            r"ぱすわーど|パスワード|(?<![a-z])id(?![a-z])|あいでぃー|ろぐいん(情報|じょうほう)|暗証|あんしょう|(?<![a-z])pin(?![a-z])|認証こーど|にんしょうこーど"
        ),
    ),
    (
        "card",
        _compile(r"かーど|くれか|クレカ|card|口座|こうざ|銀行|ぎんこう|せきゅりてぃこーど|有効期限|ゆうこうきげん"),
    ),
    ("app", _compile(r"あぷり|アプリ|いんすとーる|インストール|apk|ぷろふぁいる|だうんろーど|ダウンロード")),
    (
        "personal",
        _compile(
            r"住所|じゅうしょ|氏名|しめい|名前|なまえ|電話番号|でんわばんごう|生年月日|せいねんがっぴ|個人情報|こじんじょうほう|めーるあどれす|免許|めんきょ|マイナンバー|まいなんばー"
        ),
    ),
)
_ENTERED_DONE = _compile(
    r"(入れ|いれ|入力|にゅうりょく|教え|おしえ|送っ|おくっ|打ち込|うちこ|登録|とうろく|いんすとーる|インストール|"
    r"だうんろーど|ダウンロード|入れて|書い|かい|打っ|うっ)"
)
_NOTHING = _compile(
    r"(何|なに)も(入力|にゅうりょく|入れ|いれ|して|押|お|触|さわ)|開いただけ|ひらいただけ|見ただけ|みただけ|"
    r"押しただけ|おしただけ|(入力|にゅうりょく|入れ|いれ)(は)?(して|て)(な|ま)"
)


def _read_entered(message: Message, context: Context) -> Optional[Found]:
    found: List[str] = []
    clauses: List[int] = []
    nothing: List[int] = []
    for clause in message.clauses:
        done = find(_ENTERED_DONE, clause)
        items = _items(_ENTERED, clause)
        if items and (done is None or not negated(done)) and (done or context.asked):
            if not find(_NOTHING, clause) or done and not negated(done):
                found += [item for item in items if item not in found]
                clauses.append(clause.index)
                continue
        if find(_NOTHING, clause) or (items and done and negated(done)):
            nothing.append(clause.index)
    if found:
        return Found(",".join(found), tuple(clauses))
    if nothing:
        return Found(NOTHING, tuple(nothing))
    if context.asked and (bare_yes_no("entered_info", message.clauses, context.intent) == NO):
        return Found(NOTHING, weak=True)
    return None


_SELLERS = (
    (
        "individual",
        _compile(
            r"個人|こじん|ふりま|フリマ|めるかり|メルカリ|らくま|ラクマ|やふおく|ヤフオク|じもてぃ|ジモティ|おーくしょん|"
            r"オークション|出品者|しゅっぴんしゃ|出品してた人|しゅっぴんしてたひと|売ってた人|うってたひと"
        ),
    ),
    (
        "business",
        _compile(
            r"(?<!フリマ)(?<!ふりま)(お店|おみせ|店|みせ|しょっぷ|ショップ|事業者|じぎょうしゃ|会社|かいしゃ|業者|ぎょうしゃ|"
            r"通販さいと|通販サイト|つうはんさいと|通販|つうはん|公式|こうしき|すとあ|ストア|amazon|あまぞん|楽天市場|らくてんいちば|企業|きぎょう)"
        ),
    ),
)


def _first_item(pairs: Sequence[Tuple[str, "re.Pattern[str]"]], message: Message) -> Optional[Found]:
    for value, pattern in pairs:
        hits = find_all(pattern, message)
        if hits:
            return Found(value, (hits[0].clause,))
    return None


def _read_seller(message: Message, context: Context) -> Optional[Found]:
    return _first_item(_SELLERS, message)


_SPREAD = _compile(
    r"出回|でまわ|載せられ|のせられ|載って|のって|上げられ|あげられ|(?<!を)投稿され|とうこうされ|拡散され|かくさんされ|"
    r"ばらまかれ|ばら撒かれ|晒され|さらされ|公開され|こうかいされ|(ねっと|ネット|sns|えすえぬえす)(に|で|上に)(.{0,4})(出|で|あが|上が|流|なが)|"
    r"貼られ|はられ|流され|ながされ|広まっ|ひろまっ|出て(る|い|ま)|でて(る|い|ま)"
)
_THREAT = _compile(
    r"脅|おど(さ|し|す)|ばらまく|ばら撒く|ばらす|拡散する|かくさんする|晒す|さらす|載せる|のせる|公開する|こうかいする|"
    r"流す|ながす|送る(ぞ|って|と)|おくる(ぞ|って|と)|(ねっと|ネット)に(上げ|あげ|載せ|のせ)る|言いふらす|いいふらす|"
    r"払わないと|はらわないと|送らないと|おくらないと"
)


def _read_image(message: Message, context: Context) -> Optional[Found]:
    for clause in message.clauses:
        spread = find(_SPREAD, clause)
        if spread and negated(spread):
            return Found("threatened", (clause.index,))  # 「まだ出回ってはいない」
        if spread:
            return Found("spread", (clause.index,))
    threat = find_all(_THREAT, message)
    if threat:
        return Found("threatened", (threat[0].clause,))
    if context.asked and any(find(_MADA, clause) for clause in message.clauses):
        return Found("threatened", weak=True)
    return None


def _entity(entities: Iterable[Mapping[str, Any]], name: str) -> Optional[str]:
    return next((str(e.get("value")) for e in entities or () if e.get("entity") == name and e.get("value")), None)


_PLATFORMS = (
    ("掲示板", _compile(r"掲示板|けいじばん|裏さいと|うらさいと|裏サイト")),
    ("ブログ", _compile(r"ぶろぐ|ブログ")),
)


def _read_platform(message: Message, context: Context) -> Optional[Found]:
    entity = _entity(context.entities, "sns_platform")
    if entity:
        return Found(entity)
    named = _first_item(_PLATFORMS, message)
    if named:
        return named
    return _free_text(message, intent=context.intent) if context.asked else None


_PAYMENT_WORDS = (
    (
        "ギフトカード",
        _compile(
            r"ぎふと|ギフト|あまぎふ|アマギフ|itunes|あいちゅーんず|google ?play|ぐーぐるぷれい|ぷりぺいど|プリペイド|webmoney|うぇぶまねー|びとけっと"
        ),
    ),
    ("銀行振込", _compile(r"振り?込|ふりこ|振込|送金|そうきん|口座に|こうざに")),
    ("コンビニ払い", _compile(r"こんびに|コンビニ")),
    (
        "クレジットカード",
        _compile(r"くれか|クレカ|くれじっと|クレジット|かーど(で|払い|ばらい|決済)|カード(で|払い|決済)"),
    ),
    (
        "キャリア決済",
        _compile(r"きゃりあ|キャリア|携帯(料金|代)|けいたい(りょうきん|だい)|スマホ(料金|代)|すまほ(りょうきん|だい)"),
    ),
    ("暗号資産", _compile(r"暗号資産|あんごうしさん|仮想通貨|かそうつうか|ビットコイン|びっとこいん")),
    ("後払い", _compile(r"後払い|あとばらい")),
    # Payment apps as they are said, for messages written in kana: the entity extractor names
    # them when written as on their logos (PayPay, d払い), with the same canonical names.
    ("PayPay", _compile(r"ぺいぺい")),
    ("d払い", _compile(r"でぃーばらい|でーばらい|でぃー払い")),
    ("楽天ペイ", _compile(r"らくてんぺい")),
    ("メルペイ", _compile(r"めるぺい")),
    ("LINE Pay", _compile(r"らいんぺい")),
    ("au PAY", _compile(r"えーゆーぺい|あうぺい")),
)
_NOT_PAID = _compile(
    r"(払|はら|支払|しはら|振り込ん|ふりこん|振込ん)(っ)?て(は|も)?(い)?(な|ません)|まだ(払|はら|支払|しはら)|(払|はら)って(ない|ません)"
)


def _read_payment(message: Message, context: Context) -> Optional[Found]:
    entity = _entity(context.entities, "payment_service")
    words = _first_item(_PAYMENT_WORDS, message)
    # 「コンビニでギフトカードを買った」 paid with a gift card; the entity extractor may say コンビニ.
    if words and words.value == "ギフトカード":
        return words
    if entity:
        return Found(entity)
    if words:
        return words
    if context.asked:
        if any(find(_NOT_PAID, clause) for clause in message.clauses):
            return Found(NOT_PAID)
        return _free_text(message, intent=context.intent)
    return None


_AMOUNT_CUE = _compile(r"[0-9〇一二三四五六七八九十百千万億]\s*(万|千|円|えん)|[¥￥]\s*[0-9]")
_KANA_NUMBERS = [
    ("じゅう", "十"),
    ("ひゃく", "百"),
    ("びゃく", "百"),
    ("ぴゃく", "百"),
    ("せん", "千"),
    ("ぜん", "千"),
    ("まん", "万"),
    ("いち", "一"),
    ("さん", "三"),
    ("よん", "四"),
    ("ろく", "六"),
    ("なな", "七"),
    ("はち", "八"),
    ("きゅう", "九"),
    ("に", "二"),
    ("ご", "五"),
]
_KANA_AMOUNT = _compile(
    r"((?:じゅう|ひゃく|びゃく|ぴゃく|せん|ぜん|まん|いち|さん|よん|ろく|なな|はち|きゅう|に|ご|[0-9])+)えん"
)


def _kana_yen(text: str) -> Optional[int]:
    """「さんまんえん」「いちまんごせんえん」: amounts typed in kana."""
    match = _KANA_AMOUNT.search(text)
    if not match:
        return None
    spelled = match.group(1)
    for kana, kanji in _KANA_NUMBERS:
        spelled = spelled.replace(kana, kanji)
    return parse_yen(spelled + "円")


# 「5万じゃなくて3万円でした」: the amount after the correction counts.
_CORRECTED = re.compile(r"(じゃなく|ではなく|でなく|じゃなかっ|ではなかっ)(て|で)?")


def amount_in(message: Message) -> Optional[Found]:
    for clause in message.clauses:
        parts = _CORRECTED.split(clause.folded)
        if len(parts) > 1:
            value = parse_yen(parts[-1])
            if value is not None:
                return Found(value, (clause.index,))
    for clause in message.clauses:
        if find(_AMOUNT_CUE, clause) or re.fullmatch(r"[0-9,]+", clause.folded):
            value = parse_yen(clause.folded)
            if value is not None:
                return Found(value, (clause.index,))
        value = _kana_yen(clause.folded)
        if value is not None:
            return Found(value, (clause.index,))
    return None


_DEMAND_ONLY = _compile(
    r"請求|せいきゅう|払え|はらえ|払って(くれ|ほし|くださ|って|と)|要求|ようきゅう|求められ|もとめられ|払わないと|はらわないと|"
    r"(と|って)(言われ|いわれ|来|き|書いて|かいて)"
)


def _read_amount(message: Message, context: Context) -> Optional[Found]:
    amount = amount_in(message)
    plan_asks_loss = context.trouble_type in ("phishing", "billing_scam")
    if amount is not None:
        if context.asked or not plan_asks_loss:
            # A demanded sum is not a loss: 「10万円払えと言われた」.
            if not context.asked and find_all(_DEMAND_ONLY, message) and not _says_loss(message):
                return None
            return amount
        if _says_loss(message) or context.known.get("money_lost") == YES:
            return amount
        return None
    if context.asked:
        lost = _YES_NO["money_lost"]
        said = _yes_no_reader(lost)(message, context)
        if said and said.value == NO:
            return Found(0, said.clauses)
        if bare_yes_no("money_amount", message.clauses) == NO:
            return Found(0, weak=True)
    return None


def _says_loss(message: Message) -> bool:
    said = _yes_no_reader(_YES_NO["money_lost"])(message, Context(False, None, None, ()))
    return said is not None and said.value == YES


# Replies that are not the name of anything: a yes, a thank-you, a carrier, a wish to stop.
_NOT_A_NAME = _compile(
    r"お願い|おねがい|合って|あって(ます|る)|やめ|結構|けっこう|大丈夫|だいじょうぶ|ありがと|すみません|了解|りょうかい|"
    r"どこも|ドコモ|docomo|(?<![a-z])au(?![a-z])|そふとばんく|楽天もばいる|電話|でんわ|担当|スタッフ|人と話"
)
_NOT_A_NAME_INTENTS = {"affirm", "deny", "thank", "greet", "goodbye", "cancel", "request_human"}


def _free_text(message: Message, limit: int = 30, intent: Optional[str] = None) -> Optional[Found]:
    """A short answer kept as typed (the name of a board, a payment app), when it is one clause
    of words rather than a yes, a no or a sentence about something else."""
    cleaned = " ".join(message.text.split())
    cleaned = re.sub(r"(です|でした|だよ|だと思います|だと思う|かな|ですね|ですかね)[。.!！]*$", "", cleaned).strip()
    if not cleaned or len(cleaned) > limit or cleaned.startswith("/") or len(message.clauses) > 1:
        return None
    if intent in _NOT_A_NAME_INTENTS or find(_NOT_A_NAME, message.clauses[0]):
        return None
    if bare_yes_no("", message.clauses) is not None and len(cleaned) <= 5:
        return None
    return Found(cleaned, weak=True)


def _yes_no(slot: str) -> Reader:
    reader = _yes_no_reader(_YES_NO[slot])

    def read(message: Message, context: Context) -> Optional[Found]:
        return reader(message, context)

    return read


def _read_money_lost(message: Message, context: Context) -> Optional[Found]:
    said = _yes_no_reader(_YES_NO["money_lost"])(message, context)
    if said is None and find_all(_NOT_PAID, message):
        return Found(NO, tuple(h.clause for h in find_all(_NOT_PAID, message)))
    if said is None and context.asked and find_all(_DEMAND_ONLY, message):
        # 「10万払えって言われてるんです」 in answer to "have you paid?": asked, not paid.
        return Found(NO, tuple(h.clause for h in find_all(_DEMAND_ONLY, message)))
    return said


# Unasked, a carrier's name says which line the user has only as their own: 「ドコモです」
# 「auを使ってます」, not 「ドコモの営業時間は？」.
_OWN_LINE = _compile(
    r"(どこも|docomo|ahamo|あはも|(?<![a-z])au(?![a-z])|そふとばんく|softbank|楽天(もばいる|モバイル)|らくてんもばいる|"
    r"わいもばいる|ymobile|(?<![a-z])uq|povo|linemo|格安(sim|すまほ)|かくやす)"
    r"(です|だよ|だけど|ですけど|ですが|の(回線|かいせん|携帯|けいたい|すまほ|スマホ|ユーザー|ゆーざー)|回線|かいせん|ユーザー|ゆーざー|"
    r"を(使|つか)|(使|つか)って|(契約|けいやく)|に(入|はい)って)"
)


# Unasked, membership is said only in its own words: 「ドコモ使ってます」 is about the line.
_MEMBER_WORDS = _compile(
    r"会員|かいいん|加入|かにゅう|(さぽーと|サポート)(には|にも|に|は|を|も)?(入|はい|使|つか|契約|けいやく)"
)


def _read_member(message: Message, context: Context) -> Optional[Found]:
    if not context.asked and not find_all(_MEMBER_WORDS, message):
        return None
    return _yes_no_reader(_YES_NO["is_member"])(message, context)


def _read_docomo(message: Message, context: Context) -> Optional[Found]:
    if not context.asked and not find_all(_OWN_LINE, message):
        return None
    return _yes_no_reader(_YES_NO["docomo_line"])(message, context)


READERS: Dict[str, Reader] = {
    "platform": _read_platform,
    "user_role": _read_role,
    "child_grade": _read_grade,
    "ongoing": _yes_no("ongoing"),
    "evidence_saved": _yes_no("evidence_saved"),
    "exposed_info": _read_exposed,
    "offline_contact": _yes_no("offline_contact"),
    "notice_received": _read_notice,
    "post_still_up": _yes_no("post_still_up"),
    "can_login": _yes_no("can_login"),
    "payments_linked": _yes_no("payments_linked"),
    "entered_info": _read_entered,
    "money_lost": _read_money_lost,
    "money_amount": _read_amount,
    "payment_method": _read_payment,
    "provider_contacted": _yes_no("provider_contacted"),
    "seller_type": _read_seller,
    "image_status": _read_image,
    "money_demanded": _yes_no("money_demanded"),
    "docomo_line": _read_docomo,
    "is_member": _read_member,
}

YES_NO_SLOTS = frozenset(
    {
        "ongoing",
        "evidence_saved",
        "offline_contact",
        "post_still_up",
        "can_login",
        "payments_linked",
        "money_lost",
        "provider_contacted",
        "money_demanded",
        "docomo_line",
        "is_member",
    }
)

# The values a button may send for each closed question (``/inform{"answer": "..."}``); the
# open questions (platform, payment method, exposed information, grade) take short free text.
CHOICES: Dict[str, FrozenSet[str]] = {
    **{slot: frozenset({YES, NO}) for slot in YES_NO_SLOTS},
    "user_role": frozenset({"self", "parent", "other", "poster", "student", "teacher"}),
    "notice_received": frozenset({"opinion_letter", "lawsuit_threat", "none"}),
    "entered_info": frozenset({"password", "card", "app", "personal", NOTHING}),
    "seller_type": frozenset({"business", "individual"}),
    "image_status": frozenset({"spread", "threatened"}),
}


def _button_value(slot: str, value: str) -> Optional[object]:
    if value == UNKNOWN:
        return UNKNOWN
    if slot in CHOICES:
        return value if value in CHOICES[slot] else None
    if slot == "money_amount":
        return parse_yen(value) if value.strip() not in ("0", "0円") else 0
    if slot == "child_grade":
        return _grade_of(fold(value)) or (value.strip() or None)
    cleaned = value.strip()
    return cleaned if 0 < len(cleaned) <= 40 else None


EXPOSED_ITEMS = tuple(item for item, _ in _EXPOSED)


def items_of(slot: str, value: object) -> List[str]:
    """The items of a several-item answer (exposed_info, entered_info), whose names may hold
    the separator themselves (勤務先・学校)."""
    if not isinstance(value, str):
        return []
    if slot == "entered_info":
        return value.split(",")
    found, rest = [], value
    for item in sorted(EXPOSED_ITEMS, key=len, reverse=True):
        if item in rest:
            found.append(item)
            rest = rest.replace(item, "")
    leftover = [part for part in rest.split("・") if part]
    return found + leftover


def valid(slot: str, value: object) -> bool:
    """Whether ``value`` is one the readers give for ``slot`` (a forged one is not)."""
    if value is None:
        return False
    if value == UNKNOWN:
        return True
    if slot == "entered_info":
        return isinstance(value, str) and all(part in CHOICES[slot] for part in value.split(","))
    if slot in CHOICES:
        return value in CHOICES[slot]
    if slot == "money_amount":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 10_000_000_000
    if slot == "payment_method" and value == NOT_PAID:
        return True
    return isinstance(value, str) and 0 < len(value) <= 40 and not value.startswith("/")


def read(
    text: str,
    slots: Sequence[str],
    asked: Optional[str] = None,
    *,
    intent: Optional[str] = None,
    entities: Sequence[Mapping[str, Any]] = (),
    trouble_type: Optional[str] = None,
    known: Optional[Mapping[str, object]] = None,
) -> Dict[str, object]:
    """What the message answers among ``slots``; ``asked`` is the question just asked, if any."""
    known = dict(known or {})
    pressed = _entity(entities, "answer")
    if pressed is not None:
        if asked is None:
            return {}
        value = _button_value(asked, pressed)
        return {} if value is None else {asked: value}

    if (text or "").lstrip().startswith("/"):
        # A button without an answer value (/affirm, /deny) answers a yes/no question asked.
        said = {"affirm": YES, "deny": NO}.get(intent or "")
        return {asked: said} if said and asked in YES_NO_SLOTS else {}
    message = Message(_CERTAIN.sub("はい", unicodedata.normalize("NFKC", text or "")))
    if not message.clauses:
        return {}
    result: Dict[str, object] = {}
    claimed: Set[int] = set()
    for slot in slots:
        if slot == asked:
            continue
        found = READERS[slot](message, Context(False, trouble_type, intent, entities, known))
        if found is not None:
            result[slot] = found.value
            claimed.update(found.clauses)
    if result.get("money_lost") == YES:
        known["money_lost"] = YES
    if (
        "money_amount" in slots
        and "money_amount" not in result
        and known.get("money_lost") == YES
        and asked != "money_amount"
    ):
        amount = amount_in(message)
        if amount is not None:
            result["money_amount"] = amount.value
    if asked is not None:
        context = Context(True, trouble_type, intent, entities, known)
        found = READERS[asked](message, context)
        free = [clause for clause in message.clauses if clause.index not in claimed]
        if found is not None and not found.weak:
            result[asked] = found.value
        elif _skip(message) and (message.short or not result):
            result[asked] = UNKNOWN
        elif found is not None and not result:
            # A bare or free answer stands for the question asked only if the message answered
            # nothing else: 「今は止まっています」 is not a school grade.
            result[asked] = found.value
        elif asked in YES_NO_SLOTS:
            bare = bare_yes_no(asked, free, intent if not result else None)
            if bare is not None:
                result[asked] = bare
        if asked == "money_lost" and result.get(asked) == YES and "money_amount" in slots:
            amount = amount_in(message)
            if amount is not None:
                result.setdefault("money_amount", amount.value)
    return {slot: value for slot, value in result.items() if slot in slots or slot == asked}


_ADVISER = _compile(
    r"消費者?生活(あどばいざー|アドバイザー|相談員|専門相談員|こんさるたんと)|しょうひせいかつ(あどばいざー|そうだんいん)"
)


def asks_for_adviser(text: str) -> bool:
    """Whether the text asks for a 消費生活アドバイザー (or 相談員), whose consultations are paid."""
    return bool(find_all(_ADVISER, Message(text)))
