"""Cases as CSV for the supervisors' export: the filters of the case list, newest first,
without person keys or staff notes (an export goes further than the console), and every cell
safe to open in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from nettrouble.cases.schema import case_from_row, cases
from nettrouble.cases.store import case_filters

CSV_COLUMNS = (
    "reference",
    "created_at",
    "updated_at",
    "status",
    "status_changed_at",
    "status_changed_by",
    "channel",
    "conversation_id",
    "trouble_type",
    "urgency",
    "eligibility",
    "eligibility_campaign",
    "claim_state",
    "articles_shown",
    "triage_answers",
    "summary",
    "assigned_to",
    "assigned_at",
    "closing_reason",
    "fraud_cover",
    "fraud_cover_estimate",
    "fraud_cover_amount_lost",
    "fraud_cover_provider_pays",
    "fraud_cover_provider_decision",
)


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to spreadsheet software; user text must not run.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(engine: Engine, **filters: Any) -> str:
    """Every case matching ``filters`` (as ``list_cases``, without paging), newest first, as
    CSV text with a header row. Without person keys; JSON fields as JSON text."""
    conditions = case_filters(**filters)
    query = select(cases).where(*conditions).order_by(cases.c.created_at.desc(), cases.c.id.desc())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    with engine.connect() as connection:
        for row in connection.execute(query):
            public = case_from_row(row).public()
            writer.writerow([_cell(public[column]) for column in CSV_COLUMNS])
    return out.getvalue()
