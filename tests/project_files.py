"""The project's own files as the tests read them, each parsed once per session: domain.yml as
plain data and as the Rasa server loads it, the NLU examples of a training or held-out file, and
any YAML file. Parsing domain.yml took half a second each time, and a dozen modules did it; what
these return is shared, so read it and never change it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Tuple

import yaml

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain

ROOT = Path(__file__).resolve().parent.parent


def read_yaml(path: Path) -> Any:
    """A YAML file read by libyaml: ten times faster than PyYAML's own parser, the same result."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


@lru_cache(maxsize=1)
def domain() -> Dict[str, Any]:
    """domain.yml as plain data."""
    return read_yaml(ROOT / "domain.yml")


@lru_cache(maxsize=1)
def rasa_domain() -> Domain:
    """domain.yml as the Rasa server loads it."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml"))


@lru_cache(maxsize=None)
def intent_examples(path: Path) -> Tuple[Tuple[str, str], ...]:
    """(text, intent) of every example of an NLU file, as Rasa reads it (entity annotations
    taken out of the text)."""
    from rasa.shared.nlu.training_data.loading import load_data

    return tuple((m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples)
