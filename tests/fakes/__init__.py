"""Test doubles that behave like the real thing over the wire: a scripted agent with a real
tracker store, and a real HTTP server that records what the channels send."""
