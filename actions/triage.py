"""Triage actions: start, the form's validation, corrections, summary and first steps."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import conversation
from nettrouble import campaigns, guidance, referrals, triage
from nettrouble.money import parse_yen

TRIAGE_FORM = "triage_form"
# A type named in the middle of the form switches the triage only when the classifier is this
# sure; below it the message is read as an answer to the question asked.
SWITCH_CONFIDENCE = 0.6
TROUBLE_BUTTONS = [
    {"title": label, "payload": f"/trouble_{trouble_type}"}
    for trouble_type, label in triage.TYPE_LABELS.items()
]
SKIP_BUTTON = {"title": "スキップ", "payload": '/inform{"answer": "unknown"}'}


def type_events(trouble_type: Optional[str]) -> List[EventType]:
    """Sets the type, and whether a free-consultation campaign covers it (the check follows
    the triage only then)."""
    covered = any(campaign.covers(trouble_type) for campaign in campaigns.catalogue())
    return [SlotSet("trouble_type", trouble_type), SlotSet("free_consultation_topic", covered)]


def answers(tracker: Tracker) -> Dict[str, Any]:
    return {slot: tracker.get_slot(slot) for slot in triage.TRIAGE_SLOTS}


def cleared_answers() -> List[EventType]:
    return [SlotSet(slot, None) for slot in triage.TRIAGE_SLOTS] + [SlotSet("triage_failures", 0)]


def prefilled(trouble_type: str, tracker: Tracker) -> Dict[str, Any]:
    """Answers already given in the message that reported the trouble, e.g. the platform in
    「インスタで晒された」 or the amount in 「PayPayで3万円使われた」."""
    asked = set(triage.PLANS[trouble_type])
    entities = tracker.latest_message.get("entities") or []
    found: Dict[str, Any] = {}
    for slot, entity in (("platform", "sns_platform"), ("payment_method", "payment_service")):
        value = conversation.entity_value(entities, entity)
        if slot in asked and value:
            found[slot] = value
    amount = parse_yen(conversation.entity_value(entities, "money_amount"))
    if "money_amount" in asked and amount:
        if "money_lost" not in asked:
            found["money_amount"] = amount
        elif triage.reports_loss(tracker.latest_message.get("text") or ""):
            # 「10万円払えと言われた」 is a demand: whether money was lost is still asked.
            found.update(money_amount=amount, money_lost=triage.YES)
    return found


class ActionStartTriage(Action):
    """Sets ``trouble_type`` from the reported trouble and prepares the form's answers."""

    def name(self) -> Text:
        return "action_start_triage"

    def __init__(self) -> None:
        # Read the operator files at action-server start-up, so that a broken file stops it.
        referrals.catalogue()
        guidance.steps_catalogue()
        campaigns.catalogue()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        # The fallback intent is not skipped: its runner-up is exactly the guess not to act on.
        trouble_type = conversation.trouble_type_of(
            tracker.get_intent_of_latest_message(skip_fallback_intent=False))
        if trouble_type is None:
            return []
        events: List[EventType] = type_events(trouble_type)
        if tracker.get_slot("trouble_type") != trouble_type or tracker.get_slot("triage_done"):
            events += cleared_answers()
        events.append(SlotSet("triage_done", False))
        events += [SlotSet(slot, value) for slot, value in prefilled(trouble_type, tracker).items()]
        urgency = conversation.urgency_of(tracker)
        if trouble_type == "sexual_image":
            urgency = conversation.with_flag(urgency, "sexual_image")
            dispatcher.utter_message(text=conversation.sexual_image_notice())
        if triage.mentions_minor(tracker.latest_message.get("text") or ""):
            urgency = conversation.with_flag(urgency, "minor")
        events.append(SlotSet("urgency", urgency))
        return events


class ValidateTriageForm(FormValidationAction):
    """Asks only the questions of the trouble type; reads free answers; explains after two
    answers it could not read, and offers to skip."""

    def name(self) -> Text:
        return "validate_triage_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        return triage.plan(tracker.get_slot("trouble_type"), answers(tracker))

    def validate_answer(self, slot: Text, dispatcher: CollectingDispatcher,
                        tracker: Tracker) -> Dict[Text, Any]:
        trouble_type = tracker.get_slot("trouble_type")
        message = tracker.latest_message
        reply = triage.interpret(
            slot, message.get("text") or "", conversation.intent_name(message),
            message.get("entities") or [], trouble_type,
        )
        if reply.value is None:
            failures = int(tracker.get_slot("triage_failures") or 0) + 1
            if failures >= 2:
                dispatcher.utter_message(text=triage.explanation(slot), buttons=[SKIP_BUTTON])
            else:
                dispatcher.utter_message(response="utter_triage_not_understood")
            return {slot: None, "triage_failures": failures}

        result: Dict[Text, Any] = {slot: reply.value, **reply.also, "triage_failures": 0}
        urgency = conversation.urgency_of(tracker)
        if slot == "user_role" and reply.value == "poster" and trouble_type == "defamation":
            # The user turns out to be the one who posted: the poster's questions apply.
            dispatcher.utter_message(response="utter_switch_to_own_post")
            result.update({event["name"]: event["value"] for event in type_events("own_post")})
        if reply.value in ("parent", "student", "teacher") or slot == "child_grade":
            urgency = conversation.with_flag(urgency, "minor")
        if slot == "offline_contact" and reply.value == triage.YES:
            urgency = conversation.with_flag(urgency, "danger")
            dispatcher.utter_message(response="utter_urgent_danger")
        if triage.mentions_minor(message.get("text") or ""):
            urgency = conversation.with_flag(urgency, "minor")
        result["urgency"] = urgency
        return result


