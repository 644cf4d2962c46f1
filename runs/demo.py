"""`logintel demo`: simulate a day with injected incidents, ingest it, materialize every hourly
partition through Dagster (recorded in the instance under LOGINTEL_HOME), and report."""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from logintel.config import load_settings
from logintel.deadletters import DeadLetterStore
from logintel.store.landing import open_landing_zone
from runs.instance import load_definitions, prepare_dagster_home
from runs.report import match_labels, write_report

# A few lines every real day has: a torn write, a wrong type, an unknown level, a non-UTF-8 byte.
BROKEN_LINES = [
    b'{"event_id": "broken-1", "timestamp": "%(ts)s", "service": "orders", "route": "/orders", "duration_ms": 12',
    b'{"event_id": "broken-2", "timestamp": "%(ts)s", "service": "orders", "route": "/orders", '
    b'"duration_ms": "fast", "level": "info"}',
    b'{"event_id": "broken-3", "timestamp": "%(ts)s", "service": "auth", "route": "/login", '
    b'"duration_ms": 3, "level": "loud"}',
    b'{"event_id": "broken-4", "timestamp": "%(ts)s", "service": "search\xff", "route": "/search", '
    b'"duration_ms": 3, "level": "info"}',
    b'not json at all',
]


# Step logs go to the instance (the UI shows them); the terminal gets one line per partition.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def main(args) -> int:
    from logintel.ingest.files import ingest_paths
    from logintel.simulate import simulate, write_simulation

    settings = load_settings()
    started = time.perf_counter()
    if not args.keep:
        for path in (settings.landing_dir, settings.dead_letter_dir, settings.outputs_dir,
                     settings.home / "simulation"):
            shutil.rmtree(path, ignore_errors=True)
        for path in (settings.warehouse_path, Path(str(settings.warehouse_path) + ".wal")):
            path.unlink(missing_ok=True)
    if settings.postgres_url:
        _step(f"landing zone: PostgreSQL ({open_landing_zone(settings).describe()})")

    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=args.hours)
    _step(f"simulating {args.hours} h of traffic from {start:%Y-%m-%d %H:%M} UTC (seed {args.seed})")
    sim = simulate(start=start, hours=args.hours, seed=args.seed, requests_per_minute=args.rate)
    sim_dir = settings.home / "simulation"
    written = write_simulation(sim, sim_dir)
    broken = sim_dir / "broken-lines.jsonl"
    ts = (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    broken.write_bytes(b"\n".join(line.replace(b"%(ts)s", ts) for line in BROKEN_LINES))
    print(f"    {written['count']:,} events, {len(sim.labels)} injected incidents -> {sim_dir}")

    _step("ingesting into the landing zone")
    zone = open_landing_zone(settings)
    report = ingest_paths([Path(written["events"]), broken], zone, DeadLetterStore(settings.dead_letter_dir))
    print("    " + report.summary().replace("\n", "\n    "))

    _step(f"materializing {args.hours} hourly partitions (raw_events → windows, templates → embeddings → clusters → incidents, + checks)")
    import dagster as dg
    prepare_dagster_home(settings)
    defs = load_definitions()
    job = defs.resolve_job_def("hourly_incidents")
    hours = [start + timedelta(hours=i) for i in range(args.hours)]
    failures = []
    with dg.DagsterInstance.get() as instance:
        for index, hour in enumerate(hours, 1):
            key = hour.strftime("%Y-%m-%d-%H:00")
            t0 = time.perf_counter()
            result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False,
                                            tags={"logintel/trigger": "demo"}, run_config=QUIET)
            checks = [e.asset_check_evaluation_data for e in result.all_events
                      if e.event_type_value == "ASSET_CHECK_EVALUATION"]
            failed_checks = [c.check_name for c in checks if not c.passed]
            status = "ok" if result.success else "FAILED"
            if not result.success:
                failures.append(key)
            print(f"    [{index:>2}/{len(hours)}] {key}  {status}  checks {len(checks) - len(failed_checks)}/"
                  f"{len(checks)} passed{' (' + ', '.join(failed_checks) + ')' if failed_checks else ''}"
                  f"  {time.perf_counter() - t0:.1f}s", flush=True)

    from logintel.cli import incident_rows, format_incident_table
    rows = incident_rows(settings) or []
    matches = match_labels(rows, sim.labels)
    outputs = write_report(settings, rows, sim.labels, matches)
    print()
    print(format_incident_table(rows))
    print()
    _step("injected incidents vs what was found")
    for m in matches:
        found = ", ".join(m["incident_ids"]) or "not found"
        if m["folded"]:
            found += f" (+{m['folded']} rule incidents folded into it)"
        print(f"    {m['scenario']:<26} {m['start'][11:16]}–{m['end'][11:16]}  → {found}")
    print()
    print(f"done in {time.perf_counter() - started:.0f}s")
    print(f"  report:        {outputs['report']}")
    print(f"  incidents:     {outputs['incidents']}  (or: logintel incidents --json)")
    print(f"  warehouse:     {settings.warehouse_path}")
    print(f"  landing zone:  {zone.describe()}")
    print(f"  dead letters:  {settings.dead_letter_dir}  (logintel deadletters)")
    print(f"  ground truth:  {written['labels']}")
    print(f"  Dagster UI:    logintel ui   (DAGSTER_HOME={settings.dagster_home})")
    if failures:
        print(f"FAILED partitions: {', '.join(failures)}")
        return 1
    return 0
