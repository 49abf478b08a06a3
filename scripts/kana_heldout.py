"""Writes tests/nlu_heldout_kana.yml: the held-out NLU messages as a phone user who types only
kana would write them (kanji and katakana words as their hiragana reading; Latin letters and
digits as typed).

    .venv/bin/python scripts/kana_heldout.py

The kana messages written by hand are in tests/nlu_heldout_kana_natural.yml; both files are
never trained on. Run this again whenever tests/nlu_heldout.yml changes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nettrouble.core import japanese  # noqa: E402

SOURCE = ROOT / "tests" / "nlu_heldout.yml"
TARGET = ROOT / "tests" / "nlu_heldout_kana.yml"


def main() -> None:
    source = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    lines = [
        'version: "3.1"',
        "",
        "# Held-out NLU messages in kana, as phone users type them: generated from",
        "# tests/nlu_heldout.yml by scripts/kana_heldout.py (do not edit; never trained on).",
        "",
        "nlu:",
    ]
    for block in source["nlu"]:
        lines += [f"- intent: {block['intent']}", "  examples: |"]
        for example in block["examples"].splitlines():
            example = example.strip()
            if example.startswith("- "):
                lines.append(f"    - {japanese.kana_spelling(example[2:].strip())}")
    TARGET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
