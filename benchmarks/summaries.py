"""Benchmark: incident summaries across writer settings — latency, tokens, cost, grounded %, and
agreement with the simulator's labelled scenarios.

    .venv/bin/python benchmarks/summaries.py [--hours 24] [--models gpt-4o-mini,gpt-4.1-nano] [--loopback]

Settings: the offline writer, and each model in --models when an endpoint is configured
(OPENAI_BASE_URL / OPENAI_API_KEY), each with 0, 2 and 5 example events in the prompt.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_warehouse(workdir: Path, hours: int, seed: int):
    """Simulate, land, load and window every hour; return (connection, incidents, labels)."""
    from logintel.analysis.incidents.rule_incidents import detect_incidents
    from logintel.analysis.thresholds import Thresholds
    from logintel.analysis.windows import compute_windows
    from logintel.simulate import simulate
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect, load_hour
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=hours)
    sim = simulate(start=start, hours=hours, seed=seed)
    zone = FileLandingZone(workdir / "landing")
    zone.write(sim.events)
    con = connect(workdir / "warehouse.duckdb")
    found = []
    for i in range(hours):
        hour = start + timedelta(hours=i)
        load_hour(con, zone.read_hour(hour))
        compute_windows(con, hour)
        found += detect_incidents(con, hour, Thresholds())
    return con, found, sim.labels


def agrees_with_labels(incident, labels) -> bool:
    """The summary names the service and error code of the injected scenario it overlaps."""
    for label in labels:
        l_start, l_end = label.start.replace(tzinfo=None), label.end.replace(tzinfo=None)
        if incident.start_time < l_end and incident.end_time > l_start and incident.service in label.services:
            codes = [c for c in label.error_codes if c and c in incident.summary]
            return incident.service in incident.summary and bool(codes)
    return False


def run_setting(con, incidents, labels, config, examples: int) -> dict:
    import copy

    from logintel.llm.call_log import CallLog
    from logintel.llm.gateway import LLMGateway
    from logintel.llm.redaction import Redactor
    from logintel.narration.incident_text import write_summaries
    from logintel.trust.claim_share import ClaimShare
    calls = CallLog()
    copies = [copy.deepcopy(i) for i in incidents]
    write_summaries(con, copies, LLMGateway(config, recorder=calls), Redactor(), max_examples=examples)
    claims = sum(i.grounding["claims"] for i in copies)
    grounded = sum(i.grounding["grounded"] for i in copies)
    labelled = [i for i in copies if any(i.start_time < l.end.replace(tzinfo=None) and i.end_time > l.start.replace(tzinfo=None)
                                         for l in labels)]
    latencies = [r.latency_ms for r in calls.records]
    totals = calls.totals()
    return {"summaries": len(copies), "latency_p50_ms": statistics.median(latencies) if latencies else 0.0,
            "latency_max_ms": max(latencies) if latencies else 0.0,
            "tokens": totals["prompt_tokens"] + totals["completion_tokens"], "cost_usd": totals["cost_usd"],
            "grounded_pct": ClaimShare(claims=claims, grounded=grounded).percent(1),  # None: nothing to verify
            "label_agreement_pct": 100.0 * sum(agrees_with_labels(i, labels) for i in labelled) / len(labelled)
            if labelled else 0.0, "fallbacks": totals["fallbacks"]}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"  # None: nothing to verify


def main() -> int:
    from dataclasses import replace

    from logintel.config import LLMConfig
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models", default="", help="comma-separated models to try when an endpoint is configured")
    parser.add_argument("--loopback", action="store_true",
                        help="also run through the real openai client against the test suite's fake server on "
                             "127.0.0.1 (a model that restates the facts): measures the gateway's own overhead "
                             "and the prompt size per setting")
    args = parser.parse_args()
    base = LLMConfig.from_env()
    settings = [("offline/v1", replace(base, base_url=None, api_key=None))]
    server = None
    if args.loopback:
        from tests.support.fake_llm_server import FakeLLMServer
        from tests.narration.test_incident_text import faithful_model
        server = FakeLLMServer(faithful_model).start()
        settings.append(("loopback:gpt-4o-mini", server.config(model="gpt-4o-mini")))
    if base.configured:
        for model in [m for m in args.models.split(",") if m] or [base.model]:
            settings.append((f"openai:{model}", replace(base, model=model)))
    else:
        print("no endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY): measuring the offline writer only")
    with tempfile.TemporaryDirectory(prefix="logintel-bench-") as tmp:
        print(f"building a {args.hours} h warehouse from the simulator (seed {args.seed}) …", flush=True)
        con, incidents, labels = build_warehouse(Path(tmp), args.hours, args.seed)
        print(f"  {len(incidents)} incident segments, {len(labels)} labelled scenarios", flush=True)
        rows = []
        for name, config in settings:
            for examples in (0, 2, 5):
                print(f"running {name} with {examples} examples …", flush=True)
                rows.append((name, examples, run_setting(con, incidents, labels, config, examples)))
        con.close()
    if server is not None:
        server.stop()
    print()
    header = (f"{'writer':<24} {'examples':>8} {'summaries':>9} {'p50 ms':>8} {'max ms':>8} {'tokens':>8} "
              f"{'cost USD':>9} {'grounded %':>10} {'labels %':>9} {'fallbacks':>9}")
    print(header)
    print("-" * len(header))
    for name, examples, r in rows:
        print(f"{name:<24} {examples:>8} {r['summaries']:>9} {r['latency_p50_ms']:>8.2f} {r['latency_max_ms']:>8.2f} "
              f"{r['tokens']:>8} {r['cost_usd']:>9.5f} {_pct(r['grounded_pct']):>10} {r['label_agreement_pct']:>9.1f} "
              f"{r['fallbacks']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
