"""Settings parsing and validation: a bad value stops start-up with a clear message."""

import pytest

from portal import config
from portal import create_app
from tests.conftest import TEST_SETTINGS


def test_environment_values_are_parsed_by_type():
    env = {"PORTAL_TOKEN_TTL": "600", "PORTAL_COOKIE_SECURE": "false",
           "PORTAL_SECRET_KEY": "0123456789" * 4, "PORTAL_UNRELATED": "x"}
    assert config.from_environment(env) == {
        "TOKEN_TTL": 600, "COOKIE_SECURE": False, "SECRET_KEY": "0123456789" * 4}


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("TOKEN_TTL", "5min", "PORTAL_TOKEN_TTL must be a whole number, got '5min'"),
    ("COOKIE_SECURE", "maybe", "PORTAL_COOKIE_SECURE must be true or false"),
])
def test_unparseable_environment_value_names_the_variable(name, raw, message):
    with pytest.raises(config.ConfigError, match=message):
        config.from_environment({f"PORTAL_{name}": raw})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"TOKEN_TTL": 0}, "PORTAL_TOKEN_TTL must be at least 30"),
    ({"LOCKOUT_MAX_FAILURES": 0}, "PORTAL_LOCKOUT_MAX_FAILURES must be at least 1"),
    ({"PASSWORD_MIN_LENGTH": 65}, "PORTAL_PASSWORD_MIN_LENGTH must be at most 64, got 65"),
    ({"TRUSTED_PROXIES": True}, "PORTAL_TRUSTED_PROXIES must be a whole number"),
    ({"LOCKOUT_WAIT": 600, "LOCKOUT_MAX_WAIT": 300}, "LOCKOUT_MAX_WAIT must not be below"),
    ({"TOKEN_TTL": 7200, "SESSION_MAX_AGE": 3600}, "TOKEN_TTL must not exceed"),
    ({"SECRET_KEY": "short"}, "PORTAL_SECRET_KEY is too short"),
    ({"SECRET_KEY_PREVIOUS": "short"}, "PORTAL_SECRET_KEY_PREVIOUS is too short"),
    ({"DATABASE_URL": "mysql://root@localhost/x"}, "unsupported database 'mysql'"),
])
def test_bad_setting_stops_the_app(tmp_path, overrides, message):
    settings = {**TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **overrides}
    with pytest.raises(config.ConfigError, match=message):
        create_app(settings)


@pytest.mark.parametrize(("raw", "message"), [
    ("abc", "PORTAL_PASSWORD_MIN_LENGTH must be a whole number, got 'abc'."),
    ("3", "PORTAL_PASSWORD_MIN_LENGTH must be at least 8, got 3."),
])
def test_bad_password_min_length_in_the_environment_stops_the_app_in_one_line(
        tmp_path, monkeypatch, raw, message):
    monkeypatch.setenv("PORTAL_PASSWORD_MIN_LENGTH", raw)
    with pytest.raises(config.ConfigError) as stopped:
        create_app({**TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert str(stopped.value) == message


def test_missing_secret_stops_the_app_outside_the_cli(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    settings = {**TEST_SETTINGS, "SECRET_KEY": None, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    with pytest.raises(config.ConfigError, match="PORTAL_SECRET_KEY is not set"):
        create_app(settings)


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_TOKEN_TTL", "120")
    settings = {k: v for k, v in TEST_SETTINGS.items()}
    settings["DATABASE_URL"] = f"sqlite:///{tmp_path}/x.db"
    app = create_app(settings)
    assert app.config["TOKEN_TTL"] == 120


def test_defaults_match_the_design():
    values = config.defaults()
    assert values["TOKEN_TTL"] == 900 and values["SESSION_IDLE"] == 1800
    assert values["SESSION_MAX_AGE"] == 28800 and values["COOKIE_SECURE"] is True
    assert values["TRUSTED_PROXIES"] == 0 and values["LOCKOUT_MAX_FAILURES"] == 5
    assert values["PASSWORD_MEMORY_COST"] == 19456 and values["PASSWORD_TIME_COST"] == 2
    assert values["PASSWORD_MIN_LENGTH"] == 15


def test_unknown_portal_names_warn_with_the_nearest_setting_and_tools_names_do_not():
    env = {"PORTAL_TOKEN_TTLL": "1", "PORTAL_ZZZ": "1", "PORTAL_TOKEN_TTL": "600",
           "PORTAL_THREADS": "2", "PORTAL_BIND": "x", "PORTAL_TEST_DATABASE_URL": "x",
           "PORTAL_UPDATE_SCREENSHOTS": "1", "OTHER_TOKEN_TTLL": "1"}
    assert config.unknown_names(env) == [
        "Warning: PORTAL_TOKEN_TTLL is not a setting and is ignored; did you mean "
        "PORTAL_TOKEN_TTL?",
        "Warning: PORTAL_ZZZ is not a setting and is ignored (the README lists them)."]

