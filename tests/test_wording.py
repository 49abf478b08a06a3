"""Every sentence the bot says is a response in domain.yml or comes from one messages module per
concern: the actions hold no Japanese text of their own, and the channels none outside
addons/channels/messages.py, so whoever edits a sentence finds it in one place. What counts as
wording, and what is documentation or a reading rule (a pattern matching what users type), is
the rule of scripts/wording_lines.py, which counts the lines still holding wording."""

import re
from pathlib import Path

from nettrouble.eligibility import messages, rules
from scripts.wording_lines import wording_lines, wording_literals
from tests import project_files

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = ROOT / "addons" / "channels"
CHANNEL_MESSAGES = CHANNELS / "messages.py"
# Modules of nettrouble/ that choose the response their values fill (by outcome or by reason).
RESPONSE_CHOOSERS = (
    "nettrouble/eligibility/messages.py",
    "nettrouble/triage/guidance.py",
    "nettrouble/content/articles.py",
)


def checked_modules():
    """The modules that must hold no wording: the actions, and the channels but their messages module."""
    return sorted((ROOT / "actions").glob("*.py")) + sorted(p for p in CHANNELS.glob("*.py") if p != CHANNEL_MESSAGES)


def wording_in(paths):
    return [
        f"{path.relative_to(ROOT)}:{first}: {text[:40]!r}"
        for path in paths
        for first, _, text in wording_literals(path.read_text(encoding="utf-8"))
    ]


def test_the_check_finds_a_sentence_but_not_a_docstring_or_comment():
    source = 'def f():\n    """説明です。"""\n    # 注記\n    return "こんにちは"\n'
    assert [(first, text) for first, _, text in wording_literals(source)] == [(4, "こんにちは")]


def test_the_check_finds_labels_formats_and_sentences_over_several_lines():
    source = (
        'LABEL = "読む"\n'
        "def call(phone):\n"
        '    return f"{phone}に電話する"\n'
        "NOTICE = (\n"
        '    "一行目です。"\n'
        '    "二行目です。"\n'
        ")\n"
    )
    assert wording_lines(source) == [1, 3, 5, 6]


def test_reading_rules_are_not_wording():
    source = (
        "import re\n"
        'YES = re.compile(r"はい|うん")\n'
        'DASH = "(?:ー|－)"\n'
        'KEYWORDS = {"停止": "stop", "開始": "start"}\n'
        'REQUEST_WORDS = {"記事", "事例"}\n'
        "def read(text):\n"
        '    return text == "はい" or text in ("いいえ", "いや") or text.endswith(("。", "！"))\n'
        'FOLD = {ord(c): "-" for c in "ー－"}\n'
    )
    assert wording_literals(source) == []


def test_no_action_or_channel_module_holds_japanese_text():
    modules = checked_modules()
    assert ROOT / "actions" / "eligibility.py" in modules and CHANNELS / "render_sms.py" in modules
    found = wording_in(modules)
    assert not found, "wording belongs in domain.yml or a messages module:\n" + "\n".join(found)


def test_the_check_fails_on_a_channel_module_given_a_sentence():
    source = (CHANNELS / "render_sms.py").read_text(encoding="utf-8") + '\nHINT = "番号でご返信ください。"\n'
    assert [text for _, _, text in wording_literals(source)] == ["番号でご返信ください。"]


def test_the_channels_wording_is_in_their_messages_module():
    assert len(wording_in([CHANNEL_MESSAGES])) > 20


def test_every_response_an_action_sends_is_in_the_domain():
    responses = set(project_files.domain()["responses"])
    sent = {
        name
        for path in (ROOT / "actions").glob("*.py")
        for name in re.findall(r'response="(utter_[a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    chosen = {
        name
        for path in RESPONSE_CHOOSERS
        for name in re.findall(r'"(utter_[a-z_]+)"', (ROOT / path).read_text(encoding="utf-8"))
    }
    assert sent and chosen and sent | chosen <= responses, sorted((sent | chosen) - responses)


def test_every_decision_of_the_free_consultation_check_has_its_response():
    assert set(messages.DECISION_RESPONSES) == set(rules.REASONS)
