"""Every table of the service database: importing this module defines all of them on
``metadata``, whichever process (action server, console, scripts) imports it first.

The migrations compare their revisions with this ``metadata``. A module that defines a new
table on ``nettrouble.core.sql_metadata.metadata`` is imported here.
"""

from __future__ import annotations

# noqa: F401 - imported for the tables they define on ``metadata``
from nettrouble.callbacks import store as callbacks_store  # noqa: F401
from nettrouble.channels import deliveries, sms_usage  # noqa: F401
from nettrouble.core import limits  # noqa: F401
from nettrouble.core.sql_metadata import metadata
from nettrouble.eligibility import ledger, number_proof  # noqa: F401
from nettrouble.notices import records as notice_records  # noqa: F401
from nettrouble.notices import subscriptions as notice_subscriptions  # noqa: F401
from nettrouble.notify import outbox  # noqa: F401
from nettrouble.staff import agents, review  # noqa: F401

__all__ = ["metadata"]
