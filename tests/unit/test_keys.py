"""Derived keys: independent of each other and of the master secret."""

from portal import keys


def test_derived_keys_are_distinct_and_not_the_master(plain_app):
    config = plain_app.config
    derived = {config["SECRET_KEY"], config["WTF_CSRF_SECRET_KEY"][-1],
               config["JWT_KEYRING"][config["JWT_KID"]], config["DEVICE_KEY"][-1]}
    assert len(derived) == 4
    assert all(len(key) == 32 for key in derived)
    assert b"test-secret" not in b"".join(derived)


def test_derivation_is_stable_and_depends_on_the_secret():
    a = keys.derive("a" * 40, keys.LABELS["JWT_KEY"])
    assert a == keys.derive("a" * 40, keys.LABELS["JWT_KEY"])
    assert a != keys.derive("b" * 40, keys.LABELS["JWT_KEY"])
    assert keys.key_id("a" * 40) != keys.key_id("b" * 40)
