"""Rasa input channels of the assistant: the web chat page (``web``), LINE (``line``) and SMS
(``sms``). ``render`` fits the bot's messages to each channel; ``turns`` holds what they
share, above all the fallback that never leaves a user without a reply."""
