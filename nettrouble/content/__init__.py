"""What the assistant tells people about the service itself, from ``business/``: the case-article
catalogue and its search (``articles``), answers to questions about the service (``faq``), the
service's own facts and phone number (``service``) and the phone centre's business hours
(``hours``); the few sentences of these that only code can put together are in ``messages``.
"""
