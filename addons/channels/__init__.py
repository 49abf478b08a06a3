"""Rasa input channels of the assistant: the web chat page (``web``), LINE (``line``), SMS
(``sms``) and REST (``rest``). ``render`` fits the bot's messages to each channel; ``turns`` holds
what they share: the JSON parser, the client's identity and limits, the conversation id
prefixes, the delivery log, and the fallback that never leaves a user without a reply;
``messages`` holds every word the channels say by themselves, without Rasa."""
