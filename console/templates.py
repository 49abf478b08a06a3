"""The console's HTML: Jinja2 templates in ``console/pages`` with autoescape.

Every template is autoescaped, so a value reaches a page as text unless a template marks it
otherwise (none does); an undefined name is an error rather than an empty string. Pages extend
``layout.html`` (header, navigation, sign-out form, stylesheet) and carry no script and no
inline style (the Content-Security-Policy forbids both); the look is static/console.css.

A new page: a template that extends ``layout.html`` (blocks ``title`` and ``content``; a
top-level ``{% set current_page = "<key>" %}`` marks its NAVIGATION entry), its values passed to
``render`` with the session, and ``csrf_input(session)`` from ``macros.html`` in every POST form.
A partial (``_name.html``) is a part of a page kept apart, included with ``{% include %}``: it
extends nothing and sees the page's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from console.auth import CSRF_FIELD, Session
from nettrouble.callbacks import labels as callback_labels
from nettrouble.cases import closing_reasons, schema, store
from nettrouble.cases.closing_reasons import ClosingReason

# The codes' Japanese names are shared with the Slack alerts and the tickets.
from nettrouble.cases.document import (
    UNCLASSIFIED,
    URGENCY_LABELS,
    URGENCY_ORDER,
    channel_label,
    ordered_urgency,
    type_label,
)
from nettrouble.cases.reference import BAD_CHECK_DIGIT, MALFORMED
from nettrouble.cases.transcript import BUTTON_LABEL, KIND_LABELS
from nettrouble.cases.transcript import ROLE_LABELS as TURN_ROLES
from nettrouble.core.clock import in_japan
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.core.money import yen_text
from nettrouble.cover.messages import decision_label, outcome_label
from nettrouble.eligibility import ledger, rules
from nettrouble.triage import plans, urgency
from nettrouble.triage.answers import NO, YES

PAGES = Path(__file__).resolve().parent / "pages"
SERVICE = "ネットトラブルあんしんサポート"
REFERENCE_EXAMPLE = "NT-2607-12345-1"


# --- labels ----------------------------------------------------------------------------------

STATUS_LABELS = {schema.NEW: "新規", schema.IN_PROGRESS: "対応中", schema.CLOSED: "完了"}
ELIGIBILITY_LABELS = {
    rules.ELIGIBLE: "無料相談の対象",
    rules.ALREADY_USED: "対象外（無料相談は別の案件で利用済み）",
    rules.MEMBER: "会員（電話相談はサービスに含まれます）",
    rules.TOPIC_NOT_COVERED: "対象外（誹謗中傷以外のご相談）",
    rules.NOT_DOCOMO: "対象外（ドコモ回線のご契約なし）",
    rules.NOT_STARTED: "対象外（キャンペーン開始前）",
    rules.ENDED: "対象外（キャンペーン終了後）",
    rules.ADVISER_EXCLUDED: "対象外（消費生活アドバイザー等へのご相談）",
}
UNDECIDED = "未判定"

NOTICES = {
    "status_changed": "状態を変更しました。",
    "taken": "この案件の担当になりました。",
    "assigned": "担当者を変更しました。",
    "released": "担当を外し、未担当の案件として一覧に戻しました。",
    "note_added": "メモを追加しました。",
    "closed": "完了にしました。",
    "claim_released": "無料相談の枠を解除しました。この番号は、ほかの受付で使えるようになりました。",
    "claim_not_pending": "確認待ちの無料相談の枠がないため、解除できませんでした。",
    "callback_marked": "折り返しの結果を記録しました。",
}
STATUS_ERRORS = {
    "not_allowed": "この状態からは、その変更はできません。画面を更新して最新の状態をご確認ください。",
    "conflict": "ほかの担当者が先に状態を変更しました。最新の状態をご確認ください。",
    "invalid": "変更先の状態が正しくありません。",
    # {holder}: who holds the case now.
    "taken": "この案件はすでに {holder} さんが担当しています。",
    "needs_reason": "完了にするには、対応終了の理由を選んで「完了にする」から操作してください。",
    "callback_not_allowed": (
        "折り返しの結果を記録できませんでした。ほかの担当者が先に記録した可能性があります。最新の状態をご確認ください。"
    ),
}
LOOKUP_MESSAGES = {
    MALFORMED: f"受付番号の形式が正しくありません。「{REFERENCE_EXAMPLE}」のように、NTに続く10桁の数字でご入力ください。",
    BAD_CHECK_DIGIT: (
        "受付番号の最後の1桁（確認用の数字）が合いません。聞き間違いや入力間違いの可能性があります。"
        "お客さまに受付番号をもう一度ご確認ください。"
    ),
    schema.UNKNOWN: "この受付番号の案件は見つかりませんでした。番号をもう一度ご確認ください。",
}
# (message kind, text); {holder} is the reference of the case that holds the claim.
CALLER_RESULTS = {
    schema.MATCH: ("ok", "一致しました。ご相談の際に確認した番号からのお電話です。"),
    store.NO_CLAIM: ("ok", "一致しました。ご相談の際に確認した番号からのお電話です。"),
    store.CONFIRMED: (
        "ok",
        "一致しました。ご相談の際に確認した番号からのお電話です。無料相談の枠をこの受付で確定しました。",
    ),
    store.HELD_ELSEWHERE: (
        "warn",
        "番号は一致しましたが、この番号の無料相談はすでに別の受付（{holder}）で確定しています。"
        "今回は通常のご相談としてご案内ください。",
    ),
    schema.NO_MATCH: (
        "warn",
        "一致しません。ご相談の際に確認した番号とは別の番号です。ご本人確認は通常の手順で行ってください。",
    ),
    schema.NO_PERSON_KEY: ("info", "この案件では電話番号を確認していないため、照合できません。"),
    schema.INVALID_NUMBER: (
        "warn",
        "ドコモの携帯電話番号（070・080・090で始まる11桁）として読み取れませんでした。"
        "番号をご確認のうえ、もう一度入力してください。",
    ),
}


CLAIM_LABELS = {
    ledger.PENDING: "確認待ち（お電話で発信番号を照合すると確定します）",
    ledger.CONFIRMED: "確定（ご本人の番号を確認済み）",
    ledger.EXPIRED: "期限切れ（番号の確認がないまま保留期間が過ぎ、枠は解放されました）",
    ledger.RELEASED: "解除（同じ番号のご本人が別の受付で確認されました）",
}


def claim_label(state: Optional[str]) -> str:
    return "—" if state is None else CLAIM_LABELS.get(state, "—")


def eligibility_label(value: Optional[str]) -> str:
    return UNDECIDED if value is None else ELIGIBILITY_LABELS.get(value, value)


def japan_time(moment: datetime) -> str:
    return in_japan(moment).strftime("%Y-%m-%d %H:%M")


def answer_text(slot: str, value: Any) -> str:
    """A triage answer as staff read it; answers of an older or unexpected shape are shown as
    they are rather than hidden."""
    if isinstance(value, list):
        return "、".join(answer_text(slot, item) for item in value)
    if isinstance(value, bool):
        value = YES if value else NO
    if value is None:
        return "未回答"
    try:
        return plans.display(slot, value)
    except (TypeError, ValueError):
        return str(value)


def ordered_answers(trouble_type: str, answers: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """(label, text) in the order the assistant asks, then any other answers."""
    asked = [slot for slot in plans.PLANS.get(trouble_type, []) if slot in answers]
    others = sorted(slot for slot in answers if slot not in asked)
    return [(plans.LABELS.get(slot, slot), answer_text(slot, answers[slot])) for slot in asked + others]


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def urgency_label(flag: str) -> str:
    return URGENCY_LABELS.get(flag, flag)


def life_threatening(flags: Sequence[str]) -> bool:
    return any(flag in urgency.LIFE_THREATENING for flag in flags)


# --- list helpers ------------------------------------------------------------------------------

EXCERPT_CHARS = 60
FILTER_NAMES = ("status", "trouble_type", "date_from", "date_to", "eligibility", "urgency")


def excerpt(summary: str) -> str:
    return summary if len(summary) <= EXCERPT_CHARS else summary[:EXCERPT_CHARS] + "…"


def status_options() -> List[Tuple[str, str]]:
    return [(status, STATUS_LABELS[status]) for status in schema.STATUSES]


def type_options() -> List[Tuple[str, str]]:
    return [(t, type_label(t)) for t in TROUBLE_TYPES] + [(schema.UNKNOWN, UNCLASSIFIED)]


def eligibility_options() -> List[Tuple[str, str]]:
    return [(schema.NONE, UNDECIDED)] + list(ELIGIBILITY_LABELS.items())


def urgency_options() -> List[Tuple[str, str]]:
    return [(schema.NONE, "なし")] + [(flag, URGENCY_LABELS[flag]) for flag in URGENCY_ORDER]


def query(filters: Mapping[str, str], **extra: Any) -> str:
    values = {name: value for name, value in filters.items() if value}
    values.update({name: value for name, value in extra.items() if value})
    return urlencode(values)


def list_href(filters: Mapping[str, str], page_number: int) -> str:
    found = query(filters, page=page_number if page_number > 1 else None)
    return "/?" + found if found else "/"


def export_href(filters: Mapping[str, str]) -> str:
    found = query(filters)
    return "/export.csv?" + found if found else "/export.csv"


# --- detail helpers ----------------------------------------------------------------------------

# The buttons offered in each status: (target status, reopen, label, button style).
STATUS_ACTIONS = {
    # Starting work is taking the case (the take form): a case in progress always has a holder.
    schema.NEW: (),
    # Closing needs a reason: the close form, not a status button.
    schema.IN_PROGRESS: ((schema.NEW, False, "新規に戻す（担当を外れる）", "secondary"),),
    schema.CLOSED: ((schema.IN_PROGRESS, True, "再開する（対応中に戻す）", "secondary"),),
}


@dataclass(frozen=True)
class CaseWork:
    """What the case page shows of the phone team's work on a case (console/queue_views.py)."""

    # The masked conversation (nettrouble.cases.transcript turns); None when the store could not be read.
    transcript: Optional[Sequence[Mapping[str, Any]]]
    notes: Sequence[schema.Note]
    reasons: Sequence[ClosingReason]
    # Active agents a supervisor may assign the case to; empty for anyone else.
    assignees: Sequence[str]
    # Why a form was refused (a 400 answer), and the note text to offer again.
    problem: Optional[str] = None
    note_draft: str = ""
    # The case's callback and the number to call (console.callback_views.CallbackView), if any.
    callback: Optional[Any] = None


