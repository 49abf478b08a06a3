"""Every table of the service database: importing this module defines all of them on
``metadata``, whichever process (action server, console, scripts) imports it first.

The migrations compare their revisions with this ``metadata``. A module that defines a new
table on ``nettrouble.sql_metadata.metadata`` is imported here.
"""
from __future__ import annotations

from nettrouble import (  # noqa: F401 - imported for the tables they define on ``metadata``
    agents,
    cases,
    deliveries,
    ledger,
    limits,
    number_proof,
    outbox,
    review,
    sms_usage,
)
from nettrouble.sql_metadata import metadata

__all__ = ["metadata"]
