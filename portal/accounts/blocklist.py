"""Common and breached passwords that a new password must not be, read once on first use.

The list is the UK NCSC's "PwnedPasswordsTop100k.txt": the 100,000 passwords seen most
often in Have I Been Pwned's Pwned Passwords (breach corpora), as the NCSC publishes it
(https://www.ncsc.gov.uk/static-assets/documents/PwnedPasswordsTop100k.txt, also in
SecLists as Passwords/Common-Credentials/100k-most-used-passwords-NCSC.txt). Crown
copyright, reused under the Open Government Licence v3.0. The file is kept byte for byte
as published, its header included, so its SHA-256 can be checked against the source.
"""

import functools
import unicodedata
from importlib import resources

from portal import config

LIST_FILE = "pwned-passwords-top100k.txt"
# The NCSC's header ends with a line of two dashes and an empty line.
HEADER_END = "\n--\n\n"


class BlocklistError(RuntimeError):
    """The shipped list is missing or not in the shape this module reads."""


def comparable(text):
    """Return text as it is compared: NFKC-normalised and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


@functools.cache
def entries():
    """Return the list as a frozenset of comparable passwords (about 47,000, 5 MB).

    Entries shorter than the lowest minimum length the settings allow are left out:
    the length rule refuses such a password before the list is asked, and leaving
    them out halves the memory. Two threads reading it at once both build the same
    set; one is kept.
    """
    text = resources.files(__package__).joinpath(LIST_FILE).read_text(encoding="utf-8")
    _, found, body = text.partition(HEADER_END)
    if not found:
        raise BlocklistError(f"{LIST_FILE} lacks the NCSC header; is it the published file?")
    shortest = config.SETTINGS["PASSWORD_MIN_LENGTH"].minimum
    return frozenset(key for key in map(comparable, body.splitlines()) if len(key) >= shortest)


def is_common(password):
    """Return True when the password is on the list, ignoring case and Unicode forms."""
    return comparable(password) in entries()
