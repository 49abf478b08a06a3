"""The bots compared: this project (Japanese, custom actions on an action server, SQL tracker
store) and the stock `rasa init` moodbot (English, no custom actions), served twice from one
model: as `rasa init` makes it (in-memory tracker store) and with an SQL tracker store on
SQLite, the store ours has, so that the cost of storing conversations is on both sides. Each
is trained into the benchmark's temporary directory with a Rasa cache of its own, so that
training is cold and the repository's models/ and .rasa/ stay untouched."""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from .processes import BenchError, ManagedProcess
from .traffic import ConversationFactory, Turn

ROOT = Path(__file__).resolve().parents[2]
RASA = str(ROOT / ".venv" / "bin" / "rasa")
HELD_OUT = ROOT / "tests" / "nlu_heldout.yml"

# Campaign open and the centre open (a Wednesday, 11:00 in Japan), so that every conversation
# takes the same path whatever the date of the run: the free-consultation check, then the
# handoff with its case reference and the ledger reservation.
CLOCK = "2020-07-15T11:00:00+09:00"

# trouble report -> triage questions -> summary -> first steps and articles -> the
# free-consultation check -> handoff. Every turn calls the action server at least once (form
# validation, triage, articles, eligibility, handoff).
OUR_TURNS: Tuple[Turn, ...] = (
    Turn("ツイッターで悪口を書かれて困っています"),
    Turn("自分です"),
    Turn("まだ続いています"),
    Turn("スクショは保存してあります"),
    Turn("はい、合っています", expect=r"nettrouble\.docomo\.ne\.jp/article/"),
    Turn("はい"),
    Turn("入っていません"),
    Turn("{phone}", expect="対象"),
    Turn("/request_human", expect=r"NT-\d{4}-\d{5}-\d"),
)

# The moodbot's "sad path 1" story, then its goodbye rule.
PLAIN_TURNS: Tuple[Turn, ...] = (
    Turn("hello"),
    Turn("I am sad", expect=r"Did that help you\?"),
    Turn("yes"),
    Turn("bye", expect=r"Bye"),
)

# One long conversation of typed messages, repeated in order up to --growth-turns: trouble
# reports whose triage is answered, corrected and confirmed, questions about the service (FAQ,
# one in kana) in the middle, article requests, thanks and greetings, offers of staff declined
# and accepted, triages cancelled halfway. No triage reaches the free-consultation check, which
# would ask for a phone number (limited per conversation). From the second round on, the
# handoffs give back the case already made. Anchors only where a reply must say something
# specific.
OUR_GROWTH_TURNS: Tuple[Turn, ...] = (
    Turn("こんにちは"),
    Turn("受付時間は？", expect="10:00"),
    Turn("料金はかかりますか"),
    Turn("変なSMSのリンクを開いてパスワードを入力してしまいました"),
    Turn("お金は取られていません"),
    Turn("さっきの答えを訂正します、カード番号も入れてしまいました", expect="修正しました"),
    Turn("はい、合っています"),
    Turn("今はしない"),
    Turn("ありがとうございます"),
    Turn("フィッシング詐欺の記事はありますか", expect=r"nettrouble\.docomo\.ne\.jp/article/"),
    Turn("アプリはありますか"),
    Turn("メルカリで買った商品が届きません"),
    Turn("クレジットカードで払いました"),
    Turn("土日も相談できますか"),
    Turn("個人の出品者です"),
    Turn("5000円です"),
    Turn("はい"),
    Turn("/request_human", expect=r"NT-\d{4}-\d{5}-\d"),
    Turn("電話で何を言えばいいですか"),
    Turn("ありがとう"),
    Turn("インスタのアカウントが乗っ取られました"),
    Turn("ログインできません"),
    Turn("支払いは登録していません"),
    Turn("回答を直したい"),
    Turn("ログインはできます"),
    Turn("合ってます"),
    Turn("はい"),
    Turn("どうすればいいですか"),
    Turn("身に覚えのない請求メールが来ました"),
    Turn("やめます"),
    Turn("個人情報を守るための記事を読みたい"),
    Turn("家族の相談でもいいですか"),
    Turn("りょうきんはいくらですか"),
    Turn("Xで悪口を書かれています"),
    Turn("自分のことです"),
    Turn("やっぱりやめます"),
    Turn("おはようございます"),
    Turn("さようなら"),
)

