"""New-article notices on LINE and SMS (issue 18): who asked for them, and sending them.

- ``subscriptions``: the consent given in the chat after articles were shown, per conversation
  and trouble type, with its time and channel, and the one thing needed to push: the LINE user
  id, or the SMS number sealed (``addresses``). 「配信停止」 deletes them; STOP on SMS is the
  opt-out of ``nettrouble.channels.sms_usage``, which the sending respects.
- ``schedule``: the quiet hours (21:00 to 08:00 Japan time) and the Japan day.
- ``records``: the runs of ``make notify-new-articles`` and one record per recipient and
  message, written before and after each send, so that a crash never sends a notice twice.
- ``messages``: the text of a notice, per channel.
- ``senders``: the LINE push API (with the record's retry key) and the SMS provider.
- ``runner``: one run: new articles planned per recipient, then sent within the rules.
"""
