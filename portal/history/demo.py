"""Realistic fake history for demos and benchmarks (`flask --app portal seed-demo`).

Over the last DAYS days: people signing in (mostly successfully, from a few
addresses and devices each), a credential-stuffing range trying many names, and a
few accounts under a targeted attack. Rows go in with one prepared INSERT per
batch, so a million of them take seconds, not minutes.
"""

import random
from contextlib import contextmanager
from datetime import timedelta

from peewee import fn

from portal import clock
from portal.accounts import passwords
from portal.accounts import users
from portal.db import database
from portal.db import is_postgresql
from portal.history import attempts
from portal.maintenance import no_statement_timeout
from portal.models import LoginAttempt
from portal.models import User
from portal.web import ipaddr

DAYS = 90
BATCH = 50_000
DEMO_PASSWORD = "demo password, never production"
FIRST = ["anna", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "iris", "jonas",
         "karla", "liam", "mia", "noah", "olga", "paul", "rosa", "sam", "tara", "victor"]
LAST = ["berg", "costa", "dubois", "evans", "fischer", "garcia", "horvat", "ivanova", "jansen",
        "kowalski", "lopez", "muller", "nowak", "okafor", "petrov", "rossi", "silva", "tanaka"]
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
]
TOOLS = ["python-requests/2.31.0", "curl/8.5.0", "Go-http-client/1.1",
         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "HeadlessChrome/124.0.0.0 Safari/537.36", "okhttp/4.12.0"]
STUFFING_RANGE = "203.0.113.{}"
STUFFED_UNKNOWN = ["unknown_user"] * 8 + ["throttled"]
STUFFED_KNOWN = ["bad_password"] * 3 + ["locked"]
TARGETED = ["bad_password"] * 2 + ["locked"] * 3
ANY_AGENT = BROWSERS + TOOLS
COLUMNS = ["at", "username", "username_key", "user_id", "outcome", "reason", "ip", "ip_key",
           "user_agent", "browser", "os", "device_family", "request_id", "device"]


def seed(user_count, attempt_count, seed_value=1):
    """Create demo users and attempts; return (users created, attempts inserted)."""
    rng = random.Random(seed_value)
    people = create_users(user_count, rng)
    times = sorted(random_times(attempt_count, rng))
    inserted = 0
    with text_index_rebuilt_after():
        for start in range(0, attempt_count, BATCH):
            rows = [attempt_row(at, people, rng) for at in times[start:start + BATCH]]
            insert_rows(rows)
            inserted += len(rows)
    record_last_times()
    return len(people), inserted


@contextmanager
def text_index_rebuilt_after():
    """SQLite: index the attempts' text once, after the load, instead of row by row.

    The triggers that keep attempt_text (migration 0010) in step cost a bulk load ten
    times its time; rebuilding it afterwards costs about as much as the load. The
    triggers are taken as the database has them and put back as they were, all in one
    transaction with the load: a load cut short leaves the triggers as they were.
    """
    if is_postgresql():
        yield
        return
    with database.atomic():
        triggers = database.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            "AND name LIKE 'attempt_text_%'", [LoginAttempt._meta.table_name]).fetchall()
        for name, _ in triggers:
            database.execute_sql(f'DROP TRIGGER "{name}"')
        yield
        for _, sql in triggers:
            database.execute_sql(sql)
        if triggers:
            database.execute_sql("INSERT INTO attempt_text(attempt_text) VALUES ('rebuild')")


def account_not_from_demo():
    """Return the name of an account seed-demo did not create, or None when there is none.

    seed-demo's accounts are known by their password: each has DEMO_PASSWORD, under one
    shared hash per run. An account with any other password is someone's, and a demo
    account whose password an admin changed has become someone's too. Each distinct
    hash is verified once: a run per hash on a demo database, one on a real one.
    """
    demo_hashes = []
    while True:
        user = (User.select(User.username, User.password_hash)
                .where(User.password_hash.not_in(demo_hashes)).order_by(User.id).first())
        if user is None:
            return None
        if not passwords.verify(user.password_hash, DEMO_PASSWORD):
            return user.username
        demo_hashes.append(user.password_hash)


def create_users(count, rng):
    """Create `count` demo accounts (one shared hash: hashing each would take minutes)."""
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    taken = {name for (name,) in User.select(User.username).tuples()}
    names = []
    while len(names) < count:
        name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(1, 1000)}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    now = clock.now() - timedelta(days=DAYS + 1)
    with database.atomic():
        for start in range(0, count, 500):
            User.insert_many([{"username": name, "password_hash": password_hash,
                               "created_at": now} for name in names[start:start + 500]]).execute()
    ids = dict(User.select(User.username, User.id).where(User.username.in_(names)).tuples())
    return [Person(name, ids[name], rng) for name in names]


