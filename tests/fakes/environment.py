"""Environment variables set for a while, with the settings read again: ``settings()`` reads the
environment once and keeps it (nettrouble/core/settings.py), so every change clears that cache, and
so does the restore, once the variables are back."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import pytest

from nettrouble.core.settings import settings


class Environment:
    """``changed(NAME="value", OTHER=None)`` sets NAME and removes OTHER (None: unset);
    ``restore()`` puts back what was there before."""

    def __init__(self) -> None:
        self._patch = pytest.MonkeyPatch()

    def __call__(self, **values: Optional[str]) -> None:
        for name, value in values.items():
            if value is None:
                self._patch.delenv(name, raising=False)
            else:
                self._patch.setenv(name, str(value))
        settings.cache_clear()

    def restore(self) -> None:
        self._patch.undo()
        settings.cache_clear()


@contextmanager
def environment_variables(**values: Optional[str]) -> Iterator[Environment]:
    """The variables set inside the ``with`` block; for module-scoped fixtures (tests use the
    ``env`` fixture of tests/conftest.py)."""
    changed = Environment()
    try:
        changed(**values)
        yield changed
    finally:
        changed.restore()
