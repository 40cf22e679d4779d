"""Policy replay: a known history recorded through the real sign-in, replayed under the
policy in force and under stricter and looser candidates (CLI and page), every figure checked.
"""

import json
import re
from datetime import timedelta

import pytest

from portal import clock
from portal import create_app
from portal import db
from portal.models import AuditEvent
from portal.models import LoginAttempt
from tests.conftest import TEST_SETTINGS
from tests.server import flask_cli
from tests.server import portal_env

# The live policy while the history is recorded: lenient, so nothing is refused and
# every attempt's outcome is known.
pytestmark = pytest.mark.settings(LOCKOUT_MAX_FAILURES=100, IP_MAX_FAILURES=1000)

ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
# The policy in force when the history is replayed, and the candidates tried against it.
IN_FORCE = {"LOCKOUT_MAX_FAILURES": 3, "IP_MAX_FAILURES": 8}
STRICTER = ["LOCKOUT_MAX_FAILURES=2"]
LOOSER = ["LOCKOUT_MAX_FAILURES=5", "IP_ALLOWLIST=203.0.113.0/24"]

IN_FORCE_FIGURES = {"accounts_locked": ["alice", "bob"], "locks": 2, "refused": 3,
                    "owners_refused": 1, "guesses_checked": 8, "ips_throttled": ["203.0.113.7"]}
STRICTER_FIGURES = {"accounts_locked": ["alice", "bob", "carol"], "locks": 3, "refused": 6,
                    "owners_refused": 2, "guesses_checked": 6, "ips_throttled": ["203.0.113.7"]}
LOOSER_FIGURES = {"accounts_locked": [], "locks": 0, "refused": 0, "owners_refused": 0,
                  "guesses_checked": 9, "ips_throttled": []}


@pytest.fixture
def history(app, auth, monkeypatch):
    """Record 15 attempts, a minute apart, through the login form; return the first's time.

    minute 0    alice signs in from her browser (it becomes a known device)
    minutes 1-4 the attacker guesses bob's password four times
    minute 5    bob signs in from a new browser
    minutes 6-8 the attacker guesses alice's password three times
    minute 10   alice signs in from her known browser
    minutes 11-12 the attacker tries "mallory", no account
    minutes 13-14 carol mistypes twice, and at 15 signs in
    """
    for name in ("alice", "bob", "carol"):
        auth.create(name)
    codes, start = record(app, auth, monkeypatch)
    assert codes == [302, 200, 200, 200, 200, 302, 200, 200, 200, 302, 200, 200, 200, 200, 302]
    return start


def record(live, auth, monkeypatch):
    """Send the history's attempts to the `live` app; return (status codes, first time)."""
    start = (clock.now() - timedelta(days=2)).replace(second=0, microsecond=0)
    alice, bob, carol, attacker = (live.test_client() for _ in range(4))
    steps = [(0, alice, "alice", True, "198.51.100.10"),
             *[(m, attacker, "bob", False, None) for m in (1, 2, 3, 4)],
             (5, bob, "bob", True, "198.51.100.20"),
             *[(m, attacker, "alice", False, None) for m in (6, 7, 8)],
             (10, alice, "alice", True, "198.51.100.10"),
             *[(m, attacker, "mallory", False, None) for m in (11, 12)],
             *[(m, carol, "carol", False, "198.51.100.30") for m in (13, 14)],
             (15, carol, "carol", True, "198.51.100.30")]
    codes = []
    for minute, browser, name, right, ip in steps:
        monkeypatch.setattr(clock, "now", lambda m=minute: start + timedelta(minutes=m))
        environ = {"REMOTE_ADDR": ip} if ip else ATTACKER
        codes.append(browser.post("/login", environ_base=environ, data={
            "username": name, "password": auth.password if right else "wrong guess here"},
        ).status_code)
    monkeypatch.undo()
    return codes, start


def replaying_app(database_url, **settings):
    """Return the app as an operator runs it later, with the policy IN_FORCE (or `settings`)."""
    db.database.close_all()  # the app before it hands over the database: no connection left open
    return create_app({**TEST_SETTINGS, "DATABASE_URL": database_url, **IN_FORCE, **settings})


def replay_json(database_url, start, *assignments):
    later = replaying_app(database_url)
    args = ["policy", "replay", "--json", "--since", start.isoformat(),
            "--until", (start + timedelta(minutes=20)).isoformat()]
    for assignment in assignments:
        args += ["--set", assignment]
    result = later.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    db.database.close_all()
    return json.loads(result.output)


