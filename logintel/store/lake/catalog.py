"""Opening the lake: pyiceberg's SQL catalog (a SQLite file on one machine, PostgreSQL for many) over a warehouse
of data files (a local folder, or `s3://` through pyiceberg's own S3 file IO), and the lake's tables in it,
created on first use.

Every commit is optimistic: the catalog swaps a table's metadata pointer only if nobody moved it since the
writer read it, so any number of processes write one table at once; a writer that lost the race re-reads and
retries (pyiceberg does, up to four times), and two runs replacing the same hour at once fail the later one's
commit rather than mix their files.
"""
from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

from logintel.config import LakeLocation
from logintel.store.lake.tables import LAKE_TABLES, PARTITION_COLUMN, column_types

NAMESPACE = "logintel"
# Two processes creating the catalog's own tables, or one lake table, at the same moment: the loser retries.
_CREATE_ATTEMPTS = 5


# Row groups of DuckDB's own size (pyiceberg's default is a million rows, so an hour was one row group): a reader
# scans a file's row groups in parallel and skips those whose min/max (ts, service) a filter rules out, as it does
# in its own tables.
ROW_GROUP_ROWS = 122880
TABLE_PROPERTIES = {"write.parquet.row-group-limit": str(ROW_GROUP_ROWS)}


class LakeError(RuntimeError):
    """The lake cannot be opened or written: says which table, where, and why."""


class Lake:
    """An open catalog and the lake's tables in it."""

    def __init__(self, location: LakeLocation):
        from pyiceberg.catalog.sql import SqlCatalog
        self.location = location
        _make_local_folders(location)
        properties = {"uri": location.catalog_url, "warehouse": location.warehouse}
        if location.s3_endpoint:
            properties["s3.endpoint"] = location.s3_endpoint
        if location.s3_region:
            properties["s3.region"] = location.s3_region
        self.properties = properties
        self.catalog = _retrying(lambda: SqlCatalog(NAMESPACE, **properties), "open the catalog")
        _retrying(lambda: self.catalog.create_namespace_if_not_exists(NAMESPACE), "create its namespace")
        self._tables: dict[str, object] = {}

    def table(self, name: str, refresh: bool = True):
        """The Iceberg table `name` (one of LAKE_TABLES), created when missing; refreshed to its latest snapshot."""
        if name not in LAKE_TABLES:
            raise LakeError(f"{name!r} is not a lake table ({', '.join(LAKE_TABLES)})")
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = _load_or_create(self.catalog, name)
        elif refresh:
            table.refresh()
        return table

    def describe(self) -> str:
        """Where the lake is, without the catalog URL (it may hold a password)."""
        catalog = urlparse(self.location.catalog_url).scheme
        return f"Iceberg tables in {self.location.warehouse} (catalog: {catalog})"


def open_lake(location: LakeLocation) -> Lake:
    return Lake(location)


def _make_local_folders(location: LakeLocation) -> None:
    """A local warehouse folder and a SQLite catalog's folder must exist before either is written."""
    if location.warehouse.startswith("file://"):
        Path(urlparse(location.warehouse).path).mkdir(parents=True, exist_ok=True)
    if location.catalog_url.startswith("sqlite:///"):
        Path(location.catalog_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


def _load_or_create(catalog, name: str):
    from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
    identifier = f"{NAMESPACE}.{name}"
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            return catalog.load_table(identifier)
        except NoSuchTableError:
            pass
        schema = _iceberg_schema(name)
        try:
            return catalog.create_table(identifier, schema=schema, partition_spec=_hourly_spec(schema),
                                        properties=TABLE_PROPERTIES)
        except TableAlreadyExistsError:  # another process created it between our load and our create
            continue
    raise LakeError(f"lake table {identifier}: could not load or create it in {_CREATE_ATTEMPTS} attempts")


def _iceberg_schema(name: str):
    """The DDL's columns as Iceberg fields, in order. All optional: DuckDB exports every column as nullable, and
    the DDL's NOT NULLs are kept by the rows' one writer (the hour's load) before they reach the lake. A list of
    text (VARCHAR[]) is a list of strings, its element's field id numbered after the columns'."""
    from pyiceberg import types
    from pyiceberg.schema import Schema
    iceberg = {"VARCHAR": types.StringType, "JSON": types.StringType, "TIMESTAMP": types.TimestampType,
               "INTEGER": types.IntegerType, "BIGINT": types.LongType, "DOUBLE": types.DoubleType,
               "BOOLEAN": types.BooleanType, "DATE": types.DateType}
    columns = column_types(name)
    fields = []
    for number, (column, kind) in enumerate(columns, start=1):
        element = kind[:-2] if kind.endswith("[]") else None
        if (element or kind) not in iceberg:
            raise LakeError(f"lake table {name}: column {column} has type {kind}, which the lake does not map")
        field_type = iceberg[kind]() if element is None else types.ListType(
            element_id=len(columns) + number, element_type=iceberg[element](), element_required=False)
        fields.append(types.NestedField(field_id=number, name=column, field_type=field_type, required=False))
    return Schema(*fields)


def _hourly_spec(schema):
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import IdentityTransform
    source = schema.find_field(PARTITION_COLUMN).field_id
    return PartitionSpec(PartitionField(source_id=source, field_id=1000, transform=IdentityTransform(),
                                        name=PARTITION_COLUMN))


def _retrying(action, what: str):
    """SQLite catalogs created by two processes at once race on their own tables: a short retry settles it."""
    from sqlalchemy.exc import OperationalError, IntegrityError
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            return action()
        except (OperationalError, IntegrityError) as exc:
            if attempt == _CREATE_ATTEMPTS - 1:
                raise LakeError(f"lake catalog: could not {what}: {exc.__class__.__name__}: {exc}") from exc
            time.sleep(0.1 * (attempt + 1))
