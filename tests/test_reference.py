"""Case references: the Damm check digit, the generator and the validator."""

from datetime import datetime, timedelta, timezone

import pytest

from nettrouble.cases import reference
from nettrouble.cases.reference import BAD_CHECK_DIGIT, MALFORMED, OK, damm, new_reference, parse_reference
from nettrouble.core.clock import JST

# Published Damm examples and values computed by hand from the table.
VECTORS = [("572", 4), ("", 0), ("0", 0), ("1", 3), ("112946", 0), ("5724", 0)]


@pytest.mark.parametrize("digits, check", VECTORS)
def test_damm_vectors(digits, check):
    assert damm(digits) == check


def test_damm_refuses_non_digits():
    with pytest.raises(ValueError):
        damm("57a")


def test_table_is_a_latin_square_with_zero_diagonal():
    table = reference._DAMM
    assert all(sorted(row) == list(range(10)) for row in table)
    assert all(sorted(column) == list(range(10)) for column in zip(*table))
    assert all(table[i][i] == 0 for i in range(10))


def _valid(nine: str) -> str:
    return nine + str(damm(nine))


SAMPLES = ["260712345", "000000000", "999999999", "270401090", "123456789", "260790909"]


@pytest.mark.parametrize("nine", SAMPLES)
def test_every_single_digit_error_is_detected(nine):
    ten = _valid(nine)
    for position in range(10):
        for digit in "0123456789":
            if digit != ten[position]:
                typo = ten[:position] + digit + ten[position + 1 :]
                assert damm(typo) != 0, typo


@pytest.mark.parametrize("nine", SAMPLES)
def test_every_adjacent_swap_is_detected(nine):
    ten = _valid(nine)
    for position in range(9):
        a, b = ten[position], ten[position + 1]
        if a != b:
            swapped = ten[:position] + b + a + ten[position + 2 :]
            assert damm(swapped) != 0, swapped


def test_swap_detection_holds_for_every_state_and_pair():
    # Weak total anti-symmetry: from any interim digit c, reading a then b never ends where
    # reading b then a does, so a swap anywhere in any reference changes the result.
    table = reference._DAMM
    for c in range(10):
        for a in range(10):
            for b in range(10):
                if a != b:
                    assert table[table[c][a]][b] != table[table[c][b]][a], (c, a, b)


def test_new_reference_shape_month_and_check_digit():
    moment = datetime(2026, 7, 15, 12, 0, tzinfo=JST)
    ref = new_reference(moment)
    assert ref.startswith("NT-2607-") and len(ref) == len("NT-2607-12345-6")
    assert parse_reference(ref).status == OK
    assert damm(ref.replace("NT", "").replace("-", "")) == 0


def test_new_reference_month_is_japan_time():
    # 2026-07-31 16:00 UTC is already 1 August in Japan.
    moment = datetime(2026, 7, 31, 16, 0, tzinfo=timezone.utc)
    assert new_reference(moment).startswith("NT-2608-")
    # A naive datetime is taken as Japan time.
    assert new_reference(datetime(2026, 12, 31, 23, 59)).startswith("NT-2612-")


def test_new_references_are_random():
    moment = datetime(2026, 7, 1, tzinfo=JST)
    assert len({new_reference(moment) for _ in range(200)}) > 190


GOOD = "NT-2607-12345-" + str(damm("260712345"))


@pytest.mark.parametrize(
    "typed",
    [
        GOOD,
        GOOD.lower(),
        GOOD.replace("-", ""),
        GOOD.replace("-", " "),
        "NT " + GOOD[3:],
        GOOD[3:],  # without the prefix
        GOOD[3:].replace("-", ""),
        "ＮＴ－２６０７－１２３４５－" + chr(ord("０") + int(GOOD[-1])),
        "ｎｔー２６０７ー１２３４５ー" + chr(ord("０") + int(GOOD[-1])),
        "  " + GOOD + "\n",
        GOOD.replace("-", "‐"),
        GOOD.replace("-", "−"),
    ],
)
def test_parse_accepts_how_people_type_it(typed):
    parsed = parse_reference(typed)
    assert parsed == reference.ParsedReference(OK, GOOD)


def test_parse_tells_a_typo_from_garbage():
    typo = GOOD[:-1] + str((int(GOOD[-1]) + 1) % 10)
    assert parse_reference(typo).status == BAD_CHECK_DIGIT
    assert parse_reference(typo).reference == typo
    swapped = "NT-2607-12354-" + GOOD[-1]
    assert parse_reference(swapped).status == BAD_CHECK_DIGIT


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "NT",
        "NT-2607-1234-5",
        "NT-2607-123456-7",
        "XX-2607-12345-6",
        "NT-2607-12a45-6",
        "NT-٢٦٠٧-12345-6",
        "NT-2607-12345-6" * 10,
        None,
        2607123456,
        "受付番号はNT-2607-12345-6です",
    ],
)
def test_parse_malformed(typed):
    parsed = parse_reference(typed)
    assert parsed.status == MALFORMED and parsed.reference is None


def test_month_boundary_in_generator():
    before = datetime(2027, 4, 30, 23, 59, 59, tzinfo=JST)
    assert new_reference(before).startswith("NT-2704-")
    assert new_reference(before + timedelta(seconds=1)).startswith("NT-2705-")
