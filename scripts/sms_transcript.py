"""The SMS transcript of a whole typed defamation conversation, before and after issue 16.

Starts the assistant (scripts/system_test.py ``System(..., every_channel=True)``: the trained
model, the Rasa and action servers, Twilio replaced by a local recording server), plays the
conversation over the signed SMS webhook turn by turn, and reads back every SMS body the
assistant sent to the sender. Segments are counted by nettrouble/channels/sms_segments.py (GSM-7 /
UCS-2 rules) whichever code sent the bodies.

    # the code of another commit (a `git worktree`), its figures as JSON
    python scripts/sms_transcript.py --root /tmp/sms-before --json /tmp/sms-before.json
    # this checkout, with those figures beside its own, into docs/transcripts/
    python scripts/sms_transcript.py --before /tmp/sms-before.json --before-label "commit 9d74c4c"

The model is this checkout's (``--model`` to choose another), so that both runs differ only in
the channel's code.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "docs" / "transcripts" / "sms-defamation.txt"

# Typed as a user would; the sender's own mobile number (system_test.SMS_SENDER) for the
# free-consultation check, so no code is needed; 「1」 once, where the menu asks for a number.
TURNS = [
    "Instagramで私のことを嘘ばかり書かれてます。スクショは全部撮ってあります",
    "はい、まだ続いてる状態です",
    "1",
    "はい、ドコモです",
    "入ってないです",
    "090-1111-2222",
    "お願いします",
]
# A turn is over when the Rasa server has counted it and no SMS has gone out for this long.
QUIET_S = 2.0


def _module(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# This checkout's counting rules for both runs (a pure module: loaded by its path, so that the
# other root's packages can be imported beside it).
sms_segments = _module("sms_segments_here", HERE / "nettrouble" / "channels" / "sms_segments.py")


def _bodies_sent(system: Any, to: str, start: int) -> List[str]:
    forms = [
        urllib.parse.parse_qs(request.body.decode("utf-8"))
        for request in list(system.platform.requests)[start:]
        if request.path.endswith("/Messages.json")
    ]
    return [form["Body"][0] for form in forms if form.get("To") == [to]]


def play(root: Path, model: Path) -> List[Dict[str, Any]]:
    sys.path[:0] = [str(root / "scripts"), str(root)]
    system_test = _module("system_test_of_root", root / "scripts" / "system_test.py")
    workdir = Path(tempfile.mkdtemp(prefix="nettrouble-sms-transcript-"))
    system = system_test.System(workdir, model, every_channel=True)
    turns: List[Dict[str, Any]] = []
    system.start()
    try:
        for text in TURNS:
            counted, start = system_test.turns_counted(system, "sms"), len(system.platform.requests)
            system_test.sms_turn(system, text)
            system_test.wait_for(
                lambda counted=counted: system_test.turns_counted(system, "sms") > counted, f"the turn {text!r}"
            )
            seen, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < QUIET_S:
                now = len(system.platform.requests)
                if now != seen:
                    seen, quiet_since = now, time.monotonic()
                time.sleep(0.1)
            bodies = _bodies_sent(system, system_test.SMS_SENDER, start)
            if not bodies:
                raise RuntimeError(f"no SMS answered {text!r}; logs in {workdir}")
            turns.append({"user": text, "bodies": bodies})
    finally:
        system.stop()
    return turns


def _figures(bodies: List[str]) -> Dict[str, int]:
    return {"messages": len(bodies), "segments": sum(sms_segments.segments(body) for body in bodies)}


def _sms_lines(bodies: List[str]) -> List[str]:
    lines = []
    for number, body in enumerate(bodies, 1):
        segmented = sms_segments.segment(body)
        lines.append(
            f"  [SMS {number}: {segmented.encoding}, {sms_segments.length(body)} characters, "
            f"{segmented.segments} segment{'s' if segmented.segments != 1 else ''}]"
        )
        lines += [f"  | {line}" for line in body.split("\n")]
    return lines


def transcript(after: List[Dict[str, Any]], before: Optional[List[Dict[str, Any]]], before_label: str) -> str:
    lines = [
        "SMS transcript: a typed defamation conversation over the signed SMS webhook, through the handoff",
        "Written by scripts/sms_transcript.py (the running assistant, Twilio replaced by a recording server).",
        "Segments are counted by nettrouble/channels/sms_segments.py for both runs: UCS-2, 70 characters alone,",
        "67 per segment of a longer body.",
        f"After: one body per turn (issue 16). Before: {before_label}, each piece of at most 70",
        "characters sent as its own SMS, at most 8 a turn.",
        "",
    ]
    if before is not None and [t["user"] for t in before] != [t["user"] for t in after]:
        raise ValueError("the two runs played different conversations")
    for index, turn in enumerate(after):
        lines.append(f"== Turn {index + 1} ==")
        lines.append(f"User: {turn['user']}")
        figures = _figures(turn["bodies"])
        lines.append(f"-- after: {figures['messages']} SMS, {figures['segments']} segments")
        lines += _sms_lines(turn["bodies"])
        if before is not None:
            old = _figures(before[index]["bodies"])
            lines.append(f"-- before: {old['messages']} SMS, {old['segments']} segments")
            lines += _sms_lines(before[index]["bodies"])
        lines.append("")
    lines.append("== Totals ==")
    lines.append("characters: what the user could read (a piece left out by a run is missing from its count)")
    runs = [("after", after)] + ([("before", before)] if before is not None else [])
    lines.append(
        "turn"
        + "".join(f"  {name + ' SMS':>10}  {name + ' segments':>15}  {name + ' characters':>17}" for name, _ in runs)
    )
    totals = {name: [0, 0, 0] for name, _ in runs}
    for index in range(len(after)):
        row = f"{index + 1:>4}"
        for name, played in runs:
            bodies = played[index]["bodies"]
            figures = (len(bodies), sum(sms_segments.segments(b) for b in bodies), sum(len(b) for b in bodies))
            totals[name] = [total + figure for total, figure in zip(totals[name], figures)]
            row += f"  {figures[0]:>10}  {figures[1]:>15}  {figures[2]:>17}"
        lines.append(row)
    lines.append(
        f"{'all':>4}"
        + "".join(f"  {totals[name][0]:>10}  {totals[name][1]:>15}  {totals[name][2]:>17}" for name, _ in runs)
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose code answers (default: this one)")
    parser.add_argument("--model", type=Path, help="default: this checkout's current model (scripts/train.py)")
    parser.add_argument("--json", type=Path, help="write the turns as JSON here instead of the transcript")
    parser.add_argument("--before", type=Path, help="JSON of an earlier run, shown beside this one")
    parser.add_argument("--before-label", default="an earlier commit")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE / "scripts"))
    import train  # noqa: E402  (this checkout's scripts/train.py)

    model = args.model or train.model_path()
    if not model.exists():
        print(f"sms transcript: no model {model}; run `make train` first", file=sys.stderr)
        return 2
    turns = play(args.root.resolve(), model.resolve())
    if args.json:
        args.json.write_text(json.dumps(turns, ensure_ascii=False, indent=1), encoding="utf-8")
        return 0
    before = json.loads(args.before.read_text(encoding="utf-8")) if args.before else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(transcript(turns, before, args.before_label), encoding="utf-8")
    print(f"sms transcript: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
