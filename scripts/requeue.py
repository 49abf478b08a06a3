"""Sends again the notifications an outlet refused for good (a revoked Slack webhook, wrong
helpdesk credentials), once its setting in .env is corrected (make outbox-requeue OUTLET=slack).
The metric nettrouble_outbox_refused{outlet} counts them (deploy/README.md, Runbook).

    python scripts/requeue.py OUTLET
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nettrouble.core import db  # noqa: E402
from nettrouble.notify import outbox, outlets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outlet", choices=outlets.NAMES)
    args = parser.parse_args(argv)
    count = outbox.requeue_failed(db.prepare(), args.outlet)
    print(f"requeue: {count} notification(s) for {args.outlet} will be sent again by the console's worker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
