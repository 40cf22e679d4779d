"""JWT issue and verify: one algorithm, every claim required, keys chosen by `kid`.

A valid token only names a session; portal.sessions.store decides whether that
session still signs anyone in.
"""

import functools
import time
import types

import jwt
from flask import current_app

ALGORITHM = "HS256"
TOKEN_TYPE = "portal-session+jwt"
REQUIRED_CLAIMS = ["sub", "jti", "iat", "nbf", "exp", "iss", "aud"]
# A cookie cannot hold more than 4 KiB; anything longer is not ours.
MAX_TOKEN_LENGTH = 2048


def issue(user_id, session_id):
    """Return a signed token for one session of one user, valid for PORTAL_TOKEN_TTL."""
    config = current_app.config
    now = int(time.time())
    claims = {"sub": str(user_id), "jti": session_id, "iat": now, "nbf": now,
              "exp": now + config["TOKEN_TTL"], "iss": config["TOKEN_ISSUER"],
              "aud": config["TOKEN_AUDIENCE"]}
    kid = config["JWT_KID"]
    return jwt.encode(claims, config["JWT_KEYRING"][kid], algorithm=ALGORITHM,
                      headers={"kid": kid, "typ": TOKEN_TYPE})


class Rejected(Exception):
    """A token that is not one we issued, or not as we issue them; `reason` says how."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def read(token):
    """Return the claims of a valid token; None when there is none or it has expired.

    Raise Rejected for anything else: a token that is not ours, or not as we issue
    it (a security event, where an expired one is everyday).
    """
    if not token:
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        raise Rejected("too_long")
    config = current_app.config
    try:
        claims = verified(token, tuple(config["JWT_KEYRING"].items()), config["TOKEN_AUDIENCE"],
                          config["TOKEN_ISSUER"], config["TOKEN_LEEWAY"], config["TOKEN_TTL"])
    except jwt.ExpiredSignatureError:
        return None
    except jwt.InvalidTokenError as error:
        raise Rejected(reason_of(error)) from None
    # A remembered token was checked when it was first seen; only its expiry can change.
    if claims["exp"] <= time.time() - config["TOKEN_LEEWAY"]:
        return None
    return claims


def expired(token):
    """Return the claims of a token that we issued and that has only run out, or None.

    Only to tell its browser why it was signed out: such claims sign no one in.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    config = current_app.config
    try:
        key = signing_key_for(jwt.get_unverified_header(token), config["JWT_KEYRING"])
        claims = jwt.decode(token, key, algorithms=[ALGORITHM],
                            audience=config["TOKEN_AUDIENCE"], issuer=config["TOKEN_ISSUER"],
                            options={"require": REQUIRED_CLAIMS, "strict_aud": True,
                                     "verify_exp": False})
    except jwt.InvalidTokenError:
        return None
    return claims if claims["exp"] <= time.time() else None


def reason_of(error):
    """Return a short name for why PyJWT (or `verified`) refused a token."""
    for kind, reason in REASONS:
        if isinstance(error, kind):
            return reason
    return str(error) if isinstance(error, NotOurs) else "invalid"


class NotOurs(jwt.InvalidTokenError):
    """The header or lifetime is not what we issue; the message is the reason."""


REASONS = ((jwt.InvalidSignatureError, "bad_signature"), (jwt.DecodeError, "malformed"),
           (jwt.MissingRequiredClaimError, "missing_claim"),
           (jwt.InvalidAudienceError, "wrong_audience"), (jwt.InvalidIssuerError, "wrong_issuer"),
           (jwt.ImmatureSignatureError, "not_yet_valid"), (jwt.InvalidIssuedAtError, "bad_iat"))


# A signed-in browser sends the same token with every request, and checking it costs
# about as much as the page's queries: each worker remembers the claims of the tokens it
# has verified. Rule: the key is the whole token and every input to the check (keyring
# included); failures raise, so they are never remembered; the expiry is checked again
# on every use (read).
@functools.lru_cache(maxsize=4096)
def verified(token, keyring, audience, issuer, leeway, ttl):
    """Return the claims of a token that passes every check, or raise InvalidTokenError."""
    key = signing_key_for(jwt.get_unverified_header(token), dict(keyring))
    claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                        leeway=leeway, options={"require": REQUIRED_CLAIMS, "strict_aud": True})
    # We never issue a longer one: a token that claims more was made with a stolen key
    # or by a misconfigured issuer, and must not outlive the setting.
    if not isinstance(claims["iat"], int) or claims["exp"] - claims["iat"] > ttl + leeway:
        raise NotOurs("lifetime_too_long")
    return types.MappingProxyType(claims)


def signing_key_for(header, keyring):
    """Return the key named by the header's `kid` when the header is exactly ours."""
    if header.get("alg") != ALGORITHM:
        raise NotOurs("wrong_algorithm")
    if header.get("typ") != TOKEN_TYPE:
        raise NotOurs("wrong_type")
    kid = header.get("kid")
    key = keyring.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise NotOurs("unknown_key")
    return key
