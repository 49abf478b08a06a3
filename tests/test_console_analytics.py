"""The supervisors' analytics page and review list, through Sanic's test client, over a real
case store and a tracker store written by the project's own store (MaskingSQLTrackerStore):
the tables hold the figures worked out by hand below, each figure has its chart, agents are
refused, bad ranges explained, review groups labelled with the supervisor's name, the export
read back by Rasa's NLU reader, CSRF enforced and user text escaped."""

import asyncio
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from addons.tracker_store import MaskingSQLTrackerStore
from console import templates
from console.app import create_app
from nettrouble.cases.document import type_label
from nettrouble.core import db
from nettrouble.staff import agents, review
from tests.project_files import rasa_domain
from tests.test_console import CSRF, USER, Client, jst, open_case, set_env

ROOT = Path(__file__).resolve().parent.parent
# The clock of every test: "today" for the default range and the export's file name.
TODAY = "2026-07-03"
RANGE = "from=2026-07-01&to=2026-07-03"
PHONE = re.compile(r"0[5789]0-?\d{4}-?\d{4}")
FIGURES = (
    "conversations",
    "trouble_types",
    "outcomes",
    "understanding",
    "eligibility",
    "time_to_reference",
    "channels",
)


class Talk:
    """The events of one conversation as Rasa's processor records them, a second apart unless
    told otherwise, on the first session of ``sender``."""

    def __init__(self, sender, at):
        self.sender, self.at, self.events = sender, at, []
        self._add(ActionExecuted, "action_session_start", after=0)
        self._add(SessionStarted)
        self._add(ActionExecuted, "action_listen")

    def _add(self, kind, *args, after=1, **kwargs):
        self.at += timedelta(seconds=after)
        self.events.append(kind(*args, timestamp=self.at.timestamp(), **kwargs))
        return self

    def user(self, text, intent, channel, after=1):
        parsed = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
        return self._add(
            UserUttered, text, intent=parsed["intent"], parse_data=parsed, input_channel=channel, after=after
        )

    def bot(self, response, after=1):
        self._add(ActionExecuted, response, after=after)
        return self._add(BotUttered, "…", metadata={"utter_action": response}, after=0)

    def fallback(self):
        self._add(ActionExecuted, "action_default_fallback")
        return self._add(BotUttered, "…", metadata={"utter_action": "utter_default"}, after=0)

    def slot(self, name, value, after=1):
        return self._add(SlotSet, name, value, after=after)

    def form(self, name):
        return self._add(ActiveLoop, name)


def talks():
    """The tiny data set. By hand:

    2026-07-01: S1 web, an FAQ answer (contained, 1 turn); S2 web, defamation, a reference 300 s
    after the first message (handed off, 2 turns). 2 conversations, 3 turns, no fallback.
    2026-07-02: S3 LINE, a fallback then "did you mean" left unanswered (unresolved, 2 turns);
    S4 web, "did you mean", then two replies not understood, one with a phone number
    (unresolved, 3 turns); S5 web, account, left inside the triage form (abandoned, 1 turn).
    3 conversations, 6 turns, 3 fallbacks, 2 "did you mean".
    Total: 5 conversations (web 4, LINE 1), 9 turns; handed off, contained, abandoned 1 each
    (20.0 %), unresolved 2; fallback 3/9 = 33.3 %, "did you mean" 2/9 = 22.2 %; time to
    reference 5 min (median and p90). A conversation of June 30 lies outside the range."""
    s1 = Talk("web-s1", jst(2026, 7, 1, 9, 0)).user("料金はいくら？", "faq", "web").bot("utter_faq/price")
    s2 = (
        Talk("web-s2", jst(2026, 7, 1, 10, 0))
        .user("Xで悪口を書かれた", "trouble_defamation", "web")
        .slot("trouble_type", "defamation")
        .bot("utter_ack_defamation")
        .user("電話で相談したい", "request_human", "web", after=100)
        .slot("case_reference", "NT-2607-00001-5", after=198)
        .bot("utter_next_step_after_reference")
    )
    s3 = (
        Talk("line-s3", jst(2026, 7, 2, 11, 0))
        .user("あばばば", "nlu_fallback", "line")
        .fallback()
        .user("ぱすわーど忘れた", "nlu_fallback", "line")
        .bot("utter_did_you_mean")
    )
    s4 = (
        Talk("web-s4", jst(2026, 7, 2, 10, 0))
        .user("パスワードを忘れました", "nlu_fallback", "web")
        .bot("utter_did_you_mean")
        .user("<script>alert(1)</script>", "nlu_fallback", "web")
        .bot("utter_ask_rephrase")
        .user("090-1234-5678に電話して", "nlu_fallback", "web")
        .bot("utter_ask_rephrase")
    )
    s5 = (
        Talk("web-s5", jst(2026, 7, 2, 15, 0))
        .user("アカウント乗っ取られた", "trouble_account", "web")
        .slot("trouble_type", "account")
        .form("triage_form")
        .bot("utter_ask_can_login")
    )
    old = Talk("web-old", jst(2026, 6, 30, 23, 0)).user("わからない", "nlu_fallback", "web").fallback()
    return [s1, s2, s3, s4, s5, old]


