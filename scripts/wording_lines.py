"""Counts the lines of Python that hold the bot's wording, per file and in total.

    .venv/bin/python scripts/wording_lines.py               # the working tree
    .venv/bin/python scripts/wording_lines.py --rev 3fde7b3 # a commit, read with `git show`
    .venv/bin/python scripts/wording_lines.py --show        # and the lines themselves

The files are the Python of the two servers: actions/, addons/, nettrouble/ and
rasa_sdk_plugins/ (other folders can be named as arguments). Nothing is written, and with --rev
the working tree is not touched.

The rule (tests/test_wording.py applies the same one to actions/ and addons/channels/):
a line holds wording when a string literal on it contains a Japanese character (kana, kanji,
full-width forms and punctuation) and the literal is neither documentation nor a reading rule.

- Documentation: docstrings (the first statement of a module, class or function). Comments are
  not literals.
- A reading rule matches what users type or what a text contains instead of saying something:
  * the first argument of a function of ``re`` or of a compiled pattern's method (``compile``,
    ``search``, ``match``, ``fullmatch``, ``findall``, ``finditer``, ``sub``, ``subn``, ``split``);
  * a literal written in regular-expression syntax: it holds ``(?``, ``|``, a backslash, a
    character class in ASCII brackets, or begins with ``^`` or ends with ``$``;
  * the text a ``str`` method searches for: the first argument (or its tuple) of ``find``, ``rfind``, ``index``,
    ``rindex``, ``count``, ``startswith``, ``endswith``, ``split``, ``rsplit``, ``partition``,
    ``rpartition``, ``strip``, ``lstrip``, ``rstrip``, ``replace``, ``removeprefix``,
    ``removesuffix``;
  * an operand of a comparison (``==``, ``in``, ``<=`` for a range of characters, …), alone or in
    a tuple, list or set;
  * a key of a dict display (a table looked up by what was typed or read);
  * an element of a set display (a vocabulary tested for membership);
  * a table of characters: a literal iterated over (``for``, a comprehension, also through a
    call such as ``enumerate("…")``) or given to ``set``, ``frozenset``, ``ord`` or ``str.maketrans``.

Everything else counts, whoever reads it (a user, or staff in an alert or a ticket) and whether
it is a sentence, a label or a piece of a format (「受付：」, 「年」): each is a word someone
editing the bot's wording has to find in code. An f-string counts as one literal (its lines from
first to last), as does a string continued over several lines.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("actions", "addons", "nettrouble", "rasa_sdk_plugins")
JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60]")
REGEX_SYNTAX = re.compile(r"\(\?|\||\\|\[[^\]]*\]|^\^|\$$")
CHARACTER_TABLES = {"set", "frozenset", "ord", "maketrans"}
PATTERN_FUNCTIONS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}
SEARCH_METHODS = {
    "find",
    "rfind",
    "index",
    "rindex",
    "count",
    "startswith",
    "endswith",
    "split",
    "rsplit",
    "partition",
    "rpartition",
    "strip",
    "lstrip",
    "rstrip",
    "replace",
    "removeprefix",
    "removesuffix",
}
Literal = Union[ast.Constant, ast.JoinedStr]


def _text(node: Literal) -> str:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    return "".join(_text(part) for part in node.values if isinstance(part, ast.Constant))


def _docstrings(tree: ast.AST) -> Set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _members(node: ast.AST) -> Iterator[ast.AST]:
    """``node``, or the elements of a tuple, list or set display."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        yield from node.elts
    else:
        yield node