def test_the_history_records_each_attempts_device_hashed(app, history):
    with app.app_context():
        devices = [row.device for row in LoginAttempt.select().order_by(LoginAttempt.id)]
        sessions_devices = {row.device for row in LoginAttempt.select().where(
            LoginAttempt.session.is_null(False))}
    alice_first, alice_again = devices[0], devices[9]
    assert alice_first and alice_first == alice_again  # her browser's id, the same twice
    assert len(alice_first) == 32 and all(devices[n] is None for n in (1, 2, 3, 4))
    assert None not in sessions_devices  # every success names the device it signed in
    from portal.models import Session
    with app.app_context():
        raw_ids = {row.device for row in Session.select()}
    assert not raw_ids & set(devices)  # the history holds hashes, never a cookie's id


def test_replay_under_the_policy_in_force_and_a_stricter_candidate(history, database_url):
    result = replay_json(database_url, history, *STRICTER)
    assert result["attempts"] == 15 and result["unknown_outcomes"] == 0
    assert result["since"] == history.isoformat() + "Z"
    assert result["until"] == (history + timedelta(minutes=20)).isoformat() + "Z"
    assert result["current"] == IN_FORCE_FIGURES
    assert result["candidate"] == STRICTER_FIGURES


def test_replay_under_a_looser_candidate(history, database_url):
    result = replay_json(database_url, history, *LOOSER)
    assert result["current"] == IN_FORCE_FIGURES
    assert result["candidate"] == LOOSER_FIGURES


def test_without_a_candidate_both_sides_are_the_policy_in_force(history, database_url):
    result = replay_json(database_url, history)
    assert result["current"] == result["candidate"] == IN_FORCE_FIGURES


def test_the_replay_of_the_policy_in_force_is_what_it_did_live(app, auth, database_url,
                                                               monkeypatch):
    # The same history, sent to a portal running the policy IN_FORCE: what it refused,
    # locked and throttled live is what the replay of that policy says.
    for name in ("alice", "bob", "carol"):
        auth.create(name)
    codes, start = record(replaying_app(database_url), auth, monkeypatch)
    assert codes == [302, 200, 200, 200, 200, 200, 200, 200, 200, 302, 200, 429, 200, 200, 302]
    with app.app_context():
        refused = LoginAttempt.select().where(
            LoginAttempt.reason.in_(["locked", "throttled"])).count()
        locks = AuditEvent.select().where(AuditEvent.action == "policy_lock").count()
    result = replay_json(database_url, start)
    assert result["current"]["refused"] == refused == IN_FORCE_FIGURES["refused"]
    assert result["current"]["locks"] == locks == IN_FORCE_FIGURES["locks"]
    assert result["unknown_outcomes"] == refused
    assert result["current"]["ips_throttled"] == ["203.0.113.7"]
    # Bob's right password at minute 5 was refused live, unchecked: recorded as `locked`,
    # the history cannot tell it was the owner.
    assert result["current"]["owners_refused"] == 0


def test_the_range_bounds_the_replay(history, database_url):
    later = replaying_app(database_url)
    result = later.test_cli_runner().invoke(args=[
        "policy", "replay", "--json", "--since", (history + timedelta(minutes=5)).isoformat(),
        "--until", (history + timedelta(minutes=11)).isoformat()])
    figures = json.loads(result.output)
    # Minutes 5 to 10: bob's success, three guesses at alice (a lock), alice from her
    # browser. Her browser is known from the success at minute 0, before the range.
    assert figures["attempts"] == 5
    assert figures["current"] == {"accounts_locked": ["alice"], "locks": 1, "refused": 0,
                                  "owners_refused": 0, "guesses_checked": 3,
                                  "ips_throttled": []}


def test_a_limited_replay_ends_at_the_first_attempt_it_left_out(app, history):
    from portal.security import replay
    from portal.security.policy import Policy
    with app.app_context():
        cut = replay.compare(Policy(), Policy(max_failures=2), history,
                             history + timedelta(minutes=20), limit=5)
    assert (cut.attempts, cut.complete) == (5, False)
    assert cut.until == history + timedelta(minutes=5)  # bob's sign-in, the sixth
    assert cut.candidate.locks == 1  # bob's, at the second guess


