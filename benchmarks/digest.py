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
    from logintel.digest.compose import compose_digest
    from logintel.digest.facts import gather_facts
    from logintel.digest.metrics import compute_route_metrics
    from logintel.digest.slo import load_slos
    from logintel.llm.gateway import LLMGateway
    t0 = time.perf_counter()
    compute_route_metrics(con, day)
    t1 = time.perf_counter()
    facts = gather_facts(con, day, load_slos(None), dead_letter_dir=tmp / "dl", dumps_dir=tmp / "dumps")
    document = compose_digest(con, facts, LLMGateway(LLMConfig()))
    return document, t1 - t0, time.perf_counter() - t1


def run_seed(seed: int, rate: float) -> dict:
    from logintel.analysis.templates import TemplateMiner
    from logintel.digest.days import DigestDay
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
        con.close()
    print(file=sys.stderr)
    labels = labelled.labels
    issues = []
    for issue in document["top_issues"]:
        start = datetime.fromisoformat(_start(document, issue))  # the digest's zone is UTC here
        hit = next((l.scenario for l in labels if l.start.replace(tzinfo=None) - timedelta(minutes=10) <= start
                    < l.end.replace(tzinfo=None) and issue["service"] in l.services), "unlabelled")
        issues.append(hit)
    slow = [t for t in document["trends"] if t["kind"] == "slow_trend"]
    return {"seed": seed, "top3": ", ".join(issues) or "—",
            "slow_found": any((t["service"], t["route"]) == ("search", "/search") for t in slow),
            "other_slow": ", ".join(f"{t['service']} {t['route']}" for t in slow
                                    if (t["service"], t["route"]) != ("search", "/search")) or "—",
            "trends": len(document["trends"]), "recs": len(document["recommendations"]),
            "grounded": document["grounding"]["ratio"], "claims": document["grounding"]["claims"],
            "invented": len(document["grounding"]["invented"]), "metrics_s": metrics_s, "digest_s": digest_s,
            "prompt_chars": document["llm"]["prompt_chars"]}


def _start(document: dict, issue: dict) -> str:
    window = (issue.get("facts") or {}).get("windows") or [[document["date"] + "T00:00:00"]]
    return window[0][0]


def quality(args) -> int:
    rows = [run_seed(int(s), args.rate) for s in args.seeds.split(",")]
    print(f"{'seed':>4}  {'top 3 issues (labelled scenario)':<58} {'slow found':>10}  {'other slow trends':<24} "
          f"{'trends':>6} {'recs':>4} {'grounded':>8} {'claims':>6} {'invented':>8} {'metrics s':>9} {'digest s':>8} "
          f"{'prompt chars':>12}")
    for r in rows:
        print(f"{r['seed']:>4}  {r['top3']:<58} {'yes' if r['slow_found'] else 'NO':>10}  {r['other_slow']:<24} "
              f"{r['trends']:>6} {r['recs']:>4} {100 * r['grounded']:>7.1f}% {r['claims']:>6} {r['invented']:>8} "
              f"{r['metrics_s']:>9.2f} {r['digest_s']:>8.2f} {r['prompt_chars']:>12,}")
    return 0 if all(r["slow_found"] and not r["invented"] for r in rows) else 1


def cost(args) -> int:
    import duckdb
    from logintel.digest.days import DigestDay
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