# The moodbot's intents over and over: greetings, moods, answers, the bot challenge, goodbyes.
# Its sad path 2 (a mood, then "no") is left out: deep in a session its policies answer that
# "no" with nothing (fresh conversations get "Bye"), and every growth turn must get a reply.
PLAIN_GROWTH_TURNS: Tuple[Turn, ...] = (
    Turn("hello"),
    Turn("I am sad"),
    Turn("yes"),
    Turn("great"),
    Turn("are you a bot?"),
    Turn("bye"),
    Turn("hi"),
    Turn("my day was horrible"),
    Turn("indeed"),
    Turn("perfect"),
    Turn("goodbye"),
    Turn("hey there"),
    Turn("unhappy"),
    Turn("of course"),
    Turn("am I talking to a human?"),
    Turn("see you later"),
)

# Replies of ours that mean "not understood": a turn answered with one went off its path.
NOT_UNDERSTOOD_RESPONSES = ("utter_default", "utter_ask_rephrase", "utter_triage_not_understood")

TRAIN_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Ports:
    ours_rasa: int
    ours_actions: int
    plain_rasa: int
    plain_sql_rasa: int

    @classmethod
    def from_base(cls, base: int) -> "Ports":
        if not 7000 <= base <= 7999 - 155:
            raise BenchError(f"--base-port must keep every port within 7000-7999, not {base}")
        return cls(ours_rasa=base + 5, ours_actions=base + 55, plain_rasa=base + 105, plain_sql_rasa=base + 155)

    def all(self) -> List[int]:
        return [self.ours_rasa, self.ours_actions, self.plain_rasa, self.plain_sql_rasa]


@dataclass
class Bot:
    label: str
    # None when the bot serves a model trained for another one (plain + SQL store).
    training: Optional[ManagedProcess]
    # (process, URL that answers 200 once it is ready), started together.
    services: List[Tuple[ManagedProcess, str]]
    rest_url: str
    parse_messages: List[str]
    parse_source: str
    # How each turn is named in the report (the phone number differs per conversation).
    turn_labels: List[str]
    make_conversation: ConversationFactory
    # Reply texts meaning the bot could not answer (an error, the action server down) and
    # meaning it did not understand: both fail a turn of the load phases; in the long
    # conversation of the growth phase only the first do, the second are counted.
    error_markers: List[str]
    confusion_markers: List[str]
    # The long conversation's script, repeated to --growth-turns; empty: no growth phase.
    growth_turns: Tuple[Turn, ...] = ()
    # Where the Rasa server writes a timing record per turn (nettrouble/monitoring/timing.py), if it does.
    timings_file: Optional[Path] = None
    notes: List[str] = field(default_factory=list)

    @property
    def failure_markers(self) -> List[str]:
        return self.error_markers + self.confusion_markers


