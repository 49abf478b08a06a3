"""Every table of the service database: importing this module defines all of them on
``metadata``, whichever process (action server, console, scripts) imports it first.

The migrations compare their revisions with this ``metadata``. A module that defines a new
table on ``nettrouble.core.sql_metadata.metadata`` is imported here and listed in
``TABLE_MODULES``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Tuple

from nettrouble.callbacks import store as callbacks_store
from nettrouble.cases import schema
from nettrouble.channels import deliveries, sms_usage
from nettrouble.core import limits
from nettrouble.core.sql_metadata import metadata
from nettrouble.eligibility import ledger, number_proof
from nettrouble.notices import records as notice_records
from nettrouble.notices import subscriptions as notice_subscriptions
from nettrouble.notify import outbox
from nettrouble.staff import agents, review

# Imported for the tables they define on ``metadata``; named here so that the import is used
# (a linter would otherwise remove it, and a table would silently drop out of the migrations).
TABLE_MODULES: Tuple[ModuleType, ...] = (
    schema,
    callbacks_store,
    notice_records,
    notice_subscriptions,
    deliveries,
    sms_usage,
    limits,
    ledger,
    number_proof,
    outbox,
    agents,
    review,
)

__all__ = ["metadata", "TABLE_MODULES"]
