"""Every statement the pages run is served by an index that init-db created.

The pages run for real. On PostgreSQL the server itself reports the plan of every
statement it runs (auto_explain, sent to the client as a notice, which tests.pgwire
collects at the socket), with sequential scans switched off and prepared statements
forced onto their generic plan, made without the arguments' values: a plan that still
scans a table has no index to use. On SQLite each SELECT that Peewee logs is explained,
and a full SCAN without an index fails the test. Free text (LIKE) is left out: it may
scan on SQLite. (A sparse CIDR block's rows are collected and sorted: by design.)
"""

import pytest

from portal import db
from portal.history import paging
from portal.history import queries
from tests.conftest import behind_proxy

PAGES = [
    "/account/sessions", "/admin/users", "/admin/users?q=ali", "/admin/users/alice",
    "/admin/history", "/admin/history?user=alice", "/admin/history?user=al",
    "/admin/history?user=al&prefix=yes", "/admin/history?ip=127.0.0.1",
    "/admin/history?ip=10.0.0.0/8", "/admin/history?outcome=failure&since=2026-01-01",
    "/admin/history?reason=bad_password&until=2030-01-01", "/admin/history/chart?user=alice",
]
EXPLAIN_EVERYTHING = ["session_preload_libraries=auto_explain", "auto_explain.log_min_duration=0",
                      "auto_explain.log_level=notice"]
NO_SCANS = ["enable_seqscan=off", "plan_cache_mode=force_generic_plan"]


@pytest.fixture
def explained(app, database_url, request):
    """On PostgreSQL, have the server report every plan (settings: extra -c options)."""
    if not db.is_postgresql():
        yield None
        return
    settings = EXPLAIN_EVERYTHING + getattr(request, "param", NO_SCANS)
    options = "%20".join(f"-c%20{setting}" for setting in settings)
    with behind_proxy(app, database_url, f"&options={options}") as proxy:
        yield proxy


def visit_every_page(auth, client):
    """Sign in as an admin (alice has a failure on record) and open every page."""
    auth.create("root", "correct horse battery", is_admin=True)
    auth.create("alice")
    auth.login("alice", "wrong")
    auth.login("root")
    for path in PAGES:
        assert client.get(path).status_code == 200, path


def test_every_page_query_uses_an_index(app, auth, client, explained, statements):
    visit_every_page(auth, client)
    if explained is None:
        plans = sqlite_plans(app, statements)
    else:
        plans = [notice for notice in explained.notices if "plan:" in notice]
    assert len(plans) > 15
    assert [plan for plan in plans if not_indexed(plan)] == []


def sqlite_plans(app, statements):
    """Return the plans of the distinct SELECTs the pages ran (free text aside)."""
    selects = {sql: params for sql, params in statements
               if sql.lstrip().upper().startswith("SELECT") and " LIKE " not in sql.upper()}
    with app.app_context():
        return [f"{sql}\n" + "\n".join(row[-1] for row in db.database.execute_sql(
            "EXPLAIN QUERY PLAN " + sql, params).fetchall()) for sql, params in selects.items()]


def not_indexed(plan):
    """Return True when the plan reads a whole table."""
    if db.is_postgresql():
        return "Seq Scan" in plan
    # "SCAN _wrapped" reads a subquery's own result, not a table.
    return any(line.strip().startswith("SCAN ") and "INDEX" not in line
               and not line.strip().startswith("SCAN _") for line in plan.splitlines()[1:])


@pytest.mark.parametrize("explained", [[]], indirect=True)  # the planner's own choices
def test_a_wide_cidr_export_walks_the_time_index_on_postgresql(app, client, runner, explained):
    """An export of a dense CIDR block starts on the time index, not a scan and a sort."""
    if explained is None:
        pytest.skip("PostgreSQL statistics")
    assert runner.invoke(args=["seed-demo", "--users", "20", "--attempts", "20000"]).exit_code == 0
    runner.invoke(args=["users", "create", "root", "--admin", "--password-stdin"],
                  input="correct horse battery\n")
    assert client.post("/login", data={"username": "root", "password": "correct horse battery"}
                       ).status_code == 302
    explained.reset()
    rows = client.get("/admin/history.csv?ip=203.0.113.0/24").get_data(as_text=True)
    assert rows.count("\n") > paging.EXPORT_BATCH  # more than one batch
    batches = [plan for plan in explained.notices if 'ORDER BY "t1"."at" DESC' in plan]
    # The first batch walks the time index, newest first; later ones, deep in a table of
    # this test's size, may rightly read what is left of it.
    assert len(batches) >= 2
    assert "Index Scan Backward" in batches[0] and "Seq Scan" not in batches[0], batches[0]


def walked_index(app, query_string):
    """Return the plan of the history page's query for these filters (run through EXPLAIN)."""
    from werkzeug.datastructures import MultiDict
    with app.app_context():
        filters = queries.Filters.from_args(MultiDict(
            pair.split("=", 1) for pair in query_string.split("&")))
        sql, params = paging.matching(filters).limit(paging.PAGE_SIZE + 1).sql()
        prefix = "EXPLAIN " if db.is_postgresql() else "EXPLAIN QUERY PLAN "
        return "\n".join(str(row[-1]) for row in db.database.execute_sql(prefix + sql, params))


def rarest(app, column, where="1 = 1"):
    """Return the value of the column with the fewest attempts (at least one)."""
    with app.app_context():
        return db.database.execute_sql(
            f"SELECT {column} FROM login_attempts WHERE {where} GROUP BY {column} "
            f"ORDER BY count(*), {column} LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("statistics", ["analyzed", "dropped"])
def test_the_filter_with_the_fewest_rows_picks_the_index_whatever_the_statistics(
        app, runner, statistics):
    assert runner.invoke(args=["seed-demo", "--users", "20", "--attempts", "20000"]).exit_code == 0
    with app.app_context():
        if statistics == "dropped" and not db.is_postgresql():
            db.database.execute_sql("DROP TABLE IF EXISTS sqlite_stat1")
            db.database.close_all()
        elif statistics == "dropped":  # then the portal steers, as on SQLite
            db.database.execute_sql(
                "DELETE FROM pg_statistic WHERE starelid IN "
                "(SELECT oid FROM pg_class WHERE relname LIKE 'login_attempts%%')")
            queries.remembered_statistics.cache_clear()
            assert not queries.planner_has_statistics()
    user = rarest(app, "username_key")
    ip = rarest(app, "ip", "ip NOT LIKE '%:%'".replace("%", "%%" if db.is_postgresql() else "%"))
    block = ip.rsplit(".", 1)[0] + ".0/24"
    by_user, by_ip = (f"loginattempt_{name}_at_id" for name in ("username_key", "ip_key"))
    assert by_user in walked_index(app, f"user={user}&outcome=failure")
    assert by_user in walked_index(app, f"outcome=failure&reason=unknown_user&user={user}")
    assert by_ip in walked_index(app, f"ip={block}&outcome=failure")
    rare_text = walked_index(app, f"q={user}&outcome=failure")
    assert ("trgm" if db.is_postgresql() else "attempt_text") in rare_text
    # Both match nearly every row: walk in time order (outcome's index or the time index),
    # never collect the block's rows to sort them.
    assert by_ip not in walked_index(app, "outcome=failure&ip=0.0.0.0/0")
