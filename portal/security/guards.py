"""What no change may do to an account: act on the actor's own, or leave no admin.

Locking, demoting or deleting an account call `check` inside their transaction. On
PostgreSQL it takes the row locks of every admin (in id order, so none can deadlock),
so two admins demoting each other at once cannot both pass; SQLite's write
transaction already holds the whole database.
"""

from portal import clock
from portal import db
from portal.accounts import users
from portal.accounts.users import AdminLock
from portal.models import User

SELF, LAST_ADMIN, GONE = "self", "last_admin", "gone"
MESSAGES = {
    GONE: "No user named {name!r}.",  # deleted while the change waited
    SELF: "That is your own account: another admin must do it.",
    LAST_ADMIN: "{name!r} is the last admin who can sign in: make another admin first.",
}


class Refused(users.UserError):
    """A change that a guard forbids; `code` names which, for a template to word."""

    def __init__(self, code, name):
        super().__init__(MESSAGES[code].format(name=name))
        self.code = code


def check(user, actor_id=None, force=False):
    """Return the Account as it is now; raise Refused when a guard forbids taking it away.

    :param actor_id: the signed-in admin's id (None from the command line)
    :param force: the command line's --force: skip both guards
    """
    admins = lock_admins()
    current = users.by_id(user.id)  # read after the row locks: the role is today's
    if current is None:
        raise Refused(GONE, user.username)
    if force:
        return current
    if actor_id is not None and actor_id == current.id:
        raise Refused(SELF, current.username)
    now = clock.now()
    if current.is_admin and not any(admin_id != current.id and not lock.holds(now)
                                    for admin_id, lock in admins):
        raise Refused(LAST_ADMIN, current.username)
    return current


def lock_admins():
    """Return (id, AdminLock) of every admin, under their row locks on PostgreSQL."""
    query = (User.select(User.id, User.lock_reason, User.locked_at, User.locked_until,
                         User.locked_by)
             .where(User.is_admin == True).order_by(User.id))  # noqa: E712 (SQL, not Python)
    if db.is_postgresql():
        query = query.for_update()
    return [(row[0], AdminLock(*row[1:])) for row in query.tuples()]
