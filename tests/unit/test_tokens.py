"""Tokens: one algorithm, every claim required; anything odd is refused, with its reason."""

import base64
import json
import time

import jwt
import pytest

from portal import create_app
from portal.sessions import tokens
from tests.conftest import TEST_SETTINGS


@pytest.fixture
def ctx(plain_app):
    with plain_app.app_context():
        yield plain_app


def key_and_kid(app):
    return app.config["JWT_KEYRING"][app.config["JWT_KID"]], app.config["JWT_KID"]


def forge(app, claims=None, drop=(), alg="HS256", headers=None, key=None):
    now = int(time.time())
    body = {"sub": "1", "jti": "abc", "iat": now, "nbf": now, "exp": now + 60,
            "iss": "portal", "aud": "portal", **(claims or {})}
    for name in drop:
        body.pop(name)
    own_key, kid = key_and_kid(app)
    head = {"kid": kid, "typ": tokens.TOKEN_TYPE, **(headers or {})}
    return jwt.encode(body, key or own_key, algorithm=alg, headers=head)


def test_issued_token_reads_back(ctx):
    claims = tokens.read(tokens.issue(7, "sess1"))
    assert claims["sub"] == "7" and claims["jti"] == "sess1"
    assert claims["exp"] - claims["iat"] == ctx.config["TOKEN_TTL"]


def test_header_names_key_and_type(ctx):
    header = jwt.get_unverified_header(tokens.issue(7, "sess1"))
    assert header == {"alg": "HS256", "kid": ctx.config["JWT_KID"], "typ": tokens.TOKEN_TYPE}


def refused(token):
    """Return why read() refuses the token (it must)."""
    with pytest.raises(tokens.Rejected) as caught:
        tokens.read(token)
    return caught.value.reason


@pytest.mark.parametrize("claim", tokens.REQUIRED_CLAIMS)
def test_every_claim_is_required(ctx, claim):
    assert refused(forge(ctx, drop=[claim])) in ("missing_claim", "lifetime_too_long")


def test_an_expired_token_is_simply_none(ctx):
    assert tokens.read(forge(ctx, {"exp": int(time.time()) - 1})) is None


@pytest.mark.parametrize(("claims", "reason"), [
    ({"nbf": int(time.time()) + 3600}, "not_yet_valid"),
    ({"iss": "someone-else"}, "wrong_issuer"),
    ({"aud": "another-app"}, "wrong_audience"),
    ({"aud": ["portal", "another-app"]}, "wrong_audience"),
    # Signed with our key but living longer than TOKEN_TTL: we never issue that.
    ({"exp": int(time.time()) + 24 * 3600}, "lifetime_too_long"),
    ({"iat": time.time()}, "lifetime_too_long"),
])
def test_wrong_claims_are_refused(ctx, claims, reason):
    assert refused(forge(ctx, claims)) == reason


def test_other_key_other_kid_and_other_type_are_refused(ctx):
    assert refused(forge(ctx, key=b"k" * 32)) == "bad_signature"
    assert refused(forge(ctx, headers={"kid": "0000000000000000"})) == "unknown_key"
    assert refused(forge(ctx, headers={"typ": "JWT"})) == "wrong_type"
    own_key, _ = key_and_kid(ctx)
    assert refused(forge(ctx, alg="HS512", key=own_key * 2)) == "wrong_algorithm"


def test_unsigned_alg_none_token_is_refused(ctx):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    good = jwt.decode(tokens.issue(1, "s"), options={"verify_signature": False})
    header = {"alg": "none", "kid": ctx.config["JWT_KID"], "typ": tokens.TOKEN_TYPE}
    assert refused(f"{part(header)}.{part(good)}.") == "wrong_algorithm"


def test_no_token_is_none(ctx):
    assert tokens.read("") is None and tokens.read(None) is None


@pytest.mark.parametrize("garbage", ["x", "a.b.c", "é.é.é", "\x00", "e30.e30.", "x" * 5000])
def test_malformed_tokens_are_refused(ctx, garbage):
    assert refused(garbage) in ("malformed", "too_long", "wrong_algorithm")


def test_tampered_payload_is_refused(ctx):
    head, body, sig = tokens.issue(1, "s").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "2"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(f"{head}.{forged}.{sig}") == "bad_signature"


def test_previous_secret_still_verifies_during_rotation(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    old = create_app({**TEST_SETTINGS, "DATABASE_URL": url, "SECRET_KEY": "o" * 40})
    with old.app_context():
        token = tokens.issue(1, "s")
    new = create_app({**TEST_SETTINGS, "DATABASE_URL": url, "SECRET_KEY": "n" * 40,
                      "SECRET_KEY_PREVIOUS": "o" * 40})
    with new.app_context():
        assert tokens.read(token)["sub"] == "1"
        assert jwt.get_unverified_header(tokens.issue(1, "s"))["kid"] != \
            jwt.get_unverified_header(token)["kid"]
    without = create_app({**TEST_SETTINGS, "DATABASE_URL": url, "SECRET_KEY": "n" * 40})
    with without.app_context():
        assert refused(token) == "unknown_key"


def later(monkeypatch, seconds):
    """Move time.time forward: the clock of read()'s own expiry check of remembered tokens."""
    now = time.time() + seconds
    monkeypatch.setattr(time, "time", lambda: now)


def test_a_remembered_token_still_expires(ctx, monkeypatch):
    token = tokens.issue(1, "s")
    assert tokens.read(token)
    hits = tokens.verified.cache_info().hits
    assert tokens.read(token) and tokens.verified.cache_info().hits == hits + 1
    later(monkeypatch, ctx.config["TOKEN_TTL"] + ctx.config["TOKEN_LEEWAY"] + 1)
    assert tokens.read(token) is None


def test_a_refused_token_is_not_remembered(ctx):
    # Not valid for two more seconds; valid once they have passed (no leeway in tests).
    starts = int(time.time()) + 2
    early = forge(ctx, {"nbf": starts, "iat": starts})
    assert refused(early) == "not_yet_valid"
    time.sleep(starts - time.time() + 0.05)
    assert tokens.read(early)["jti"] == "abc"
