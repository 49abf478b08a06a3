"""The handoff case the phone staff work from: what a case is (``schema``), what it keeps of the
conversation (``summary``), creating, reading and changing cases (``store``), the CSV export
(``export``), the JSON form for everything outside the store (``document``), references read out
on the phone (``reference``), closing reasons, the conversation behind a case (``transcript``,
read from Rasa's tracker store by ``tracker_events``) and the removal of old personal data
(``retention``).
"""