def _reading_rules(tree: ast.AST) -> Set[int]:
    """The literals that match text rather than say it (the module docstring's list)."""
    found: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            method = node.func.attr
            if method in PATTERN_FUNCTIONS or method in SEARCH_METHODS:
                found.update(id(member) for member in _members(node.args[0]))
            if method in CHARACTER_TABLES:
                found.update(id(argument) for argument in node.args)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CHARACTER_TABLES:
            found.update(id(argument) for argument in node.args)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            found.add(id(node.iter))
            if isinstance(node.iter, ast.Call):  # enumerate("…"), sorted("…")
                found.update(id(argument) for argument in node.iter.args)
        elif isinstance(node, ast.Compare) and not any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            found.update(id(member) for operand in [node.left, *node.comparators] for member in _members(operand))
        elif isinstance(node, ast.Dict):
            found.update(id(key) for key in node.keys if key is not None)
        elif isinstance(node, ast.Set):
            found.update(id(element) for element in node.elts)
    return found


def wording_literals(source: str) -> List[Tuple[int, int, str]]:
    """(first line, last line, text) of each literal of ``source`` that holds wording."""
    tree = ast.parse(source)
    skipped = _docstrings(tree) | _reading_rules(tree)
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Constant, ast.JoinedStr)) or id(node) in skipped or id(node) in inside_fstrings:
            continue
        text = _text(node)
        if JAPANESE.search(text) and not REGEX_SYNTAX.search(text):
            found.append((node.lineno, node.end_lineno or node.lineno, text))
    return sorted(found)


def wording_lines(source: str) -> List[int]:
    """The numbers of the lines of ``source`` that hold wording."""
    return sorted({line for first, last, _ in wording_literals(source) for line in range(first, last + 1)})


# ---- files -------------------------------------------------------------------------------------


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def python_files(rev: Optional[str], folders: Sequence[str]) -> List[str]:
    if rev is not None:
        listed = _git("ls-tree", "-r", "--name-only", rev, "--", *folders).splitlines()
    else:
        paths = [ROOT / folder for folder in folders]
        listed = [
            str(found.relative_to(ROOT))
            for path in paths
            for found in (path.rglob("*.py") if path.is_dir() else [path])
        ]
    return sorted(name for name in listed if name.endswith(".py") and "__pycache__" not in name)


def read(rev: Optional[str], name: str) -> str:
    if rev is not None:
        return _git("show", f"{rev}:{name}")
    return (ROOT / name).read_text(encoding="utf-8")


def count(rev: Optional[str], folders: Sequence[str]) -> Dict[str, List[int]]:
    """The wording lines of every file that has some, by path."""
    counted = {name: wording_lines(read(rev, name)) for name in python_files(rev, folders)}
    return {name: lines for name, lines in counted.items() if lines}


def is_messages_module(name: str) -> bool:
    """A module that exists to hold wording (``messages.py``; before issue 17,
    ``nettrouble/eligibility_messages.py``)."""
    return Path(name).name.endswith("messages.py")


def report(counted: Dict[str, List[int]], sources: Optional[Dict[str, str]] = None) -> Iterable[str]:
    for name, lines in sorted(counted.items()):
        yield f"{len(lines):5d}  {name}"
        if sources is not None:
            text = sources[name].splitlines()
            yield from (f"         {number}: {text[number - 1].strip()}" for number in lines)
    total = sum(len(lines) for lines in counted.values())
    kept = {name: lines for name, lines in counted.items() if is_messages_module(name)}
    in_messages = sum(len(lines) for lines in kept.values())
    yield f"{total:5d}  lines in {len(counted)} files"
    yield f"{in_messages:5d}    of them in {len(kept)} messages modules"
    yield f"{total - in_messages:5d}    elsewhere, in {len(counted) - len(kept)} files"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", default=list(PACKAGES), help="folders to read (default: %(default)s)")
    parser.add_argument("--rev", help="a git revision, read with `git show` instead of the working tree")
    parser.add_argument("--show", action="store_true", help="print each counted line under its file")
    arguments = parser.parse_args(argv)
    counted = count(arguments.rev, arguments.folders)
    sources = {name: read(arguments.rev, name) for name in counted} if arguments.show else None
    where = f"revision {arguments.rev}" if arguments.rev else "working tree"
    print(f"Lines of Python holding wording ({where}; {', '.join(arguments.folders)}):")
    for line in report(counted, sources):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
