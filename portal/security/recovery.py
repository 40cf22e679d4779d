"""Recovering and managing accounts: set a password, set a temporary one, role, delete.

Each change is one transaction with its audit event. Taking an account's access or
admin role away passes `guards.check` first.
"""

from portal.accounts import passwords
from portal.accounts import users
from portal.db import database
from portal.models import User
from portal.security import audit
from portal.security import budgets
from portal.security import guards
from portal.sessions import store

ENDED_BY_RESET = "password_reset"


def set_password(user, password, actor, actor_ip=None):
    """Give the account a new password (the rule applies) and end all its sessions."""
    password_hash = users.checked_hash(user, password)  # argon2 before the transaction
    with database.atomic():
        users.store_password(user, password_hash)
        store.end_all_for_user(user.id, ENDED_BY_RESET)
        audit.record(audit.SET_PASSWORD, user.id, actor, actor_ip)


def set_temporary_password(user, actor, actor_id, actor_ip):
    """Give another account a random password to change at its next sign-in; return it.

    All its sessions end now. The password is returned once, to be shown once: only its
    hash is stored.
    """
    if actor_id == user.id:
        raise guards.Refused(guards.SELF, user.username)
    password = users.temporary_password(user.username)
    password_hash = passwords.hash_password(password)
    with database.atomic():
        users.store_password(user, password_hash, temporary=True)
        store.end_all_for_user(user.id, ENDED_BY_RESET)
        audit.record(audit.TEMPORARY_PASSWORD, user.id, actor, actor_ip)
    return password


def set_role(user, is_admin, actor, actor_id=None, actor_ip=None, force=False):
    """Make the account an admin or a user; return False when it already was one."""
    with database.atomic():
        current = guards.check(user, actor_id, force=force or is_admin)  # promoting is safe
        if current.is_admin == is_admin:
            return False
        User.update(is_admin=is_admin).where(User.id == current.id).execute()
        audit.record(audit.ROLE, current.id, actor, actor_ip, "admin" if is_admin else "user")
    return True


def delete(user, actor, actor_id=None, actor_ip=None, force=False):
    """Delete the account and its sessions; its attempts and audit trail stay.

    The attempts keep the name as typed (their user becomes NULL); the audit events,
    this one included, keep the account's name in target_name.
    """
    with database.atomic():  # budgets before user rows: the order of a sign-in's row locks
        # Gone, not reset: a budget row is what makes a browser a known device, and the
        # next account of that name must not inherit the old owner's devices.
        budgets.forget_account(user.username)
        current = guards.check(user, actor_id, force)
        audit.record(audit.DELETE, current.id, actor, actor_ip)
        audit.name_target(current.id, current.username)
        User.delete().where(User.id == current.id).execute()
