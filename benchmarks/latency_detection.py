"""Latency incidents on the simulator: false ones on fault-free days, and the latency-only faults found.

    .venv/bin/python benchmarks/latency_detection.py quiet [--seeds 7,11,23] [--rate 200] [--full]
    .venv/bin/python benchmarks/latency_detection.py faults [--seeds 7,11,23] [--rate 200] [--full]
    .venv/bin/python benchmarks/latency_detection.py demo [--seeds 7] [--full]

quiet: per seed, a day of background traffic only (`simulate(scenarios=[])`, after 3 hours of warm-up
so the first hours have a baseline) through the hourly incidents step; every standing latency incident is
a false one (the simulator slows nothing on such a day). faults: per seed and latency-only scenario
(network_delay, cpu_contention), the day with that fault alone: whether a standing latency incident
overlaps it, whether it names the slowed service (the component its text and verdict name), minutes from
the fault's start to the incident's, and any other standing latency incident of the day (false). demo:
the demo's day (24 h from midnight, the default scenarios, no warm-up): what the demo reports for each
scenario, and the latency incidents beside them (standing or folded into an error incident). Every text is written offline and grounded; the share of grounded claims is shown.

By default each hour runs raw_events → windows → incidents (rule, cause and latency incidents; no
pattern clusters); `--full` runs the whole hourly pipeline with clusters (benchmarks/clusters.py), slower.
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

DAY = datetime(2026, 11, 23, tzinfo=timezone.utc)
WARM_UP_HOURS = 3
LATENCY_FAULTS = ("network_delay", "cpu_contention")


def _incidents_hour(con, hour):
    """raw_events (already loaded) → windows → incidents of one hour, text offline and grounded."""
    from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
    from logintel.analysis.incidents.incident import replace_incidents
    from logintel.analysis.thresholds import Thresholds
    from logintel.analysis.windows import WindowSpec, compute_windows
    from logintel.config import LLMConfig
    from logintel.llm.gateway import LLMGateway
    from logintel.llm.redaction import Redactor
    from logintel.narration.incident_text import write_summaries
    redactor = Redactor()
    compute_windows(con, hour)
    found = detect_hour_incidents(con, hour, Thresholds(), WindowSpec(), redactor.redact).all
    write_summaries(con, found, LLMGateway(LLMConfig(base_url=None, api_key=None)), redactor)
    replace_incidents(con, hour, found)


def run_day(seed: int, scenarios: list[str] | None, rate: float, full: bool,
            warm_up: int = WARM_UP_HOURS) -> tuple[list[dict], list, list[dict]]:
    """Every incident of a simulated day (after `warm_up` hours), the day's labels and the ground-truth
    scorer's rows (logintel.analysis.ground_truth, as the demo reports them)."""
    from logintel.analysis.ground_truth import score_scenarios
    from logintel.analysis.incidents.incident import list_incidents
    from logintel.simulate import simulate
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect, load_hour
    start = DAY - timedelta(hours=warm_up)
    hours = 24 + warm_up
    sim = simulate(start=start, hours=hours, seed=seed, scenarios=scenarios, requests_per_minute=rate)
    with tempfile.TemporaryDirectory(prefix="logintel-latency-") as tmp:
        zone = FileLandingZone(Path(tmp) / "landing")
        zone.write(sim.events)
        con = connect(Path(tmp) / "warehouse.duckdb")
        if full:
            from benchmarks.clusters import pipeline_hour
            from logintel.analysis.templates import TemplateMiner
            miner = TemplateMiner(state_path=Path(tmp) / "templates.json")
        for i in range(hours):
            hour = start + timedelta(hours=i)
            print(f"  seed {seed}: hour {i + 1}/{hours}", end="\r", flush=True, file=sys.stderr)
            if full:
                pipeline_hour(con, zone, hour, miner)
            else:
                load_hour(con, zone.read_hour(hour))
                _incidents_hour(con, hour.replace(tzinfo=None))
        print(file=sys.stderr)
        incidents = [i for i in list_incidents(con) if i["end_time"] > DAY.replace(tzinfo=None).isoformat()]
        scores = score_scenarios(con, sim.labels)
        con.close()
    return incidents, sim.labels, scores


def latency(incidents: list[dict], standing: bool = True) -> list[dict]:
    return [i for i in incidents if i["kind"] == "latency" and (not standing or not i["merged_into"])]


def grounded(incidents: list[dict]) -> tuple[int, int]:
    return (sum(i["grounding"].get("grounded", 0) for i in incidents),
            sum(i["grounding"].get("claims", 0) for i in incidents))


def _overlaps(incident: dict, label) -> bool:
    start, end = datetime.fromisoformat(incident["start_time"]), datetime.fromisoformat(incident["end_time"])
    return start < label.end.replace(tzinfo=None) and end > label.start.replace(tzinfo=None)


def names(incident: dict, component: str) -> bool:
    """Whether the incident says the component slowed: its verdict names it (a caller's slowest dependency) or
    it is the incident's own service, and its text says so."""
    verdict = incident["root_cause"].get("value")
    text = (incident["summary"] + " " + incident["root_cause_analysis"]).lower()
    return (verdict == component or component in incident["services"]) and component.lower() in text


def _line(incident: dict) -> str:
    return (f"{incident['start_time'][11:16]}–{incident['end_time'][11:16]} {incident['severity']:<8} "
            f"{', '.join(incident['services'])}: {incident['summary'][:110]}")


def quiet(args) -> int:
    total, days, claims = 0, 0, [0, 0]
    print(f"fault-free days: background only, 24 h after {WARM_UP_HOURS} h of warm-up, {args.rate:g} events/min")
    print(f"{'seed':>4} {'false latency incidents':>24} {'folded':>7} {'false change incidents':>23}")
    changed_total = 0
    for seed in args.seeds:
        incidents, _, _ = run_day(seed, [], args.rate, args.full)
        false = latency(incidents)
        changes = [i for i in incidents if i["kind"] == "change" and not i.get("merged_into")]
        total, days, changed_total = total + len(false), days + 1, changed_total + len(changes)
        ok, all_claims = grounded(latency(incidents, standing=False))
        claims = [claims[0] + ok, claims[1] + all_claims]
        print(f"{seed:>4} {len(false):>24} {len(latency(incidents, standing=False)) - len(false):>7} "
              f"{len(changes):>23}")
        for incident in false + changes:
            print(f"       {_line(incident)}")
    print(f"\nfalse latency incidents per fault-free day: {total / days:.2f} ({total} over {days} days)"
          + (f"; claims grounded {claims[0]}/{claims[1]}" if claims[1] else ""))
    print(f"false change incidents per fault-free day: {changed_total / days:.2f} ({changed_total} over {days} days)")
    return 0


def faults(args) -> int:
    print(f"latency-only faults, each alone on a day, {args.rate:g} events/min")
    print(f"{'scenario':<16} {'seed':>4} {'window':<12} {'found':>5} {'names':>5} {'min→incident':>12} "
          f"{'latency incidents':>17} {'false':>5} {'grounded':>9}")
    summary = defaultdict(list)
    for scenario in args.scenarios:
        for seed in args.seeds:
            incidents, labels, _ = run_day(seed, [scenario], args.rate, args.full)
            label = labels[0]
            standing = latency(incidents)
            near = [i for i in standing if _overlaps(i, label)]
            naming = [i for i in near if names(i, label.cause_component)]
            first = min((datetime.fromisoformat(i["start_time"]) for i in near), default=None)
            minutes = (first - label.start.replace(tzinfo=None)).total_seconds() / 60 if first else None
            ok, claims = grounded(latency(incidents, standing=False))
            row = {"found": bool(near), "named": bool(naming), "false": len(standing) - len(near)}
            summary[scenario].append(row)
            print(f"{scenario:<16} {seed:>4} {label.start:%H:%M}–{label.end:%H:%M}  {'yes' if near else 'no':>5} "
                  f"{'yes' if naming else 'no':>5} {'—' if minutes is None else f'{minutes:+.0f}':>12} "
                  f"{len(near):>17} {row['false']:>5} {f'{ok}/{claims}':>9}")
            for incident in near:
                print(f"       {_line(incident)}")
                print(f"       {incident['root_cause_analysis'][:150]}")
    print()
    for scenario, rows in summary.items():
        print(f"{scenario:<16} found {sum(r['found'] for r in rows)}/{len(rows)}, names the slowed service "
              f"{sum(r['named'] for r in rows)}/{len(rows)}, false latency incidents {sum(r['false'] for r in rows)}")
    return 0


def demo(args) -> int:
    """The demo's day: 24 h from midnight with the default scenarios and no warm-up (so the first 3 hours
    have no latency baseline), and what the demo prints for each scenario."""
    for seed in args.seeds:
        incidents, labels, scores = run_day(seed, None, args.rate, args.full, warm_up=0)
        print(f"seed {seed}: the default day (24 h from 00:00 UTC, {args.rate:g} events/min)")
        for label, row in zip(labels, scores):
            found = ", ".join(row["incident_ids"]) or "not found"
            near = [i for i in latency(incidents, standing=False) if _overlaps(i, label)
                    and set(i["services"]) & set(label.services)]
            shown = ", ".join(f"{i['incident_id']} {i['start_time'][11:16]} "
                              f"({'folded into ' + i['merged_into'] if i['merged_into'] else 'standing'})"
                              for i in near) or "none"
            print(f"  {label.scenario:<26} {label.start:%H:%M}–{label.end:%H:%M} → {found} (+{row['folded']} folded); "
                  f"latency: {shown}")
        others = [i for i in latency(incidents) if not any(_overlaps(i, label) for label in labels)]
        print(f"  standing latency incidents outside every scenario: {len(others)}")
        for incident in others:
            print(f"       {_line(incident)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("quiet", "faults", "demo"))
    parser.add_argument("--seeds", default="7,11,23")
    parser.add_argument("--rate", type=float, default=200.0, help="events per minute at the daily mean")
    parser.add_argument("--scenarios", default=",".join(LATENCY_FAULTS))
    parser.add_argument("--full", action="store_true", help="the whole hourly pipeline, clusters included")
    args = parser.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.scenarios = args.scenarios.split(",")
    return {"quiet": quiet, "faults": faults, "demo": demo}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
