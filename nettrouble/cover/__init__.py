"""The fraud-cover pre-check (不正決済補償): whether the service's fraud cover may pay, beside the
free-consultation check of ``nettrouble.eligibility``.

- ``terms``: the cover's terms and wording, from ``business/fraud_cover.yml``, checked at start.
- ``rules``: the rule engine, pure: member? the payment provider's decision? what was lost and
  what the provider pays? → one of five outcomes, with the estimate in yen where there is one.
- ``answers``: reading typed answers (「カード会社は認めてくれました」「5万円のうち3万円は返金される」),
  over the triage's readers for yes/no and amounts.
- ``messages``: the values the chat's responses are filled with, and the staff's names of the codes.

The insurer decides: the pre-check tells a user where they stand and what to get first.
"""
