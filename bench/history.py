"""History page speed at scale: `python bench/history.py [--database-url URL] [--attempts N]`.

Seeds N attempts (default 1,000,000) with `seed-demo`, starts the portal under
gunicorn as the README's production section does, signs in as an admin and
prints, per filter combination, the server latency of the full page and the htmx
partial (p50, p95), the same under 16 concurrent connections (p99), and the CSV
export rate. Target: p99 under 50 ms for every filter but free text.

Then the chart fragment (/admin/history/chart), per range and filter: its server time
over HTTP, and side by side in the same run the chart computed in-process from the
hourly counts and from the attempts themselves (the way before the counts). Target:
20 ms of server time for every filter the counts hold. `--chart-only` skips the rest.
"""

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import psycopg
import requests
from common import Gunicorn
from common import fresh_database
from common import have_wrk
from common import machine
from common import percentile
from common import portal_env
from common import seeded
from common import server_ms
from common import signed_in
from common import timed
from common import wrk_p99

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from portal import create_app  # noqa: E402 (the checkout's portal, next to bench/)
from portal.db import database  # noqa: E402
from portal.history import chart  # noqa: E402
from portal.history.queries import Filters  # noqa: E402

FILTERS = {
    "none": "",
    "user": "user=emma.dubois262",
    "ip cidr": "ip=203.0.113.0/24",
    "failures in a date range": "outcome=failure&since={since}&until={until}",
    "user + failures": "user=emma.dubois262&outcome=failure",
    "free text (q)": "q=okhttp",
}
SAMPLES, CONCURRENCY, CONCURRENT_REQUESTS = 60, 16, 320
CHART_FILTERS = {
    "last 24 hours (default)": "",
    "7 days": "since={days7}",
    "30 days": "since={days30}",
    "90 days": "since={days90}",
    "failures, this month": "outcome=failure&since={month}",
    "user, 24 hours": "user=emma.dubois262",
    "user, 30 days": "user=emma.dubois262&since={days30}",
    "ip cidr, 24 hours": "ip=203.0.113.0/24",
    "ip cidr, 30 days": "ip=203.0.113.0/24&since={days30}",
    "free text (q), 24 hours": "q=okhttp",
}
CHART_SAMPLES = 20


