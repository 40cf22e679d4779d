"""Unit tests need an app for its config, never a database."""

import pytest

from portal import create_app
from tests.conftest import TEST_SETTINGS


@pytest.fixture
def plain_app(tmp_path):
    """An app whose database is never opened."""
    return create_app({**TEST_SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"})
