"""Monthly partitions of the attempts table on PostgreSQL: created ahead, dropped by prune."""

from datetime import timedelta

import pytest

from portal import clock
from portal import config
from portal import create_app
from portal import db
from portal import schema
from portal.history import partitions
from portal.history import retention
from portal.models import LoginAttempt
from portal.web import ipaddr
from tests.conftest import PG_BASE_URL
from tests.conftest import TEST_SETTINGS
from tests.conftest import counts_agree
from tests.conftest import insert_attempts
from tests.conftest import new_pg_database

pytestmark = pytest.mark.skipif(not PG_BASE_URL, reason="partitions need PostgreSQL "
                                "(set PORTAL_TEST_DATABASE_URL)")


@pytest.fixture
def partitioned():
    """An app on its own new PostgreSQL database with PORTAL_ATTEMPT_PARTITIONS on."""
    with new_pg_database("portal_part") as url:
        app = create_app({**TEST_SETTINGS, "DATABASE_URL": url, "ATTEMPT_PARTITIONS": True})
        with app.app_context():
            schema.upgrade()
        yield app
        db.database.close_all()


def add(app, days_ago, count):
    at = clock.now() - timedelta(days=days_ago)
    with app.app_context():
        insert_attempts([{
            "at": at, "username": "alice", "username_key": "alice", "outcome": "failure",
            "reason": "bad_password", "ip": "10.0.0.1", "ip_key": ipaddr.key("10.0.0.1"),
            "user_agent": "x", "request_id": "r"} for _ in range(count)])


def test_init_db_creates_a_partitioned_table_with_months_ahead(partitioned):
    with partitioned.app_context():
        assert partitions.is_partitioned()
        names = partitions.months()
        assert len(names) == partitions.MONTHS_BACK + partitions.MONTHS_AHEAD + 1
        schema.upgrade()  # again: nothing changes
        assert partitions.months() == names


def test_sign_ins_and_history_work_on_partitions(partitioned):
    with partitioned.app_context():
        from portal.accounts import users
        users.create("root", "correct horse battery", is_admin=True)
    client = partitioned.test_client()
    assert client.post("/login", data={"username": "root", "password": "correct horse battery"}) \
        .status_code == 302
    assert ">root<" in client.get("/admin/history").get_data(as_text=True)


def test_prune_drops_whole_old_months_and_keeps_their_counts(partitioned):
    add(partitioned, 80, 5)    # two or three months back: a partition of its own
    add(partitioned, 400, 3)   # older than any partition: in the DEFAULT one
    add(partitioned, 1, 2)
    with partitioned.app_context():
        before = partitions.months()
        done = retention.prune(31)
        assert done["partitions"] and set(done["partitions"]) <= set(before)
        assert done["attempts"] == 3  # the DEFAULT partition's rows go in batches
        assert LoginAttempt.select().count() == 2
        assert retention.totals() == {"bad_password": 8}
        assert all(name not in partitions.months() for name in done["partitions"])
        kept, direct = counts_agree()  # a dropped month's hours leave the counts with it
        assert kept == direct and kept


def test_partitions_need_postgresql(tmp_path):
    with pytest.raises(config.ConfigError, match="ATTEMPT_PARTITIONS needs PostgreSQL"):
        create_app({**TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                    "ATTEMPT_PARTITIONS": True})
