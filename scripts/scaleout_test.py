"""The scale-out check (make scaleout-test): two Rasa servers and two action servers sharing
PostgreSQL and Redis. What it does and checks is told in scripts/scaleout/__init__.py; the
options by ``--help``."""

import sys
from pathlib import Path

# Run as a script, only scripts/ is on the path; the check is the package scripts.scaleout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.scaleout.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