@pytest.fixture
def tracker_path(tmp_path, env):
    """A tracker store database holding talks(), written by the project's store."""
    set_env(env)
    path = tmp_path / "tracker.db"
    store = MaskingSQLTrackerStore(rasa_domain(), dialect="sqlite", db=str(path))
    for talk in talks():
        tracker = asyncio.run(store.get_or_create_tracker(talk.sender, append_action_listen=False))
        for event in talk.events:
            tracker.update(event)
        asyncio.run(store.save(tracker))
    store.engine.dispose()
    return path


@pytest.fixture
def engine(tmp_path, tracker_path, env):
    set_env(env, TRACKER_DB_URL=f"sqlite:///{tracker_path}", CLOCK_OVERRIDE=f"{TODAY}T12:00:00+09:00")
    created = db.prepare(f"sqlite:///{tmp_path / 'service.db'}")
    open_case(created, "web-s2", at=jst(2026, 7, 1, 10, 5), eligibility="topic_not_covered")
    open_case(created, "case-2", at=jst(2026, 7, 2, 9, 0))
    open_case(created, "case-old", at=jst(2026, 6, 30, 9, 0), eligibility="topic_not_covered")
    yield created
    db.dispose_all()


@pytest.fixture
def app(engine):
    made = create_app(engine)
    yield made
    if made.ctx.tracker_engine is not None:
        made.ctx.tracker_engine.dispose()


@pytest.fixture
def supervisor(app):
    client = Client(app)
    assert client.sign_in().status == 303
    return client


@pytest.fixture
def agent(app, engine):
    client = Client(app)
    assert client.sign_in("bob", agents.add(engine, "bob")).status == 303
    return client


class Tables(HTMLParser):
    """The tables of a page by id: their header cells and rows of cell texts."""

    def __init__(self, text):
        super().__init__()
        self.tables, self._table, self._row, self._cell = {}, None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table(page, key):
    """{first cell: the other cells}, and the header row's labels under "期間"."""
    rows = Tables(page.text).tables["table-" + key]
    return {row[0]: row[1:] for row in rows}


def by_column(rows, label):
    return dict(zip(rows["期間"], rows[label]))


def test_the_supervisor_sees_each_figure_as_worked_out_by_hand(supervisor):
    page = supervisor.get(f"/analytics?{RANGE}")
    assert page.status == 200
    conversations = table(page, "conversations")
    assert conversations["期間"] == ["会話数", "利用者の発話数"]
    assert conversations["2026-07-01（水）"] == ["2", "3"]
    assert conversations["2026-07-02（木）"] == ["3", "6"]
    assert conversations["2026-07-03（金）"] == ["0", "0"]
    assert conversations["期間合計"] == ["5", "9"]

    outcomes = table(page, "outcomes")
    assert outcomes["期間"] == [
        "会話数",
        "引き継ぎ",
        "引き継ぎ率",
        "自己解決",
        "自己解決率",
        "離脱",
        "離脱率",
        "未解決",
    ]
    assert outcomes["期間合計"] == ["5", "1", "20.0%", "1", "20.0%", "1", "20.0%", "2"]
    assert outcomes["2026-07-01（水）"] == ["2", "1", "50.0%", "1", "50.0%", "0", "0.0%", "0"]
    assert outcomes["2026-07-03（金）"] == ["0", "0", "—", "0", "—", "0", "—", "0"]

    understanding = table(page, "understanding")
    assert understanding["期間合計"] == ["9", "3", "33.3%", "2", "22.2%"]
    assert understanding["2026-07-02（木）"] == ["6", "3", "50.0%", "2", "33.3%"]

    assert by_column(table(page, "trouble_types"), "期間合計") == {
        type_label("defamation"): "1",
        type_label("account"): "1",
        templates.UNCLASSIFIED: "3",
    }
    assert by_column(table(page, "eligibility"), "期間合計") == {
        templates.eligibility_label("topic_not_covered"): "1",
        templates.UNDECIDED: "1",
    }
    assert by_column(table(page, "channels"), "期間合計") == {"ウェブ": "4", "LINE": "1"}
    assert table(page, "time_to_reference")["期間合計"] == ["1", "5分00秒", "5分00秒"]

    # Each figure is a section with its chart, whose title is the figure's title.
    sections = re.findall(r'<section class="figure".*?</section>', page.text, re.S)
    assert len(sections) == len(FIGURES)
    for section, key in zip(sections, FIGURES):
        assert f'id="table-{key}"' in section
        assert section.count("<svg ") == 1
        title = re.search(r"<h2[^>]*>(.*?)</h2>", section).group(1)
        assert f"<title>{title}</title>" in section
    assert "<details" in page.text and "各数値の定義" in page.text


