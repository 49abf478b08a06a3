"""The phone team's side of the service: named console accounts and roles (``agents``), the
queue of cases to call back (``queue``), the supervisors' analytics (``analytics``, with what the
bot's responses mean in ``responses``) and the review list of messages the assistant did not
understand (``review``).
"""
