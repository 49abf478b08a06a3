"""The messaging platforms as external systems, one module each, without Rasa: LINE's Messaging
API (``line_api``) and rich menu (``line_richmenu``), SMS providers (``sms_providers``), what an SMS
costs in segments (``sms_segments``) and per conversation, with opt-outs (``sms_usage``), and which
platform deliveries were already handled (``deliveries``).
"""
