"""Benchmark: semantic incidents on the simulator's labelled scenarios (purity, recall, does the root
cause name the true component), and cost that follows patterns, not volume.

    .venv/bin/python benchmarks/clusters.py quality [--hours 24]
    .venv/bin/python benchmarks/clusters.py cost [--sizes 100000,1000000] [--previous-hour] [--repeat 3]

`cost` ends with the incidents step of the largest size stage by stage (benchmarks/incident_stages.py);
`--previous-hour` loads an hour of healthy traffic first, so baselines and previous periods hold events.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pipeline_hour(con, zone, hour, miner, timings: dict | None = None):
    """raw_events → windows → patterns → embeddings → clusters → window_changes → incidents for one hour, timed by
    stage, with the settings of the environment (LOGINTEL_EMBEDDER, LOGINTEL_CLUSTER_*) as the assets have them."""
    from logintel.analysis.clustering import ClusterConfig
    from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
    from logintel.analysis.incidents.incident import replace_incidents
    from logintel.analysis.incidents.window_changes import examine_hour, read_window_changes, replace_window_changes
    from logintel.analysis.pattern_clusters import cluster_partition, embed_partition
    from logintel.analysis.patterns import mine_patterns
    from logintel.analysis.thresholds import Thresholds
    from logintel.analysis.windows import WindowSpec, compute_windows
    from logintel.config import LLMConfig, load_settings
    from logintel.llm.embedders import build_embedder
    from logintel.llm.gateway import LLMGateway
    from logintel.llm.redaction import Redactor
    from logintel.narration.incident_text import write_summaries
    from logintel.store.warehouse import load_hour
    settings = load_settings()
    embedder = build_embedder(settings.embedder, settings.embedding_model, settings.llm)
    cluster_config = ClusterConfig.from_settings(settings)
    redactor = Redactor(secret=settings.redaction_secret)
    timings = timings if timings is not None else {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return out

    timed("raw_events", lambda: load_hour(con, zone.read_hour(hour, canonical_as_files=True)))
    timed("windows", lambda: compute_windows(con, hour))
    timed("templates", lambda: mine_patterns(con, hour, miner))
    timed("embeddings", lambda: embed_partition(con, hour, embedder))
    timed("clusters", lambda: cluster_partition(con, hour, embedder, cluster_config))
    timed("window_changes", lambda: replace_window_changes(con, hour, examine_hour(con, hour)))

    def incidents():
        found = detect_hour_incidents(con, hour, Thresholds(), WindowSpec(), redactor.redact,
                                      examined=read_window_changes(con, hour)).all
        write_summaries(con, found, LLMGateway(LLMConfig(base_url=None, api_key=None)), redactor)
        replace_incidents(con, hour, found)
        return found
    return timed("incidents", incidents)


def quality(args) -> int:
    from logintel.analysis.ground_truth import score_scenarios
    from logintel.analysis.templates import TemplateMiner
    from logintel.simulate import simulate
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=args.hours)
    sim = simulate(start=start, hours=args.hours, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="logintel-bench-") as tmp:
        zone = FileLandingZone(Path(tmp) / "landing")
        zone.write(sim.events)
        con = connect(Path(tmp) / "warehouse.duckdb")
        miner = TemplateMiner(state_path=Path(tmp) / "templates.json")
        for i in range(args.hours):
            print(f"  hour {i + 1}/{args.hours}", end="\r", flush=True)
            pipeline_hour(con, zone, start + timedelta(hours=i), miner)
        rows = score_scenarios(con, sim.labels)
        con.close()
    print()
    print(f"{'scenario':<26} {'incident':<22} {'kind':<9} {'services':>8} {'purity':>7} {'recall':>7}  names cause")
    print("-" * 96)
    for r in rows:
        print(f"{r['scenario']:<26} {r['incident_id'] or '—':<22} {r['kind'] or '':<9} {r['services']:>8} "
              f"{r['purity']:>7.2f} {r['recall']:>7.2f}  {'yes' if r['names_cause'] else 'no'}")
    return 0


def cost(args) -> int:
    from benchmarks import incident_stages
    from logintel.analysis.templates import TemplateMiner
    from logintel.simulate import simulate
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect
    sizes = [int(s) for s in args.sizes.split(",")]
    # numba compiles UMAP once per environment/process: measured apart from the steady state.
    t0 = time.perf_counter()
    import numpy as np
    import umap
    umap.UMAP(n_components=2, n_neighbors=5, random_state=1).fit_transform(np.random.default_rng(1).random((40, 8)))
    compile_s = time.perf_counter() - t0
    results = []
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    # The simulator's traffic follows the time of day: calibrate the rate so the hour holds `size` events.
    probe = len(simulate(start=hour, hours=1, seed=args.seed, requests_per_minute=500).events) / (500 * 60)
    for size in sizes:
        rate = size / 60 / probe
        with tempfile.TemporaryDirectory(prefix="logintel-bench-") as tmp:
            zone = FileLandingZone(Path(tmp) / "landing")
            con = connect(Path(tmp) / "warehouse.duckdb")
            miner = TemplateMiner()
            if args.previous_hour:
                zone.write(simulate(start=hour - timedelta(hours=1), hours=1, seed=args.seed, scenarios=[],
                                    requests_per_minute=rate).events)
                pipeline_hour(con, zone, hour - timedelta(hours=1), miner)
            sim = simulate(start=hour, hours=1, seed=args.seed, requests_per_minute=rate)
            events = len(sim.events)
            zone.write(sim.events)
            del sim
            timings: dict = {}
            pipeline_hour(con, zone, hour, miner, timings)
            patterns = con.execute("SELECT count(*) FROM event_patterns").fetchone()[0]
            if size == sizes[-1] and args.repeat:
                step_table = incident_stages.report(con, hour, events, args.repeat)
            con.close()
        results.append((events, patterns, timings))
    print(f"\nUMAP/numba first-call compile: {compile_s:.1f}s (once per process, not counted below)\n")
    stages = ["raw_events", "windows", "templates", "embeddings", "clusters", "window_changes", "incidents"]
    print(f"{'events':>10} {'patterns':>8} " + " ".join(f"{s:>11}" for s in stages) + f" {'semantic':>9} {'total':>8}")
    for events, patterns, t in results:
        semantic = sum(t[s] for s in ("templates", "embeddings", "clusters", "window_changes", "incidents"))
        print(f"{events:>10,} {patterns:>8} " + " ".join(f"{t[s]:>10.2f}s" for s in stages)
              + f" {semantic:>8.2f}s {sum(t.values()):>7.2f}s")
    if len(results) >= 2:
        a, b = results[0][2], results[-1][2]
        print(f"\nclustering time ratio {results[-1][0]:,} vs {results[0][0]:,} events: "
              f"{b['clusters'] / max(a['clusters'], 1e-9):.2f}x (flat = patterns, not volume)")
    if args.repeat:
        print(step_table)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--hours", type=int, default=24)
    q.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("cost")
    c.add_argument("--sizes", default="100000,1000000")
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--previous-hour", action="store_true", help="an hour of healthy traffic before each hour")
    c.add_argument("--repeat", type=int, default=3, help="runs of the incidents step stage by stage (0: none)")
    args = parser.parse_args()
    return quality(args) if args.what == "quality" else cost(args)


if __name__ == "__main__":
    sys.exit(main())
