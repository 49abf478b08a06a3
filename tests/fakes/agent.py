"""A stand-in for Rasa's Agent: answers from a script instead of a trained model, through the
message's real output channel, and records the turns in a real in-memory tracker store (so
the web history and the SMS menus read what a real server would have stored)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, Callable, Dict, List, Optional

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered

REFERENCE = "NT-2507-12345-6"
ARTICLES_URL = "https://nettrouble.docomo.ne.jp/category/"
YES_NO = [{"title": "はい", "payload": "/affirm"}, {"title": "いいえ", "payload": "/deny"}]
TROUBLE_MENU = [
    {"title": "SNSでの誹謗中傷", "payload": "/trouble_defamation"},
    {"title": "個人情報・写真の晒し", "payload": "/trouble_privacy"},
    {"title": "自分の投稿・炎上", "payload": "/trouble_own_post"},
    {"title": "乗っ取り・なりすまし", "payload": "/trouble_account"},
    {"title": "偽SMS・フィッシング", "payload": "/trouble_phishing"},
    {"title": "身に覚えのない決済", "payload": "/trouble_payment_fraud"},
    {"title": "架空請求・ワンクリック詐欺", "payload": "/trouble_billing_scam"},
    {"title": "ネット通販・フリマ", "payload": "/trouble_shopping"},
    {"title": "性的な画像・動画の被害", "payload": "/trouble_sexual_image"},
    {"title": "子どものネットいじめ", "payload": "/trouble_bullying"},
    {"title": "記事を読みたい", "payload": '/ask_articles{"article_topic":"privacy"}'},
]


def scripted_replies(text: str) -> List[Dict[str, Any]]:
    if text == "/greet":
        return [
            {
                "text": "こんにちは。ネットトラブルあんしんサポートのチャット窓口です。\nどのようなことでお困りでしょうか。"
            }
        ]
    if "誹謗中傷" in text or text == "/trouble_defamation":
        return [
            {
                "text": "SNSなどでの誹謗中傷についてのご相談ですね。おつらい状況の中、ご相談いただきありがとうございます。"
            },
            {"text": "書き込みの画面は保存されていますか。", "buttons": copy.deepcopy(YES_NO)},
        ]
    if text == "/affirm":
        return [
            {
                "text": (
                    "ありがとうございます。専門スタッフにおつなぎします。\n"
                    f"受付番号は {REFERENCE} です。\n"
                    "ネットトラブルあんしんサポートセンター 0120-221-360（10:00〜18:00、土日・祝日・年末年始を除く）\n"
                    f"関連する記事は {ARTICLES_URL} をご覧ください。"
                )
            }
        ]
    if text == "/deny":
        return [{"text": "承知いたしました。書き込みのURLと日時を控えておくと、ご相談の際に役立ちます。"}]
    if text == "メニュー":
        return [{"text": "近いものをお選びください。", "buttons": copy.deepcopy(TROUBLE_MENU)}]
    if text == "たくさん":
        return [{"text": f"{number}番目のご案内です。"} for number in range(1, 8)]
    if text == "だまって":
        return []
    return [{"text": f"「{text}」について承りました。"}]


class FakeAgent:
    def __init__(
        self,
        replies: Callable[[str], List[Dict[str, Any]]] = scripted_replies,
        delay_s: float = 0.0,
        error: Optional[Exception] = None,
    ) -> None:
        self.replies = replies
        self.delay_s = delay_s
        self.error = error
        self.tracker_store = InMemoryTrackerStore(Domain.empty())
        self.received: List[Any] = []

    async def handle_message(self, message: Any) -> None:
        self.received.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, input_channel=message.input_channel))
        for reply in self.replies(message.text):
            # send_response consumes the dict it is given
            await message.output_channel.send_response(message.sender_id, copy.deepcopy(reply))
            tracker.update(BotUttered(reply.get("text"), data={"buttons": reply.get("buttons")}))
        await self.tracker_store.save(tracker)

    @property
    def texts(self) -> List[str]:
        return [message.text for message in self.received]