def test_weeks_run_monday_to_sunday_cut_at_the_range(supervisor):
    page = supervisor.get("/analytics?from=2026-07-01&to=2026-07-06&unit=week")
    assert page.status == 200
    rows = table(page, "conversations")
    assert rows["2026-07-01〜2026-07-05"] == ["5", "9"]
    assert rows["2026-07-06〜2026-07-06"] == ["0", "0"]
    assert len(rows) == 4  # header, two weeks, total


def test_the_default_range_is_the_last_28_days(supervisor):
    page = supervisor.get("/analytics")
    assert page.status == 200
    assert 'name="from" value="2026-06-06"' in page.text and f'name="to" value="{TODAY}"' in page.text
    assert len(table(page, "conversations")) == 1 + 28 + 1
    assert table(page, "conversations")["期間合計"] == ["6", "10"]  # June 30 is inside now


def test_a_missing_tracker_store_shows_no_conversations_but_the_cases(engine, tmp_path, env):
    env(TRACKER_DB_URL=f"sqlite:///{tmp_path / 'not-made-yet.db'}")
    made = create_app(engine)
    client = Client(made)
    assert client.sign_in().status == 303
    page = client.get(f"/analytics?{RANGE}")
    made.ctx.tracker_engine.dispose()
    assert page.status == 200
    assert table(page, "conversations")["期間合計"] == ["0", "0"]
    assert table(page, "eligibility")["期間合計"] == ["1", "1"]
    assert not (tmp_path / "not-made-yet.db").exists()


@pytest.mark.parametrize("path", ["/analytics", "/review"])
@pytest.mark.parametrize(
    "query, text",
    [
        ("from=2026-13-01&to=2026-07-03", "開始日は 2026-07-01 の形の日付でご指定ください。"),
        ("from=2026-07-01&to=yesterday", "終了日は 2026-07-01 の形の日付でご指定ください。"),
        ("from=2026-07-04&to=2026-07-03", "開始日が終了日より後になっています。"),
        ("from=2025-07-01&to=2026-07-03", "期間は366日以内でご指定ください。"),
    ],
)
def test_bad_ranges_are_400_with_a_message(supervisor, path, query, text):
    page = supervisor.get(f"{path}?{query}")
    assert page.status == 400
    assert text in page.text
    assert "<svg" not in page.text and 'class="review-group"' not in page.text


def test_an_unknown_unit_is_400(supervisor):
    page = supervisor.get(f"/analytics?{RANGE}&unit=month")
    assert page.status == 400 and "「日別」か「週別」" in page.text


def test_agents_are_refused_every_route(agent, engine):
    for path in ("/analytics", f"/analytics?{RANGE}", "/review", "/review/export.yml"):
        assert agent.get(path).status == 403, path
    key = review.text_hash("パスワードを忘れました")
    token = CSRF.search(agent.get("/review").text).group(1)
    answer = agent.post(
        "/review/label",
        {"csrf_token": token, "from": "2026-07-01", "to": "2026-07-03", "group": key, "intent": "trouble_account"},
    )
    assert answer.status == 403
    assert review.assignments(engine) == []
    assert 'href="/analytics"' not in agent.get("/review").text


