"""The console's HTML, built with the standard library.

Every value goes into a page through ``escape`` (``html.escape`` with quotes), which leaves
alone only ``Markup``: HTML this module built itself. ``render`` fills a ``string.Template``
that way, so a value cannot reach a page unescaped by forgetting a call. Pages carry no script
and no inline style (the Content-Security-Policy forbids both); the look is static/console.css.
"""
from __future__ import annotations

import html
from datetime import datetime
from string import Template
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlencode

from nettrouble import cases, eligibility, ledger, triage
from nettrouble.clock import in_japan
from nettrouble.datafiles import TROUBLE_TYPES
from nettrouble.reference import BAD_CHECK_DIGIT, MALFORMED

from console.auth import CSRF_FIELD, Session

SERVICE = "ネットトラブルあんしんサポート"
REFERENCE_EXAMPLE = "NT-2607-12345-1"


class Markup(str):
    """Text that is already HTML (built here from escaped parts)."""


def escape(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def render(template: Template, **values: Any) -> Markup:
    return Markup(template.substitute({name: escape(value) for name, value in values.items()}))


def join(parts: Iterable[Any], separator: str = "") -> Markup:
    return Markup(escape(separator).join(escape(part) for part in parts))


# --- labels ----------------------------------------------------------------------------------

STATUS_LABELS = {cases.NEW: "新規", cases.IN_PROGRESS: "対応中", cases.CLOSED: "完了"}
# Danger to life first: the order in which flags are shown and listed in the filter.
URGENCY_ORDER = ("danger", "self_harm", "sexual_image", "minor")
URGENCY_LABELS = {
    "danger": "身の危険",
    "self_harm": "自傷・自殺の恐れ",
    "sexual_image": "性的画像の被害",
    "minor": "未成年",
}
LIFE_THREATENING = ("danger", "self_harm")
ELIGIBILITY_LABELS = {
    eligibility.ELIGIBLE: "無料相談の対象",
    eligibility.ALREADY_USED: "対象外（無料相談は別の案件で利用済み）",
    eligibility.MEMBER: "会員（電話相談はサービスに含まれます）",
    eligibility.TOPIC_NOT_COVERED: "対象外（誹謗中傷以外のご相談）",
    eligibility.NOT_DOCOMO: "対象外（ドコモ回線のご契約なし）",
    eligibility.NOT_STARTED: "対象外（キャンペーン開始前）",
    eligibility.ENDED: "対象外（キャンペーン終了後）",
    eligibility.ADVISER_EXCLUDED: "対象外（消費生活アドバイザー等へのご相談）",
}
UNDECIDED = "未判定"
CHANNEL_LABELS = {"web": "ウェブ", "line": "LINE", "sms": "SMS", "rest": "REST", "cmdline": "シェル"}
UNCLASSIFIED = "未分類"

NOTICES = {
    "status_changed": "状態を変更しました。",
    "claim_released": "無料相談の枠を解除しました。この番号は、ほかの受付で使えるようになりました。",
    "claim_not_pending": "確認待ちの無料相談の枠がないため、解除できませんでした。",
}
STATUS_ERRORS = {
    "not_allowed": "この状態からは、その変更はできません。画面を更新して最新の状態をご確認ください。",
    "conflict": "ほかの担当者が先に状態を変更しました。最新の状態をご確認ください。",
    "invalid": "変更先の状態が正しくありません。",
}
LOOKUP_MESSAGES = {
    MALFORMED: f"受付番号の形式が正しくありません。「{REFERENCE_EXAMPLE}」のように、NTに続く10桁の数字でご入力ください。",
    BAD_CHECK_DIGIT: (
        "受付番号の最後の1桁（確認用の数字）が合いません。聞き間違いや入力間違いの可能性があります。"
        "お客さまに受付番号をもう一度ご確認ください。"
    ),
    cases.UNKNOWN: "この受付番号の案件は見つかりませんでした。番号をもう一度ご確認ください。",
}
CALLER_RESULTS = {
    cases.MATCH: ("ok", "一致しました。ご相談の際に確認した番号からのお電話です。"),
    cases.NO_CLAIM: ("ok", "一致しました。ご相談の際に確認した番号からのお電話です。"),
    cases.CONFIRMED: ("ok", "一致しました。ご相談の際に確認した番号からのお電話です。無料相談の枠をこの受付で確定しました。"),
    cases.HELD_ELSEWHERE: (
        "warn",
        "番号は一致しましたが、この番号の無料相談はすでに別の受付（$holder）で確定しています。"
        "今回は通常のご相談としてご案内ください。",
    ),
    cases.NO_MATCH: (
        "warn",
        "一致しません。ご相談の際に確認した番号とは別の番号です。ご本人確認は通常の手順で行ってください。",
    ),
    cases.NO_PERSON_KEY: ("info", "この案件では電話番号を確認していないため、照合できません。"),
    cases.INVALID_NUMBER: (
        "warn",
        "ドコモの携帯電話番号（070・080・090で始まる11桁）として読み取れませんでした。"
        "番号をご確認のうえ、もう一度入力してください。",
    ),
}


def type_label(trouble_type: str) -> str:
    return triage.TYPE_LABELS.get(trouble_type, UNCLASSIFIED)


CLAIM_LABELS = {
    ledger.PENDING: "確認待ち（お電話で発信番号を照合すると確定します）",
    ledger.CONFIRMED: "確定（ご本人の番号を確認済み）",
    ledger.EXPIRED: "期限切れ（番号の確認がないまま保留期間が過ぎ、枠は解放されました）",
    ledger.RELEASED: "解除（同じ番号のご本人が別の受付で確認されました）",
}


def eligibility_label(value: Optional[str]) -> str:
    return UNDECIDED if value is None else ELIGIBILITY_LABELS.get(value, value)


def channel_label(value: str) -> str:
    return CHANNEL_LABELS.get(value, value)


def ordered_urgency(flags: Sequence[str]) -> List[str]:
    known = [flag for flag in URGENCY_ORDER if flag in flags]
    return known + [flag for flag in flags if flag not in URGENCY_ORDER]


def japan_time(moment: datetime) -> str:
    return in_japan(moment).strftime("%Y-%m-%d %H:%M")


def answer_text(slot: str, value: Any) -> str:
    """A triage answer as staff read it; answers of an older or unexpected shape are shown as
    they are rather than hidden."""
    if isinstance(value, list):
        return "、".join(answer_text(slot, item) for item in value)
    if isinstance(value, bool):
        value = triage.YES if value else triage.NO
    if value is None:
        return "未回答"
    try:
        return triage.display(slot, value)
    except (TypeError, ValueError):
        return str(value)


def ordered_answers(trouble_type: str, answers: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """(label, text) in the order the assistant asks, then any other answers."""
    asked = [slot for slot in triage.PLANS.get(trouble_type, []) if slot in answers]
    others = sorted(slot for slot in answers if slot not in asked)
    return [(triage.LABELS.get(slot, slot), answer_text(slot, answers[slot])) for slot in asked + others]


# --- page frame --------------------------------------------------------------------------------

PAGE = Template("""<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>$title | $service 相談ケース</title>
<link rel="stylesheet" href="/static/console.css">
</head>
<body>
$header
<main>
$body
</main>
</body>
</html>
""")

HEADER = Template("""<header class="top">
<a class="brand" href="/">$service <span>相談ケース</span></a>
<form class="lookup" method="get" action="/cases/lookup" role="search">
<label for="lookup-reference">受付番号</label>
<input id="lookup-reference" name="reference" value="$reference" placeholder="$example" maxlength="64" autocomplete="off" spellcheck="false">
<button type="submit">検索</button>
</form>
<nav>
<a href="/">一覧</a>
<a href="/export.csv">CSV出力</a>
<span class="who">$user</span>
<form method="post" action="/logout">
$csrf
<button type="submit" class="link">ログアウト</button>
</form>
</nav>
</header>""")

CSRF_INPUT = Template('<input type="hidden" name="$field" value="$token">')


def csrf_input(session: Session) -> Markup:
    return render(CSRF_INPUT, field=CSRF_FIELD, token=session.csrf)


def page(title: str, body: Markup, session: Optional[Session] = None, reference: str = "") -> Markup:
    header = Markup("")
    if session is not None and session.signed_in:
        header = render(
            HEADER, service=SERVICE, reference=reference, example=REFERENCE_EXAMPLE,
            user=session.user, csrf=csrf_input(session),
        )
    return render(PAGE, title=title, service=SERVICE, header=header, body=body)


def message(kind: str, text: str) -> Markup:
    role = "alert" if kind in ("error", "warn") else "status"
    return render(Template('<p class="message $kind" role="$role">$text</p>'), kind=kind, role=role, text=text)


def error_page(session: Optional[Session], title: str, text: str) -> Markup:
    body = render(Template('<h1>$title</h1>\n$message\n<p><a href="/">一覧に戻る</a></p>'),
                  title=title, message=message("error", text))
    return page(title, body, session)


# --- sign-in -----------------------------------------------------------------------------------

LOGIN = Template("""<section class="login">
<h1>$service<br>相談ケース サインイン</h1>
$message
<form method="post" action="/login">
$csrf
<input type="hidden" name="next" value="$next">
<label for="username">ユーザー名</label>
<input id="username" name="username" value="$username" autocomplete="username" required maxlength="100">
<label for="password">パスワード</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="200">
<button type="submit">サインイン</button>
</form>
$hint
</section>""")

# Where setup wrote the credentials; said only in development, not to the world in production.
SETUP_HINT = Markup('<p class="note">ユーザー名とパスワードは、サーバーの .env（CONSOLE_USER / CONSOLE_PASSWORD）に記載されています。</p>')


def login_page(session: Session, next_path: str, error: Optional[str] = None, username: str = "",
               setup_hint: bool = False) -> Markup:
    body = render(
        LOGIN, service=SERVICE, message=message("error", error) if error else Markup(""),
        csrf=csrf_input(session), next=next_path, username=username,
        hint=SETUP_HINT if setup_hint else Markup(""),
    )
    return page("サインイン", body)


# --- case list ---------------------------------------------------------------------------------

FILTERS = Template("""<form class="filters" method="get" action="/">
<label>状態 $status</label>
<label>種類 $trouble_type</label>
<label>受付日（から） <input type="date" name="date_from" value="$date_from"></label>
<label>受付日（まで） <input type="date" name="date_to" value="$date_to"></label>
<label>無料相談 $eligibility</label>
<label>緊急度 $urgency</label>
<button type="submit">絞り込む</button>
<a href="/">条件をクリア</a>
<a href="$export">この条件でCSV出力</a>
</form>""")

LIST = Template("""<h1>相談ケース一覧</h1>
$message
$filters
<p class="count">$count</p>
<table class="cases">
<thead><tr><th scope="col">受付番号</th><th scope="col">受付日時</th><th scope="col">状態</th><th scope="col">種類</th><th scope="col">緊急度</th><th scope="col">無料相談</th><th scope="col">チャネル</th><th scope="col">ご相談内容（抜粋）</th></tr></thead>
<tbody>
$rows
</tbody>
</table>
$pager""")

ROW = Template("""<tr class="$row_class">
<td><a class="reference" href="/cases/$reference">$reference</a></td>
<td>$created</td>
<td><span class="status $status">$status_label</span></td>
<td>$trouble_type</td>
<td>$urgency</td>
<td>$eligibility</td>
<td>$channel</td>
<td class="excerpt">$excerpt</td>
</tr>""")

EXCERPT_CHARS = 60
FILTER_NAMES = ("status", "trouble_type", "date_from", "date_to", "eligibility", "urgency")


def select(name: str, options: Sequence[Tuple[str, str]], chosen: Optional[str]) -> Markup:
    items = [Markup('<option value="">すべて</option>')]
    for value, label in options:
        selected = Markup(" selected") if value == chosen else Markup("")
        items.append(render(Template('<option value="$value"$selected>$label</option>'),
                            value=value, selected=selected, label=label))
    return render(Template('<select name="$name">$options</select>'), name=name, options=join(items))


def status_options() -> List[Tuple[str, str]]:
    return [(status, STATUS_LABELS[status]) for status in cases.STATUSES]


def type_options() -> List[Tuple[str, str]]:
    return [(t, type_label(t)) for t in TROUBLE_TYPES] + [(cases.UNKNOWN, UNCLASSIFIED)]


def eligibility_options() -> List[Tuple[str, str]]:
    return [(cases.NONE, UNDECIDED)] + list(ELIGIBILITY_LABELS.items())


def urgency_options() -> List[Tuple[str, str]]:
    return [(cases.NONE, "なし")] + [(flag, URGENCY_LABELS[flag]) for flag in URGENCY_ORDER]


def urgency_badges(flags: Sequence[str]) -> Markup:
    badges = []
    for flag in ordered_urgency(flags):
        kind = "critical" if flag in LIFE_THREATENING else "high"
        badges.append(render(Template('<span class="badge $kind">$label</span>'),
                             kind=kind, label=URGENCY_LABELS.get(flag, flag)))
    return join(badges, " ")


def query(filters: Mapping[str, str], **extra: Any) -> str:
    values = {name: value for name, value in filters.items() if value}
    values.update({name: value for name, value in extra.items() if value})
    return urlencode(values)


def list_href(filters: Mapping[str, str], page_number: int) -> str:
    found = query(filters, page=page_number if page_number > 1 else None)
    return "/?" + found if found else "/"


def case_row(case: cases.Case) -> Markup:
    urgent = any(flag in LIFE_THREATENING for flag in case.urgency)
    excerpt = case.summary if len(case.summary) <= EXCERPT_CHARS else case.summary[:EXCERPT_CHARS] + "…"
    return render(
        ROW,
        row_class="urgent" if urgent else "",
        reference=case.reference,
        created=japan_time(case.created_at),
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        trouble_type=type_label(case.trouble_type),
        urgency=urgency_badges(case.urgency),
        eligibility=eligibility_label(case.eligibility),
        channel=channel_label(case.channel),
        excerpt=excerpt,
    )


def list_page(
    session: Session,
    filters: Mapping[str, str],
    found: Sequence[cases.Case],
    page_number: int,
    has_next: bool,
    error: Optional[str] = None,
) -> Markup:
    form = render(
        FILTERS,
        status=select("status", status_options(), filters.get("status")),
        trouble_type=select("trouble_type", type_options(), filters.get("trouble_type")),
        date_from=filters.get("date_from", ""),
        date_to=filters.get("date_to", ""),
        eligibility=select("eligibility", eligibility_options(), filters.get("eligibility")),
        urgency=select("urgency", urgency_options(), filters.get("urgency")),
        export="/export.csv?" + query(filters) if query(filters) else "/export.csv",
    )
    links = []
    if page_number > 1:
        links.append(render(Template('<a rel="prev" href="$href">前のページ</a>'),
                            href=list_href(filters, page_number - 1)))
    if has_next:
        links.append(render(Template('<a rel="next" href="$href">次のページ</a>'),
                            href=list_href(filters, page_number + 1)))
    pager = render(Template('<nav class="pager" aria-label="ページ">$links</nav>'), links=join(links, " "))
    if error:
        count = ""
    elif found:
        count = f"{page_number}ページ目：{len(found)}件（新しい順）"
    else:
        count = "条件に合う案件はありません。"
    body = render(
        LIST,
        message=message("error", error) if error else Markup(""),
        filters=form,
        count=count,
        rows=join(case_row(case) for case in found),
        pager=pager if links else Markup(""),
    )
    return page("相談ケース一覧", body, session)


# --- lookup ------------------------------------------------------------------------------------

LOOKUP = Template("""<h1>受付番号の検索</h1>
$message
$typed""")


def lookup_page(session: Session, typed: str, status: str, canonical: Optional[str]) -> Markup:
    shown = Markup("")
    if canonical:
        shown = render(Template('<p>入力された番号：<span class="reference">$reference</span></p>'),
                       reference=canonical)
    body = render(LOOKUP, message=message("warn", LOOKUP_MESSAGES[status]), typed=shown)
    return page("受付番号の検索", body, session, reference=typed)


# --- case detail -------------------------------------------------------------------------------

DETAIL = Template("""<h1>受付番号 <span class="reference">$reference</span></h1>
$messages
$urgency
<div class="columns">
<section class="panel" aria-labelledby="h-case">
<h2 id="h-case">案件</h2>
<dl class="fields">
<dt>状態</dt><dd><span class="status $status">$status_label</span>（$status_at $status_by）</dd>
<dt>受付日時</dt><dd>$created</dd>
<dt>最終更新</dt><dd>$updated</dd>
<dt>チャネル</dt><dd>$channel</dd>
<dt>会話ID</dt><dd class="mono">$conversation</dd>
<dt>種類</dt><dd>$trouble_type</dd>
<dt>無料相談</dt><dd>$eligibility</dd>
<dt>無料相談の枠</dt><dd>$claim</dd>
<dt>番号照合</dt><dd>$person</dd>
</dl>
<h2>ご相談内容（お客さまの言葉・要約）</h2>
<p class="summary">$summary</p>
<h2>聞き取り内容</h2>
$answers
<h2>ご案内した記事</h2>
$articles
</section>
<section class="panel" aria-labelledby="h-work">
<h2 id="h-work">対応</h2>
$status_forms
<h2>発信番号の照合（無料相談の確定）</h2>
$caller
<form class="caller" method="post" action="/cases/$reference/check-caller" autocomplete="off">
$csrf
<label for="caller-number">お客さまの発信番号</label>
<input id="caller-number" name="phone" inputmode="tel" maxlength="40" autocomplete="off" value="">
<button type="submit">照合する</button>
<p class="note">一致すると、この受付の無料相談の枠が確定します。</p>
<p class="note">入力した番号は照合にのみ使い、保存も記録もしません。</p>
</form>
$release
<h2>状態の履歴</h2>
<table class="history">
<thead><tr><th scope="col">日時</th><th scope="col">変更</th><th scope="col">担当</th></tr></thead>
<tbody>
$history
</tbody>
</table>
</section>
</div>""")

STATUS_FORM = Template("""<form class="status-change" method="post" action="/cases/$reference/status">
$csrf
<input type="hidden" name="status" value="$status">$reopen
<button type="submit" class="$kind">$label</button>
</form>""")

# The buttons offered in each status: (target status, reopen, label, button style).
STATUS_ACTIONS = {
    cases.NEW: ((cases.IN_PROGRESS, False, "対応を開始する", "primary"),),
    cases.IN_PROGRESS: (
        (cases.CLOSED, False, "完了にする", "primary"),
        (cases.NEW, False, "新規に戻す（担当を外れる）", "secondary"),
    ),
    cases.CLOSED: ((cases.IN_PROGRESS, True, "再開する（対応中に戻す）", "secondary"),),
}


def status_forms(case: cases.Case, session: Session) -> Markup:
    forms = []
    for target, reopen, label, kind in STATUS_ACTIONS.get(case.status, ()):
        forms.append(render(
            STATUS_FORM,
            reference=case.reference, csrf=csrf_input(session), status=target,
            reopen=Markup('\n<input type="hidden" name="reopen" value="1">') if reopen else Markup(""),
            kind=kind, label=label,
        ))
    return join(forms, "\n")


def history_rows(history: Sequence[cases.StatusEvent]) -> Markup:
    rows = []
    for event in history:
        change = STATUS_LABELS.get(event.to_status, event.to_status)
        if event.from_status is not None:
            change = f"{STATUS_LABELS.get(event.from_status, event.from_status)} → {change}"
        rows.append(render(Template("<tr><td>$at</td><td>$change</td><td>$by</td></tr>"),
                           at=japan_time(event.at), change=change, by=event.by))
    return join(rows, "\n")


def answers_list(case: cases.Case) -> Markup:
    pairs = ordered_answers(case.trouble_type, case.triage_answers)
    if not pairs:
        return Markup('<p class="empty">聞き取り内容はありません。</p>')
    items = [render(Template("<dt>$label</dt><dd>$text</dd>"), label=label, text=text) for label, text in pairs]
    return render(Template('<dl class="fields">$items</dl>'), items=join(items))


def articles_list(ids: Sequence[str], titles: Mapping[str, Tuple[str, str]]) -> Markup:
    if not ids:
        return Markup('<p class="empty">ご案内した記事はありません。</p>')
    items = []
    for article_id in ids:
        if article_id in titles:
            title, url = titles[article_id]
            items.append(render(Template('<li><a href="$url" rel="noreferrer noopener" target="_blank">$title</a></li>'),
                                url=url, title=title))
        else:
            items.append(render(Template('<li class="mono">$id</li>'), id=article_id))
    return render(Template("<ul>$items</ul>"), items=join(items))


def urgency_banner(flags: Sequence[str]) -> Markup:
    if not flags:
        return Markup("")
    critical = any(flag in LIFE_THREATENING for flag in flags)
    text = "身の安全に関わる可能性があります。最優先で対応してください。" if critical else "優先して対応してください。"
    return render(Template('<div class="urgency $kind" role="alert"><strong>緊急度</strong> $badges <span>$text</span></div>'),
                  kind="critical" if critical else "high", badges=urgency_badges(flags), text=text)


RELEASE_FORM = Template("""<form class="release" method="post" action="/cases/$reference/release-claim">
$csrf
<button type="submit" class="secondary">無料相談の枠を解除する（番号がご本人のものでない場合）</button>
</form>""")


def detail_page(
    session: Session,
    case: cases.Case,
    history: Sequence[cases.StatusEvent],
    titles: Mapping[str, Tuple[str, str]],
    notice: Optional[str] = None,
    error: Optional[str] = None,
    caller_result: Optional[str] = None,
    claim_state: Optional[str] = None,
    holder: Optional[str] = None,
) -> Markup:
    messages = []
    if notice in NOTICES:
        messages.append(message("ok", NOTICES[notice]))
    if error in STATUS_ERRORS:
        messages.append(message("error", STATUS_ERRORS[error]))
    caller = Markup("")
    if caller_result in CALLER_RESULTS:
        kind, text = CALLER_RESULTS[caller_result]
        caller = message(kind, text.replace("$holder", holder or "—"))
    eligibility_text = eligibility_label(case.eligibility)
    if case.eligibility_campaign:
        eligibility_text += f"（キャンペーン: {case.eligibility_campaign}）"
    body = render(
        DETAIL,
        reference=case.reference,
        messages=join(messages, "\n"),
        urgency=urgency_banner(case.urgency),
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        status_at=japan_time(case.status_changed_at),
        status_by=case.status_changed_by,
        created=japan_time(case.created_at),
        updated=japan_time(case.updated_at),
        channel=channel_label(case.channel),
        conversation=case.conversation_id,
        trouble_type=type_label(case.trouble_type),
        eligibility=eligibility_text,
        claim=CLAIM_LABELS.get(claim_state, "—"),
        release=render(RELEASE_FORM, reference=case.reference, csrf=csrf_input(session))
        if claim_state == ledger.PENDING else Markup(""),
        person="照合できます" if case.person_key else "番号の確認なし",
        summary=case.summary or "（なし）",
        answers=answers_list(case),
        articles=articles_list(case.articles_shown, titles),
        status_forms=status_forms(case, session),
        caller=caller,
        csrf=csrf_input(session),
        history=history_rows(history),
    )
    return page(f"受付番号 {case.reference}", body, session)
