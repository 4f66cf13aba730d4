"""When the database does not answer (a restart, a failover), every page is a clean 503
the browser may retry, rendered without touching the database; a query the database
refuses stays a 500 (a defect, logged with its traceback)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from catalog import views


def _raise(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


@pytest.fixture
def database_down(monkeypatch):
    refused = OperationalError("SELECT 1", {}, Exception("connection refused"))
    monkeypatch.setattr(views, "_product_list_body", _raise(refused))


def test_a_page_whose_database_is_unreachable_is_a_503_that_says_retry(client, database_down):
    response = client.get("/products")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "服务暂时不可用" in page and "briefly unavailable" in page


def test_a_script_gets_the_503_as_json(client, database_down):
    response = client.get("/products", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.get_json()["status"] == 503


def test_a_refused_query_is_still_a_500(client, monkeypatch):
    duplicate = IntegrityError("INSERT", {}, Exception("duplicate key"))
    monkeypatch.setattr(views, "_product_list_body", _raise(duplicate))
    assert client.get("/products").status_code == 500
