"""What the servers stored, read back through Rasa's HTTP API and the databases, and checked
against what every conversation sent and received."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

from scripts.scaleout.checks import (
    ExpectedCase,
    Findings,
    check_api_against_db,
    check_cases,
    check_divergence,
    check_turns,
    reply_signature,
)
from scripts.scaleout.cluster import Cluster
from scripts.scaleout.scenarios import Conversation
from scripts.scaleout.servers import SERVERS


def read_databases(
    services: Mapping[str, str], senders: Iterable[str]
) -> Tuple[Dict[str, List[dict]], List[dict], List[str]]:
    """The stored events of every conversation, the case rows and the ledger's references."""
    from sqlalchemy import create_engine, text

    events: Dict[str, List[dict]] = defaultdict(list)
    tracker = create_engine(services["TRACKER_DB_URL"], future=True)
    cases = create_engine(services["DATABASE_URL"], future=True)
    try:
        with tracker.connect() as connection:
            for sender, data in connection.execute(text("SELECT sender_id, data FROM events ORDER BY id")):
                events[sender].append(json.loads(data))
        with cases.connect() as connection:
            rows = [
                dict(row._mapping)
                for row in connection.execute(
                    text("SELECT conversation_id, trouble_type, reference, eligibility FROM cases")
                )
            ]
            reserved = [row[0] for row in connection.execute(text("SELECT case_reference FROM free_consultations"))]
    finally:
        tracker.dispose()
        cases.dispose()
    unknown = set(events) - set(senders)
    if unknown:
        raise RuntimeError(f"the tracker store holds conversations this run did not have: {sorted(unknown)[:5]}")
    return events, rows, reserved


def check_everything(
    cluster: Cluster, services: Mapping[str, str], conversations: Sequence[Conversation]
) -> Tuple[Findings, Dict[str, int]]:
    from addons.channels.turns import TURN_TIMEOUT_S, degraded_text  # imports Rasa: only here

    notices = [degraded_text()]
    total = Findings()
    db_events, case_rows, reserved = read_databases(services, [c.sender for c in conversations])
    signatures: Dict[Tuple[str, str], Dict[str, Tuple]] = defaultdict(dict)
    expected: Dict[str, ExpectedCase] = {}
    for index, conversation in enumerate(conversations):
        groups = [[(t.message, t.replies) for t in group] for group in conversation.results]
        errors = [t for t in conversation.sent if t.error]
        # Read back from either server: both must see the same conversation.
        api_events = cluster.tracker_events(conversation.sender, SERVERS[index % 2])
        found = check_turns(groups, api_events, notices)
        found.add(check_api_against_db(api_events, db_events.get(conversation.sender, [])))
        found.request_errors = len(errors)
        if errors:
            found.problems.append(f"{len(errors)} request(s) failed, e.g. {errors[0].error}")
        slow = [t for t in conversation.sent if t.latency_s >= TURN_TIMEOUT_S]
        found.slow_turns = len(slow)
        if slow:
            found.problems.append(f"{slow[0].message!r} to {slow[0].server} took {slow[0].latency_s:.0f} s")
        for problem in found.problems:
            total.problems.append(f"{conversation.sender}: {problem}")
        found.problems = []
        total.add(found)
        # A degraded turn is counted once, above, not again as a divergent conversation.
        answered = [[(m, [r for r in replies if r not in notices]) for m, replies in g] for g in groups]
        group_key = (conversation.phase, conversation.scenario.name)
        signatures[group_key][conversation.sender] = reply_signature(answered)
        scenario = conversation.scenario
        expected[conversation.sender] = ExpectedCase(
            scenario.trouble_type, scenario.eligible, tuple(conversation.references())
        )
    for group in signatures.values():
        total.add(check_divergence(group))
    total.add(check_cases(expected, case_rows, reserved))
    figures = {
        "events": sum(len(v) for v in db_events.values()),
        "cases": len(case_rows),
        "reservations": len(reserved),
    }
    return total, figures
