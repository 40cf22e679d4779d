"""The factory: the contract's routes are all there, with the methods DESIGN.md gives them."""

import pytest

CONTRACT = [
    ("/login", {"GET", "POST"}), ("/logout", {"POST"}), ("/account/sessions", {"GET"}),
    ("/account/sessions/<session_id>/revoke", {"POST"}),
    ("/account/sessions/revoke-others", {"POST"}), ("/admin/history", {"GET"}),
    ("/admin/history.csv", {"GET"}), ("/admin/users", {"GET"}),
    ("/admin/users/<username>", {"GET"}), ("/admin/users/<username>/lock", {"POST"}),
    ("/admin/users/<username>/unlock", {"POST"}), ("/healthz", {"GET"}),
]


@pytest.mark.parametrize(("rule", "methods"), CONTRACT)
def test_contract_routes_exist(app, rule, methods):
    found = {r.rule: r.methods - {"HEAD", "OPTIONS"} for r in app.url_map.iter_rules()}
    assert found[rule] == methods


def test_every_state_change_is_a_post(app):
    for rule in app.url_map.iter_rules():
        changes = {"POST", "PUT", "PATCH", "DELETE"} & rule.methods
        assert changes <= {"POST"}, rule.rule


def test_overrides_win_and_are_validated(app):
    assert app.config["TESTING"] is True and app.config["COOKIE_SECURE"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
