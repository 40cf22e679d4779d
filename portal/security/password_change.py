"""Changing one's own password: the current one is checked like a sign-in, then replaced."""

from portal import clock
from portal import db
from portal.accounts import users
from portal.history import attempts
from portal.security import budgets
from portal.security import policy
from portal.security import signin
from portal.sessions import store


def confirm_password(user, password, client, request_id, device_id=None):
    """Check a signed-in user's password; a failure counts (and locks) like a sign-in's."""
    attempt = signin.Attempt(user.username, user.username, client, device_id, request_id)
    reservation = signin.reserve(attempt, clock.now(), signin.rules_in_force())
    with signin.logged(reservation.pending):
        reason = signin.check(reservation, password)
        if reason != attempts.OK:
            signin.settle(attempt, reason, reservation)
            return False
        with db.transaction():
            signin.take_back(reservation, client.ip)
            budgets.save(user.username, reservation.device, policy.after_success())
            reservation.pending.drop()  # a confirmed password is no sign-in
        reservation.pending.settled()
    return True


def change_password(user, password, keep_session):
    """Store a new password and end the user's other sessions: both or neither.

    The rule is checked and the hash made first: no transaction waits for argon2.
    """
    password_hash = users.checked_hash(user, password)
    with db.database.atomic():
        users.store_password(user, password_hash)
        store.end_all_for_user(user.id, "password_changed", keep=keep_session)
