"""The daily digest against the simulator's labelled day, and what daily_metrics costs at volume.

    .venv/bin/python benchmarks/digest.py quality [--seeds 7,11] [--rate 60]
    .venv/bin/python benchmarks/digest.py cost [--millions 1,4]

quality: per seed, a quiet day before (background traffic only) and the labelled day with every
injected scenario, through the hourly stages; then daily_route_metrics and the digest for both days.
It prints which labelled scenarios the top 3 issues are, whether the slow degradation (search /search)
is among the slow trends and what else is, the grounded share, invented names and the seconds taken.

cost: N million synthetic events in one day of raw_events (DuckDB generate_series: 40 services × 10
routes, 1% errors), timed through compute_route_metrics and through the digest's fact gathering, with
the ratio of each to the time of one plain full scan of those events measured in the same run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.clusters import pipeline_hour  # noqa: E402

DAY = date(2026, 11, 24)


def _digest(con, day, tmp: Path) -> tuple[dict, float, float]:
    from logintel.config import LLMConfig
    from logintel.daily.route_metrics import compute_route_metrics
    from logintel.daily.slo import load_slos
    from logintel.digest.compose import compose_digest
    from logintel.digest.facts import gather_facts
    from logintel.llm.gateway import LLMGateway
    t0 = time.perf_counter()
    compute_route_metrics(con, day)
    t1 = time.perf_counter()
    from logintel.store.state_store import StateStore
    facts = gather_facts(con, day, load_slos(None), dead_letter_dir=tmp / "dl", dumps_dir=tmp / "dumps",
                         state=StateStore(path=tmp / "state.db"))
    document = compose_digest(con, facts, LLMGateway(LLMConfig()))
    return document, t1 - t0, time.perf_counter() - t1


def run_seed(seed: int, rate: float) -> dict:
    from logintel.analysis.incidents.incident import list_incidents
    from logintel.analysis.templates import TemplateMiner
    from logintel.daily.days import DigestDay
    from logintel.simulate import simulate
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect
    before = datetime.combine(DAY - timedelta(days=1), datetime.min.time(), timezone.utc)
    quiet = simulate(start=before, hours=24, seed=seed + 100, scenarios=[], requests_per_minute=rate)
    labelled = simulate(start=before + timedelta(days=1), hours=24, seed=seed, requests_per_minute=rate)
    with tempfile.TemporaryDirectory(prefix="logintel-digest-") as tmp:
        tmp = Path(tmp)
        zone = FileLandingZone(tmp / "landing")
        zone.write(quiet.events + labelled.events)
        con = connect(tmp / "warehouse.duckdb")
        miner = TemplateMiner(state_path=tmp / "templates.json")
        for i in range(48):
            print(f"  seed {seed}: hour {i + 1}/48", end="\r", flush=True, file=sys.stderr)
            pipeline_hour(con, zone, before + timedelta(hours=i), miner)
        _digest(con, DigestDay(DAY - timedelta(days=1)), tmp)
        document, metrics_s, digest_s = _digest(con, DigestDay(DAY), tmp)
        alarms = [i for i in list_incidents(con) if i["kind"] == "threshold"]
        con.close()
    print(file=sys.stderr)
    return {"seed": seed, "document": document, "labels": labelled.labels, "alarms": alarms,
            "metrics_s": metrics_s, "digest_s": digest_s}


def placement(document: dict, alarms: list[dict], label) -> tuple[str, bool]:
    """Where the digest raises a labelled scenario (top 3 / trends / recommendations / absent), and whether a
    static alarm (a threshold incident of its services in its window) fired for it."""
    start, end = label.start.replace(tzinfo=None), label.end.replace(tzinfo=None)

    def overlaps(item: dict) -> bool:
        windows = (item.get("facts") or {}).get("windows") or []
        if item.get("start"):
            windows = windows + [[item["start"], item["end"]]]
        return item.get("service") in label.services and any(
            datetime.fromisoformat(a) < end + timedelta(minutes=10) and datetime.fromisoformat(b) > start
            for a, b in windows)
    where = ("top 3" if any(overlaps(i) for i in document["top_issues"])
             else "trends" if any(overlaps(t) for t in document["trends"])
             else "recommendations" if any(r.get("service") in label.services for r in document["recommendations"])
             else "absent")
    fired = any(overlaps({"service": s, "start": a["start_time"], "end": a["end_time"]})
                for a in alarms for s in a["services"] or [a["service"]])
    return where, fired


def _pct(ratio: float | None) -> str:
    return "—" if ratio is None else f"{100 * ratio:.1f}%"  # None: nothing to verify


def quality(args) -> int:
    runs = [run_seed(int(s), args.rate) for s in args.seeds.split(",")]
    print(f"{'seed':>4}  {'scenario':<26} {'raised in':<16} {'static alarm':<12}")
    raised_slow = True
    for run in runs:
        for label in run["labels"]:
            where, alarmed = placement(run["document"], run["alarms"], label)
            raised_slow &= label.scenario != "slow_degradation" or where == "trends"
            print(f"{run['seed']:>4}  {label.scenario:<26} {where:<16} {'yes' if alarmed else 'none':<12}")
    print()
    print(f"{'seed':>4} {'top 3':>5} {'trends':>6} {'slow trends (route)':<40} {'recs':>4} {'grounded':>8} {'claims':>6} "
          f"{'invented':>8} {'metrics s':>9} {'digest s':>8} {'prompt chars':>12}")
    for run in runs:
        d = run["document"]
        slow = ", ".join(f"{t['service']} {t['route']}" for t in d["trends"] if t["kind"] == "slow_trend") or "—"
        print(f"{run['seed']:>4} {len(d['top_issues']):>5} {len(d['trends']):>6} {slow:<40} "
              f"{len(d['recommendations']):>4} {_pct(d['grounding']['ratio']):>8} {d['grounding']['claims']:>6} "
              f"{len(d['grounding']['invented']):>8} {run['metrics_s']:>9.2f} {run['digest_s']:>8.2f} "
              f"{d['llm']['prompt_chars']:>12,}")
    return 0 if raised_slow and not any(r["document"]["grounding"]["invented"] for r in runs) else 1


def cost(args) -> int:
    import duckdb

    from logintel.daily.days import DigestDay
    from logintel.store.schema import ensure_tables
    day = DigestDay(DAY)
    print(f"{'events':>10} {'full scan s':>11} {'daily_route_metrics s':>21} {'x scan':>7} {'digest facts s':>14} "
          f"{'x scan':>7} {'s per 1M':>8}")
    for millions in (float(m) for m in args.millions.split(",")):
        n = int(millions * 1_000_000)
        with tempfile.TemporaryDirectory(prefix="logintel-digest-cost-") as tmp:
            con = duckdb.connect(str(Path(tmp) / "w.duckdb"))
            ensure_tables(con, "raw_events")
            con.execute(f"""
                INSERT INTO raw_events
                SELECT 'e' || i, $start + to_microseconds(CAST(i * 86400000000 // {n} AS BIGINT)),
                       's' || (i % 40), '/r' || (i % 400 // 40), 'GET', CASE WHEN i % 100 = 0 THEN 503 ELSE 200 END,
                       10 + (i * 7919 % 500), CASE WHEN i % 100 = 0 THEN 'error' ELSE 'info' END,
                       CASE WHEN i % 100 = 0 THEN 'DB_TIMEOUT' END, NULL, NULL, 't' || (i // 3), NULL,
                       'u' || (i % 5000), NULL, NULL, 1, '{{"db.duration_ms": 5}}',
                       date_trunc('hour', $start + to_microseconds(CAST(i * 86400000000 // {n} AS BIGINT)))
                FROM range({n}) t(i)""", {"start": day.start})
            t0 = time.perf_counter()
            con.execute("SELECT service, route, count(*), sum(duration_ms) FROM raw_events GROUP BY ALL").fetchall()
            scan = time.perf_counter() - t0
            _, metrics_s, digest_s = _digest(con, day, Path(tmp))
            con.close()
        print(f"{n:>10,} {scan:>11.2f} {metrics_s:>21.2f} {metrics_s / scan:>7.1f} {digest_s:>14.2f} "
              f"{digest_s / scan:>7.1f} {metrics_s / millions:>8.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--seeds", default="7,11")
    q.add_argument("--rate", type=float, default=60.0)
    c = sub.add_parser("cost")
    c.add_argument("--millions", default="1,4")
    args = parser.parse_args()
    return quality(args) if args.mode == "quality" else cost(args)


if __name__ == "__main__":
    sys.exit(main())
