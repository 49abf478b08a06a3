"""Every log record of the process is masked, has its secrets redacted and stays on one line;
LOG_FORMAT=json writes one JSON object per line, whatever Rasa does to the handlers."""

import io
import json
import logging
import warnings

import pytest

from nettrouble.core import masking
from nettrouble.monitoring import log_privacy

NUMBER = "090-1234-5678"
HOSTILE = f"/inform 番号は{NUMBER}、０９０ー９８７６ー５４３２、メールはtaro@example\nFAKE LINE 2020-01-01 INFO rasa ok"
LOGGERS = [
    "rasa.core.processor",
    "rasa_sdk.executor",
    "sanic.error",
    "aiohttp.access",
    "nettrouble.cases.store",
    "root",
]


@pytest.fixture
def installed(env):
    """install() in the mode asked for; afterwards the factory and the formatters as before."""
    factory = logging.getLogRecordFactory()
    last_resort = logging.lastResort.formatter

    def install(log_format="text"):
        env(
            LOG_FORMAT=log_format,
            RASA_API_TOKEN="rasa-api-token-value-123456",
            PERSON_KEY_SECRET="person-key-secret-for-tests-0123",
        )
        log_privacy.install()

    yield install
    logging.setLogRecordFactory(factory)
    logging.captureWarnings(False)
    logging.lastResort.setFormatter(last_resort)


def capture(name, formatter=None):
    """A logger of that name writing to a buffer of its own (its propagation switched off, so
    the test runner's handlers see nothing)."""
    logger = logging.getLogger(name) if name != "root" else logging.getLogger("root-standin")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter or logging.Formatter("%(asctime)s %(levelname)s %(name)s - %(message)s"))
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def assert_private(text):
    for leaked in (NUMBER, "09012345678", "1234", "5678", "９８７６", "taro@example", "taro"):
        assert leaked not in text, leaked


@pytest.mark.parametrize("name", LOGGERS)
def test_records_of_every_library_are_masked_and_stay_on_one_line(installed, name):
    installed()
    logger, stream = capture(name)
    logger.warning("Parsing of message: '%s' failed", HOSTILE)
    logger.info(f"f-string: {HOSTILE}")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert not any(line.startswith("FAKE") for line in lines)
    assert log_privacy.LINE_BREAK + "FAKE LINE" in lines[0]
    assert masking.PHONE_MASK in lines[0] and masking.EMAIL_MASK in lines[0]
    assert_private(stream.getvalue())


def test_every_line_break_kind_is_neutralised():
    assert log_privacy.clean("a\r\nb\rc\u2028d\u2029e\x85f\x1b[31m") == "a⏎b⏎c⏎d⏎e⏎f␛[31m"


def test_extra_values_and_the_access_log_request_line_are_cleaned(installed):
    installed()
    logger, stream = capture("sanic.access", logging.Formatter("%(request)s %(message)s %(status)d"))
    logger.info("", extra={"request": f"GET /conversations/{NUMBER}/tracker?token=abcdef123", "status": 200})
    line = stream.getvalue()
    assert "abcdef123" not in line and "token=***" in line and NUMBER not in line and "200" in line


@pytest.mark.parametrize(
    "message, secret",
    [
        ("GET /conversations/x/tracker?token=s3cr3t-Value&include_events=ALL", "s3cr3t-Value"),
        ("headers: {'Authorization': 'Bearer abc.def-ghi'}", "abc.def-ghi"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("{'X-Action-Token': 'tok-zzz-999'}", "tok-zzz-999"),
        ("X-Action-Token: tok-zzz-999", "tok-zzz-999"),
        ("calling with rasa-api-token-value-123456 in it", "rasa-api-token-value-123456"),
    ],
)
def test_secrets_are_redacted(installed, message, secret):
    installed()
    logger, stream = capture("rasa.server")
    logger.debug(message)
    assert secret not in stream.getvalue() and log_privacy.REDACTED in stream.getvalue()


def test_exception_messages_are_masked_and_one_line_while_the_traceback_keeps_its_lines(installed):
    installed()
    logger, stream = capture("rasa.core.agent")
    try:
        try:
            raise KeyError(f"cause {NUMBER}")
        except KeyError as cause:
            raise ValueError(f"bad input {HOSTILE}") from cause
    except ValueError:
        logger.exception("handling failed for %s", "taro@example")
    text = stream.getvalue()
    assert_private(text)
    assert "Traceback (most recent call last):" in text and "direct cause" in text
    assert not any(line.startswith("FAKE") for line in text.splitlines())
    assert any(line.startswith("ValueError: bad input /inform") and "⏎FAKE LINE" in line for line in text.splitlines())


def test_a_root_logger_reconfigured_after_install_is_still_masked(installed):
    installed()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        # what coloredlogs.install and Sanic's dictConfig do during Rasa's start-up
        root.handlers[:] = [logging.StreamHandler(stream)]
        root.setLevel(logging.INFO)
        logging.getLogger("rasa_sdk.reconfigured_after_install").warning(HOSTILE)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert_private(stream.getvalue())
    assert len(stream.getvalue().splitlines()) == 1


def test_warnings_go_through_the_masked_logs(installed):
    installed()
    logger, stream = capture("py.warnings")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(f"Parsing of message: '{HOSTILE}' failed", UserWarning)
    assert "Parsing of message" in stream.getvalue()
    assert_private(stream.getvalue())


def test_install_twice_wraps_the_factory_once(installed):
    installed()
    factory = logging.getLogRecordFactory()
    installed()
    assert logging.getLogRecordFactory() is factory
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, f"n {NUMBER}", (), None)
    assert record.getMessage() == f"n {masking.PHONE_MASK}"


def test_json_mode_writes_one_json_object_per_line_even_after_handlers_are_replaced(installed):
    installed("json")
    logger, stream = capture("rasa.core.processor")  # its text formatter is replaced at the first record
    logger.warning("Parsing of message: '%s' failed", HOSTILE)
    logger.info("turn done", extra={"sender_id": "+819012345678"})
    logger.handlers[:] = [logging.StreamHandler(stream)]  # as Rasa's start-up does, after install
    try:
        raise RuntimeError(f"boom {HOSTILE}")
    except RuntimeError:
        logger.error("failed", exc_info=True)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    entries = [json.loads(line) for line in lines]
    assert [e["level"] for e in entries] == ["WARNING", "INFO", "ERROR"]
    assert all(e["logger"] == "rasa.core.processor" and e["time"].endswith("+00:00") for e in entries)
    assert entries[1]["conversation_id"] == masking.conversation_key("+819012345678")
    assert "Traceback" in entries[2]["exception"] and "RuntimeError: boom" in entries[2]["exception"]
    assert_private(stream.getvalue())


def test_json_lines_made_during_a_turn_carry_its_conversation_and_channel(installed):
    installed("json")
    logger, stream = capture("rasa.core.processor")
    with log_privacy.turn("+819012345678", "sms"):
        logger.info("predicted %s", "utter_greet")
        logger.info("explicit", extra={"sender_id": "other-conversation"})
    logger.info("after the turn")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entries[0]["conversation_id"] == masking.conversation_key("+819012345678") != "+819012345678"
    assert entries[0]["channel"] == "sms"
    # A record that names its conversation keeps it; the turn still gives the channel.
    assert entries[1]["conversation_id"] == "other-conversation" and entries[1]["channel"] == "sms"
    assert "conversation_id" not in entries[2] and "channel" not in entries[2]
    assert_private(stream.getvalue())
