"""Code that runs inside the Rasa server: NLU components, input channels, the tracker store.

Rasa imports this package when it loads the model's custom components, so the one patch of Rasa
itself lives here: action-server responses are validated with a validator built once (see
``action_validation``). Installing it only rebinds a method; the validator is built on first use.
"""

from addons import action_validation

action_validation.install()
