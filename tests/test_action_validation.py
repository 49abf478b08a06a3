"""Action-server responses are still validated, with a validator built once."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from addons import action_validation


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    """The patch as importing ``addons`` installs it, whatever patched the same method before in
    this process (scripts/launch.py puts addons/action_client.py's validator there); the method
    is put back after each test."""
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    action_validation.install()


@pytest.fixture
def action():
    return RemoteAction("action_handoff", EndpointConfig("http://localhost:5055/webhook"))


def test_the_rasa_server_uses_the_prepared_validator():
    assert RemoteAction._validate_action_result is action_validation.validate_action_result


def test_a_valid_response_passes(action):
    response = {
        "events": [{"event": "slot", "name": "case_reference", "value": "NT-2007-12345-6"}],
        "responses": [{"text": "受付番号は NT-2007-12345-6 です。"}],
    }
    assert action._validate_action_result(response) is True


@pytest.mark.parametrize(
    "response", [{"events": "not a list"}, {"events": [{"event": 42}]}, {"responses": {"text": "x"}}]
)
def test_an_invalid_response_is_refused_with_rasas_message(action, response):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(response)


def test_the_schema_is_checked_once():
    action_validation._validator.cache_clear()
    first = action_validation._validator()
    assert action_validation._validator() is first
