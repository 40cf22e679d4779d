"""Headers, error pages and health: what every response promises."""

import pytest

from portal import db

CSP_PARTS = ["default-src 'self'", "frame-ancestors 'none'", "form-action 'self'",
             "base-uri 'none'", "object-src 'none'"]


@pytest.mark.parametrize("path", ["/login", "/healthz", "/nowhere", "/static/htmx.min.js"])
def test_security_headers_on_every_response(client, path):
    with client.get(path) as response:
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert all(part in csp for part in CSP_PARTS)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # COOKIE_SECURE is off in tests


def test_no_inline_script_or_style_in_pages(auth, client):
    auth.create("root", "correct horse battery", is_admin=True)
    auth.login("root")
    for path in ["/login", "/account/sessions", "/admin/history", "/nowhere"]:
        page = client.get(path).get_data(as_text=True)
        assert "<style" not in page and " style=" not in page
        assert all('src="' in tag for tag in page.split("<script")[1:])


@pytest.mark.parametrize(("method", "path", "code", "text"), [
    ("get", "/nowhere", 404, "Page not found"),
    ("delete", "/login", 405, "Method not allowed"),
    ("get", "/admin/history.csv?ip=nonsense", 400, "Bad request"),
])
def test_errors_render_their_page(auth, client, method, path, code, text):
    auth.create("root", "correct horse battery", is_admin=True)
    auth.login("root")
    response = getattr(client, method)(path)
    assert response.status_code == code
    assert text in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_oversized_body_gets_413_page(client):
    response = client.post("/login", data={"username": "x" * 200_000, "password": "y"})
    assert response.status_code == 413 and b"Too much data" in response.data


def test_unexpected_error_is_a_500_page_without_trace(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")
    response = client.get("/boom")
    assert response.status_code == 500 and b"Something went wrong" in response.data
    assert b"secret detail" not in response.data


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok\n"


def test_healthz_and_pages_answer_503_when_the_database_is_gone(app, client, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")  # a file where the database's folder should be: it cannot open
    db.database.close_all()
    db.database.initialize(db.PooledSqliteDatabase(str(blocker / "portal.db")))
    assert client.get("/healthz").status_code == 503
    client.set_cookie("portal_session", "x.y.z")
    response = client.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 503 and b"Temporarily unavailable" in response.data


def test_htmx_is_vendored_at_the_pinned_version(client):
    """static/htmx.min.js is npm's htmx.org@4.0.1 dist/htmx.min.js, byte for byte.

    The package's tarball has the registry's integrity sha512-oF7JgXhDW9UXCy/k1ZYFUQgzu/rm19OR
    WPSPNL91vPluB2PB9+MV55tyQdH/w7o2EAbTYUG5SDW1R60mdkdqGg==; the file carries no header, so its
    own version string and hash say which one it is.
    """
    import hashlib
    with client.get("/static/htmx.min.js") as response:
        body = response.data
    assert b'this.version="4.0.1"' in body
    assert hashlib.sha256(body).hexdigest() == \
        "a0abb04f2f45a1f89d1d4844023245537e5e6014c87b144553e0607b4cc32130"


@pytest.mark.parametrize("code", [400, 403, 404, 405, 413, 429, 500, 503])
def test_every_error_template_renders(app, code):
    from werkzeug.exceptions import default_exceptions

    from portal.web.errors import render_error
    with app.test_request_context("/"):
        body, status, _ = render_error(default_exceptions[code]())
    assert status == code and "<h1>" in body and "Go to the start page" in body


def test_a_missing_table_is_a_500_not_a_503(app, client):
    if db.is_postgresql():
        pytest.skip("PostgreSQL raises it as a ProgrammingError: a 500 already")
    with app.app_context():
        db.database.execute_sql("DROP TABLE ip_throttles")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 500 and b"Something went wrong" in response.data


@pytest.mark.settings(DB_POOL_SIZE=1, DB_POOL_WAIT=1)
def test_no_free_pooled_connection_is_a_503_after_the_wait(app, client):
    import threading
    import time
    holding, done = threading.Event(), threading.Event()

    def hold():
        with app.app_context(), db.database.connection_context():
            holding.set()
            done.wait(10)
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(5)
        started = time.monotonic()
        response = client.get("/healthz")
        waited = time.monotonic() - started
    finally:
        done.set()
        holder.join()
    assert response.status_code == 503 and 0.9 < waited < 5
    assert client.get("/healthz").status_code == 200  # and served again once one is free
