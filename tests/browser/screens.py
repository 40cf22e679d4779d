"""What every screen must pass at every size: nothing wider than the window, every control
on screen and usable, and axe-core's accessibility rules."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # 4.14.1

VIEWPORTS = {"desktop": {"width": 1366, "height": 800}, "phone": {"width": 390, "height": 844}}


@dataclass(frozen=True)
class Screen:
    """A page to check: where it is, who looks at it (None: signed out), and the accessible
    names (regular expressions) of buttons that must be there, visible and usable."""

    name: str
    path: str
    user: str | None = "admin"
    buttons: tuple = ()


# Every element that scrolls sideways inside the page (a table in a card that is too
# narrow for it), and the page itself. Inputs scroll their own text, and what is
# visually hidden (1 px wide: the skip link, a narrow table's header) is clipped on purpose.
SIDEWAYS = """() => {
  const found = [];
  const root = document.documentElement;
  const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className}`;
  if (root.scrollWidth > window.innerWidth) {
    // Name the innermost elements that reach past the right edge: the culprits.
    const past = [...document.body.querySelectorAll("*")].filter(
      (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5);
    const innermost = past.filter(
      (el) => !past.some((other) => other !== el && el.contains(other)));
    found.push(`the page: ${root.scrollWidth}px, past the edge: ` +
               innermost.slice(0, 3).map(name).join(", "));
  }
  for (const el of document.body.querySelectorAll("*")) {
    if (el.matches("input, textarea, select, .visually-hidden, .visually-hidden *")) continue;
    const overflow = getComputedStyle(el).overflowX;
    if (overflow !== "visible" && el.clientWidth > 1 && el.scrollWidth > el.clientWidth + 1) {
      found.push(`${name(el)}: ${el.scrollWidth}px in ${el.clientWidth}px`);
    }
  }
  return found;
}"""

# Controls that are shown but reach past the window's left or right edge.
OFF_SCREEN = """() => {
  const found = [];
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown (display: none)
    if (el.closest(".visually-hidden, .skip-link")) continue;
    if (box.left < -0.5 || box.right > window.innerWidth + 0.5) {
      found.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.value || "").trim()}": ` +
                 `${Math.round(box.left)}..${Math.round(box.right)}px`);
    }
  }
  return found;
}"""

# Cells of a table of rows that a narrow screen would show without their column's name: each
# names its column (data-label), but the buttons' cell (class "actions") and a message that
# spans the row ("None in this range.").
UNLABELLED = """() => [...document.querySelectorAll(
    "table.rows td:not([data-label]):not(.actions):not([colspan])")]
  .slice(0, 4).map((td) => `${td.closest("table").className}: ${td.innerText.slice(0, 40)}`)"""

VIOLATIONS = """() => axe.run(document, {resultTypes: ["violations"]}).then(results =>
  results.violations.map(v => `${v.id} (${v.impact}): ${v.help}: ` +
                              v.nodes.slice(0, 4).map(n => n.target.join(" ")).join(", ")))"""


def sideways(page):
    """Return what scrolls sideways on the page (nothing, when it fits its window)."""
    return page.evaluate(SIDEWAYS)


def off_screen(page):
    """Return the shown controls that reach past the window's edges."""
    return page.evaluate(OFF_SCREEN)


def unlabelled_cells(page):
    """Return (a few of) the table cells that a phone would show without their column's name."""
    return page.evaluate(UNLABELLED)


def unusable_buttons(page):
    """Return the buttons that a click could not reach (hidden, covered or disabled).

    Playwright's trial click scrolls each into view and checks what a real click needs,
    without clicking.
    """
    found = []
    buttons = page.locator("button:visible")
    for index in range(buttons.count()):
        button = buttons.nth(index)
        try:
            button.click(trial=True, timeout=2000)
        except Exception as error:  # Playwright's TimeoutError says why it could not
            found.append(f"{button.inner_text()!r}: {str(error).splitlines()[0]}")
    return found


def accessibility_violations(page):
    """Run axe-core on the page; return its violations, one line each."""
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256
    page.add_script_tag(path=AXE)
    return page.evaluate(VIOLATIONS)
