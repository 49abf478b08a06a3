"""The supervisors' analytics and review pages.

- ``GET /analytics``: the figures of ``nettrouble.staff.analytics`` for a range of Japan dates, per
  day or per week, each as an SVG chart (``console.charts``) and a table of the same numbers.
- ``GET /review``: the messages the assistant did not understand in the range, grouped by
  ``nettrouble.staff.review``, with a form per group to label it with an intent
  (``POST /review/label``).
- ``GET /review/export.yml``: every label as Rasa NLU training data.

Both pages take the range as ``from`` and ``to`` (YYYY-MM-DD, both included; by default the 28
days up to today) and read the conversations through the console's one tracker-store engine
(``views.tracker_store``, taken on the event loop so that worker threads never race to make it).

Labelling trusts no text from the browser. The form sends the range and the group's key (the
hash of its first text); the server works the groups of that range out again and labels the
texts of the group with that key as the tracker store keeps them (masked; ``review.assign``
masks them once more). When the list changed in between so that no group has that key any
more, the label is refused with a message instead of being put on texts nobody looked at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlencode

from markupsafe import Markup
from sanic import Request, Sanic
from sanic.response import HTTPResponse, html, raw, redirect
from sqlalchemy.engine import Engine

from console import auth, charts, templates
from console.views import MAX_FILTER_CHARS, BadRequest, call, tracker_store
from nettrouble.cases.document import channel_label, type_label
from nettrouble.core.clock import now
from nettrouble.core.datafiles import TROUBLE_TYPES
from nettrouble.staff import analytics, review

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 28
# A longer range would make pages of thousands of table rows and one very long pass over the
# tracker store.
MAX_DAYS = 366
# Per group on the review page: the distinct texts shown; the others are counted.
MAX_EXAMPLES = 5
# Groups on the review page, biggest first; the rest are counted. Each carries a form with
# every intent, so the page stays readable and light.
MAX_GROUPS = 100
WEEKDAYS = "月火水木金土日"
UNITS = {"day": "日別", "week": "週別"}
UNKNOWN_CHANNEL_LABEL = "不明"
TOTAL_LABEL = "期間合計"


# --- the range ---------------------------------------------------------------------------------


def typed_range(values: Mapping[str, Any]) -> Dict[str, str]:
    """``from``, ``to`` and ``unit`` as typed (trimmed, bounded, empty ones dropped)."""
    typed = {}
    for name in ("from", "to", "unit"):
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            typed[name] = value.strip()[:MAX_FILTER_CHARS]
    return typed


def check_range(typed: Mapping[str, str]) -> Tuple[date, date]:
    """The range of Japan dates; BadRequest says what is wrong in words staff read."""
    days = {}
    for name, label in (("from", "開始日"), ("to", "終了日")):
        if name in typed:
            try:
                days[name] = date.fromisoformat(typed[name])
            except ValueError:
                raise BadRequest(f"{label}は 2026-07-01 の形の日付でご指定ください。") from None
    end = days.get("to") or now().date()
    start = days.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRequest("開始日が終了日より後になっています。")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"期間は{MAX_DAYS}日以内でご指定ください。")
    return start, end


def range_query(start: date, end: date, **extra: str) -> str:
    return urlencode({"from": start.isoformat(), "to": end.isoformat(), **extra})


# --- analytics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure of the page: its chart and the same numbers as a table (a row per period and
    the range's total)."""

    key: str
    title: str
    chart: Markup
    columns: Tuple[str, ...]
    rows: Tuple[Tuple[str, Tuple[str, ...]], ...]
    total: Tuple[str, ...]


