"""The two bots compared: this project (Japanese, custom actions on an action server, SQL
tracker store) and the stock `rasa init` moodbot (English, no custom actions, in-memory
tracker store). Each is trained into the benchmark's temporary directory with a Rasa cache of
its own, so that training is cold and the repository's models/ and .rasa/ stay untouched."""
from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

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

# Replies of ours that mean "not understood": a turn answered with one went off its path.
NOT_UNDERSTOOD_RESPONSES = ("utter_default", "utter_ask_rephrase", "utter_triage_not_understood")

TRAIN_TIMEOUT_S = 1800.0


@dataclass(frozen=True)
class Ports:
    ours_rasa: int
    ours_actions: int
    plain_rasa: int

    @classmethod
    def from_base(cls, base: int) -> "Ports":
        if not 7000 <= base <= 7999 - 105:
            raise BenchError(f"--base-port must keep every port within 7000-7999, not {base}")
        return cls(ours_rasa=base + 5, ours_actions=base + 55, plain_rasa=base + 105)

    def all(self) -> List[int]:
        return [self.ours_rasa, self.ours_actions, self.plain_rasa]


@dataclass
class Bot:
    label: str
    training: ManagedProcess
    # (process, URL that answers 200 once it is ready), started together.
    services: List[Tuple[ManagedProcess, str]]
    rest_url: str
    parse_messages: List[str]
    parse_source: str
    # How each turn is named in the report (the phone number differs per conversation).
    turn_labels: List[str]
    make_conversation: ConversationFactory
    failure_markers: List[str]
    notes: List[str] = field(default_factory=list)


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


def _our_failure_markers() -> List[str]:
    with quiet_rasa():
        from addons.channels import turns

    markers = [turns.fallback_text().splitlines()[0], turns.degraded_text().splitlines()[0]]
    responses = (yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")) or {}).get("responses") or {}
    for name in NOT_UNDERSTOOD_RESPONSES:
        for variant in responses.get(name) or []:
            first_line = str(variant.get("text") or "").strip().splitlines()[:1]
            markers.extend(first_line)
    return markers


def _rasa_serve(model: Path, token: str, port: int) -> List[str]:
    # The plain bot: a plain `rasa run`, listening on the loopback interface only.
    return [RASA, "run", "--model", str(model), "--enable-api", f"--auth-token={token}",
            "--port", str(port), "--interface", "127.0.0.1",
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"]


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
        [RASA, "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
         "--out", str(model.parent), "--fixed-model-name", "bench-ours"],
        ROOT, train_env, work / "train.log",
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
        DATABASE_URL=f"sqlite:///{work / 'nettrouble.db'}",
        CLOCK_OVERRIDE=CLOCK,
        # Benchmark cases must not reach a real handoff webhook.
        HANDOFF_WEBHOOK_URL="",
        **run.LOAD_TEST_LIMITS,
    )
    # As scripts/run.py starts them (scripts/launch.py: ports from RASA_PORT and ACTIONS_PORT,
    # the API token from the environment).
    actions = ManagedProcess("action server (this bot)", [*run.LAUNCH, "actions"],
                             ROOT, serve_env, work / "actions.log")
    rasa = ManagedProcess("Rasa server (this bot)", [*run.LAUNCH, "rasa", "--model", str(model)],
                          ROOT, serve_env, work / "rasa.log")
    held_out = nlu_texts(HELD_OUT)
    return Bot(
        label="This bot", training=training,
        services=[
            (rasa, f"http://127.0.0.1:{ports.ours_rasa}/status?token={token}"),
            (actions, f"http://127.0.0.1:{ports.ours_actions}/health"),
        ],
        rest_url=f"http://127.0.0.1:{ports.ours_rasa}",
        parse_messages=fixed_sample(held_out, parse_count),
        parse_source=f"{HELD_OUT.relative_to(ROOT)} ({len(held_out)} Japanese messages, {_sampled(held_out, parse_count)})",
        turn_labels=[t.text.replace("{phone}", "090-XXXX-XXXX") for t in OUR_TURNS],
        make_conversation=_our_conversation,
        failure_markers=_our_failure_markers(),
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
    return ManagedProcess("rasa init", [RASA, "init", "--no-prompt", "--init-dir", str(work / "project")],
                          work, env, work / "init.log")


def plain(temp: Path, ports: Ports, token: str, base_env: Dict[str, str], parse_count: int) -> Bot:
    from .stats import fixed_sample

    work = temp / "plain"
    project = work / "project"
    model = work / "models" / "bench-plain.tar.gz"
    env = dict(base_env, RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    training = ManagedProcess(
        "training (plain rasa init bot)",
        [RASA, "train", "--out", str(model.parent), "--fixed-model-name", "bench-plain"],
        project, dict(env, RASA_CACHE_DIRECTORY=str(work / "rasa-cache")), work / "train.log",
    )
    rasa = ManagedProcess("Rasa server (plain rasa init bot)", _rasa_serve(model, token, ports.plain_rasa),
                          project, env, work / "rasa.log")
    nlu_file = project / "data" / "nlu.yml"
    examples = nlu_texts(nlu_file)
    return Bot(
        label="Plain `rasa init`", training=training,
        services=[(rasa, f"http://127.0.0.1:{ports.plain_rasa}/status?token={token}")],
        rest_url=f"http://127.0.0.1:{ports.plain_rasa}",
        parse_messages=fixed_sample(examples, parse_count),
        parse_source=f"its data/nlu.yml ({len(examples)} English examples, {_sampled(examples, parse_count)})",
        turn_labels=[t.text for t in PLAIN_TURNS],
        make_conversation=lambda number: list(PLAIN_TURNS),
        failure_markers=[],
        notes=[
            "English moodbot of `rasa init`, its own default config (DIET and TED, RulePolicy, "
            "MemoizationPolicy).",
            f"Conversation of {len(PLAIN_TURNS)} turns from its stories (sad path 1, then goodbye). It has "
            "no custom actions, hence no action-server hop: its reply latency is Rasa alone.",
            "In-memory tracker store (its endpoints.yml configures none).",
        ],
    )


def training_was_cold(log_text: str) -> Tuple[int, int]:
    """(components trained, components restored from Rasa's cache) according to the training log."""
    trained = len(re.findall(r"Finished training component", log_text))
    restored = len(re.findall(r"Restored component .* from cache", log_text))
    return trained, restored