def main():
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL base URL (default: SQLite)")
    parser.add_argument("--attempts", type=int, default=1_000_000)
    # As many sync workers as cores: the page is CPU work (SQLite runs in the worker), and
    # more workers than cores only queue up for them (bench/RESULTS.md).
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--distinct-agents", type=int, default=0, metavar="N",
                        help="give the attempts N distinct user agents (same browsers) first")
    parser.add_argument("--chart-only", action="store_true",
                        help="measure the chart fragment only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, \
            fresh_database(args.database_url, Path(workdir)) as url:
        env = portal_env(url)
        seconds = seeded(env, args.attempts)
        if args.distinct_agents:
            diversify_agents(url, args.distinct_agents)
        print(f"# history benchmark: {args.attempts:,} attempts "
              f"({args.distinct_agents or 'the demo'} distinct user agents) on "
              f"{'PostgreSQL' if args.database_url else 'SQLite'}, seeded in {seconds:.1f} s; "
              f"gunicorn -w {args.workers}; {machine()}")
        with Gunicorn(env, workers=args.workers) as server:
            if not args.chart_only:
                measure(server.url)
            measure_chart(server.url, url)


def diversify_agents(url, count):
    """Append one of `count` build tags to every user agent, as many real clients do."""
    sql = (f"UPDATE login_attempts SET user_agent = user_agent || ' build/' || "
           f"CAST(id % {int(count)} AS TEXT)")
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute(sql)
        connection.close()
        return
    with psycopg.connect(url) as connection:
        connection.execute(sql)


def measure(base_url):
    """Print the latency table and the CSV export rate."""
    http = signed_in(base_url)
    today = time.strftime("%Y-%m-%d")
    print("server time (Server-Timing) of sequential requests, and p99 round trip under "
          f"{CONCURRENCY} concurrent connections ({'wrk' if have_wrk() else 'Python client'})")
    print(f"{'filter':28s} {'page p50':>9s} {'page p95':>9s} {'htmx p50':>9s} {'htmx p95':>9s} "
          f"{'16-conc p99':>11s} {'req/s':>6s} {'rows':>5s}")
    for name, query in FILTERS.items():
        query = query.format(since=f"{today[:8]}01", until=today)
        url = f"{base_url}/admin/history?{query}"
        full = latencies(http, url, {})
        partial = latencies(http, url, {"HX-Request": "true"})
        p99, rate = under_load(http, url)
        rows = http.get(url, timeout=30).text.count('<td class="typed">')
        print(f"{name:28s} {ms(percentile(full, 50))} {ms(percentile(full, 95))} "
              f"{ms(percentile(partial, 50))} {ms(percentile(partial, 95))} "
              f"{ms(p99, 11)} {rate:6.0f} {rows:5d}")
    csv_rate(http, base_url)


def latencies(http, url, headers):
    """Return SAMPLES sequential server times in ms (after a warm-up)."""
    for _ in range(5):
        http.get(url, headers=headers, timeout=30)
    return [server_ms(check(http.get(url, headers=headers, timeout=30)))
            for _ in range(SAMPLES)]


def under_load(http, url):
    """Return (p99 ms, requests/s) of the htmx partial under CONCURRENCY connections."""
    headers = {"HX-Request": "true"}
    if have_wrk():
        return wrk_p99(url, http.cookies.get_dict(), headers, CONCURRENCY)
    cookies = http.cookies.get_dict()

    def one(_):
        return timed(lambda: check(http.get(url, headers=headers, cookies=cookies,
                                            timeout=60)))[0] * 1000
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        samples = list(pool.map(one, range(CONCURRENT_REQUESTS)))
    return percentile(samples, 99), len(samples) / (time.perf_counter() - started)


def csv_rate(http, base_url):
    """Print how many rows per second the CSV export streams, for two filters."""
    for name, query in (("ip cidr", "ip=203.0.113.0/24"), ("everything", "")):
        started, lines, cut_off = time.perf_counter(), 0, ""
        with http.get(f"{base_url}/admin/history.csv?{query}", stream=True, timeout=600) as r:
            check(r)
            try:
                for chunk in r.iter_content(65536):
                    lines += chunk.count(b"\n")
            except requests.exceptions.ChunkedEncodingError:
                # gunicorn stops a sync worker that streams past its timeout (README:
                # Production says how to raise it for larger exports).
                cut_off = " (cut off: the export outlasted gunicorn's worker timeout)"
        seconds = time.perf_counter() - started
        print(f"CSV export ({name}): {lines - 1:,} rows in {seconds:.1f} s = "
              f"{(lines - 1) / seconds:,.0f} rows/s{cut_off}")


def chart_queries():
    """Return {name: query string} of CHART_FILTERS with today's dates filled in."""
    today = date.today()
    dates = {"days7": today - timedelta(days=7), "days30": today - timedelta(days=30),
             "days90": today - timedelta(days=90), "month": today.replace(day=1)}
    return {name: query.format(**{k: v.isoformat() for k, v in dates.items()})
            for name, query in CHART_FILTERS.items()}


def measure_chart(base_url, database_url):
    """Print the chart fragment's server time, and in-process: from the counts, by a scan."""
    http = signed_in(base_url)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "b" * 48})
    print("chart fragment: server time over HTTP (p50, p95) and, in-process in this run, "
          "p50 from the hourly counts and from the attempts themselves (ms)")
    print(f"{'range and filter':28s} {'http p50':>9s} {'http p95':>9s} {'counts':>9s} "
          f"{'attempts':>9s} {'bars':>5s}")
    for name, query in chart_queries().items():
        url = f"{base_url}/admin/history/chart?{query}"
        fragment = latencies(http, url, {"HX-Request": "true"})[:CHART_SAMPLES]
        filters = Filters.from_args(dict(parse_qsl(query)))
        with app.app_context(), database.connection_context():
            counted = in_process(chart.overview, filters)
            scanned = in_process(chart.overview, filters, scan=True)
            bars = len(chart.overview(filters).bars)
        print(f"{name:28s} {ms(percentile(fragment, 50))} {ms(percentile(fragment, 95))} "
              f"{ms(counted)} {ms(scanned)} {bars:5d}")


def in_process(work, *args, **kwargs):
    """Return the median ms of CHART_SAMPLES calls of `work` (after one warm-up)."""
    work(*args, **kwargs)
    return percentile([timed(lambda: work(*args, **kwargs))[0] * 1000
                       for _ in range(CHART_SAMPLES)], 50)


def check(response):
    """Fail loudly on an error response."""
    if response.status_code != 200:
        raise SystemExit(f"{response.url}: HTTP {response.status_code}")
    return response


def ms(millis, width=9):
    """Format milliseconds."""
    return f"{millis:{width}.1f}"


if __name__ == "__main__":
    main()
