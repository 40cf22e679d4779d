"""Signed-in sessions: JWTs, session rows, the current user behind the cookie, cookie flags."""
