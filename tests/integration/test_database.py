"""The integration run really uses the database CI asked for.

`make test` runs tests/unit and tests/integration a second time with TEST_DATABASE_URL
pointing at PostgreSQL; if that setting were silently ignored, every "PostgreSQL" test
would pass on SQLite and prove nothing.
"""

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from marketplace.extensions import db
from marketplace.models import Household

from ..conftest import TEST_DATABASE_URL, on_postgres
from ..factories import HouseholdFactory


def test_suite_runs_on_the_configured_database():
    engine = db.engine
    if on_postgres():
        assert engine.dialect.name == "postgresql"
        assert engine.url.database == make_url(TEST_DATABASE_URL).database
    else:
        assert engine.dialect.name == "sqlite"


def test_data_round_trips_and_each_test_starts_empty():
    assert db.session.scalar(select(func.count(Household.id))) == 0
    HouseholdFactory(head_name="符亚华")
    db.session.expire_all()
    assert db.session.scalar(select(Household.head_name)) == "符亚华"
