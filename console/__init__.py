"""The agent console for phone staff: case lookup, list, detail, status, caller check, CSV
export and a JSON API (``console.app.create_app``); ``python -m console`` serves it and runs the
handoff notification worker."""
