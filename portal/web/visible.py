"""Client-sent text as it may be shown: controls, bidi and invisible characters made visible.

A stored value keeps what was typed; only its display changes. Every character that
draws nothing, moves the cursor or reorders the text around it is shown as ⟨U+XXXX⟩:
in HTML inside a marked <span>, in plain text (CSV) as those characters alone.
"""

import functools
import re
import unicodedata

from markupsafe import Markup
from markupsafe import escape

# Python calls a character unprintable when Unicode files it under Other (Cc controls, Cf
# format and bidi, Cs surrogates, Co private use, Cn unassigned) or Separator (Zl, Zp, and
# every Zs space but the ASCII one): what hides, moves or reorders text. These draw
# nothing too, but Unicode files them as letters or marks, so they pass as printable: the
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other
# variation selectors, and the Braille blank. The notation's own opening bracket is
# marked as well, so a typed "⟨U+202E⟩" reads "⟨U+27E8⟩U+202E⟩": every ⟨U+XXXX⟩ in the
# output stands for a character that was sent.
HIDDEN_PRINTABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u27e8"
                              "\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]")
OPEN, CLOSE = "\u27e8", "\u27e9"
# C0 controls have no Unicode name, only aliases; a tooltip names the ones people meet.
CONTROL_NAMES = {**dict(enumerate(
    "NULL,START OF HEADING,START OF TEXT,END OF TEXT,END OF TRANSMISSION,ENQUIRY,ACKNOWLEDGE,"
    "BELL,BACKSPACE,CHARACTER TABULATION,LINE FEED,LINE TABULATION,FORM FEED,CARRIAGE RETURN,"
    "SHIFT OUT,SHIFT IN,DATA LINK ESCAPE,DEVICE CONTROL ONE,DEVICE CONTROL TWO,"
    "DEVICE CONTROL THREE,DEVICE CONTROL FOUR,NEGATIVE ACKNOWLEDGE,SYNCHRONOUS IDLE,"
    "END OF TRANSMISSION BLOCK,CANCEL,END OF MEDIUM,SUBSTITUTE,ESCAPE,INFORMATION SEPARATOR FOUR,"
    "INFORMATION SEPARATOR THREE,INFORMATION SEPARATOR TWO,INFORMATION SEPARATOR ONE"
    .split(","))), 0x7F: "DELETE"}


def visible_text(text):
    """Return text with every invisible, control or bidi character written as ⟨U+XXXX⟩."""
    text = "" if text is None else str(text)
    return "".join(map(_plain, text)) if _has_hidden(text) else text


def visible(text):
    """Return text as escaped HTML, each ⟨U+XXXX⟩ mark in a span that says what it is."""
    html = str(escape("" if text is None else text))
    # Escaping leaves every hidden character alone, so marking afterwards is safe: what
    # the span adds is ours, and the name comes from the Unicode database.
    return Markup("".join(map(_html, html)) if _has_hidden(html) else html)


def _has_hidden(text):
    """Tell whether any character of the text is one to show as a mark."""
    # Both tests run in C; a history page asks them for every cell of hundreds of rows.
    if text.isascii():
        return not text.isprintable()
    return not text.isprintable() or HIDDEN_PRINTABLE.search(text) is not None


def _is_hidden(char):
    """Tell whether one character is shown as a mark."""
    return not char.isprintable() or HIDDEN_PRINTABLE.match(char) is not None


@functools.lru_cache(maxsize=4096)
def _plain(char):
    """Return one character as plain text: itself, or its mark ⟨U+202E⟩."""
    return f"{OPEN}U+{ord(char):04X}{CLOSE}" if _is_hidden(char) else char


@functools.lru_cache(maxsize=4096)
def _html(char):
    """Return one character of escaped HTML: itself, or its mark named in a tooltip."""
    if not _is_hidden(char):
        return char
    code = ord(char)
    title = f"U+{code:04X} {CONTROL_NAMES.get(code) or unicodedata.name(char, '')}".rstrip()
    return f'<span class="invisible-char" title="{title}">{_plain(char)}</span>'
