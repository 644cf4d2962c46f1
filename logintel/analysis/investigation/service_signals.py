"""The window's counts (`window_signals`) and its services' metrics (`resource_signals`) turned into scored signals
(`signal_scores`), one list per kind."""
from __future__ import annotations

import duckdb

from logintel.analysis.investigation import window_signals as sql
from logintel.analysis.investigation.resource_signals import resource_signals
from logintel.analysis.investigation.signal_scores import (
    MIN_EXPOSURE,
    MIN_SHIFT_RATIO,
    BOTH_ENDS_GAP,
    Signal,
    change_z,
    log_shift,
)


def all_signals(con: duckdb.DuckDBPyConnection, window: sql.Span, baseline: sql.Span) -> list[Signal]:
    """Every signal of every service: from the staged events, and from the metrics of the two spans."""
    exposure = sql.exposure(con)
    signals = (_latency(sql.self_time_counts(con), "self_time", "self_ms")
               + _latency(sql.network_gap_counts(con), "network_gap", "network_gap_ms")
               + _latency(sql.both_ends_gap_counts(con), "network_gap", BOTH_ENDS_GAP)
               + _errors(sql.error_counts(con), exposure)
               + _templates(sql.template_counts(con), sql.route_exposure(con), exposure)
               + resource_signals(con, window, baseline, exposure))
    return signals


def _latency(counts: dict[str, dict], kind: str, attribute: str) -> list[Signal]:
    """The window's values against the baseline's, route by route (a rank test: see `window_signals._shift`)."""
    out = []
    for service, c in counts.items():
        if c["window"] < MIN_EXPOSURE or c["baseline"] < MIN_EXPOSURE:
            continue
        z, ratio = log_shift(c["strata"])
        out.append(Signal(service, kind, z, attribute, _ms(c["p90_window"]), {
            "over_baseline_p90_window": c["over_window"], "requests_window": c["window"],
            "over_baseline_p90_baseline": c["over_baseline"], "requests_baseline": c["baseline"],
            "p50_ms_window": _ms(c["p50_window"]), "p90_ms_window": _ms(c["p90_window"]),
            "p50_ms_baseline": _ms(c["p50_baseline"]), "p90_ms_baseline": _ms(c["p90_baseline"]),
            "ratio": round(ratio, 2)}, large_enough=ratio >= MIN_SHIFT_RATIO))
    return out


def _exposures(exposure: dict, service: str) -> tuple[int, int]:
    """A service's requests on each side; its log lines when it has no requests (a service seen only in logs)."""
    req_w, req_b, log_w, log_b = exposure.get(service, (0, 0, 0, 0))
    return (req_w, req_b) if req_w >= MIN_EXPOSURE and req_b >= MIN_EXPOSURE else (log_w, log_b)


def _errors(counts: dict, exposure: dict) -> list[Signal]:
    out = []
    for service, (window, baseline, message) in counts.items():
        exp_w, exp_b = _exposures(exposure, service)
        z = change_z(window, baseline, exp_w, exp_b)
        out.append(Signal(service, "errors", z, "errors", window, {
            "errors_window": window, "errors_baseline": baseline, "exposure_window": exp_w,
            "exposure_baseline": exp_b, "top_message": message}))
    return out


def _templates(rows: list[tuple], routes: dict, exposure: dict) -> list[Signal]:
    """Each log template's change, new or vanished alike (|z|), per request of the route whose requests write it
    (lines joined to no request: per request of the service); `value` is the template."""
    out = []
    for service, route, template, example, window, baseline, alarming in rows:
        exp_w, exp_b = routes.get((service, route), (0, 0)) if route is not None else _exposures(exposure, service)
        z = change_z(window, baseline, exp_w, exp_b)
        direction = "new" if baseline == 0 else "vanished" if window == 0 else "more" if z > 0 else "fewer"
        out.append(Signal(service, "log_pattern", abs(z), "template", template, {
            "route": route, "lines_window": window, "lines_baseline": baseline, "exposure_window": exp_w,
            "exposure_baseline": exp_b, "change": direction, "warning_or_worse": bool(alarming), "example": example}))
    return out


def _ms(value) -> float | None:
    return None if value is None else round(float(value), 3)
