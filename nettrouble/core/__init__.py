"""The common ground every other package stands on: deployment settings (read in one place),
the one clock of Japan time, the service database and its table registry, the operator-editable
data files under ``business/``, Japanese word segmentation, masking of phone numbers and e-mail
addresses, amounts of money as people type them, and the per-client limits. Nothing here knows
about troubles, cases or channels.
"""
