"""Every sentence the bot says is a response in domain.yml or comes from a messages module of
nettrouble/: the actions hold no Japanese text of their own, so whoever edits a sentence finds it
in one place."""

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60]")


def japanese_literals(source: str):
    """(line, text) of each string literal with Japanese characters, docstrings left out."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and JAPANESE.search(node.value)
    ]


def test_the_check_finds_a_sentence_but_not_a_docstring_or_comment():
    source = 'def f():\n    """説明です。"""\n    # 注記\n    return "こんにちは"\n'
    assert japanese_literals(source) == [(4, "こんにちは")]


def test_no_action_holds_japanese_text():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text[:40]!r}"
        for path in sorted((ROOT / "actions").glob("*.py"))
        for line, text in japanese_literals(path.read_text(encoding="utf-8"))
    ]
    assert not found, "wording belongs in domain.yml or a nettrouble messages module:\n" + "\n".join(found)


def test_every_response_an_action_sends_is_in_the_domain():
    responses = set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"])
    sent = {
        name
        for path in (ROOT / "actions").glob("*.py")
        for name in re.findall(r'response="(utter_[a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert sent and sent <= responses, sorted(sent - responses)