def _validator(slot: Text):
    async def validate(self, slot_value: Any, dispatcher: CollectingDispatcher,
                       tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if slot_value is not None and slot_value != tracker.latest_message.get("text"):
            # An answer understood earlier, handed in again when the form is re-activated
            # (after a safety message): reading the new message for it would overwrite it.
            return {slot: slot_value}
        return self.validate_answer(slot, dispatcher, tracker)

    validate.__name__ = f"validate_{slot}"
    return validate


for _slot in triage.TRIAGE_SLOTS:
    setattr(ValidateTriageForm, f"validate_{_slot}", _validator(_slot))


class ActionTroubleMidForm(Action):
    """A trouble reported while the triage form asks: another type switches the triage; the
    same type (or a doubtful one) is read as the answer to the question asked."""

    def name(self) -> Text:
        return "action_trouble_mid_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message
        new_type = conversation.trouble_type_of(conversation.intent_name(message))
        current = tracker.get_slot("trouble_type")
        requested = tracker.get_slot("requested_slot")
        if requested in triage.TRIAGE_SLOTS:
            reply = triage.interpret(
                requested, message.get("text") or "", None, message.get("entities") or [], current
            )
            doubtful = (message.get("intent") or {}).get("confidence", 0.0) < SWITCH_CONFIDENCE
            if reply.value is not None and (new_type == current or doubtful):
                return [SlotSet(requested, reply.value)] + [
                    SlotSet(slot, value) for slot, value in reply.also.items()
                ]
        if new_type is None or new_type == current:
            return []
        dispatcher.utter_message(response=f"utter_ack_{new_type}")
        dispatcher.utter_message(response="utter_triage_restarting")
        events = type_events(new_type) + [SlotSet("requested_slot", None)]
        events += cleared_answers()
        events += [SlotSet(slot, value) for slot, value in prefilled(new_type, tracker).items()]
        if new_type == "sexual_image":
            dispatcher.utter_message(text=conversation.sexual_image_notice())
            events.append(SlotSet("urgency", conversation.with_flag(
                conversation.urgency_of(tracker), "sexual_image")))
        return events


class ActionResetTriage(Action):
    """Forgets the trouble type and the answers (the user cancelled or said the type is wrong)."""

    def name(self) -> Text:
        return "action_reset_triage"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        return type_events(None) + [SlotSet("triage_done", False),
                                    SlotSet("requested_slot", None)] + cleared_answers()


class ActionResetTriageAnswers(Action):
    """Keeps the type but asks every question again (the user wants to correct an answer)."""

    def name(self) -> Text:
        return "action_reset_triage_answers"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_triage_asking_again")
        return [SlotSet("triage_done", False)] + cleared_answers()


class ActionTriageSummary(Action):
    """Reads back what was understood and asks the user to confirm or correct it."""

    def name(self) -> Text:
        return "action_triage_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        trouble_type = tracker.get_slot("trouble_type")
        if trouble_type not in triage.TYPE_LABELS:
            dispatcher.utter_message(response="utter_choose_trouble_type")
            return []
        lines = ["ご相談の内容を確認させてください。", f"・ご相談の種類：{triage.TYPE_LABELS[trouble_type]}"]
        lines += triage.summary_lines(trouble_type, answers(tracker))
        lines.append("この内容でよろしいでしょうか。")
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=[
                {"title": "はい、合っています", "payload": "/affirm"},
                {"title": "回答を直したい", "payload": "/deny"},
                {"title": "相談の種類が違う", "payload": "/correct_trouble_type"},
            ],
        )
        urgency = conversation.urgency_of(tracker)
        return [SlotSet("triage_done", True), SlotSet("urgency", urgency or ["none"])]


class ActionFirstSteps(Action):
    """Concrete first steps for the type and the public bodies to contact, from business/."""

    def name(self) -> Text:
        return "action_first_steps"

    def __init__(self) -> None:
        referrals.catalogue()
        guidance.steps_catalogue()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        trouble_type = tracker.get_slot("trouble_type")
        if trouble_type not in triage.TYPE_LABELS:
            return []
        dispatcher.utter_message(text=guidance.guidance_text(
            trouble_type, answers(tracker), conversation.urgency_of(tracker)
        ))
        return []


class ActionRecordUrgency(Action):
    """Records a danger or self-harm signal for the handoff, and adds the children's lines
    after a danger message when a child is involved (the self-harm message has them already)."""

    def name(self) -> Text:
        return "action_record_urgency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message
        urgency = conversation.urgency_of(tracker)
        signals = list(message.get("safety_signals") or []) + [conversation.intent_name(message)]
        for intent, flag in (("urgent_self_harm", "self_harm"), ("urgent_danger", "danger")):
            if intent in signals:
                urgency = conversation.with_flag(urgency, flag)
        if triage.mentions_minor(message.get("text") or ""):
            urgency = conversation.with_flag(urgency, "minor")
        if "minor" in urgency and conversation.intent_name(message) == "urgent_danger":
            dispatcher.utter_message(text=conversation.child_lines())
        return [SlotSet("urgency", urgency)]


class ActionClarifyTrouble(Action):
    """Low confidence or a near tie: offers the two or three likeliest trouble types as
    buttons instead of guessing, or the whole menu when no trouble type is among them."""

    def name(self) -> Text:
        return "action_clarify_trouble"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = []
        for entry in ranking[:4]:
            trouble_type = conversation.trouble_type_of(entry.get("name"))
            if trouble_type and trouble_type not in candidates:
                candidates.append(trouble_type)
        if not candidates:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons = [{"title": triage.TYPE_LABELS[t], "payload": f"/trouble_{t}"} for t in candidates[:3]]
        buttons.append({"title": "どれにも当てはまらない", "payload": "/correct_trouble_type"})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []
