"""Data-quality validation of one hourly partition of `raw_events`, run with Great Expectations 1.x.

`validate_raw_events` returns a `QualityReport` that an asset check turns into metadata and a verdict.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from logintel.events import LEVELS, MAX_DURATION_MS
from logintel.quality.partition_verdict import ExpectationOutcome, QualityReport

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult, ValidationDefinition
    from great_expectations.data_context import AbstractDataContext

SAMPLE_SIZE = 5
# GX keeps only this many offending values; asking for more than we show leaves room to
# de-duplicate (a repeated event_id appears once per row).
_GX_SAMPLE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation on the partition: a readable name, the column, the GX class and its arguments."""

    name: str
    column: str
    gx_class: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_not_null(self) -> bool:
        return self.gx_class == "ExpectColumnValuesToNotBeNull"


def _not_null(column: str) -> Check:
    return Check(f"{column} not null", column, "ExpectColumnValuesToNotBeNull")


# Grouped by column so the report reads top to bottom like the table. Range checks skip nulls,
# which is what makes `status` optional; the columns the contract requires get a not-null check.
CHECKS: tuple[Check, ...] = (
    _not_null("event_id"),
    Check("event_id unique", "event_id", "ExpectColumnValuesToBeUnique"),
    _not_null("ts"),
    # The partition is [start, end): strict_max makes the end exclusive exactly, at any
    # timestamp resolution, where "end minus 1 µs" would let nanosecond stragglers through.
    Check("ts between partition bounds", "ts", "ExpectColumnValuesToBeBetween",
          {"min_value": {"$PARAMETER": "partition_start"},
           "max_value": {"$PARAMETER": "partition_end"}, "strict_max": True}),
    _not_null("service"),
    _not_null("route"),
    _not_null("level"),
    Check("level in known levels", "level", "ExpectColumnValuesToBeInSet",
          {"value_set": list(LEVELS)}),
    _not_null("duration_ms"),
    Check("duration_ms between 0 and 86,400,000", "duration_ms", "ExpectColumnValuesToBeBetween",
          {"min_value": 0, "max_value": MAX_DURATION_MS}),
    Check("status between 100 and 599", "status", "ExpectColumnValuesToBeBetween",
          {"min_value": 100, "max_value": 599}),
    Check("sample_rate ≥ 1", "sample_rate", "ExpectColumnValuesToBeBetween", {"min_value": 1}),
)


def validate_raw_events(
    df: pd.DataFrame,
    partition_start: datetime,
    partition_end: datetime,
    dead_letters: int = 0,
    dead_letter_max_share: float = 0.01,
) -> QualityReport:
    """Validate one partition's rows against CHECKS, plus the share of records dead-lettered.

    Bounds and `ts` may be naive (taken as UTC) or aware; `ts` values that are not timestamps
    count as null. The caller's frame is left as it was.
    """
    started = time.perf_counter()
    start, end = _utc_naive(partition_start), _utc_naive(partition_end)
    rows = len(df)
    outcomes = _run_checks(df, start, end) if rows else []
    dead_letter = _dead_letter_outcome(rows, dead_letters, dead_letter_max_share)
    outcomes.append(dead_letter)
    return QualityReport(
        success=all(outcome.success for outcome in outcomes),
        rows=rows,
        results=outcomes,
        dead_letter_share=_dead_letter_share(rows, dead_letters),
        elapsed_s=time.perf_counter() - started,
        partition_start=start,
        partition_end=end,
    )


def _dead_letter_share(rows: int, dead_letters: int) -> float:
    total = rows + dead_letters
    return dead_letters / total if total else 0.0


def _dead_letter_outcome(rows: int, dead_letters: int, max_share: float) -> ExpectationOutcome:
    share = _dead_letter_share(rows, dead_letters)
    return ExpectationOutcome(
        expectation=f"dead-letter share ≤ {max_share:.2%}",
        column=None,
        success=share <= max_share,
        unexpected_count=dead_letters,
        unexpected_percent=share * 100,
        sample=[f"{dead_letters:,} of {rows + dead_letters:,} records"] if dead_letters else [],
    )


def _utc_naive(moment: datetime) -> datetime:
    """The warehouse stores naive UTC; an aware bound is converted, a naive one is taken as UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _vectorizable(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with `ts` in naive UTC and range-checked columns in dtypes GX compares in bulk.

    GX 1.x vectorises "between" only for int64/float64 and datetime64[ns]; any other dtype
    (Int32, int32, datetime64[us], which DuckDB and pandas 3 produce) goes value by value
    through Python, about 0.3 s per column per 100k rows.
    """
    changed: dict[str, pd.Series] = {}
    if "ts" in df.columns:
        changed["ts"] = _ns_utc_naive(df["ts"])
    for column in _NUMERIC_RANGE_COLUMNS:
        if column in df.columns and _needs_float(df[column]):
            changed[column] = df[column].astype("float64")
    # Copy-on-write makes this a new frame sharing every other column with the caller's.
    return df.assign(**changed) if changed else df


_NUMERIC_RANGE_COLUMNS = ("duration_ms", "status", "sample_rate")


def _needs_float(column: pd.Series) -> bool:
    dtype = column.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    return numeric and dtype not in ("int64", "float64")


def _ns_utc_naive(ts: pd.Series) -> pd.Series:
    """Naive UTC timestamps, so they compare with the bounds; unparseable values become null."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(ts.dtype):
        ts = pd.to_datetime(ts, utc=True, errors="coerce", format="ISO8601").dt.tz_localize(None)
    try:
        return ts.astype("datetime64[ns]")
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        return ts  # a timestamp past 2262 does not fit in ns: slower, but still judged correctly


# --- Great Expectations -------------------------------------------------------------------

_lock = threading.Lock()
_shared: tuple[AbstractDataContext, ValidationDefinition] | None = None


def _run_checks(df: pd.DataFrame, start: datetime, end: datetime) -> list[ExpectationOutcome]:
    df = _vectorizable(df)
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": _GX_SAMPLE_SIZE}
    if "event_id" in df.columns:
        # Lets a null-check name the offending rows; asked only when the column exists,
        # since GX fails every expectation when an index column is missing.
        result_format["unexpected_index_column_names"] = ["event_id"]
    # One context and suite serve every call; the lock keeps concurrent checks from sharing a run.
    with _lock:
        context, validation = _shared_validation()
        result = validation.run(
            batch_parameters={"dataframe": df},
            expectation_parameters={"partition_start": start, "partition_end": end},
            result_format=result_format,
        )
        _forget_stored_results(context)
    return _outcomes(result)


def _shared_validation() -> tuple[AbstractDataContext, ValidationDefinition]:
    global _shared
    if _shared is None:
        _shared = _build_validation()
    return _shared


def _build_validation() -> tuple[AbstractDataContext, ValidationDefinition]:
    gx_logger = logging.getLogger("great_expectations")
    quiet = gx_logger.level == logging.NOTSET
    if quiet:
        # Importing GX logs some two hundred INFO lines about its own docs registry, which an
        # app logging at INFO would print; a level the app chose for this logger is kept.
        gx_logger.setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if quiet:
        # This module pins its own logger to INFO when imported, past the parent's level.
        logging.getLogger(ProgressBarsConfig.__module__).setLevel(logging.WARNING)

    context = gx.get_context(mode="ephemeral")
    # Without this every run draws tqdm "Calculating Metrics" bars on stderr. This GX build
    # carries no analytics client, so GX_ANALYTICS_ENABLED has nothing to switch off.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas("raw_events")
             .add_dataframe_asset("partition")
             .add_batch_definition_whole_dataframe("whole partition"))
    suite = gx.ExpectationSuite(name="raw_events partition")
    for check in CHECKS:
        expectation_class = getattr(gx.expectations, check.gx_class)
        suite.add_expectation(expectation_class(column=check.column, meta={"check": check.name}, **check.kwargs))
    suite = context.suites.add(suite)
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="raw_events partition", data=batch, suite=suite))
    return context, validation


def _forget_stored_results(context: AbstractDataContext) -> None:
    """`run` files every result in the context's in-memory store; a long-lived process would hoard them."""
    store = context.validation_results_store
    for key in store.list_keys():
        store.remove_key(key)


def _outcomes(result: ExpectationSuiteValidationResult) -> list[ExpectationOutcome]:
    by_name = {res.expectation_config.meta["check"]: res for res in result.results}
    # GX returns results in the order it resolved metrics, not the suite's.
    return [_outcome(check, by_name[check.name]) for check in CHECKS]


def _outcome(check: Check, res: Any) -> ExpectationOutcome:
    error = _error_message(res.exception_info)
    summary = res.result or {}
    if check.is_not_null:
        # Every offending value is null; the rows' event_ids are what lets someone find them.
        raw = [entry.get("event_id") for entry in summary.get("partial_unexpected_index_list") or []]
    else:
        raw = summary.get("partial_unexpected_list") or []
    return ExpectationOutcome(
        expectation=check.name,
        column=check.column,
        success=bool(res.success),
        unexpected_count=None if error else summary.get("unexpected_count"),
        unexpected_percent=None if error else summary.get("unexpected_percent"),
        sample=_sample(raw),
        error=error,
    )


def _error_message(info: dict | None) -> str | None:
    """GX reports errors flat ({"raised_exception": ...}) or keyed by metric; find the first message."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "expectation raised an exception")
    return None


def _sample(values: list[Any]) -> list[str]:
    shown = [_show(value) for value in values if not _is_missing(value)]
    return list(dict.fromkeys(shown))[:SAMPLE_SIZE]


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _show(value: Any) -> str:
    if isinstance(value, np.generic) and not isinstance(value, (np.datetime64, np.timedelta64)):
        value = value.item()  # numpy scalars print as np.int32(700) otherwise
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # status 700 was cast to float for GX; show it as it was
    return str(value)