def groups(page):
    """(key, count, texts shown) of each group, in page order."""
    found = []
    for key, section in re.findall(
        r'<section class="review-group" id="group-([0-9a-f]{64})"(.*?)</section>', page.text, re.S
    ):
        count = int(re.search(r'class="review-count">(\d+)件', section).group(1))
        texts = re.findall(r'<td class="review-text">(.*?)</td>', section)
        found.append((key, count, texts))
    return found


def test_the_review_list_groups_similar_messages_biggest_first(supervisor):
    page = supervisor.get(f"/review?{RANGE}")
    assert page.status == 200
    found = groups(page)
    assert found[0] == (review.text_hash("パスワードを忘れました"), 2, ["パスワードを忘れました", "ぱすわーど忘れた"])
    assert sorted(texts[0] for _, _, texts in found[1:]) == sorted(
        ["あばばば", "&lt;script&gt;alert(1)&lt;/script&gt;", "［電話番号］に電話して"]
    )
    assert all(count == 1 for _, count, _ in found[1:])
    # Masked as stored, user markup shown as text, June 30 outside the range.
    assert not PHONE.search(page.text)
    assert "<script>alert" not in page.text
    assert "わからない" not in page.text
    assert "data/nlu/" in page.text and 'href="/review/export.yml"' in page.text


def label(client, key, intent, dates=("2026-07-01", "2026-07-03"), token=True):
    form = {"from": dates[0], "to": dates[1], "group": key, "intent": intent}
    if token:
        form["csrf_token"] = client.csrf(f"/review?{RANGE}")
    return client.post("/review/label", form)


def test_a_group_is_labelled_with_the_supervisors_name(supervisor, engine):
    key = review.text_hash("パスワードを忘れました")
    answer = label(supervisor, key, "trouble_account")
    assert answer.status == 303
    location = urlsplit(answer.headers["location"])
    assert location.path == "/review" and location.fragment == f"group-{key}"
    assert parse_qs(location.query) == {"from": ["2026-07-01"], "to": ["2026-07-03"], "notice": ["labelled"]}
    stored = review.assignments(engine)
    assert sorted((a.text, a.intent, a.assigned_by) for a in stored) == [
        ("ぱすわーど忘れた", "trouble_account", USER),
        ("パスワードを忘れました", "trouble_account", USER),
    ]

    page = supervisor.get(answer.headers["location"])
    assert "意図を付けました" in page.text
    section = re.search(rf'id="group-{key}".*?</section>', page.text, re.S).group(0)
    assert section.count(f'<td class="mono">trouble_account</td><td>{USER}</td>') == 2
    assert '<option value="trouble_account" selected>' in section


def test_a_label_is_refused_for_an_unknown_intent_or_a_group_not_in_the_range(supervisor, engine):
    key = review.text_hash("パスワードを忘れました")
    refused = label(supervisor, key, "faq")
    assert refused.status == 303 and "error=unknown_intent" in refused.headers["location"]
    assert "意図は一覧から選んでください" in supervisor.get(refused.headers["location"]).text
    # The group's messages are of July 2: a range of July 1 has no such group, whatever the
    # form says, and a made-up key matches nothing.
    for dates, group_key in ((("2026-07-01", "2026-07-01"), key), (("2026-07-01", "2026-07-03"), "0" * 64)):
        answer = label(supervisor, group_key, "trouble_account", dates=dates)
        assert answer.status == 303 and "error=changed" in answer.headers["location"]
    assert review.assignments(engine) == []


def test_a_label_without_the_csrf_token_is_refused(supervisor, engine):
    answer = label(supervisor, review.text_hash("パスワードを忘れました"), "trouble_account", token=False)
    assert answer.status == 403
    assert review.assignments(engine) == []


def test_the_export_is_rasa_training_data_without_numbers(supervisor):
    assert label(supervisor, review.text_hash("パスワードを忘れました"), "trouble_account").status == 303
    assert label(supervisor, review.text_hash("［電話番号］に電話して"), "request_human").status == 303
    answer = supervisor.get("/review/export.yml")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/x-yaml; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="review-{TODAY}.yml"'
    assert answer.headers["cache-control"] == "no-store"
    text = answer.body.decode("utf-8")
    examples = {}
    for example in RasaYAMLReader().reads(text).intent_examples:
        examples.setdefault(example.get_full_intent(), []).append(example.get("text"))
    assert examples == {
        "request_human": ["［電話番号］に電話して"],
        "trouble_account": ["ぱすわーど忘れた", "パスワードを忘れました"],
    }
    assert not PHONE.search(text)
