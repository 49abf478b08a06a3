"""What some of the bot's responses (names in domain.yml) mean to the people who watch it: the
operators' metrics, the supervisors' analytics and review list, the agents' transcript and the
typed-conversation check all read a conversation through these, so they agree on it.

A new response that asks the user to rephrase, or a new safety answer, is added here once.
"""

from __future__ import annotations

from nettrouble.triage.urgency import DANGER, SELF_HARM

# The bot did not understand the message: it asks to rephrase or says it could not read it.
NOT_UNDERSTOOD = ("utter_ask_rephrase", "utter_default", "utter_triage_not_understood", "utter_summary_unclear")
# The bot was unsure and asks "did you mean …?" with the likeliest readings as buttons.
DID_YOU_MEAN = "utter_did_you_mean"
# Either way, a turn where the user was not understood at once.
CONFUSED = NOT_UNDERSTOOD + (DID_YOU_MEAN,)
# The answers to a danger or self-harm message (helplines, police), by the kind of danger.
SAFETY = {"utter_urgent_self_harm": SELF_HARM, "utter_urgent_danger": DANGER}
