"""Writes docs/transcripts/ from the running assistant: every conversation of
docs/transcripts/conversations.yml is played over REST against an assistant started, for each
clock the file names, on free ports with fresh temporary databases.

    python scripts/make_transcripts.py [--model PATH] [--only FILE ...]

The references and hashes differ from run to run; the words do not.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train  # noqa: E402  (scripts/train.py)
from system_test import System  # noqa: E402  (scripts/system_test.py)
from transcript import play  # noqa: E402  (scripts/transcript.py)

TRANSCRIPTS = ROOT / "docs" / "transcripts"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path)
    parser.add_argument("--only", nargs="*", help="file names of the conversations to play")
    args = parser.parse_args(argv)
    plan = yaml.safe_load((TRANSCRIPTS / "conversations.yml").read_text(encoding="utf-8"))
    model = args.model or train.model_path()
    if not model.exists():
        print(f"no model at {model}: run `make train` first", file=sys.stderr)
        return 1
    conversations = [c for c in plan["conversations"] if not args.only or c["file"] in args.only]
    for clock in dict.fromkeys(c["clock"] for c in conversations):
        workdir = Path(tempfile.mkdtemp(prefix=f"transcripts-{clock}-"))
        system = System(workdir, model)
        system.env["CLOCK_OVERRIDE"] = plan["clocks"][clock]
        try:
            system.start()
            for conversation in (c for c in conversations if c["clock"] == clock):
                text = play(system.say, conversation["sender"], conversation["messages"])
                (TRANSCRIPTS / conversation["file"]).write_text(text, encoding="utf-8")
                print(f"{conversation['file']}: {len(conversation['messages'])} turns")
        finally:
            system.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
