"""Creates or completes .env from .env.example, writing a fresh secret for each <generated>.

Existing values are never changed; settings new in .env.example are appended. A generated
secret is 43 URL-safe characters and never begins with "-", which command-line parsers would
take for an option.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nettrouble.core.settings import PLACEHOLDER  # noqa: E402

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _names(lines):
    return {m.group(1) for m in map(_ASSIGNMENT.match, lines) if m}


def new_secret() -> str:
    """43 random URL-safe characters (production wants at least 32), not beginning with "-"."""
    while True:
        value = secrets.token_urlsafe(32)
        if not value.startswith("-"):
            return value


def _fill(line: str) -> str:
    if not _ASSIGNMENT.match(line):
        return line
    return line.replace(PLACEHOLDER, new_secret())


def ensure(example: Path, target: Path) -> list:
    """Returns the names of the settings that were added to ``target``."""
    example_lines = example.read_text(encoding="utf-8").splitlines()
    if not target.exists():
        target.write_text("\n".join(_fill(line) for line in example_lines) + "\n", encoding="utf-8")
        target.chmod(0o600)
        return sorted(_names(example_lines))
    present = _names(target.read_text(encoding="utf-8").splitlines())
    missing = [line for line in example_lines if (m := _ASSIGNMENT.match(line)) and m.group(1) not in present]
    if missing:
        with target.open("a", encoding="utf-8") as out:
            out.write("\n# added from .env.example\n" + "\n".join(_fill(line) for line in missing) + "\n")
    return sorted(_names(missing))


if __name__ == "__main__":
    added = ensure(ROOT / ".env.example", ROOT / ".env")
    if added:
        print(f".env: wrote {', '.join(added)} (secrets are random; see .env.example for each)", file=sys.stderr)
        if "CONSOLE_PASSWORD" in added:
            print(
                ".env: the agent console's first supervisor is CONSOLE_USER / CONSOLE_PASSWORD in "
                f"{ROOT / '.env'}; add the team with make agent-add NAME ROLE",
                file=sys.stderr,
            )