@contextlib.contextmanager
def quiet_rasa():
    """Rasa and its dependencies warn about their own deprecated calls while they load (and
    turn such warnings back on), which would only clutter the benchmark's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def nlu_texts(path: Path) -> List[str]:
    # The same loader as scripts/evaluate_nlu.py (entity annotations removed by Rasa itself).
    with quiet_rasa():
        from evaluate_nlu import held_out_examples

        texts = [text for text, _ in held_out_examples(path) if text]
    if not texts:
        raise BenchError(f"{path} has no NLU examples")
    return texts


def phone_number(number: int) -> str:
    """A distinct, well-formed docomo mobile number per conversation: each is a new person, so
    every handoff reserves a free consultation of its own."""
    if not 0 <= number < 10**8:
        raise ValueError(f"conversation number out of range: {number}")
    return f"090-{number // 10**4:04d}-{number % 10**4:04d}"


def _sampled(items: List[str], count: int) -> str:
    return "evenly sampled" if len(items) >= count else f"repeated in order to {count}"


def _our_conversation(number: int) -> List[Turn]:
    return [Turn(t.text.replace("{phone}", phone_number(number)), t.expect) for t in OUR_TURNS]


def _our_error_markers() -> List[str]:
    with quiet_rasa():
        from addons.channels import turns

    return [turns.fallback_text().splitlines()[0], turns.degraded_text().splitlines()[0]]


def _our_confusion_markers() -> List[str]:
    markers: List[str] = []
    responses = (yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")) or {}).get("responses") or {}
    for name in NOT_UNDERSTOOD_RESPONSES:
        for variant in responses.get(name) or []:
            first_line = str(variant.get("text") or "").strip().splitlines()[:1]
            markers.extend(first_line)
    return markers


def _rasa_serve(model: Path, token: str, port: int, endpoints: str) -> List[str]:
    # The plain bot: a plain `rasa run`, listening on the loopback interface only.
    return [
        RASA,
        "run",
        "--model",
        str(model),
        "--enable-api",
        f"--auth-token={token}",
        "--port",
        str(port),
        "--interface",
        "127.0.0.1",
        "--credentials",
        "credentials.yml",
        "--endpoints",
        endpoints,
    ]


def sql_endpoints(text: str, database: Path) -> str:
    """The endpoints file ``text`` with Rasa's SQL tracker store on the SQLite file
    ``database`` in place of whatever store it names (`rasa init`'s names none)."""
    endpoints = yaml.safe_load(text) or {}
    if not isinstance(endpoints, dict):
        raise BenchError("the plain bot's endpoints.yml is not a mapping")
    endpoints["tracker_store"] = {"type": "SQL", "dialect": "sqlite", "db": str(database)}
    return yaml.safe_dump(endpoints, sort_keys=False, allow_unicode=True)


def ours(temp: Path, ports: Ports, token: str, parse_count: int) -> Bot:
    import run  # scripts/run.py: the environment every server of `make run` gets

    from .stats import fixed_sample

    work = temp / "ours"
    work.mkdir()
    model = work / "models" / "bench-ours.tar.gz"
    env = run.service_env()
    train_env = dict(env, RASA_CACHE_DIRECTORY=str(work / "rasa-cache"))
    training = ManagedProcess(
        "training (this bot)",
        # scripts/train.py's command, into the temporary directory.
        [
            RASA,
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(model.parent),
            "--fixed-model-name",
            "bench-ours",
        ],
        ROOT,
        train_env,
        work / "train.log",
    )
    serve_env = dict(
        env,
        RASA_PORT=str(ports.ours_rasa),
        ACTIONS_PORT=str(ports.ours_actions),
        ACTION_SERVER_URL=f"http://127.0.0.1:{ports.ours_actions}/webhook",
        RASA_API_TOKEN=token,
        BIND_HOST="127.0.0.1",
        TRACKER_DB=str(work / "tracker.db"),
        TRACKER_DB_URL="",
        DATABASE_URL=f"sqlite:///{work / 'nettrouble.core.db'}",
        CLOCK_OVERRIDE=CLOCK,
        # Benchmark cases must not reach a real handoff webhook.
        HANDOFF_WEBHOOK_URL="",
        **run.LOAD_TEST_LIMITS,
    )
    # As scripts/run.py starts them (scripts/launch.py: ports from RASA_PORT and ACTIONS_PORT,
    # the API token from the environment).
    actions = ManagedProcess(
        "action server (this bot)", [*run.LAUNCH, "actions"], ROOT, serve_env, work / "actions.log"
    )
    # Only the Rasa server writes timing records: its action-call records carry the action
    # server's own figures (the Server-Timing header).
    timings = work / "turn-timings.jsonl"
    rasa = ManagedProcess(
        "Rasa server (this bot)",
        [*run.LAUNCH, "rasa", "--model", str(model)],
        ROOT,
        dict(serve_env, TURN_TIMINGS_FILE=str(timings)),
        work / "rasa.log",
    )
    held_out = nlu_texts(HELD_OUT)
    return Bot(
        label="This bot",
        training=training,
        services=[
            (rasa, f"http://127.0.0.1:{ports.ours_rasa}/status?token={token}"),
            (actions, f"http://127.0.0.1:{ports.ours_actions}/health"),
        ],
        rest_url=f"http://127.0.0.1:{ports.ours_rasa}",
        parse_messages=fixed_sample(held_out, parse_count),
        parse_source=f"{HELD_OUT.relative_to(ROOT)} ({len(held_out)} Japanese messages, {_sampled(held_out, parse_count)})",
        turn_labels=[t.text.replace("{phone}", "090-XXXX-XXXX") for t in OUR_TURNS],
        make_conversation=_our_conversation,
        error_markers=_our_error_markers(),
        confusion_markers=_our_confusion_markers(),
        growth_turns=OUR_GROWTH_TURNS,
        timings_file=timings,
        notes=[
            "Japanese; Sudachi tokenizer, count features, logistic regression; RulePolicy and "
            "MemoizationPolicy (config.yml).",
            f"Conversation of {len(OUR_TURNS)} turns: trouble report, triage questions, summary, first "
            "steps and articles, free-consultation check, handoff with a case reference. Every "
            "turn calls the action server at least once (REST → Rasa → action server → SQLite).",
            "SQL tracker store on SQLite with masking; cases and the ledger on SQLite (temporary files).",
            f"Clock pinned to {CLOCK} (campaign and centre open) so that every conversation takes the "
            "same path; each conversation is a new person (its own phone number).",
        ],
    )


def init_plain(temp: Path, base_env: Dict[str, str]) -> ManagedProcess:
    """`rasa init --no-prompt` into temp/plain/project. It trains a first model on its own; that
    training uses a cache of its own and is not the one measured."""
    work = temp / "plain"
    (work / "project").mkdir(parents=True)
    env = dict(base_env, RASA_TELEMETRY_ENABLED="false", RASA_CACHE_DIRECTORY=str(work / "init-cache"))
    return ManagedProcess(
        "rasa init", [RASA, "init", "--no-prompt", "--init-dir", str(work / "project")], work, env, work / "init.log"
    )


def plain(temp: Path, ports: Ports, token: str, base_env: Dict[str, str], parse_count: int) -> Bot:
    from .stats import fixed_sample

    work = temp / "plain"
    project = work / "project"
    model = work / "models" / "bench-plain.tar.gz"
    env = dict(base_env, RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    training = ManagedProcess(
        "training (plain rasa init bot)",
        [RASA, "train", "--out", str(model.parent), "--fixed-model-name", "bench-plain"],
        project,
        dict(env, RASA_CACHE_DIRECTORY=str(work / "rasa-cache")),
        work / "train.log",
    )
    rasa = ManagedProcess(
        "Rasa server (plain rasa init bot)",
        _rasa_serve(model, token, ports.plain_rasa, "endpoints.yml"),
        project,
        env,
        work / "rasa.log",
    )
    nlu_file = project / "data" / "nlu.yml"
    examples = nlu_texts(nlu_file)
    return Bot(
        label="Plain `rasa init`",
        training=training,
        services=[(rasa, f"http://127.0.0.1:{ports.plain_rasa}/status?token={token}")],
        rest_url=f"http://127.0.0.1:{ports.plain_rasa}",
        parse_messages=fixed_sample(examples, parse_count),
        parse_source=f"its data/nlu.yml ({len(examples)} English examples, {_sampled(examples, parse_count)})",
        turn_labels=[t.text for t in PLAIN_TURNS],
        make_conversation=lambda number: list(PLAIN_TURNS),
        error_markers=[],
        confusion_markers=[],
        notes=[
            "English moodbot of `rasa init`, its own default config (DIET and TED, RulePolicy, MemoizationPolicy).",
            f"Conversation of {len(PLAIN_TURNS)} turns from its stories (sad path 1, then goodbye). It has "
            "no custom actions, hence no action-server hop: its reply latency is Rasa alone.",
            "In-memory tracker store (its endpoints.yml configures none).",
        ],
    )


def plain_sql(bot: Bot, temp: Path, ports: Ports, token: str) -> Bot:
    """The plain ``bot``'s model (trained by it, not again) served with Rasa's SQL tracker
    store on a SQLite file: its endpoints.yml with the store added, as a copy in ``temp``."""
    work = temp / "plain"
    endpoints = work / "endpoints-sql.yml"
    endpoints.write_text(
        sql_endpoints((work / "project" / "endpoints.yml").read_text(encoding="utf-8"), work / "tracker-sql.db"),
        encoding="utf-8",
    )
    rasa, _ = bot.services[0]
    serving = ManagedProcess(
        "Rasa server (plain rasa init bot, SQL tracker store)",
        _rasa_serve(work / "models" / "bench-plain.tar.gz", token, ports.plain_sql_rasa, str(endpoints)),
        rasa.cwd,
        rasa.env,
        work / "rasa-sql.log",
    )
    return Bot(
        label="Plain + SQL store",
        training=None,
        services=[(serving, f"http://127.0.0.1:{ports.plain_sql_rasa}/status?token={token}")],
        rest_url=f"http://127.0.0.1:{ports.plain_sql_rasa}",
        parse_messages=bot.parse_messages,
        parse_source=bot.parse_source,
        turn_labels=bot.turn_labels,
        make_conversation=bot.make_conversation,
        error_markers=[],
        confusion_markers=[],
        growth_turns=PLAIN_GROWTH_TURNS,
        notes=[
            "The same model as the plain `rasa init` bot (trained once; its training time is shown "
            "in both columns), the same conversation.",
            "Rasa's SQL tracker store on a SQLite file (its endpoints.yml plus `tracker_store: "
            "{type: SQL, dialect: sqlite}`), as this bot stores conversations in SQLite.",
        ],
    )


def training_was_cold(log_text: str) -> Tuple[int, int]:
    """(components trained, components restored from Rasa's cache) according to the training log."""
    trained = len(re.findall(r"Finished training component", log_text))
    restored = len(re.findall(r"Restored component .* from cache", log_text))
    return trained, restored
