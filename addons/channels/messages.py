"""What the channels say by themselves, without Rasa: the one place for the channel layer's wording.

Everything else the bot says is a response in domain.yml, sent by Rasa or by an action. The
channels answer on their own where Rasa cannot or must not: a message that cannot be read or
comes too fast, a turn the bot could not answer, the web chat's and the REST API's refusals,
SMS keywords (HELP, STOP, START) and the segment budget, and the words a channel draws around
the bot's answer (the numbered menu's hint in an SMS, LINE's card labels and titles).

Templates take their values with ``str.format`` in the module that sends them. tests/test_wording.py
fails on Japanese text anywhere else in addons/channels/.
"""

from __future__ import annotations

# ---- every channel (turns.py): what could not be read, or answered ----------------------------

TEXT_ONLY = (
    "恐れ入りますが、こちらのチャットではスタンプや画像、位置情報などの内容を読み取ることができません。"
    "画像そのものをお送りいただく必要はございませんので、お困りのことを文字でお聞かせください。"
)
CUT = "長いメッセージのため、最初の{limit}文字までを読み取ってお返事いたします。"
EMPTY = "メッセージが空のようです。お困りのことを文字でお聞かせください。"
URGENT_CALL = "お急ぎの場合は、{centre_line} までお電話ください。"
DEGRADED = "申し訳ございません。ただいまシステムの一部に不具合が起きており、ご案内の一部をお届けできません。"
FALLBACK = (
    "申し訳ございません。ただいまお返事をご用意できませんでした。\n"
    "お手数ですが、少し時間をおいてもう一度お送りください。"
)
LIMITED = (
    "恐れ入りますが、短い時間に続けて多くのメッセージが届いたため、ただいまのメッセージは読み取っておりません。\n"
    "1分ほどおいてから、もう一度お送りください。"
)

# ---- the web chat's and the REST API's refusals (web.py, rest.py) ------------------------------

WEB_CHAT_OFF = "ただいまウェブチャットはご利用いただけません。"
FILE_NOT_FOUND = "ファイルが見つかりません。"
SESSION_UNKNOWN = "会話の情報を確認できませんでした。新しい会話を始めてください。"
TOO_LARGE = "送信内容が大きすぎます。"
MALFORMED = "送信内容の形式が正しくありません。"
NO_MESSAGE = "メッセージを入力してください。"
REST_NOT_AN_OBJECT = "JSON のオブジェクトで sender と message をお送りください。"
REST_BAD_SENDER = "sender は1〜{limit}文字の文字列でお送りください。"
REST_OTHER_CHANNEL = "その sender はほかのチャネルの会話のため使えません。"
REST_NOT_TEXT = "message は文字列でお送りください。"

# ---- SMS (sms.py, render_sms.py) ----------------------------------------------------------------

SMS_EMPTY = "メッセージの内容が届いていないようです。お手数ですが、お困りのことを文字でお送りください。"
# After the numbered options at the end of a body.
SMS_MENU_HINT = "番号でご返信ください。"
# In place of a link the SMS link policy leaves out.
SMS_LINK_BY_NAME = "（ウェブサイトは「{name}」で検索してください）"
SMS_LINK_LEFT_OUT = "（SMSではこのサイトのリンクをお送りしていません。ウェブチャットでご案内しています）"
SMS_HELP = (
    "こちらは{service_name}のSMS窓口です。お困りのことを文字でお送りください。\n"
    "選択肢が届いたときは、番号でも言葉でもご返信いただけます。\n"
    "お電話：{centre_line}\n"
    "ウェブチャット：{web_chat_url}\n"
    "こちらからのお知らせを止めるには「停止」とお送りください。"
)
SMS_STOPPED = (
    "配信停止を承りました。今後、こちらからお知らせのSMSをお送りすることはありません。\n"
    "ご相談のメッセージをお送りいただいたときは、これまでどおりお返事いたします。\n"
    "再開するには「開始」とお送りください。"
)
SMS_STARTED = "配信の再開を承りました。こちらからのお知らせを再びお送りします。\n止めるには「停止」とお送りください。"
SMS_KEYWORD_FAILED = (
    "申し訳ございません。ただいまお手続きができませんでした。少し時間をおいて、もう一度お送りください。\n"
    "お電話：{centre_line}"
)
SMS_BUDGET_REACHED = (
    "このご相談でのSMSのお返事はここまでとさせていただきます。続きはお電話かウェブチャットでどうぞ。\n"
    "お電話：{centre_line}\n"
    "ウェブチャット：{web_chat_url}"
)

# ---- LINE's cards and quick replies (render_line.py) -----------------------------------------

LINE_READ = "読む"
LINE_ARTICLE_LIST = "記事の一覧を見る"
LINE_WEBSITE = "ウェブサイト"
LINE_CALL = "電話する"
LINE_CALL_NUMBER = "{phone}に電話する"
LINE_MEMBERS_ONLY = "会員向け"
LINE_FREE_UNTIL = "無料：{month}月{day}日まで"
LINE_LIST_TITLE = "事例記事の一覧"
LINE_LIST_HINT = "ほかの記事も一覧からお探しいただけます。"
LINE_LIST_MEMBERS_NOTE = "「会員向け」の記事は、会員の方がお読みいただけます。"
LINE_STEPS_TITLE = "まず、次のことをおすすめします。"
LINE_REFERRALS_TITLE = "ご相談できる公的な窓口"
# The same bodies in an altText: a heading, then one line each.
LINE_REFERRALS_HEADING = "ご相談できる公的な窓口："
LINE_REFERRAL = "・{name} {contact}（{hours}）"
LINE_REFERRAL_HOURS = "受付：{hours}"
# Buttons past LINE's 13 quick replies, listed so that the user can type them.
LINE_MORE_CHOICE = "・{title}"
# A turn of buttons alone: quick replies need a message to hang on.
LINE_CHOOSE = "次からお選びください。"
