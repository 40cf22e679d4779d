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


def read(token):
    """Return the claims of a valid token, or None for anything else (never raise)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    config = current_app.config
    try:
        claims = verified(token, tuple(config["JWT_KEYRING"].items()), config["TOKEN_AUDIENCE"],
                          config["TOKEN_ISSUER"], config["TOKEN_LEEWAY"])
    except jwt.InvalidTokenError:
        return None
    # A remembered token was checked when it was first seen; only its expiry can change.
    if claims["exp"] <= time.time() - config["TOKEN_LEEWAY"]:
        return None
    return claims


# A signed-in browser sends the same token with every request, and checking it costs
# about as much as the page's queries: each worker remembers the claims of the tokens it
# has verified. Rule: the key is the whole token and every input to the check (keyring
# included); failures raise, so they are never remembered; the expiry is checked again
# on every use (read).
@functools.lru_cache(maxsize=4096)
def verified(token, keyring, audience, issuer, leeway):
    """Return the claims of a token that passes every check, or raise InvalidTokenError."""
    key = signing_key_for(jwt.get_unverified_header(token), dict(keyring))
    if key is None:
        raise jwt.InvalidTokenError("not one of our tokens")
    claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience, issuer=issuer,
                        leeway=leeway, options={"require": REQUIRED_CLAIMS, "strict_aud": True})
    return types.MappingProxyType(claims)


def signing_key_for(header, keyring):
    """Return the key named by the header's `kid` when the header is exactly ours."""
    if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
        return None
    kid = header.get("kid")
    return keyring.get(kid) if isinstance(kid, str) else None