def history_change(event: schema.StatusEvent) -> str:
    change = status_label(event.to_status)
    if event.from_status is None:
        return change
    return f"{status_label(event.from_status)} → {change}"


# --- rendering -----------------------------------------------------------------------------------

# The header's links, in order: (key a page sets as current_page, path, label, for supervisors
# only). A new page in the navigation adds its entry here; a supervisors' page also checks the
# role itself (auth.supervisor_only): hiding a link protects nothing.
NAVIGATION = (
    ("queue", "/queue", "今日の対応", False),
    ("cases", "/", "一覧", False),
    ("holdings", "/holdings", "担当状況", True),
    ("analytics", "/analytics", "分析", True),
    ("review", "/review", "未理解メッセージ", True),
    ("agents", "/agents", "担当者アカウント", True),
    ("export", "/export.csv", "CSV出力", False),
)

ENVIRONMENT = Environment(
    loader=FileSystemLoader(PAGES),
    # Every template, whatever its name, escapes what it prints.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.globals.update(
    SERVICE=SERVICE,
    REFERENCE_EXAMPLE=REFERENCE_EXAMPLE,
    CSRF_FIELD=CSRF_FIELD,
    NAVIGATION=NAVIGATION,
    STATUS_ACTIONS=STATUS_ACTIONS,
    LIFE_THREATENING=urgency.LIFE_THREATENING,
    list_href=list_href,
    export_href=export_href,
    ordered_answers=ordered_answers,
    KIND_LABELS=KIND_LABELS,
    BUTTON_LABEL=BUTTON_LABEL,
    TURN_ROLES=TURN_ROLES,
    MAX_NOTE_CHARS=schema.MAX_NOTE_CHARS,
    CALLBACK_OUTCOMES=callback_labels.OUTCOME_LABELS,
)
ENVIRONMENT.filters.update(
    type_label=type_label,
    eligibility_label=eligibility_label,
    channel_label=channel_label,
    status_label=status_label,
    urgency_label=urgency_label,
    claim_label=claim_label,
    fraud_cover_label=outcome_label,
    provider_decision_label=decision_label,
    yen=yen_text,
    ordered_urgency=ordered_urgency,
    japan_time=japan_time,
    excerpt=excerpt,
    history_change=history_change,
    reason_label=closing_reasons.label,
    callback_slot=callback_labels.slot_text,
    slot_time=callback_labels.slot_time,
    callback_state=callback_labels.state_label,
    callback_by=callback_labels.changed_by,
)
ENVIRONMENT.tests.update(life_threatening=life_threatening)