def test_attempts_refused_live_count_as_unknown_outcomes(app, auth, database_url):
    auth.create("dora")
    live = replaying_app(database_url, LOCKOUT_MAX_FAILURES=2)
    browser = live.test_client()
    codes = [browser.post("/login", environ_base=ATTACKER, data={
        "username": "dora", "password": "wrong guess here"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    db.database.close_all()
    result = replay_json(database_url, clock.now() - timedelta(minutes=5), "LOCKOUT_MAX_FAILURES=9")
    assert result["attempts"] == 3 and result["unknown_outcomes"] == 1  # the one refused as locked
    # In force (3), none is refused; the candidate (9) checks all three, the unknown as a guess.
    assert result["current"]["guesses_checked"] == result["candidate"]["guesses_checked"] == 3


def test_a_name_that_is_no_account_counts_only_when_its_address_is_throttled(app, database_url):
    browser = app.test_client()
    for _ in range(6):
        browser.post("/login", environ_base=ATTACKER, data={"username": "ghost",
                                                             "password": "wrong guess here"})
    result = replay_json(database_url, clock.now() - timedelta(minutes=5),
                         "LOCKOUT_MAX_FAILURES=2", "IP_MAX_FAILURES=4")
    # ghost's budget locks at the second guess, which hits nobody and refuses nothing that
    # an unknown name would not answer anyway; the address is stopped after its fourth.
    assert result["candidate"] == {"accounts_locked": [], "locks": 0, "refused": 2,
                                   "owners_refused": 0, "guesses_checked": 0,
                                   "ips_throttled": ["203.0.113.7"]}


def test_the_text_output_puts_the_policies_side_by_side(history, database_url):
    later = replaying_app(database_url)
    result = later.test_cli_runner().invoke(args=[
        "policy", "replay", "--since", history.isoformat(),
        "--until", (history + timedelta(minutes=20)).isoformat(), "--set", *STRICTER])
    lines = result.output.splitlines()
    assert result.exit_code == 0
    assert lines[0].startswith("Replayed 15 attempts from ")
    assert "Candidate: LOCKOUT_MAX_FAILURES=2" in lines
    assert re.search(r"^locks\s+2\s+3$", result.output, re.MULTILINE)
    assert re.search(r"^owners refused\s+1\s+2$", result.output, re.MULTILINE)
    assert "Locked only under the candidate: carol" in lines


def test_policy_show_prints_the_settings_in_force(app, database_url):
    result = replaying_app(database_url).test_cli_runner().invoke(args=["policy", "show"])
    assert result.exit_code == 0
    assert re.search(r"^LOCKOUT_MAX_FAILURES=3 +an account locks after 3 failures",
                     result.output, re.MULTILINE)
    assert re.search(r"^IP_WINDOW=900 +within 15 min", result.output, re.MULTILINE)
    assert len(result.output.splitlines()) == 10


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "LOCKOUT_MAX_FAILURE=3"], "LOCKOUT_MAX_FAILURE is not a lockout policy setting"),
    (["--set", "TOKEN_TTL=60"], "TOKEN_TTL is not a lockout policy setting"),
    (["--set", "LOCKOUT_MAX_FAILURES=0"], "PORTAL_LOCKOUT_MAX_FAILURES must be at least 1"),
    (["--set", "LOCKOUT_MAX_FAILURES=three"], "must be a whole number"),
    (["--set", "LOCKOUT_PERMANENT=maybe"], "must be true or false"),
    (["--set", "LOCKOUT_WAIT=7200"], "LOCKOUT_MAX_WAIT must not be below"),
    (["--set", "IP_ALLOWLIST=0.0.0.0/0"], "would spare every address"),
    (["--set", "nothing"], "--set: give NAME=VALUE"),
    (["--set", "IP_WINDOW=60", "--set", "IP_WINDOW=90"], "IP_WINDOW is set twice"),
    (["--since", "last week"], "--since must be an ISO 8601 date or time"),
    (["--until", "9999-12-31"], "--until must be an ISO 8601 date or time before 9999-12-31"),
    (["--since", "2026-11-02", "--until", "2026-11-01"], "--since must be before --until"),
])
def test_a_bad_candidate_or_range_is_one_line(database_url, args, message):
    # As an operator runs it: its own process, the error on one line, no traceback.
    done = flask_cli(portal_env(database_url), "policy", "replay", *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def figure(page, label):
    """Return (in force, candidate) of one figure row of the replay table."""
    match = re.search(rf'<th scope="row">{re.escape(label)}</th>\s*<td[^>]*>([\d,]+)</td>'
                      rf'<td[^>]*>([\d,]+)</td>', page)
    assert match, label
    return int(match[1]), int(match[2])


def test_the_policy_page_replays_a_candidate(history, database_url, auth):
    later = replaying_app(database_url)
    admin = later.test_client()
    with later.app_context():
        from portal.accounts import users
        users.create("root", auth.password, is_admin=True)
    admin.post("/login", data={"username": "root", "password": auth.password})
    page = admin.get("/admin/policy").get_data(as_text=True)
    assert "locked after <strong>3</strong> failed sign-ins" in page
    assert 'name="LOCKOUT_MAX_FAILURES" type="number"' in page and 'value="3"' in page
    replayed = admin.get("/admin/policy", query_string={
        "replay": "1", "LOCKOUT_MAX_FAILURES": "2", "IP_MAX_FAILURES": "8",
        "since": history.isoformat(), "until": (history + timedelta(minutes=20)).isoformat()})
    page = replayed.get_data(as_text=True)
    assert replayed.status_code == 200
    assert "Replayed 15 attempts" in page
    assert "<code>LOCKOUT_MAX_FAILURES=2</code>" in page  # only what differs is a change
    assert "IP_MAX_FAILURES=8</code>" not in page
    assert figure(page, "Accounts locked at least once") == (2, 3)
    assert figure(page, "Locks") == (2, 3)
    assert figure(page, "Attempts refused without a password check") == (3, 6)
    assert figure(page, "Owners kept out (refused attempts recorded as successful sign-ins)") \
        == (1, 2)
    assert figure(page, "Wrong guesses still checked against a password") == (8, 6)
    assert figure(page, "Addresses throttled") == (1, 1)
    only_candidate = page.split("Accounts locked only under the candidate (1)")[1]
    assert only_candidate.split("</ul>")[0].count("<li>") == 1
    assert 'href="/admin/users/carol"' in only_candidate.split("</ul>")[0]
    # htmx asks for the form and result alone.
    fragment = admin.get("/admin/policy", headers={"HX-Request": "true"}, query_string={
        "replay": "1", "LOCKOUT_MAX_FAILURES": "5", "IP_ALLOWLIST": "203.0.113.0/24",
        "since": history.isoformat(), "until": (history + timedelta(minutes=20)).isoformat()})
    text = fragment.get_data(as_text=True)
    assert "<h1>" not in text and figure(text, "Locks") == (2, 0)
    assert figure(text, "Wrong guesses still checked against a password") == (8, 9)


@pytest.mark.parametrize(("query", "message", "field"), [
    ({"LOCKOUT_MAX_FAILURES": "0"}, "PORTAL_LOCKOUT_MAX_FAILURES must be at least 1",
     "set-LOCKOUT_MAX_FAILURES"),
    ({"IP_ALLOWLIST": "not a network"}, "PORTAL_IP_ALLOWLIST must be", "set-IP_ALLOWLIST"),
    ({"LOCKOUT_WAIT": "7200"}, "LOCKOUT_MAX_WAIT must not be below", "set-LOCKOUT_MAX_WAIT"),
    ({"since": "soon"}, "“since” must be a date", "replay-since"),
    ({"since": "2026-11-02", "until": "2026-11-01"}, "“Since” must be before “until”.",
     "replay-since"),
])
def test_the_policy_page_refuses_a_bad_candidate_in_one_line(app, auth, client, query, message,
                                                             field):
    auth.create("root", is_admin=True)
    auth.login("root")
    response = client.get("/admin/policy", query_string={"replay": "1", **query})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert page.count('role="alert"') == 1 and message in page
    assert "Replayed" not in page
    if field:
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page, re.DOTALL)


def test_the_policy_page_is_for_admins(app, auth, client):
    auth.create("alice")
    auth.login("alice")
    assert client.get("/admin/policy").status_code == 403


@pytest.mark.settings(LOCKOUT_PERMANENT=True, IP_ALLOWLIST="10.0.0.0/8")
def test_the_policy_page_words_a_permanent_policy_and_an_allowlist(app, auth, client):
    auth.create("root", is_admin=True)
    auth.login("root")
    page = client.get("/admin/policy").get_data(as_text=True)
    assert "the next lock is <strong>permanent</strong>" in page
    assert "Addresses in 10.0.0.0/8 are never" in page
