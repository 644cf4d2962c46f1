"""A network delay on real traffic: the Train-Ticket day's spans with a delay injected at one service, investigated.

    .venv/bin/python benchmarks/trainticket_delay.py [--work /tmp/logintel-trainticket] [--delays 5,20,100]

The dev day holds no network-delay fault, and the held-out day does. This puts one into the real spans of a run
of `benchmarks/trainticket.py` (its --work folder, loaded warehouse): for each labelled fault at t, a second
service X — one of the six busiest callees other than the faulty one, in turn — gets a delay on its wire during
[t, t+3 min), as a netem delay on X's interface does: every call into X and every call X makes to another service
takes `delay` ms longer (× a log-normal jitter of σ 0.2, seeded), on the caller's client span; neither side's
own work changes. Then `investigate` of [t, t+3 min) against its default baseline, and X's rank and the labelled
service's rank are printed. Two faults at once, so the labelled service's rank is shown, not scored.

Each injection runs in a transaction that is rolled back: the warehouse is left as it was.
"""
from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WINDOW = timedelta(minutes=3)
JITTER_SIGMA = 0.2
SEED = 0.42
# The calls an injection lengthens: client spans whose child is a server span of another service, into X or out
# of X (`{side}`), starting in the window.
_DELAYED = """
    UPDATE spans SET duration_ms = duration_ms
           + $delay * exp({sigma} * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
    WHERE (trace_id, span_id) IN (
        SELECT caller.trace_id, caller.span_id FROM spans callee
        JOIN spans caller ON caller.trace_id = callee.trace_id AND caller.span_id = callee.parent_span_id
        WHERE callee.kind IN ('server', 'consumer') AND caller.kind IN ('client', 'producer') AND {side}
          AND callee.start_ts >= $start AND callee.start_ts < $end)"""
_SIDES = ("callee.service = $x AND caller.service <> $x", "caller.service = $x AND callee.service <> $x")


def busiest_callees(con) -> list[str]:
    return [row[0] for row in con.execute("""
        SELECT callee.service, count(*) FROM spans callee
        JOIN spans caller ON caller.trace_id = callee.trace_id AND caller.span_id = callee.parent_span_id
        WHERE callee.kind = 'server' AND caller.kind = 'client' AND caller.service <> callee.service
        GROUP BY 1 ORDER BY 2 DESC, 1""").fetchall()]


def delayed_service(busy: list[str], faulty: str, n: int) -> str:
    """The service the n-th fault's window delays: one of the six busiest callees other than the faulty one, in turn."""
    return [s for s in busy if s != faulty][n % 6]


def injected_ranks(con, faults: list[dict], delay_ms: float) -> list[dict]:
    from logintel.analysis.investigation import investigate
    busy = busiest_callees(con)
    rows = []
    for n, fault in enumerate(faults):
        at, faulty = fault["at"], fault["service"]
        delayed = delayed_service(busy, faulty, n)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"SELECT setseed({SEED})")
            for side in _SIDES:
                con.execute(_DELAYED.format(sigma=JITTER_SIGMA, side=side),
                            {"delay": delay_ms, "x": delayed, "start": at, "end": at + WINDOW})
            ranked = [c["service"] for c in investigate(con, at, at + WINDOW).candidates]
        finally:
            con.execute("ROLLBACK")
        rows.append({"at": at, "faulty": faulty, "delayed": delayed,
                     "delayed_rank": ranked.index(delayed) + 1 if delayed in ranked else None,
                     "faulty_rank": ranked.index(faulty) + 1 if faulty in ranked else None, "top": ranked[:3]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/logintel-trainticket"))
    ap.add_argument("--delays", default="5,20,100", help="milliseconds, comma-separated")
    a = ap.parse_args()
    from benchmarks.trainticket import faults as labelled_faults
    from logintel.store.warehouse import connect
    warehouse, labels = a.work / "warehouse.duckdb", a.work / "otlp" / "day" / "labels.json"
    if not warehouse.exists() or not labels.exists():
        sys.exit(f"no loaded Train-Ticket run in {a.work}: run benchmarks/trainticket.py --work {a.work} first")
    faults = labelled_faults(labels)
    con = connect(warehouse)
    try:
        summary = []
        for delay in (float(d) for d in a.delays.split(",")):
            rows = injected_ranks(con, faults, delay)
            print(f"\ndelay {delay:g} ms (× log-normal jitter, σ {JITTER_SIGMA})")
            print("fault at   faulty service                 delayed service                rank of delayed  "
                  "rank of faulty")
            for r in rows:
                print(f"{r['at']:%H:%M:%S}   {r['faulty']:<30} {r['delayed']:<30} {str(r['delayed_rank'] or '—'):>15}  "
                      f"{str(r['faulty_rank'] or '—'):>14}")
            n = len(rows)
            summary.append((delay, sum(r["delayed_rank"] == 1 for r in rows), sum((r["delayed_rank"] or 99) <= 3
                                                                                 for r in rows), n))
    finally:
        con.close()
    print("\ndelay ms   delayed service first   in the first three")
    for delay, first, top3, n in summary:
        print(f"{delay:>8g}   {first:>2}/{n} {100 * first / n:5.1f}%        {top3:>2}/{n} {100 * top3 / n:5.1f}%")


if __name__ == "__main__":
    main()
