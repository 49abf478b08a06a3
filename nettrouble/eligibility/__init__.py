"""The free SNS-defamation phone consultation: whether it applies (``rules``, over the campaigns
of ``business/campaigns.yml``), reading the answers to its questions and what it says back
(``messages``), and making sure one person gets one free consultation per campaign: the keyed
hash of a docomo number (``identity``), proving the number is the typist's (``number_proof``) and
the ledger of claims (``ledger``).
"""
