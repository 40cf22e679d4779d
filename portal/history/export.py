"""CSV export of the login history, streamed, safe to open in a spreadsheet."""

import csv
import io

from portal.web.visible import visible_text

COLUMNS = ["time_utc", "username_typed", "account", "outcome", "reason", "ip", "browser", "os",
           "device", "user_agent"]
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FLUSH_EVERY = 500
UNKNOWN = "Unknown"  # an attempt recorded by a release that did not name user agents


def neutralise(value):
    """Return a cell value that a spreadsheet shows as text, never runs.

    Control, bidi and invisible characters are written as ⟨U+XXXX⟩, so neither a terminal
    nor a spreadsheet acts on them or lets them disguise the text around them.
    """
    text = visible_text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(rows, columns=COLUMNS, to_cells=None):
    """Yield the CSV text of the rows, header first, a few hundred rows per chunk.

    `to_cells` turns a row into its cells in `columns` order (by default a history row's).
    """
    to_cells = to_cells or cells
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for count, row in enumerate(rows, 1):
        writer.writerow([neutralise(cell) for cell in to_cells(row)])
        if count % FLUSH_EVERY == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def cells(row):
    """Return one history row's cells in COLUMNS order."""
    return [row.at.isoformat() + "Z", row.username, row.account, row.outcome, row.reason,
            row.ip, row.browser or UNKNOWN, row.os or UNKNOWN, row.device_family or UNKNOWN,
            row.user_agent]
