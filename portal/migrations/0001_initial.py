"""Users, their sessions and every login attempt: the first schema that init-db made."""

from peewee import BigAutoField
from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import Model


def up(migrator, db):
    """Create the three tables as the first release did."""

    class User(Model):
        username = CharField(max_length=64, unique=True)
        password_hash = CharField(max_length=255)
        is_admin = BooleanField(default=False)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "users"

    class Session(Model):
        id = CharField(primary_key=True, max_length=32)
        user = ForeignKeyField(User, on_delete="CASCADE")
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        expires_at = DateTimeField()
        ended_at = DateTimeField(null=True)
        end_reason = CharField(max_length=32, null=True)
        ip = CharField(max_length=64)
        user_agent = CharField(max_length=512)

        class Meta:
            database = db
            table_name = "sessions"
            indexes = ((("user", "ended_at"), False),)

    class LoginAttempt(Model):
        id = BigAutoField()
        at = DateTimeField()
        username = CharField(max_length=150)
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        outcome = CharField(max_length=8)
        reason = CharField(max_length=16)
        ip = CharField(max_length=64)
        user_agent = CharField(max_length=512)
        request_id = CharField(max_length=32)

        class Meta:
            database = db
            table_name = "login_attempts"
            indexes = ((("at", "id"), False), (("username", "at", "id"), False),
                       (("user", "at", "id"), False), (("outcome", "at", "id"), False),
                       (("ip", "at", "id"), False))

    db.create_tables([User, Session, LoginAttempt])


def present(db):
    """Return True when the tables exist."""
    return db.table_exists("users")