def render(name: str, **context: Any) -> str:
    """The page ``name`` (a file in console/pages) filled with ``context``; pages that extend
    the layout need ``session`` (None shows no header)."""
    return ENVIRONMENT.get_template(name).render(**context)


# --- pages ---------------------------------------------------------------------------------------


def error_page(session: Optional[Session], title: str, text: str) -> str:
    return render("error.html", session=session, title=title, text=text)


def login_page(
    session: Session, next_path: str, error: Optional[str] = None, username: str = "", setup_hint: bool = False
) -> str:
    # setup_hint says where setup wrote the credentials: in development only, not to the world.
    return render(
        "login.html", session=session, next_path=next_path, error=error, username=username, setup_hint=setup_hint
    )


def list_page(
    session: Session,
    filters: Mapping[str, str],
    found: Sequence[schema.Case],
    page_number: int,
    has_next: bool,
    error: Optional[str] = None,
) -> str:
    options = {
        "status": status_options(),
        "trouble_type": type_options(),
        "eligibility": eligibility_options(),
        "urgency": urgency_options(),
    }
    return render(
        "list.html",
        session=session,
        filters=filters,
        options=options,
        found=found,
        page_number=page_number,
        has_next=has_next,
        error=error,
    )


def lookup_page(session: Session, typed: str, status: str, canonical: Optional[str]) -> str:
    return render(
        "lookup.html", session=session, lookup_reference=typed, text=LOOKUP_MESSAGES[status], canonical=canonical
    )


def detail_page(
    session: Session,
    case: schema.Case,
    history: Sequence[schema.StatusEvent],
    titles: Mapping[str, Tuple[str, str]],
    work: CaseWork,
    notice: Optional[str] = None,
    error: Optional[str] = None,
    caller_result: Optional[str] = None,
    claim_state: Optional[str] = None,
    holder: Optional[str] = None,
) -> str:
    # Codes come from the query string: only known ones become messages.
    messages = []
    if notice in NOTICES:
        messages.append(("ok", NOTICES[notice]))
    if error in STATUS_ERRORS:
        messages.append(("error", STATUS_ERRORS[error].format(holder=case.assigned_to or "ほかの担当者")))
    if work.problem:
        messages.append(("error", work.problem))
    caller = None
    if caller_result in CALLER_RESULTS:
        kind, text = CALLER_RESULTS[caller_result]
        caller = (kind, text.format(holder=holder or "—"))
    return render(
        "detail.html",
        session=session,
        case=case,
        history=history,
        titles=titles,
        messages=messages,
        caller=caller,
        claim_state=claim_state,
        releasable=claim_state == ledger.PENDING,
        work=work,
    )
