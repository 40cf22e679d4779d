"""Typed account names compared code point by code point on PostgreSQL, as SQLite does.

The chart's counts (attempt_counts.key, migration 0017) and the daily summaries of pruned
days hold the same names, and a user filter reads them as the same range, so they get
the same order.

The history's user filter matches every name that starts with what the admin typed, as
one range of login_attempts.username_key's index. Under a language's collation
(en_US.UTF-8, say) punctuation barely counts, so "a-z" sorts after "a." and a range of
names is no range of prefixes. Under "C" the order is that of the code points, and the
index's range holds exactly the names that start with the typed text. SQLite's BINARY
order already is that order. Equality, and so every other use of the column, means the
same under both.
"""

from peewee import PostgresqlDatabase

COLUMNS = (("login_attempts", "username_key"), ("attempt_counts", "key"),
           ("daily_summaries", "key"))
ALTER = 'ALTER TABLE "{}" ALTER COLUMN "{}" TYPE VARCHAR(150) COLLATE "C"'
COLLATION = """SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
    WHERE a.attrelid = %s::regclass AND a.attname = %s"""


def up(migrator, db):
    """On PostgreSQL, give the columns the "C" collation (their indexes are rebuilt with it)."""
    if isinstance(db, PostgresqlDatabase):
        for table, column in COLUMNS:
            db.execute_sql(ALTER.format(table, column))


def present(db):
    """Return True when the columns already sort by code point."""
    if not isinstance(db, PostgresqlDatabase):
        return True
    for table, column in COLUMNS:
        row = db.execute_sql(COLLATION, (table, column)).fetchone()
        if row is None or row[0] != "C":
            return False
    return True
