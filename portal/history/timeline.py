"""The recorded attempts in the order they happened, as a policy replay reads them.

Read in keyset batches over the (at, id) index, so a month of attempts costs constant
memory however many there are. Each comes as a Recorded, with the fields the lockout
policy decides by and nothing else.
"""

from datetime import datetime
from typing import NamedTuple

from peewee import Tuple

from portal.db import CompiledQuery
from portal.db import arg
from portal.history.attempts import SUCCESS
from portal.models import LoginAttempt

BATCH = 20_000


class Recorded(NamedTuple):
    """One attempt as recorded: when, which account name, whether it was an account, how it
    ended, from which address and (hashed) device."""

    at: datetime
    account: str
    is_account: bool
    outcome: str
    reason: str
    ip: str
    device: str | None


# Fixed in shape (the first batch starts from a cursor just before `since`), so it is
# compiled once; rows come back raw, as the replay's speed needs.
BATCH_AFTER = CompiledQuery(lambda: (
    LoginAttempt.select(LoginAttempt.at, LoginAttempt.id, LoginAttempt.username_key,
                        LoginAttempt.user, LoginAttempt.outcome, LoginAttempt.reason,
                        LoginAttempt.ip, LoginAttempt.device)
    .where(Tuple(LoginAttempt.at, LoginAttempt.id) > Tuple(arg("at"), arg("id")),
           LoginAttempt.at < arg("until"))
    .order_by(LoginAttempt.at, LoginAttempt.id).limit(BATCH)))


def batches(since, until):
    """Yield every attempt from `since` up to (not including) `until`, oldest first, in
    lists of up to BATCH."""
    after = (since, 0)  # ids start at 1
    while True:
        rows = BATCH_AFTER.run(at=after[0], id=after[1], until=until).fetchall()
        if rows:
            yield [Recorded(as_time(at), account, user is not None, outcome, reason, ip, device)
                   for at, _id, account, user, outcome, reason, ip, device in rows]
        if len(rows) < BATCH:
            return
        after = (as_time(rows[-1][0]), rows[-1][1])


def devices_known_before(moment):
    """Return the (account, device hash) pairs with a recorded success before `moment`.

    They are the devices a replay starting then takes as known, as the live policy did.
    """
    query = (LoginAttempt.select(LoginAttempt.username_key, LoginAttempt.device).distinct()
             .where(LoginAttempt.outcome == SUCCESS, LoginAttempt.at < moment,
                    LoginAttempt.device.is_null(False)))
    return set(query.tuples())


def as_time(value):
    """Return a stored time as a datetime (SQLite hands back its text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
