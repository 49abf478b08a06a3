"""Working out what kind of trouble a person has, safety first: which questions each trouble
type needs (``plans``), reading typed answers to them (``answers``, ``intents``), the rule-based
danger and self-harm check (``safety``) and the urgency flags it raises (``urgency``), and what to
tell the person once triage is done: first steps (``guidance``) and public bodies (``referrals``).
"""
