"""Custom actions run by the rasa_sdk action server. Each module is thin: the service logic
lives in the ``nettrouble`` package so it can be tested without Rasa."""
