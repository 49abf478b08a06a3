"""Deletes conversations and cases older than a number of days (make purge DAYS=N).

python scripts/purge.py --days 90
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nettrouble.cases import retention
from nettrouble.core import db  # noqa: E402
from nettrouble.core.clock import now  # noqa: E402
from nettrouble.core.settings import settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, required=True, help="keep the last N days")
    args = parser.parse_args()
    if args.days < 1:
        print("purge: --days must be 1 or more", file=sys.stderr)
        return 2
    before = retention.cutoff(now(), args.days)
    conversations, events = retention.purge_conversations(settings().tracker_db_url, before)
    purged_cases = retention.purge_cases(db.prepare(), before)
    print(
        f"purge: older than {before:%Y-%m-%d %H:%M} (Japan time): {conversations} conversations "
        f"({events} events) and {purged_cases} cases deleted"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