class Person:
    """A demo user with a few addresses and devices of their own."""

    def __init__(self, name, user_id, rng):
        self.name, self.user_id = name, user_id
        self.ips = [f"198.51.{rng.randrange(0, 100)}.{rng.randrange(1, 255)}"
                    for _ in range(rng.randrange(1, 4))]
        self.agents = rng.sample(BROWSERS, rng.randrange(1, 3))
        # One known device per browser (the hash an attempt records of its device id).
        self.devices = {agent: attempts.device_digest(f"{rng.getrandbits(128):032x}")
                        for agent in self.agents}


def random_times(count, rng):
    """Return `count` moments spread over the last DAYS days, busier in daytime."""
    end = clock.now()
    span = DAYS * 86400
    times = []
    for _ in range(count):
        at = end - timedelta(seconds=rng.random() * span)
        if 1 <= at.hour <= 5 and rng.random() < 0.6:  # fewer people sign in at night
            at -= timedelta(hours=8)
        times.append(at)
    return times


def attempt_row(at, people, rng):
    """Return one attempt as a tuple in COLUMNS order."""
    roll = rng.random()
    if roll < 0.70:
        row = person_attempt(people, rng)
    elif roll < 0.92:
        row = stuffing_attempt(people, rng)
    else:
        row = targeted_attempt(people, rng)
    name, user_id, reason, ip, agent, device = row
    outcome = "success" if reason == "ok" else "failure"
    named = attempts.agent_names(agent)
    return (at, name, users.normalize_username(name), user_id, outcome, reason, ip,
            ipaddr.key(ip), agent, *(named[column] for column in attempts.AGENT_COLUMNS), "demo",
            device)


def person_attempt(people, rng):
    """Someone signing in to their own account, now and then mistyping."""
    person = rng.choice(people)
    reason = "ok" if rng.random() < 0.9 else "bad_password"
    typed = person.name if rng.random() < 0.97 else person.name.capitalize()
    agent = rng.choice(person.agents)
    return typed, person.user_id, reason, rng.choice(person.ips), agent, person.devices[agent]


def stuffing_attempt(people, rng):
    """A bot from the stuffing range trying leaked names, most of which do not exist here."""
    ip = STUFFING_RANGE.format(rng.randrange(1, 255))
    agent = rng.choice(TOOLS)
    if rng.random() < 0.75:
        name = f"{rng.choice(FIRST)}{rng.randrange(1, 99999)}@example.com"
        return name, None, rng.choice(STUFFED_UNKNOWN), ip, agent, None
    person = rng.choice(people)
    return person.name, person.user_id, rng.choice(STUFFED_KNOWN), ip, agent, None


def targeted_attempt(people, rng):
    """Guesses at one of three attacked accounts, from addresses all over the place."""
    person = people[rng.randrange(min(3, len(people)))]
    ip = f"{rng.randrange(11, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 9)}"
    return person.name, person.user_id, rng.choice(TARGETED), ip, rng.choice(ANY_AGENT), None


def insert_rows(rows):
    """Insert attempt tuples: COPY on PostgreSQL, one prepared statement on SQLite."""
    table = LoginAttempt._meta.table_name
    if not is_postgresql():
        # Room for the indexes' pages in memory: most of the cost of a bulk load is
        # writing index pages out and reading them back.
        database.execute_sql("PRAGMA cache_size = -262144")
    names = ", ".join(COLUMNS)
    # A 50,000-row statement may run longer than the pages' statement timeout.
    with no_statement_timeout(), database.atomic():
        cursor = database.cursor()
        if is_postgresql():
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in COLUMNS)
            # Times as text, exactly as Peewee writes them to SQLite.
            rows = [(str(row[0]), *row[1:]) for row in rows]
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def record_last_times():
    """Set each user's last success and failure from their attempts (for the users list)."""
    latest = (LoginAttempt.select(LoginAttempt.user, LoginAttempt.outcome,
                                  fn.MAX(LoginAttempt.at))
              .where(LoginAttempt.user.is_null(False))
              .group_by(LoginAttempt.user, LoginAttempt.outcome))
    if is_postgresql():
        vacuum_attempts()
    with database.atomic():
        for user_id, outcome, at in latest.tuples():
            column = "last_success_at" if outcome == "success" else "last_failure_at"
            User.update({column: at}).where(User.id == user_id).execute()


def vacuum_attempts():
    """VACUUM (ANALYZE) the attempts after a bulk load, as autovacuum would in time.

    ANALYZE gives the planner the table's real size; VACUUM sets the visibility map, so
    index-only scans (the history's CIDR density probe) need not visit the table.
    It cannot run in a transaction, and may take longer than the statement timeout.
    """
    with no_statement_timeout():
        database.execute_sql(f"VACUUM (ANALYZE) {LoginAttempt._meta.table_name}")
