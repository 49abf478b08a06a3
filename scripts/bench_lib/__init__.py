"""Helpers of scripts/bench.py: statistics and the results table, the server processes, the
HTTP traffic and the two bots compared (this project and a plain `rasa init` bot)."""
