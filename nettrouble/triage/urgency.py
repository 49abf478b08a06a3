"""The urgency flags a conversation and its case carry: the one list of these codes.

The actions set them, the case store keeps them (and filters by them), the queue ranks by
them, the case document orders and names them, and the referrals of the same names are
shown for them. ``SEXUAL_IMAGE`` is also a trouble type: an intimate-image case is urgent by
its type.
"""

from __future__ import annotations

DANGER = "danger"
SELF_HARM = "self_harm"
MINOR = "minor"
SEXUAL_IMAGE = "sexual_image"
URGENCY_FLAGS = (DANGER, SELF_HARM, MINOR, SEXUAL_IMAGE)

# A life or someone's safety may be at risk right now.
LIFE_THREATENING = (DANGER, SELF_HARM)
