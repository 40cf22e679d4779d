"""Which database errors mean "it cannot serve now" (503, with a cause) and which are a bug."""

import pytest
from peewee import InterfaceError
from peewee import InternalError
from peewee import OperationalError
from playhouse.pool import MaxConnectionsExceeded

from portal.availability import unavailable_cause


@pytest.mark.parametrize(("error", "cause"), [
    (OperationalError("database or disk is full"), "disk full"),
    (OperationalError('could not extend file: No space left on device'), "disk full"),
    (OperationalError("attempt to write a readonly database"), "read-only"),
    (InternalError("cannot execute INSERT in a read-only transaction"), "read-only"),
    (OperationalError("database is locked"), "busy past its timeout"),
    (OperationalError("canceling statement due to statement timeout"), "busy past its timeout"),
    (OperationalError("deadlock detected"), "busy (deadlock)"),
    (OperationalError("FATAL: sorry, too many clients already"), "out of connections"),
    (OperationalError("disk I/O error"), "disk error"),
    (OperationalError('FATAL:  database "gone" does not exist'),
     "refuses us: no such database or role"),
    (OperationalError('FATAL:  role "nobody" does not exist'),
     "refuses us: no such database or role"),
    (OperationalError('FATAL:  password authentication failed for user "portal"'),
     "refuses us: wrong password"),
    (OperationalError("server closed the connection unexpectedly"), "unreachable"),
    (OperationalError("unable to open database file"), "unreachable"),
    (InterfaceError("connection already closed"), "unreachable"),
    (OperationalError(""), "unreachable"),
    (MaxConnectionsExceeded("Max connections exceeded"), "every pooled connection is busy"),
])
def test_a_database_that_cannot_serve_names_its_cause(error, cause):
    assert unavailable_cause(error) == cause


@pytest.mark.parametrize("error", [
    OperationalError("no such table: ip_throttles"),
    OperationalError("table login_attempts has no column named browser"),
    InternalError("current transaction is aborted, commands ignored until end of block"),
])
def test_a_schema_or_code_error_is_not_the_database_being_unavailable(error):
    assert unavailable_cause(error) is None
