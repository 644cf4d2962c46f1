"""The end-to-end delay benchmark's injection: a netem delay on one service, as the trace files would show it."""
import json
import random

from benchmarks.trainticket_delay_e2e import delay_trace, load_spans

MS = 1_000_000


def _span(span_id, parent, service, kind, start_ms, end_ms):
    return {"traceId": "t1", "spanId": span_id, "parentSpanId": parent, "kind": kind, "_service": service,
            "startTimeUnixNano": str(start_ms * MS), "endTimeUnixNano": str(end_ms * MS)}


def _trace():
    # gateway's request (0-100 ms) calls X (10-40 ms, X's own work 12-38 ms, X calls Y 15-30 ms), then Z (50-90 ms)
    return [_span("g", "", "gateway", 2, 0, 100),
            _span("gx", "g", "gateway", 3, 10, 40), _span("x", "gx", "X", 2, 12, 38),
            _span("xy", "x", "X", 3, 15, 30), _span("y", "xy", "Y", 2, 16, 29),
            _span("gz", "g", "gateway", 3, 50, 90), _span("z", "gz", "Z", 2, 51, 89)]


def _times(spans):
    return {s["spanId"]: ((int(s["startTimeUnixNano"]) // MS), int(s["endTimeUnixNano"]) // MS) for s in spans}


class _Fixed(random.Random):
    def gauss(self, mu=0.0, sigma=1.0):
        return 0.0  # no jitter: the delay exactly


def test_a_delay_lengthens_the_calls_around_the_service_and_what_encloses_them():
    spans = _trace()
    assert delay_trace(spans, "X", 0, 1000 * MS, 100, _Fixed()) == 2  # into X, and X's call out to Y
    t = _times(spans)
    assert t["gx"] == (10, 240)            # the call into X, and X's own call out, both waited
    assert t["g"] == (0, 300)              # the request encloses both
    assert t["x"] == (12, 138)             # X's server span: its own work, plus its call out to Y
    assert t["xy"] == (15, 130) and t["y"] == (116, 129)  # the request to Y left 100 ms late
    assert t["gz"] == (250, 290) and t["z"] == (251, 289)  # what came after waited for both
    assert t["y"][1] - t["y"][0] == 13 and t["z"][1] - t["z"][0] == 38  # the callees' own work is unchanged


def test_calls_outside_the_window_or_between_other_services_are_left_alone():
    spans = _trace()
    assert delay_trace(spans, "X", 200 * MS, 1000 * MS, 100, _Fixed()) == 0
    assert delay_trace(spans, "Z", 0, 1000 * MS, 0, _Fixed()) == 1  # a zero delay changes nothing
    assert _times(spans) == _times(_trace())


def test_trace_files_are_read_with_their_services(tmp_path):
    doc = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "X"}}]},
                              "scopeSpans": [{"spans": [{"traceId": "t1", "spanId": "a", "kind": 2,
                                                         "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}
    (tmp_path / "08_00.json").write_text(json.dumps(doc))
    documents, by_trace = load_spans(tmp_path)
    assert by_trace["t1"][0]["_service"] == "X" and len(documents) == 1
