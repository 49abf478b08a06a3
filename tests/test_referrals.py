"""business/referrals.yml and business/first_steps.yml: checked on load, with errors that name
the file and the entry."""

from pathlib import Path

import pytest

from nettrouble.core.datafiles import TROUBLE_TYPES, DataFileError
from nettrouble.triage import guidance, referrals

ROOT = Path(__file__).resolve().parent.parent
ENTRY = """  - id: {id}
    name: 窓口
    purpose: 相談
    phone: "0120-000-000"
    hours: 24時間
    url: https://example.jp/
    for: [defamation]
"""


def write(tmp_path, body, name="referrals.yml"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_the_shipped_file_loads_and_covers_every_type_and_safety_topic():
    loaded = referrals.load()
    for topic in TROUBLE_TYPES + referrals.SAFETY_TOPICS:
        assert referrals.for_topic(topic, loaded), f"no public body for {topic}"


@pytest.mark.parametrize("field", ["name", "purpose", "hours", "url", "for", "phone"])
def test_a_missing_field_names_the_file_and_the_entry(tmp_path, field):
    entry = "\n".join(
        line for line in ENTRY.format(id="hotline").splitlines() if not line.strip().startswith(f"{field}:")
    )
    path = write(tmp_path, "referrals:\n" + entry + "\n")
    with pytest.raises(DataFileError) as error:
        referrals.load(path)
    assert str(path) in str(error.value) and "'hotline'" in str(error.value) and f"'{field}'" in str(error.value)


@pytest.mark.parametrize(
    "body, message",
    [
        ("referrals:\n" + ENTRY.format(id="a") + ENTRY.format(id="a"), "duplicate id 'a'"),
        ("referrals:\n" + ENTRY.format(id="a").replace("[defamation]", "[weather]"), "unknown topic(s) weather"),
        ("referrals:\n" + ENTRY.format(id="a").replace("https://example.jp/", "http://example.jp/"), "https://"),
        ("referrals:\n" + ENTRY.format(id="a").replace("    name: 窓口\n", '    name: ""\n'), "empty 'name'"),
        ("referrals: {}\n", "top-level 'referrals:' list"),
        ("referrals:\n  - just text\n", "entry 1 of 'referrals' is not a mapping"),
        ("referrals: [\n", "not valid YAML"),
        ("referrals:\n" + ENTRY.format(id="[a, b]"), "entry 1 needs an 'id'"),
    ],
)
def test_malformed_files_are_refused_with_a_reason(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(DataFileError) as error:
        referrals.load(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_a_web_only_body_shows_its_address():
    body = next(r for r in referrals.load() if not r.phone)
    assert body.url in body.line()


def test_first_steps_cover_every_type_with_two_to_four_steps():
    for trouble_type in TROUBLE_TYPES:
        steps = guidance.first_steps(trouble_type, {})
        assert 2 <= len(steps) <= 4, trouble_type


def test_first_steps_follow_the_answers():
    card = guidance.first_steps("phishing", {"entered_info": "app"})
    assert any("機内モード" in step for step in card)
    assert not any("機内モード" in step for step in guidance.first_steps("phishing", {"entered_info": "nothing"}))


@pytest.mark.parametrize(
    "body, message",
    [
        ("first_steps:\n  weather:\n    - text: a\n    - text: b\n", "unknown trouble type 'weather'"),
        ("first_steps:\n  defamation:\n    - text: a\n      when: {ongoing: [yes]}\n", "needs at least two steps"),
        ("first_steps:\n  defamation:\n    - when: {}\n", "defamation step 1 has no 'text'"),
    ],
)
def test_malformed_first_steps_are_refused(tmp_path, body, message):
    path = write(tmp_path, body, "first_steps.yml")
    with pytest.raises(DataFileError) as error:
        guidance.load_steps(path)
    assert str(path) in str(error.value) and message in str(error.value)
