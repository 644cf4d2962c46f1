"""Fixtures the analysts' tests share."""
import duckdb
import pytest

from logintel.store.warehouse import ensure_schema


@pytest.fixture
def empty_warehouse(tmp_path):
    """A DuckDB warehouse file with the raw_events table and nothing in it."""
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(connection)
    yield connection
    connection.close()
