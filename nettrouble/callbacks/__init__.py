"""Callbacks when the centre is closed: a user who is given a case reference outside the
centre's hours may book a call from staff in a 30-minute slot of the opening hours.

- ``slots``: the slots of business/hours.yml (working days, holidays, closures) and the next
  ones still open, each taking ``callback_capacity`` bookings.
- ``numbers``: the Japanese phone number to call, read from what the user typed.
- ``sealing``: the number sealed with AES-GCM under a key derived from CALLBACK_NUMBER_KEY;
  only the sealed form is stored, and it is removed when the call is done or cancelled.
- ``store``: the ``callbacks`` table and every change to a booking (book, move, cancel, and
  staff's done / no answer / retried). Capacity is a constraint the database enforces: a
  booking holds one of the slot's numbered seats under a UNIQUE constraint.
- ``reading``: a slot as users type it (「2番」「土曜の10時半」「月曜の10:00で」) and a case
  reference inside a message.
- ``labels``: a slot as users and staff read it (「12月14日(月) 10:00〜10:30」).

Plain Python over SQLAlchemy, no Rasa: actions/callbacks.py and the console use it.
"""
