"""A network delay on real traffic, end to end: delayed Train-Ticket trace files through the hourly graph.

    .venv/bin/python benchmarks/trainticket_delay_e2e.py [--work /tmp/logintel-trainticket] [--delays 20,100,500]

`benchmarks/trainticket_delay.py` lengthens calls in the warehouse's spans table and asks `investigate`; this asks
whether a deployment receiving such a day would open an incident at all. It rewrites the OTLP/JSON trace files of
a `benchmarks/trainticket.py` run (its --work folder) the way a netem delay on one pod's interface would have
shaped them, then ingests them with the day's logs and runs every hour through the hourly graph's steps, as
`trainticket.py` does end to end.

The delay: for each labelled fault at t, a second service X (one of the six busiest callees other than the faulty
one, in turn, as trainticket_delay.py picks them) has `delay` ms (× a log-normal jitter of σ 0.2, seeded) added to
every call into it and every call it makes to another service, for calls starting in [t, t+3 min). Each such call
c ends that much later, and so does every span that encloses it (its caller's server span, up to the trace's
root: the requests are synchronous); every span of the trace that began after c had ended begins that much later
(what came after waited); for a call out of X, the callee's spans begin that much later too (the request left
late). Nobody's own work changes: self times stay, the time shows as the network gap around X.

Scored per fault as trainticket.py scores its labelled faults: an incident opened within 5 minutes blaming X in its
first three. The labelled fault is still in the data, so two faults run at once; whether the labelled service is
still caught is printed beside it.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WINDOW = timedelta(minutes=3)
JITTER_SIGMA = 0.2
SEED = 42
SERVER_KINDS, CLIENT_KINDS = {2, 5}, {3, 4}  # OTLP SpanKind: SERVER, CONSUMER / CLIENT, PRODUCER


def _ns(dt: datetime) -> int:
    return int(dt.replace(tzinfo=timezone.utc).timestamp() * 1e9)


def load_spans(traces: Path) -> tuple[dict[Path, dict], dict[str, list[dict]]]:
    """Every trace file's document, and each trace's spans (the documents' own dicts, with `_service` added)."""
    documents, by_trace = {}, {}
    for path in sorted(traces.glob("*.json")):
        doc = documents[path] = json.loads(path.read_text())
        for resource_spans in doc.get("resourceSpans", []):
            service = next((a["value"].get("stringValue") for a in resource_spans.get("resource", {}).get("attributes", [])
                            if a["key"] == "service.name"), None)
            for scope in resource_spans.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    span["_service"] = service
                    by_trace.setdefault(span["traceId"], []).append(span)
    return documents, by_trace


def delay_trace(spans: list[dict], delayed: str, start_ns: int, end_ns: int, delay_ms: float,
                rng: random.Random) -> int:
    """Lengthen the trace's calls into and out of `delayed` that start in [start_ns, end_ns); the number lengthened."""
    by_id = {s["spanId"]: s for s in spans}
    children: dict[str, list[dict]] = {}
    for s in spans:
        children.setdefault(s.get("parentSpanId") or "", []).append(s)
    calls = []
    for callee in spans:
        caller = by_id.get(callee.get("parentSpanId") or "")
        if caller is None or callee.get("kind") not in SERVER_KINDS or caller.get("kind") not in CLIENT_KINDS:
            continue
        into = callee["_service"] == delayed and caller["_service"] != delayed
        out_of = caller["_service"] == delayed and callee["_service"] != delayed
        if (into or out_of) and start_ns <= int(callee["startTimeUnixNano"]) < end_ns:
            calls.append((int(caller["startTimeUnixNano"]), caller, out_of))
    for _, call, out_of in sorted(calls, key=lambda c: c[0]):
        extra = int(delay_ms * math.exp(JITTER_SIGMA * rng.gauss(0.0, 1.0)) * 1e6)
        ended = int(call["endTimeUnixNano"])
        enclosing, span = set(), call
        while span is not None and span["spanId"] not in enclosing:  # a parent loop ends the walk
            enclosing.add(span["spanId"])
            span = by_id.get(span.get("parentSpanId") or "")
        below, stack = set(), [call["spanId"]]
        while stack:
            for child in children.get(stack.pop(), []):
                if child["spanId"] not in below and child["spanId"] not in enclosing:
                    below.add(child["spanId"])
                    stack.append(child["spanId"])
        for s in spans:
            begin, end = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
            if s["spanId"] in enclosing:
                s["endTimeUnixNano"] = str(end + extra)
            elif (s["spanId"] in below and out_of) or (s["spanId"] not in below and begin >= ended):
                s["startTimeUnixNano"], s["endTimeUnixNano"] = str(begin + extra), str(end + extra)
    return len(calls)


def write_delayed(source: Path, target: Path, plan: list[tuple[datetime, str]], delay_ms: float) -> int:
    """The day's trace files with each (t, X) of `plan` delayed, written to `target`; the calls lengthened."""
    documents, by_trace = load_spans(source)
    rng, lengthened = random.Random(SEED), 0
    for at, delayed in plan:
        lo, hi = _ns(at), _ns(at + WINDOW)
        for spans in by_trace.values():
            if any(lo <= int(s["startTimeUnixNano"]) < hi for s in spans):
                lengthened += delay_trace(spans, delayed, lo, hi, delay_ms, rng)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path, doc in documents.items():
        for resource_spans in doc.get("resourceSpans", []):
            for scope in resource_spans.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    span.pop("_service", None)
        (target / path.name).write_text(json.dumps(doc))
    return lengthened


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/logintel-trainticket"))
    ap.add_argument("--delays", default="20,100,500", help="milliseconds, comma-separated")
    a = ap.parse_args()
    from benchmarks.trainticket import detect, detection, faults, ingest
    from benchmarks.trainticket_delay import busiest_callees, delayed_service
    from logintel.store.warehouse import connect
    day, baseline = a.work / "otlp" / "day", a.work / "otlp" / "baseline"
    if not (a.work / "warehouse.duckdb").exists() or not (day / "labels.json").exists():
        sys.exit(f"no loaded Train-Ticket run in {a.work}: run benchmarks/trainticket.py --work {a.work} first")
    fault_list = faults(day / "labels.json")
    con = connect(a.work / "warehouse.duckdb", read_only=True)
    busy = busiest_callees(con)
    con.close()
    plan = [(f["at"], delayed_service(busy, f["service"], n)) for n, f in enumerate(fault_list)]
    summary = []
    for delay in (float(d) for d in a.delays.split(",")):
        run = a.work / f"delayed-{delay:g}ms"
        started = time.perf_counter()
        lengthened = write_delayed(day / "traces", run / "otlp" / "day" / "traces", plan, delay)
        (run / "otlp" / "day" / "logs").unlink(missing_ok=True)
        (run / "otlp" / "day" / "logs").symlink_to(day / "logs")
        rewrite = time.perf_counter() - started
        zone, report = ingest([run / "otlp" / "day", baseline], run)
        incidents = detect(zone, run)
        seconds = time.perf_counter() - started
        delayed_rows = detection(incidents, [dict(f, service=x) for f, (_, x) in zip(fault_list, plan)])
        labelled_rows = detection(incidents, fault_list)
        print(f"\ndelay {delay:g} ms (× log-normal jitter, σ {JITTER_SIGMA}): {lengthened:,} calls lengthened; "
              f"rewrite {rewrite:.0f} s, ingest and the hourly graph {seconds - rewrite:.0f} s; {report.summary()}")
        print("fault at   delayed service           opened & blaming it (min)   labelled service          caught")
        for d_row, l_row in zip(delayed_rows, labelled_rows):
            f = d_row["fault"]
            got = f"{d_row['minutes']:+.0f}" if d_row["hit"] else ("open, blaming" if d_row["open_blaming"] else "—")
            print(f"{f['at']:%H:%M:%S}   {f['service']:<25} {got:>26}   {l_row['fault']['service']:<25} "
                  f"{'yes' if l_row['hit'] else '—'}")
        summary.append((delay, sum(r["hit"] is not None for r in delayed_rows),
                        sum(r["hit"] is not None for r in labelled_rows), len(delayed_rows)))
    print("\ndelay ms   delayed service: incident opened & blaming it   labelled service still caught")
    for delay, hit, labelled, n in summary:
        print(f"{delay:>8g}   {hit:>2}/{n} {100 * hit / n:5.1f}%                        {labelled:>2}/{n} {100 * labelled / n:5.1f}%")


if __name__ == "__main__":
    main()
