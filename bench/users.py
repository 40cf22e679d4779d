"""Users list, audit log and reports queue at scale: `python bench/users.py [--database-url URL]
[--users N] [--explain]`.

Fills a fresh database with N accounts (default 100,000): times of last success and
failure (many shared, for ties), failure budgets, locks by admins and by the policy,
accounts flagged for review, admins, "This wasn't me" reports and audit events. Then,
signed in as an admin through the Flask test client, it times each sort and filter's
first page and a page deep in the list (the median of several requests, the server's
whole time including rendering) and, with --explain, prints the plan of every statement
each page ran.
"""

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from common import ROOT
from common import fresh_database
from common import machine

sys.path.insert(0, str(ROOT))

from portal import clock  # noqa: E402
from portal import create_app  # noqa: E402
from portal import db  # noqa: E402
from portal import schema  # noqa: E402
from portal.accounts import passwords  # noqa: E402
from portal.accounts import users  # noqa: E402
from portal.models import AuditEvent  # noqa: E402
from portal.models import FailureBudget  # noqa: E402
from portal.models import Session  # noqa: E402
from portal.models import User  # noqa: E402

ADMIN_PASSWORD = "bench admin password, long enough"
SAMPLES = 7
PAGES = {
    "name": "", "name, Z to A": "sort=name_desc", "most failures": "sort=failures",
    "last failure": "sort=last_failure", "last failure, oldest": "sort=last_failure_asc",
    "last success": "sort=last_success", "last success, oldest": "sort=last_success_asc",
    "locked": "only=locked", "flagged": "only=flagged", "reported": "only=reported",
    "admins": "only=admins", "locked + most failures": "only=locked&sort=failures",
    "search 'user0123'": "q=user0123",
}


def fill(count):
    """Insert `count` accounts and what hangs off them, in batches."""
    rng, now = random.Random(16), clock.now()
    password_hash = passwords.hash_password(ADMIN_PASSWORD)
    with db.database.atomic():
        for start in range(0, count, 5000):
            User.insert_many([account(n, rng, now, password_hash)
                              for n in range(start, min(count, start + 5000))]).execute()
        budgets = [{"account": f"user{n:06d}", "device": "", "failures": rng.choice([1, 2, 3, 4]),
                    "last_failure_at": now - timedelta(minutes=rng.randrange(600))}
                   for n in rng.sample(range(count), count // 10)]
        for n in rng.sample(range(count), 200):  # locked by the policy now
            budgets.append({"account": f"user{n:06d}", "device": "", "failures": 5,
                            "lockouts": 1, "last_failure_at": now, "locked_at": now,
                            "locked_until": now + timedelta(minutes=5)})
        unique = {b["account"]: b for b in budgets}
        for start in range(0, len(unique), 5000):
            FailureBudget.insert_many(list(unique.values())[start:start + 5000]).execute()
        ids = [row[0] for row in User.select(User.id).tuples()]
        for n, user_id in enumerate(rng.sample(ids, 300)):
            Session.create(id=f"{n:032x}", user=user_id, created_at=now, last_seen_at=now,
                           expires_at=now, ip="198.51.100.7", user_agent="curl/8",
                           reported_at=now - timedelta(minutes=n),
                           report_resolved_at=now if n % 3 else None)
        for start in range(0, 20000, 5000):
            AuditEvent.insert_many([{"at": now - timedelta(seconds=n), "actor": "policy",
                                     "action": "policy_lock", "target": rng.choice(ids),
                                     "failures": 5} for n in range(start, start + 5000)]).execute()
    db.database.execute_sql("ANALYZE")


def account(n, rng, now, password_hash):
    """Return one account's row: a few admins, flagged and admin-locked among them."""
    hour = timedelta(hours=rng.randrange(24 * 90))  # whole hours: many ties
    return {"username": f"user{n:06d}", "password_hash": password_hash, "created_at": now,
            "is_admin": n % 10000 == 0, "last_success_at": now - hour if n % 4 else None,
            "last_failure_at": now - hour / 2 if n % 3 == 0 else None,
            "review_flagged_at": now if n % 2000 == 0 else None,
            "lock_reason": "bench" if n % 5000 == 1 else None,
            "locked_at": now if n % 5000 == 1 else None}


class Statements(logging.Handler):
    """Collect the (sql, params) of every statement Peewee sends."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen = []

    def emit(self, record):
        self.seen.append(record.msg)


def explain(sql, params):
    """Return the plan of one statement, one line per step."""
    prefix = "EXPLAIN QUERY PLAN " if not db.is_postgresql() else "EXPLAIN "
    rows = db.database.execute_sql(prefix + sql, params).fetchall()
    return [str(row[-1]) for row in rows]


def median_ms(client, url):
    """Return the median wall time of GET url, in milliseconds (after one warm-up)."""
    client.get(url)
    samples = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            sys.exit(f"{url}: {response.status_code}")
    return statistics.median(samples), response.get_data(as_text=True)


def deep_cursor(client, url, hops):
    """Follow `hops` Next page links from url; return the last page's URL."""
    for _ in range(hops):
        page = client.get(url).get_data(as_text=True)
        marker = page.rfind('rel="next"')
        if marker < 0:
            return url
        url = page[:marker].rsplit('<a href="', 1)[1].split('"')[0].replace("&amp;", "&")
    return url


def main():
    """Fill, sign in, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL base URL (default: SQLite)")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, \
            fresh_database(args.database_url, Path(workdir)) as url:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 48, "COOKIE_SECURE": False,
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            schema.upgrade()
            with db.database.connection_context():
                fill(args.users)
                users.create("benchadmin", ADMIN_PASSWORD, is_admin=True)
        client = app.test_client()
        client.post("/login", data={"username": "benchadmin", "password": ADMIN_PASSWORD})
        kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"# users benchmark: {args.users:,} accounts on {kind}, {machine()}")
        print(f"# median of {SAMPLES} requests, ms (test client: the whole server side)\n")
        print("| page | first page | 20 pages on |\n|---|---:|---:|")
        handler = Statements()
        logging.getLogger("peewee").addHandler(handler)
        logging.getLogger("peewee").setLevel(logging.DEBUG)
        for label, query in {**PAGES, "audit log": None, "audit, policy": None,
                             "reports, all": None}.items():
            base = {"audit log": "/admin/audit", "audit, policy": "/admin/audit?actor=policy",
                    "reports, all": "/admin/reports?status=all"}.get(label)
            first = base or f"/admin/users?{query}"
            first_ms, _ = median_ms(client, first)
            deep = deep_cursor(client, first, 20)
            deep_ms, _ = median_ms(client, deep)
            print(f"| {label} | {first_ms:.1f} | {deep_ms:.1f} |")
            if args.explain:
                handler.seen.clear()
                client.get(deep)
                with app.app_context(), db.database.connection_context():
                    for sql, params in (m for m in handler.seen if isinstance(m, tuple)):
                        if isinstance(sql, str) and sql.lstrip().upper().startswith("SELECT"):
                            print(f"    {sql[:160]}")
                            for line in explain(sql, params):
                                print(f"      {line}")
        logging.getLogger("peewee").removeHandler(handler)
        print(f"\n# at {datetime.now():%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