def rate_text(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def duration_text(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    whole = round(seconds)
    return f"{whole // 60}分{whole % 60:02d}秒"


def eligibility_name(key: str) -> str:
    # The analytics count a case without a decision as NONE; the case list calls it 未判定.
    return templates.eligibility_label(None if key == analytics.NONE else key)


def channel_name(key: str) -> str:
    return UNKNOWN_CHANNEL_LABEL if key == analytics.UNKNOWN_CHANNEL else channel_label(key)


def mix_keys(counts: Mapping[str, int], first: Sequence[str], last: str) -> List[str]:
    """The keys of a mix in the page's order: the known ones in their order, then any other,
    and the "none"/"unknown" key at the end."""
    known = [key for key in first if key in counts]
    others = sorted(key for key in counts if key not in first and key != last)
    return known + others + ([last] if last in counts else [])


def period_label(period: analytics.Period, unit: str) -> Tuple[str, str]:
    """(label in the table, short label under the chart)."""
    if unit == "day":
        day = period.start
        return f"{day.isoformat()}（{WEEKDAYS[day.weekday()]}）", f"{day.month}/{day.day}"
    return (f"{period.start.isoformat()}〜{period.end.isoformat()}", f"{period.start.month}/{period.start.day}〜")


Column = Tuple[str, Callable[[analytics.Period], str]]


def _figure(
    key: str,
    title: str,
    chart: str,
    columns: Sequence[Column],
    periods: Sequence[analytics.Period],
    total: analytics.Period,
    unit: str,
) -> Figure:
    rows = tuple((period_label(p, unit)[0], tuple(cell(p) for _, cell in columns)) for p in periods)
    # The one place where console markup is trusted: console.charts escapes every text it puts
    # into the SVG (title, labels, series names), so the chart goes into the page as it is.
    # Marking it here keeps the templates free of "|safe" (tests/test_console.py holds every
    # template to that).
    return Figure(
        key, title, Markup(chart), tuple(name for name, _ in columns), rows, tuple(cell(total) for _, cell in columns)
    )


def _mix(
    key: str,
    title: str,
    attribute: str,
    keys: Sequence[str],
    name: Callable[[str], str],
    labels: Sequence[str],
    periods: Sequence[analytics.Period],
    total: analytics.Period,
    unit: str,
) -> Figure:
    """A figure of counts by kind (trouble types, channels, eligibility outcomes)."""

    def counts(period: analytics.Period) -> Mapping[str, int]:
        return getattr(period, attribute)

    series = [(name(k), [counts(p).get(k, 0) for p in periods]) for k in keys]
    columns = [(name(k), lambda p, k=k: str(counts(p).get(k, 0))) for k in keys]
    return _figure(key, title, charts.stacked_bars(labels, series, title), columns, periods, total, unit)


def figures(found: analytics.Report, unit: str) -> List[Figure]:
    periods = found.days if unit == "day" else found.weeks
    total = found.total
    labels = [period_label(p, unit)[1] for p in periods]
    by = UNITS[unit]
    made = []

    title = f"会話数（{by}）"
    made.append(
        _figure(
            "conversations",
            title,
            charts.bar_chart(list(zip(labels, [p.conversations for p in periods])), title),
            [("会話数", lambda p: str(p.conversations)), ("利用者の発話数", lambda p: str(p.user_turns))],
            periods,
            total,
            unit,
        )
    )

    made.append(
        _mix(
            "trouble_types",
            f"相談の種類（{by}）",
            "trouble_types",
            mix_keys(total.trouble_types, TROUBLE_TYPES, analytics.NONE),
            type_label,
            labels,
            periods,
            total,
            unit,
        )
    )

    title = f"引き継ぎ・自己解決・離脱の率（{by}）"
    made.append(
        _figure(
            "outcomes",
            title,
            charts.line_chart(
                labels,
                [
                    ("引き継ぎ率", [p.handoff_rate for p in periods]),
                    ("自己解決率", [p.containment_rate for p in periods]),
                    ("離脱率", [p.abandonment_rate for p in periods]),
                ],
                title,
            ),
            [
                ("会話数", lambda p: str(p.conversations)),
                ("引き継ぎ", lambda p: str(p.handed_off)),
                ("引き継ぎ率", lambda p: rate_text(p.handoff_rate)),
                ("自己解決", lambda p: str(p.outcomes.get(analytics.CONTAINED, 0))),
                ("自己解決率", lambda p: rate_text(p.containment_rate)),
                ("離脱", lambda p: str(p.outcomes.get(analytics.ABANDONED, 0))),
                ("離脱率", lambda p: rate_text(p.abandonment_rate)),
                ("未解決", lambda p: str(p.outcomes.get(analytics.UNRESOLVED, 0))),
            ],
            periods,
            total,
            unit,
        )
    )

    title = f"未理解・「もしかして」の率（{by}）"
    made.append(
        _figure(
            "understanding",
            title,
            charts.line_chart(
                labels,
                [
                    ("未理解率", [p.fallback_rate for p in periods]),
                    ("「もしかして」率", [p.did_you_mean_rate for p in periods]),
                ],
                title,
            ),
            [
                ("利用者の発話数", lambda p: str(p.user_turns)),
                ("未理解", lambda p: str(p.fallback_turns)),
                ("未理解率", lambda p: rate_text(p.fallback_rate)),
                ("「もしかして」", lambda p: str(p.did_you_mean_turns)),
                ("「もしかして」率", lambda p: rate_text(p.did_you_mean_rate)),
            ],
            periods,
            total,
            unit,
        )
    )

    made.append(
        _mix(
            "eligibility",
            f"無料相談の判定（案件、{by}）",
            "eligibility",
            mix_keys(total.eligibility, tuple(templates.ELIGIBILITY_LABELS), analytics.NONE),
            eligibility_name,
            labels,
            periods,
            total,
            unit,
        )
    )

    title = f"最初のメッセージから受付番号までの時間（分、{by}）"

    def minutes(seconds: Optional[float]) -> Optional[float]:
        return None if seconds is None else seconds / 60

    made.append(
        _figure(
            "time_to_reference",
            title,
            charts.line_chart(
                labels,
                [
                    ("中央値", [minutes(p.median_seconds_to_reference) for p in periods]),
                    ("90パーセンタイル", [minutes(p.p90_seconds_to_reference) for p in periods]),
                ],
                title,
                percent=False,
            ),
            [
                ("引き継ぎ", lambda p: str(p.handed_off)),
                ("中央値", lambda p: duration_text(p.median_seconds_to_reference)),
                ("90パーセンタイル", lambda p: duration_text(p.p90_seconds_to_reference)),
            ],
            periods,
            total,
            unit,
        )
    )

    made.append(
        _mix(
            "channels",
            f"チャネル（{by}）",
            "channels",
            mix_keys(total.channels, analytics.CHANNELS, analytics.UNKNOWN_CHANNEL),
            channel_name,
            labels,
            periods,
            total,
            unit,
        )
    )
    return made


def shown_range(typed: Mapping[str, str], start: Optional[date], end: Optional[date]) -> Dict[str, str]:
    """The range form as typed, with the dates as read when they could be read."""
    shown = dict(typed)
    if start is not None and end is not None:
        shown.update({"from": start.isoformat(), "to": end.isoformat()})
    return shown


def analytics_response(
    request: Request,
    typed: Mapping[str, str],
    status: int = 200,
    error: Optional[str] = None,
    start: Optional[date] = None,
    end: Optional[date] = None,
    unit: str = "day",
    shown: Sequence[Figure] = (),
) -> HTTPResponse:
    body = templates.render(
        "analytics.html",
        session=request.ctx.session,
        typed=shown_range(typed, start, end),
        error=error,
        start=start,
        end=end,
        unit=unit,
        UNITS=UNITS,
        figures=shown,
        TOTAL_LABEL=TOTAL_LABEL,
        UNDECIDED=templates.UNDECIDED,
    )
    return html(body, status=status)


@auth.supervisor_only
async def analytics_page(request: Request) -> HTTPResponse:
    typed = typed_range(request.args)
    try:
        start, end = check_range(typed)
        unit = typed.get("unit", "day")
        if unit not in UNITS:
            raise BadRequest("集計の単位は「日別」か「週別」からお選びください。")
    except BadRequest as problem:
        return analytics_response(request, typed, status=400, error=str(problem))
    found = await call(analytics.report, request.app.ctx.engine, tracker_store(request.app), start, end)
    return analytics_response(request, typed, start=start, end=end, unit=unit, shown=figures(found, unit))


# --- review ------------------------------------------------------------------------------------

REVIEW_NOTICES = {"labelled": "意図を付けました。出力するYAMLに反映されます。"}
REVIEW_ERRORS = {
    "changed": (
        "メッセージの一覧が変わったため、意図を付けられませんでした。最新の一覧を確認してから、もう一度お試しください。"
    ),
    "unknown_intent": "意図は一覧から選んでください。",
    "invalid": "意図を付けられませんでした。画面を開き直してお試しください。",
}


@dataclass(frozen=True)
class Example:
    text: str
    count: int
    label: Optional[review.Assignment]


@dataclass(frozen=True)
class GroupView:
    key: str
    representative: str
    count: int
    did_you_mean: int
    intent: Optional[str]
    examples: Tuple[Example, ...]
    more_texts: int


def group_key(found: review.ReviewGroup) -> str:
    return review.text_hash(found.representative)


def group_view(found: review.ReviewGroup, labels: Mapping[str, review.Assignment]) -> GroupView:
    counts: Dict[str, int] = {}
    for message in found.messages:
        counts[message.text] = counts.get(message.text, 0) + 1
    examples = tuple(
        Example(text, counts[text], labels.get(review.text_hash(text))) for text in found.texts[:MAX_EXAMPLES]
    )
    did_you_mean = sum(1 for m in found.messages if m.kind == analytics.DID_YOU_MEAN)
    return GroupView(
        group_key(found),
        found.representative,
        found.count,
        did_you_mean,
        found.intent,
        examples,
        max(0, len(found.texts) - MAX_EXAMPLES),
    )


def intent_options() -> Tuple[List[str], List[str]]:
    """(the intents, the FAQ keys) that ``review.assign`` accepts, each in name order."""
    names = sorted(review.intents())
    faq = [name for name in names if "/" in name]
    return [name for name in names if "/" not in name], faq


def _groups_and_labels(
    engine: Engine, tracker: Engine, start: date, end: date
) -> Tuple[List[review.ReviewGroup], Dict[str, review.Assignment]]:
    found = review.review_list(engine, tracker, start, end)
    labels = {label.text_hash: label for label in review.assignments(engine)}
    return found, labels


def review_response(
    request: Request,
    typed: Mapping[str, str],
    status: int = 200,
    error: Optional[str] = None,
    start: Optional[date] = None,
    end: Optional[date] = None,
    groups: Sequence[GroupView] = (),
    hidden_groups: int = 0,
    notice: Optional[str] = None,
) -> HTTPResponse:
    intents, faq_keys = intent_options()
    body = templates.render(
        "review.html",
        session=request.ctx.session,
        typed=shown_range(typed, start, end),
        error=error,
        notice=notice,
        start=start,
        end=end,
        groups=groups,
        hidden_groups=hidden_groups,
        intents=intents,
        faq_keys=faq_keys,
        MAX_EXAMPLES=MAX_EXAMPLES,
    )
    return html(body, status=status)


@auth.supervisor_only
async def review_page(request: Request) -> HTTPResponse:
    typed = typed_range(request.args)
    try:
        start, end = check_range(typed)
    except BadRequest as problem:
        return review_response(request, typed, status=400, error=str(problem))
    found, labels = await call(_groups_and_labels, request.app.ctx.engine, tracker_store(request.app), start, end)
    # Codes come from the query string: only known ones become messages.
    error = REVIEW_ERRORS.get(request.args.get("error") or "")
    notice = REVIEW_NOTICES.get(request.args.get("notice") or "")
    return review_response(
        request,
        typed,
        start=start,
        end=end,
        error=error,
        notice=notice,
        groups=[group_view(g, labels) for g in found[:MAX_GROUPS]],
        hidden_groups=max(0, len(found) - MAX_GROUPS),
    )


def _label_group(
    engine: Engine, tracker: Engine, start: date, end: date, key: str, intent: str, who: str
) -> Optional[int]:
    """Labels the group of the range whose key is ``key``; the number of texts labelled, or
    None when the range has no such group (any more)."""
    found = review.review_list(engine, tracker, start, end)
    chosen = next((g for g in found if group_key(g) == key), None)
    if chosen is None:
        return None
    return len(review.assign(engine, chosen.texts, intent, who))


@auth.supervisor_only
async def label_group(request: Request) -> HTTPResponse:
    typed = typed_range(request.form)
    try:
        start, end = check_range(typed)
    except BadRequest as problem:
        return review_response(request, typed, status=400, error=str(problem))
    key = request.form.get("group") or ""
    intent = request.form.get("intent") or ""
    who = request.ctx.session.user
    try:
        labelled = await call(
            _label_group, request.app.ctx.engine, tracker_store(request.app), start, end, key, intent, who
        )
    except review.ReviewError as refused:
        code = refused.code if refused.code in REVIEW_ERRORS else "invalid"
        return redirect(f"/review?{range_query(start, end, error=code)}", status=303)
    if labelled is None:
        return redirect(f"/review?{range_query(start, end, error='changed')}", status=303)
    # Texts stay out of the log: they are what users typed.
    logger.info("review: %d texts labelled %s by %s", labelled, intent, who)
    return redirect(f"/review?{range_query(start, end, notice='labelled')}#group-{key}", status=303)


def _exported(engine: Engine) -> str:
    return review.export_nlu_yaml(review.assignments(engine))


@auth.supervisor_only
async def review_export(request: Request) -> HTTPResponse:
    try:
        text = await call(_exported, request.app.ctx.engine)
    except review.ReviewError as refused:
        # A label whose intent has left domain.yml since: training data naming it would not load.
        logger.warning("review export refused: %s", refused)
        body = templates.error_page(
            request.ctx.session,
            "出力できませんでした",
            "domain.yml にない意図のラベルがあるため、出力できませんでした。"
            "該当するメッセージに意図を付け直してから、もう一度出力してください。",
        )
        return html(body, status=409)
    stamp = now().date().isoformat()
    return raw(
        text.encode("utf-8"),
        content_type="application/x-yaml; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="review-{stamp}.yml"',
            # The console's middleware says no-store for every page too; a download that holds what
            # users typed says it itself.
            "Cache-Control": "no-store",
        },
    )


def register(app: Sanic) -> None:
    app.add_route(analytics_page, "/analytics", methods=["GET"], name="analytics_page")
    app.add_route(review_page, "/review", methods=["GET"], name="review_page")
    app.add_route(label_group, "/review/label", methods=["POST"], name="review_label")
    app.add_route(review_export, "/review/export.yml", methods=["GET"], name="review_export")
