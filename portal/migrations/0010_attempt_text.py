"""SQLite: a trigram index of the attempts' typed usernames and user agents, for free text.

The history's `q` finds text anywhere in either column. PostgreSQL serves it from the
pg_trgm indexes (0005); SQLite has no index for LIKE '%text%' and read the whole table.
An FTS5 table with the trigram tokenizer (SQLite 3.34 and later) indexes every three
characters; it keeps no copy of the text (external content), and triggers keep it in
step with the attempts. detail=none keeps only which rows hold a trigram, not where:
a quarter of the size, and the history checks each row it finds with LIKE anyway.
"""

from peewee import SqliteDatabase

STATEMENTS = [
    "CREATE VIRTUAL TABLE attempt_text USING fts5(username, user_agent, "
    "content='login_attempts', content_rowid='id', tokenize='trigram case_sensitive 0', "
    "detail=none)",
    "CREATE TRIGGER attempt_text_insert AFTER INSERT ON login_attempts BEGIN "
    "INSERT INTO attempt_text(rowid, username, user_agent) "
    "VALUES (new.id, new.username, new.user_agent); END",
    "CREATE TRIGGER attempt_text_delete AFTER DELETE ON login_attempts BEGIN "
    "INSERT INTO attempt_text(attempt_text, rowid, username, user_agent) "
    "VALUES ('delete', old.id, old.username, old.user_agent); END",
    "CREATE TRIGGER attempt_text_update AFTER UPDATE OF username, user_agent "
    "ON login_attempts BEGIN "
    "INSERT INTO attempt_text(attempt_text, rowid, username, user_agent) "
    "VALUES ('delete', old.id, old.username, old.user_agent); "
    "INSERT INTO attempt_text(rowid, username, user_agent) "
    "VALUES (new.id, new.username, new.user_agent); END",
    "INSERT INTO attempt_text(attempt_text) VALUES ('rebuild')",  # the attempts so far
]


def up(migrator, db):
    """Create the index and its triggers, and index the attempts already recorded."""
    if not isinstance(db, SqliteDatabase):
        return
    for statement in STATEMENTS:
        db.execute_sql(statement)


def present(db):
    """Return True on PostgreSQL (nothing to do) or when the index exists."""
    return not isinstance(db, SqliteDatabase) or db.table_exists("attempt_text")
