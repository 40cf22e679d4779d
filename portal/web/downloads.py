"""A streamed CSV download, named for what it holds and when it was made."""

from flask import Response
from flask import stream_with_context

from portal import clock


def csv_download(name, chunks):
    """Return a response streaming the CSV `chunks` as the file `name`-YYYYmmdd-HHMMSS.csv."""
    filename = f"{name}-{clock.now():%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
