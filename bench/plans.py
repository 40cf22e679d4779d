"""Do the history's plans hold for any filter? `python bench/plans.py [--database-url URL]`.

Seeds N attempts (default 1,000,000) with `seed-demo`, then, for every combination of up
to three filters (user, one IP, a CIDR block, outcome, reason, a date range, free
text), with values that match many rows, few and none, asks for the htmx rows of the
history page and prints the server time (Server-Timing) p50 and p95 per combination,
worst first. `--never-analyzed` first throws the planner's statistics away, as a
database that grew from sign-ins alone would be. Targets: p95 at most 5 ms (15 ms with
free text).
"""

import argparse
import itertools
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg
from common import Gunicorn
from common import fresh_database
from common import machine
from common import percentile
from common import portal_env
from common import seeded
from common import server_ms
from common import signed_in

SAMPLES = 12
TARGET_MS, FREE_TEXT_TARGET_MS = 5.0, 15.0


def main():
    """Seed, serve, measure every combination, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL base URL (default: SQLite)")
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--never-analyzed", action="store_true",
                        help="drop the planner's statistics after seeding")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, \
            fresh_database(args.database_url, Path(workdir)) as url:
        env = portal_env(url)
        seconds = seeded(env, args.attempts)
        values = filter_values(url)
        if args.never_analyzed:
            forget_statistics(url)
        print(f"# plans benchmark: {args.attempts:,} attempts on "
              f"{'PostgreSQL' if args.database_url else 'SQLite'}"
              f"{', statistics dropped' if args.never_analyzed else ''}, seeded in "
              f"{seconds:.1f} s; gunicorn -w {os.cpu_count()}; {machine()}")
        with Gunicorn(env, workers=os.cpu_count()) as server:
            measure(server.url, values)


def query(url, sql):
    """Return the rows of one statement on the benchmark's database."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            rows = connection.execute(sql).fetchall()
        connection.close()
        return rows
    with psycopg.connect(url) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


def filter_values(url):
    """Return {kind: {"many": query, "few": query, "none": query}} from the seeded data."""
    def ranked(column):
        return [value for value, _ in query(
            url, f"SELECT {column}, COUNT(*) AS n FROM login_attempts GROUP BY {column} "
                 "ORDER BY n DESC, 1")]
    users, ips = ranked("username_key"), ranked("ip")
    rare_ip = next(ip for ip in reversed(ips) if ip.startswith("198.51."))
    today = time.strftime("%Y-%m-%d")
    return {
        "user": {"many": f"user={users[0]}", "few": f"user={users[len(users) // 2]}",
                 "none": "user=nobody.here"},
        "ip": {"many": f"ip={ips[0]}", "few": f"ip={rare_ip}", "none": "ip=192.0.2.1"},
        "cidr": {"many": "ip=203.0.113.0/24",
                 "few": "ip=" + ".".join(rare_ip.split(".")[:3]) + ".0/24",
                 "none": "ip=192.0.2.0/24"},
        "outcome": {"many": "outcome=failure", "few": "outcome=success", "none": None},
        "reason": {"many": "reason=unknown_user", "few": "reason=throttled",
                   "none": None},
        "range": {"many": f"since={today[:5]}01-01", "few": f"since={today}",
                  "none": "until=2000-01-01"},
        "q": {"many": "q=okhttp", "few": "q=iPad", "none": "q=no-such-agent"},
    }


def combinations(values):
    """Yield (name, query string) for every combination of up to three kinds of filter."""
    kinds = list(values)
    for size in (1, 2, 3):
        classes = ("many", "few", "none") if size < 3 else ("many", "none")
        for chosen in itertools.combinations(kinds, size):
            if {"ip", "cidr"} <= set(chosen):
                continue  # one ip= filter at a time
            for picked in itertools.product(classes, repeat=size):
                parts = [values[kind][cls] for kind, cls in zip(chosen, picked, strict=True)]
                if None in parts:
                    continue
                name = " + ".join(f"{kind}:{cls}" for kind, cls in zip(chosen, picked,
                                                                         strict=True))
                yield name, "&".join(parts)


def forget_statistics(url):
    """Throw the planner's statistics away, as if the tables were never analyzed."""
    if url.startswith("sqlite"):
        query(url, "DROP TABLE IF EXISTS sqlite_stat1")
        return
    query(url, "DELETE FROM pg_statistic WHERE starelid IN "
               "('login_attempts'::regclass, 'users'::regclass)")


def measure(base_url, values):
    """Print p50/p95 of the server time per combination, worst p95 first, and a summary."""
    http = signed_in(base_url)
    results = []
    for name, query_string in combinations(values):
        url = f"{base_url}/admin/history?{query_string}"
        times = []
        for _ in range(SAMPLES + 2):
            response = http.get(url, headers={"HX-Request": "true"}, timeout=60)
            response.raise_for_status()
            times.append(server_ms(response))
        times = times[2:]  # the first two warm the caches
        results.append((percentile(times, 95), percentile(times, 50), name))
    results.sort(reverse=True)
    over = [r for r in results if r[0] > (FREE_TEXT_TARGET_MS if "q:" in r[2] else TARGET_MS)]
    print(f"{len(results)} combinations, {SAMPLES} requests each; {len(over)} over target "
          f"(p95 > {TARGET_MS:g} ms, {FREE_TEXT_TARGET_MS:g} ms with free text)")
    print(f"{'combination (every one over target, then the next five)':60s} "
          f"{'p50 ms':>7s} {'p95 ms':>7s}")
    for p95, p50, name in results[:len(over) + 5]:
        print(f"{name:60s} {p50:7.1f} {p95:7.1f}")
    print(f"... median p95 {percentile([r[0] for r in results], 50):.1f} ms")


if __name__ == "__main__":
    main()
