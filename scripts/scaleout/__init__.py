"""The scale-out check: two Rasa servers and two action servers sharing PostgreSQL and Redis.

    python scripts/scaleout_test.py [--conversations 60] [--lock-conversations 21] [--model PATH]
                                    [--endpoints FILE] [--transcripts FILE]
                                    [--capacity-senders 16] [--capacity-seconds 20]
                                    [--capacity-output results/scaleout_capacity.json]

Starts throwaway PostgreSQL and Redis (scripts/scaleout_services.sh; installing them needs root
once), two action servers (ports 6155, 6156) and two Rasa servers (6105 → 6155, 6106 → 6156)
with deploy/endpoints.scaleout.yml, everything in a temporary directory with its own secrets and
the clock pinned to 2020-07-15 11:00 (Japan), and never reads or writes the repository's .env
or var/. Then:

  phase 1  many conversations at once, each a real triage ending in a handoff, whose turns go
           alternately to server A and server B (a turn waits for its reply; conversations run
           concurrently);
  phase 2  conversations whose turns are also sent to both servers at the same moment (the
           greeting, the request for staff, a closing pair), which only the Redis lock store
           keeps in one piece;
  capacity what a capacity plan needs: a number of senders, each playing phase 1's triages
           one after another (a new user and phone number each time) for a fixed time, first
           to server A only, then alternately to A and B; the turns per second and reply times
           of both runs, and per turn the CPU of every process, the Redis commands and the
           PostgreSQL transactions, statements and rows (scripts/capacity_lib). Written to
           results/scaleout_capacity.json and printed; the figures are reported, never
           checked against a limit, and its conversations are checked like the others.

It checks, through Rasa's HTTP API (GET /conversations/<id>/tracker?token=) and the databases,
that every user message is stored exactly once and in order, every turn was answered with what
the tracker recorded (and without the action-server-down notice), no event is stored twice, the
API and the events table agree, the conversations of a scenario were answered alike, each
conversation has exactly one case with the reference its user was given and the right
free-consultation decision, and references are unique. It prints the counts and reply latencies
and exits 1 on any failure. Every process it started is stopped and its temporary directory
removed, also on Ctrl-C or an error.

The modules: ``servers`` (the two servers and their ports), ``scenarios`` (the conversations
and the plans that send them), ``client`` (HTTP to the servers, playing conversations),
``cluster`` (starting and stopping PostgreSQL, Redis and the four servers), ``checks`` (pure:
what was sent and what was stored in, counts out), ``stored`` (reading the trackers, cases and
ledger back and checking them), ``capacity`` (the capacity phase) and ``cli`` (the run).
"""

import sys
from pathlib import Path

# scripts/run.py and scripts/train.py are scripts that import each other by their bare names
# (``import train``), so the folder they share must be on the path for ``cluster`` and ``cli``.
_SCRIPTS = str(Path(__file__).resolve().parent.parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
