"""Sends the notices of new articles to the LINE and SMS users who asked for them
(make notify-new-articles; nettrouble/notices/runner.py says what a run does).

    python scripts/notify_new_articles.py            # send
    python scripts/notify_new_articles.py --dry-run  # print what would be sent; send and record nothing

Meant to run from cron, hourly for instance: a run in the quiet hours (21:00-08:00 Japan time)
only plans, and what it holds goes with the next run in the day. The time is
``nettrouble.core.clock.now()`` (CLOCK_OVERRIDE pins it). Exit status 0, also when some notices
were held or failed (the report says which); 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nettrouble.content import articles, service  # noqa: E402
from nettrouble.core import db  # noqa: E402
from nettrouble.core.clock import now  # noqa: E402
from nettrouble.notices import runner, senders  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent; send and record nothing")
    args = parser.parse_args(argv)
    at = now()
    print(runner.title(at, args.dry_run), flush=True)

    def show(outcome: runner.Outcome) -> None:
        print("\n".join(runner.outcome_lines(outcome, args.dry_run)), flush=True)

    report = asyncio.run(
        runner.run(db.prepare(), articles.load(), service.facts(), senders.configured(), at, args.dry_run, show)
    )
    print(runner.window(report))
    print(runner.summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
