"""Helpers of scripts/bench.py: statistics, the results table and the goals, the server
processes, the HTTP traffic, the bots compared (this project, a plain `rasa init` bot and the
same plain bot with an SQL tracker store), our per-turn time budget and the growth of one long
conversation."""
