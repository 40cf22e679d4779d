"""Client-sent text is shown with its controls, bidi and invisible characters as marks."""

import re

import pytest
from markupsafe import Markup

from portal.web.visible import visible
from portal.web.visible import visible_text

MARKED = {
    "Cc, terminal": ["\x1b", "\x07", "\x08", "\x00", "\x7f", "\x9b"],
    "Cc, layout": ["\t", "\n", "\r", "\x0b", "\x0c", "\x85"],
    "Cf, bidi": ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
                 "\u2069", "\u200e", "\u200f", "\u061c"],
    "Cf, invisible": ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2062",
                      "\U000e0041"],
    "Zl, Zp": ["\u2028", "\u2029"],
    "Zs but the space": ["\u00a0", "\u1680", "\u2000", "\u2007", "\u200a", "\u202f", "\u205f",
                         "\u3000"],
    "Co, Cn, Cs": ["\ue000", "\U000f0000", "\u0378", "\U0010fffe", "\ud800"],
    "blank letters and marks": ["\u115f", "\u3164", "\uffa0", "\u034f", "\u180b", "\ufe0f",
                                "\U000e0100", "\u2800"],
    "the notation's bracket": ["\u27e8"],
}


@pytest.mark.parametrize("char", [c for chars in MARKED.values() for c in chars],
                         ids=[f"{kind} U+{ord(c):04X}" for kind, chars in MARKED.items()
                              for c in chars])
def test_each_hidden_character_is_shown_as_its_code_point(char):
    mark = f"⟨U+{ord(char):04X}⟩"
    assert visible_text(f"a{char}b") == f"a{mark}b"
    span = (rf'<span class="invisible-char" title="U\+{ord(char):04X}[A-Z0-9 -]*">'
            rf"{re.escape(mark)}</span>")
    assert re.fullmatch(f"a{span}b", visible(f"a{char}b"))


@pytest.mark.parametrize("text", ["zoë", "zoe\u0308", "山田太郎", "Ελλάδα", "שלום", "مرحبا",
                                  "🙂", "Ⅻ", "a b", "⟩"])
def test_ordinary_letters_and_the_ascii_space_are_untouched(text):
    assert visible_text(text) == text
    assert visible(text) == Markup(text)


def test_plain_ascii_takes_the_fast_path_unchanged():
    agent = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"
    assert visible_text(agent) is agent
    assert visible(agent) == agent and isinstance(visible(agent), Markup)


def test_html_is_escaped_and_only_the_marks_are_markup():
    html = visible('<script>alert("x")</script>&\u202e')
    assert html == ('&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;'
                    '<span class="invisible-char" title="U+202E RIGHT-TO-LEFT OVERRIDE">'
                    '⟨U+202E⟩</span>')
    assert visible_text("<b>\u202e</b>") == "<b>⟨U+202E⟩</b>"  # plain text: the caller escapes


@pytest.mark.parametrize(("char", "title"), [
    ("\x1b", "U+001B ESCAPE"), ("\x7f", "U+007F DELETE"), ("\u00a0", "U+00A0 NO-BREAK SPACE"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"), ("\ue000", "U+E000"), ("\x85", "U+0085"),
])
def test_a_marks_tooltip_names_the_character_where_unicode_does(char, title):
    assert f'title="{title}"' in visible(char)


def test_a_typed_mark_is_told_apart_from_a_real_one():
    assert visible_text("⟨U+202E⟩") == "⟨U+27E8⟩U+202E⟩" != visible_text("\u202e")


def test_nothing_is_shown_as_nothing_and_other_values_as_their_text():
    assert visible_text(None) == "" and visible(None) == Markup("")
    assert visible_text(42) == "42" and visible(42) == Markup("42")


def test_the_filters_escape_once_in_a_template(plain_app):
    template = plain_app.jinja_env.from_string(
        '<td>{{ name | visible }}</td><a title="{{ name | visible_text }}">')
    assert template.render(name="<i>\u202e") == (
        '<td>&lt;i&gt;<span class="invisible-char" title="U+202E RIGHT-TO-LEFT OVERRIDE">'
        '⟨U+202E⟩</span></td><a title="&lt;i&gt;⟨U+202E⟩">')
