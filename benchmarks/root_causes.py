"""Root causes against the simulator's labelled scenarios, over several seeds.

    .venv/bin/python benchmarks/root_causes.py [--seeds 7,11,23] [--hours 24]

Per scenario and seed: whether an incident names the labelled cause (its root_cause attribute=value
equals the label's), how many incidents an operator reads for it (raw threshold alerts vs logintel's
standing incidents that overlap it in time and service), whether an incident that names the cause holds
a service the scenario never touched (an unrelated group inside it), and the minutes from the fault's
start to the first raw alert and to the first incident that names its cause (incident start times).
Then the same per scenario over the seeds.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.clusters import pipeline_hour  # noqa: E402


def _overlaps(incident: dict, label) -> bool:
    start, end = datetime.fromisoformat(incident["start_time"]), datetime.fromisoformat(incident["end_time"])
    return (start < label.end.replace(tzinfo=None) and end > label.start.replace(tzinfo=None)
            and bool(set(incident["services"]) & set(label.services)))


def score(incidents: list[dict], labels) -> list[dict]:
    rows = []
    for label in labels:
        near = [i for i in incidents if _overlaps(i, label)]
        alerts = [i for i in near if i["kind"] == "threshold"]
        standing = [i for i in near if not i.get("merged_into")]
        naming = [i for i in standing if label.cause_value is not None
                  and (i["root_cause"].get("attribute"), i["root_cause"].get("value"))
                  == (label.cause_attribute, label.cause_value)]
        start = label.start.replace(tzinfo=None)

        def minutes(found):
            return min((datetime.fromisoformat(i["start_time"]) - start).total_seconds() / 60 for i in found) \
                if found else None
        rows.append({"scenario": label.scenario, "expects": f"{label.cause_attribute}={label.cause_value}"
                     if label.cause_value else "no incident",
                     "named": bool(naming), "raw_alerts": len(alerts), "incidents": len(standing),
                     "unrelated": any(set(i["services"]) - set(label.services) for i in naming),
                     "to_alert": minutes(alerts), "to_cause": minutes(naming),
                     "named_as": ", ".join(sorted({f"{i['root_cause'].get('attribute')}={i['root_cause'].get('value')}"
                                                  for i in standing})) or "—"})
    return rows


def run_seed(seed: int, hours: int) -> list[dict]:
    from logintel.analysis.incidents.incident import list_incidents
    from logintel.analysis.templates import TemplateMiner
    from logintel.simulate import simulate
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect
    start = datetime(2026, 11, 23, tzinfo=timezone.utc)
    sim = simulate(start=start, hours=hours, seed=seed)
    with tempfile.TemporaryDirectory(prefix="logintel-rca-") as tmp:
        zone = FileLandingZone(Path(tmp) / "landing")
        zone.write(sim.events)
        con = connect(Path(tmp) / "warehouse.duckdb")
        miner = TemplateMiner(state_path=Path(tmp) / "templates.json")
        for i in range(hours):
            print(f"  seed {seed}: hour {i + 1}/{hours}", end="\r", flush=True)
            pipeline_hour(con, zone, start + timedelta(hours=i), miner)
        incidents = list_incidents(con)
        con.close()
    print()
    return score(incidents, sim.labels)


def _m(value) -> str:
    return "—" if value is None else f"{value:+.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="7,11,23")
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    by_scenario = defaultdict(list)
    for seed in seeds:
        rows = run_seed(seed, args.hours)
        print(f"\nseed {seed}")
        print(f"{'scenario':<25} {'expected cause':<34} {'named':>5} {'raw alerts':>10} {'incidents':>9} "
              f"{'unrelated':>9} {'min→alert':>9} {'min→cause':>9}  named as")
        print("-" * 150)
        for r in rows:
            by_scenario[r["scenario"]].append(r)
            print(f"{r['scenario']:<25} {r['expects']:<34} {'yes' if r['named'] else 'no':>5} {r['raw_alerts']:>10} "
                  f"{r['incidents']:>9} {'yes' if r['unrelated'] else 'no':>9} {_m(r['to_alert']):>9} "
                  f"{_m(r['to_cause']):>9}  {r['named_as'][:60]}")
    print(f"\nover seeds {', '.join(map(str, seeds))}")
    print(f"{'scenario':<25} {'cause named':>11} {'raw alerts':>10} {'incidents':>9} {'unrelated':>9}")
    print("-" * 70)
    for scenario, rows in by_scenario.items():
        expects = rows[0]["expects"] != "no incident"
        named = f"{sum(r['named'] for r in rows)}/{len(rows)}" if expects else "n/a"
        print(f"{scenario:<25} {named:>11} {sum(r['raw_alerts'] for r in rows) / len(rows):>10.1f} "
              f"{sum(r['incidents'] for r in rows) / len(rows):>9.1f} {sum(r['unrelated'] for r in rows):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
