"""A request failed only by its error log lines is one incident: the `(log)` group's rule incident of those lines
folds into its requests' rule incident; error lines written outside any request keep their own."""
from __future__ import annotations

from logintel.analysis.incidents.log_twins import fold_log_twins
from logintel.analysis.incidents.rule_incidents import detect_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import compute_windows
from tests.store.test_log_errors import HOUR, _line, _load, _logs, _trace

REQUESTS = 40


def _incidents(con):
    compute_windows(con, HOUR)
    return detect_incidents(con, HOUR, Thresholds(default=5))


def test_the_lines_incident_folds_into_the_requests_they_failed(con):
    failing = range(1, 21)  # 20 of 40 requests log an error inside their spans and answer 200
    _load(con, [_trace(n) for n in range(1, REQUESTS + 1)],
          _logs(*[_line(n, 1, "ERROR", "order not found in ledger") for n in failing]))
    rules = _incidents(con)
    lines = next(r for r in rules if r.route == "(log)")
    requests = next(r for r in rules if r.route == "/orders")
    assert fold_log_twins(con, rules) == 1
    assert lines.merged_into == requests.incident_id and requests.merged_into is None


def test_error_lines_written_outside_any_request_keep_their_incident(con):
    orphans = [_line(n, 1, "ERROR", "disk full on /var/lib/orders") | {"traceId": f"{n + 500:032x}"}
               for n in range(1, 21)]  # traces with no span here: no request holds them
    failing = [_line(n, 1, "ERROR", "order not found in ledger") for n in range(1, 21)]
    _load(con, [_trace(n) for n in range(1, REQUESTS + 1)], _logs(*orphans, *failing))
    rules = _incidents(con)
    lines = next(r for r in rules if r.route == "(log)")
    assert fold_log_twins(con, rules) == 0  # half the lines are the requests', half nobody's: not most
    assert lines.merged_into is None
