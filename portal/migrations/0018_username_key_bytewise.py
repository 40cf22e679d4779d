"""Typed account names compared code point by code point on PostgreSQL, as SQLite does.

The history's user filter matches every name that starts with what the admin typed, as
one range of login_attempts.username_key's index. Under a language's collation
(en_US.UTF-8, say) punctuation barely counts, so "a-z" sorts after "a." and a range of
names is no range of prefixes. Under "C" the order is that of the code points, and the
index's range holds exactly the names that start with the typed text. SQLite's BINARY
order already is that order. Equality, and so every other use of the column, means the
same under both.
"""

from peewee import PostgresqlDatabase

ALTER = ('ALTER TABLE "login_attempts" ALTER COLUMN "username_key" '
         'TYPE VARCHAR(150) COLLATE "C"')
COLLATION = """SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
    WHERE a.attrelid = 'login_attempts'::regclass AND a.attname = 'username_key'"""


def up(migrator, db):
    """On PostgreSQL, give username_key the "C" collation (its index is rebuilt with it)."""
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(ALTER)


def present(db):
    """Return True when username_key already sorts by code point."""
    if not isinstance(db, PostgresqlDatabase):
        return True
    row = db.execute_sql(COLLATION).fetchone()
    return row is not None and row[0] == "C"
