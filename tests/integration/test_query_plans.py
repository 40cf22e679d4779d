"""Every query the pages run is served by an index that init-db created (EXPLAIN says so).

The pages run for real while their SQL is captured; each SELECT is then explained.
On PostgreSQL sequential scans are switched off, so a plan that still has one has
no index to use; on SQLite a full SCAN without an index, or a sort of the history
rows, fails the test. Free text (LIKE) is left out: it may scan on SQLite.

On PostgreSQL the hot queries run as prepared statements (PREPARE with the first
EXECUTE, then EXECUTE alone), which the server may run with a generic plan, made without the
arguments' values: those are explained with that generic plan.
"""

import pytest

from portal import db

PAGES = [
    "/account/sessions", "/admin/users", "/admin/users?q=ali", "/admin/users/alice",
    "/admin/history", "/admin/history?user=alice", "/admin/history?ip=127.0.0.1",
    "/admin/history?ip=10.0.0.0/8", "/admin/history?outcome=failure&since=2026-01-01",
    "/admin/history?reason=bad_password&until=2030-01-01", "/admin/history/chart?user=alice",
]


@pytest.fixture
def captured(app, monkeypatch):
    """Record every statement the app runs."""
    statements = []
    real = db.database.obj.execute_sql

    def recording(sql, params=None, *args, **kwargs):
        statements.append((sql, params))
        return real(sql, params, *args, **kwargs)
    monkeypatch.setattr(db.database.obj, "execute_sql", recording)
    return statements


def page_selects(statements):
    """Return the distinct SELECTs worth explaining, each with its arguments and kind."""
    seen, prepared = {}, {}
    for sql, params in statements:
        text = sql.lstrip()
        if text.startswith("PREPARE "):  # "PREPARE name AS body; EXECUTE name(...)"
            name, _, body = text[len("PREPARE "):].partition(" AS ")
            prepared[name], _, execute = body.rpartition("; EXECUTE ")
            text = "EXECUTE " + execute
        generic = text.startswith("EXECUTE ")
        if generic:
            text = prepared[text[len("EXECUTE "):].split("(")[0].strip()]
        if text.upper().startswith("SELECT") and " LIKE " not in text.upper() \
                and "sqlite_master" not in text and text.strip() != "SELECT 1":
            seen.setdefault((text, generic), params)
    return [(sql, params, generic) for (sql, generic), params in seen.items()]


def test_every_page_query_uses_an_index(app, auth, client, captured):
    auth.create("root", "correct horse", is_admin=True)
    auth.create("alice")
    auth.login("alice", "wrong")
    auth.login("root")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    selects = page_selects(captured)
    assert len(selects) > 15
    with app.app_context():
        problems = [(sql, plan) for sql, params, generic in selects
                    if (plan := explain(sql, params, generic)) and not_indexed(plan)]
    if db.is_postgresql():
        assert any(generic for _, _, generic in selects)
    assert problems == []


def explain(sql, params, generic=False):
    """Return the plan of a statement as text (the generic plan of a prepared one)."""
    if db.is_postgresql():
        with db.database.atomic():
            db.database.execute_sql("SET LOCAL enable_seqscan = off")
            if not generic:
                rows = db.database.execute_sql("EXPLAIN " + sql, params).fetchall()
            else:
                rows = explain_generic(sql, params)
        return "\n".join(row[0] for row in rows)
    rows = db.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return "\n".join(row[-1] for row in rows)


def explain_generic(sql, params):
    """Return the rows of EXPLAIN for a prepared statement forced onto its generic plan."""
    db.database.execute_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    db.database.execute_sql("PREPARE plan_check AS " + sql)
    try:
        placeholders = f"({', '.join(['%s'] * len(params))})" if params else ""
        return db.database.execute_sql(f"EXPLAIN EXECUTE plan_check{placeholders}",
                                       params).fetchall()
    finally:
        db.database.execute_sql("DEALLOCATE plan_check")


def not_indexed(plan):
    """Return True when the plan reads a whole table, or sorts history rows."""
    if db.is_postgresql():
        return "Seq Scan" in plan
    # "SCAN _wrapped" reads a subquery's own result, not a table.
    full_scans = [line for line in plan.splitlines()
                  if line.strip().startswith("SCAN ") and "INDEX" not in line
                  and not line.strip().startswith("SCAN _")]
    sorts_history = "login_attempts" in plan and "TEMP B-TREE FOR ORDER BY" in plan
    return bool(full_scans) or sorts_history


def test_a_wide_cidr_export_walks_the_time_index_on_postgresql(app, runner):
    """The export's batches of a dense CIDR block must not read the whole table."""
    from portal.history import queries
    if not db.is_postgresql():
        pytest.skip("PostgreSQL statistics")
    assert runner.invoke(args=["seed-demo", "--users", "20", "--attempts", "20000"]).exit_code == 0
    with app.app_context():
        query = queries.matching(queries.Filters(ip="203.0.113.0/24"))
        sql, params = query.limit(queries.EXPORT_BATCH + 1).sql()
        assert "||" in sql  # the block is dense: the filter hides ip_key's index
        plan = "\n".join(row[0] for row in db.database.execute_sql("EXPLAIN " + sql, params))
    assert "Index Scan Backward" in plan and "Seq Scan on login_attempts" not in plan, plan
