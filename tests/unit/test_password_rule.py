"""The password rule as a pure function, and the shipped list it reads."""

import pytest

from portal.accounts import blocklist
from portal.accounts.users import password_problem


@pytest.mark.parametrize(("password", "problem"), [
    ("fourteen chars", "length"),
    ("fifteen chars!!", None),
    ("x" * 1025, "length"),
    ("\u2163" * 15, None),                    # ROMAN NUMERAL FOUR counts as one character
    ("password1234567", "common"),
    ("Password1234567", "common"),
    ("1q2w3e4r5t6y7u8i9o0p", "common"),
    ("a password1234567 with more", None),   # the list holds whole passwords
    ("carol the admin!", "contains_name"),
    ("carol@example.com is me", "contains_name"),
    ("carol's portal key", "contains_name"),
    ("CAROL AND HER LONG KEY", "contains_name"),
])
def test_the_rule(password, problem):
    assert password_problem(password, "carol", 15) == problem


def test_an_email_username_is_searched_for_whole_and_by_its_local_part():
    assert password_problem("I am carol@example.com", "carol@example.com", 15) == \
        "contains_name"
    assert password_problem("I am carol, hello", "carol@example.com", 15) == "contains_name"
    assert password_problem("an example of a long one", "carol@example.com", 15) is None


def test_the_minimum_is_a_parameter():
    assert password_problem("abcdefgh-12", "carol", 8) is None
    assert password_problem("abcdefgh-12", "carol", 12) == "length"


def test_the_list_is_the_ncsc_file_normalised_without_entries_below_the_floor():
    entries = blocklist.entries()
    assert 40_000 < len(entries) < 100_000
    assert min(map(len, entries)) == 8
    assert all(entry == blocklist.comparable(entry) for entry in entries)
    assert blocklist.entries() is entries  # read once
