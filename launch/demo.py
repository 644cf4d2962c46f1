"""`logintel demo`: simulate a day with injected incidents, ingest it, materialize every hourly
partition through Dagster (recorded in the instance under LOGINTEL_HOME), and report."""
from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from launch.backfill import plan
from launch.instance import load_definitions, prepare_dagster_home
from launch.runs import QUIET, failed, materialize
from logintel.config import load_settings
from logintel.daily.days import DigestDay
from logintel.ingest.emitter_config import EmitterConfig
from logintel.simulate.outage import OutageWindow, emit_with_outage
from logintel.store.dead_letters import DeadLetterStore
from logintel.store.landing_zones import open_landing_zone
from logintel.trust.claim_share import ClaimShare
from logintel.views.demo_report import scored_incidents, write_report
from logintel.views.incident_table import format_incident_table

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


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _outage_window(start: datetime, hours: int, minutes: int) -> OutageWindow | None:
    """`minutes` of landing-zone outage from 20 past the middle hour of the day (none if 0)."""
    if minutes <= 0:
        return None
    begins = start + timedelta(hours=hours // 2, minutes=20)
    return OutageWindow(begins, begins + timedelta(minutes=minutes))


def _simulated_span(hours: int, zone: str) -> tuple[datetime, datetime]:
    """Whole days end at the last midnight in the digest's zone, so each digest covers its whole day;
    other spans end at the current hour."""
    now = datetime.now(timezone.utc)
    if hours % 24:
        end = now.replace(minute=0, second=0, microsecond=0)
    else:
        today = now.astimezone(ZoneInfo(zone)).date()
        end = DigestDay(today, zone).start.replace(tzinfo=timezone.utc)
    return end - timedelta(hours=hours), end


def _emitter_config(settings) -> EmitterConfig:
    target = ({"kind": "postgres", "url": settings.postgres_url} if settings.postgres_url
              else {"kind": "files", "dir": str(settings.landing_dir)})
    # A day is replayed in seconds, so the retry of a failed landing zone is scaled down with it.
    return EmitterConfig.from_dict({"transports": [target], "dump_dir": str(settings.dumps_dir),
                                    "dead_letter_dir": str(settings.dead_letter_dir), "batch_size": 2000,
                                    "buffer_max_events": 50_000, "buffer_max_bytes": 64 << 20,
                                    "flush_interval_s": 0.2, "backoff_base_s": 0.05, "backoff_cap_s": 0.5})


def _delivery_line(stats: dict) -> str:
    delivered = ", ".join(f"{n:,} delivered to {name}" for name, n in stats["delivered"].items()) or "0 delivered"
    dropped, dead = sum(stats["dropped"].values()), sum(stats["dead_lettered"].values())
    why = ", ".join(f"{REASONS.get(reason, reason)} {n:,}" for reason, n in sorted(stats["dumped_by_reason"].items()))
    return (f"{stats['emitted']:,} emitted = {delivered} + {stats['dumped']:,} dumped to local files + "
            f"{dropped:,} dropped + {dead:,} dead-lettered + {stats['pending']:,} pending "
            f"({'balanced' if stats['balanced'] else 'NOT BALANCED'})" + (f"\n    dumped because: {why}" if why else ""))


REASONS = {"no_transport_available": "landing zone unavailable", "buffer_full": "buffer full"}


def _materialize(job, instance, requests: list[tuple[str, dict]]) -> list[str]:
    """Run `job` once per (partition key, tags); return the keys that failed."""
    return failed(materialize(job, instance, requests))


def _replay_and_backfill(defs, job, instance, settings) -> list[str]:
    """What the daemon does on its own: dump_files_sensor → replay_dumps, then replayed_partitions_sensor
    → one hourly_incidents run per hour the replay added events to. Run in process here."""
    import dagster as dg

    from resources import build_resources
    from sensors.replayed_partitions import replayed_partitions_sensor
    replay = defs.resolve_job_def("replay_dumps").execute_in_process(
        instance=instance, raise_on_error=False, run_config=QUIET, tags={"logintel/trigger": "demo"})
    if not replay.success:
        print("    replay_dumps FAILED (the dumps stay in place: `logintel replay` retries them)")
        return ["replay_dumps"]
    report = replay.output_for_node("replay_dump_files")
    print(f"    {report.get('replayed', 0):,} events replayed, {report.get('duplicates', 0):,} already landed, "
          f"{report.get('dead_lettered', 0):,} dead-lettered; {len(report.get('archived', []))} dump file(s) archived")
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=build_resources(settings))
    requests = replayed_partitions_sensor.evaluate_tick(context).run_requests
    return _materialize(job, instance, [(r.partition_key, dict(r.tags)) for r in requests])


def _last_briefing_source(instance) -> int | None:
    """The newest storage id of what the briefing sensor reads, before this demo adds any: the sensor's
    cursor, so an instance kept from an earlier demo does not brief that demo's incidents again."""
    import dagster as dg

    from sensors.situation_briefing import INCIDENTS, SECURITY
    ids = [r.storage_id for key in (INCIDENTS, SECURITY)
           for r in instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=1,
                                                    ascending=False).records]
    return max(ids, default=None)


def _briefings(defs, instance, settings, since: int | None) -> list[str]:
    """What the daemon does on its own: situation_briefing_sensor → one situation_briefing run per critical
    or high incident or hourly security finding, for what was materialized after `since`. Run in process
    here; returns what failed."""
    import dagster as dg

    from resources import build_resources
    from sensors.situation_briefing import situation_briefing_sensor
    context = dg.build_sensor_context(instance=instance, definitions=defs, resources=build_resources(settings),
                                      cursor=None if since is None else str(since))
    requests = situation_briefing_sensor.evaluate_tick(context).run_requests
    job, failures, written = defs.resolve_job_def("situation_briefing"), [], 0
    for request in requests:
        run = job.execute_in_process(instance=instance, raise_on_error=False, tags=dict(request.tags),
                                     run_config={**request.run_config, **QUIET})
        if not run.success:
            failures.append(f"briefing {request.tags.get('logintel/incident') or request.tags.get('logintel/finding')}")
        written += bool(run.get_asset_materialization_events())  # none: the incident was superseded
    print(f"    {written} briefing(s) written to {settings.briefings_dir}"
          + (f" ({len(requests) - written - len(failures)} superseded incident(s) or finding(s) skipped)"
             if len(requests) - written - len(failures) else ""))
    return failures


def _print_digests(settings, days: list[str]) -> None:
    import json
    for day in days:
        path = settings.digests_dir / f"{day}.json"
        if not path.exists():
            continue
        digest = json.loads(path.read_text(encoding="utf-8"))
        g = digest["grounding"]
        _step(f"daily digest {day}: {digest['headline']}")
        for issue in digest["top_issues"]:
            print(f"    {issue['rank']}. {issue['text']}")
        for trend in digest["trends"][:5]:
            print(f"    ~ {trend['text']}")
        print(f"    {ClaimShare(claims=g['claims'], grounded=g['grounded']).describe()}, written by {digest['writer']}")
        print()
        _print_findings(settings, day)


def _print_findings(settings, day: str) -> None:
    from logintel.agents.saved_findings import analyst_runs, read_findings
    from logintel.store.warehouse_access import open_warehouse
    con = open_warehouse(settings, read_only=True)
    try:
        runs, findings = analyst_runs(con, day), read_findings(con, day)
    finally:
        con.close()
    _step(f"the analysts on {day}: {len(findings)} finding(s) (logintel findings --date {day}; "
          f"logintel ask \"are we under attack?\" --date {day})")
    for agent, run in sorted(runs.items()):
        print(f"    {run['summary']}")
    for finding in findings[:5]:
        print(f"    [{finding.severity}] {finding.agent}/{finding.kind}: {finding.text}")
    print()


def main(args) -> int:
    from logintel.ingest.log_files import ingest_paths
    from logintel.simulate import simulate, write_simulation

    settings = load_settings()
    started = time.perf_counter()
    if not args.keep:
        for path in (settings.landing_dir, settings.dead_letter_dir, settings.outputs_dir, settings.dumps_dir,
                     settings.home / "simulation"):
            shutil.rmtree(path, ignore_errors=True)
        for path in (settings.warehouse_path, Path(str(settings.warehouse_path) + ".wal")):
            path.unlink(missing_ok=True)
    if settings.postgres_url:
        _step(f"landing zone: PostgreSQL ({open_landing_zone(settings).describe()})")

    start, end = _simulated_span(args.hours, settings.digest_timezone)
    _step(f"simulating {args.hours} h of traffic from {start:%Y-%m-%d %H:%M} UTC (seed {args.seed})")
    sim = simulate(start=start, hours=args.hours, seed=args.seed, requests_per_minute=args.rate)
    sim_dir = settings.home / "simulation"
    written = write_simulation(sim, sim_dir)
    broken = sim_dir / "broken-lines.jsonl"
    ts = (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    broken.write_bytes(b"\n".join(line.replace(b"%(ts)s", ts) for line in BROKEN_LINES))
    print(f"    {written['count']:,} events, {len(sim.labels)} injected incidents -> {sim_dir}")

    zone = open_landing_zone(settings)
    outage = _outage_window(start, args.hours, args.outage_minutes)
    _step("the services emit through the SDK (logintel.ingest.Emitter) into the landing zone"
          + (f"; it is down {outage.start:%H:%M}–{outage.end:%H:%M} UTC (injected)" if outage else ""))
    delivery = emit_with_outage(sim.events, _emitter_config(settings), outage)
    print("    " + _delivery_line(delivery))
    _step("ingesting a file of broken lines (they become dead letters, with causes)")
    report = ingest_paths([broken], zone, DeadLetterStore(settings.dead_letter_dir))
    print("    " + report.summary().replace("\n", "\n    "))

    _step(f"materializing {args.hours} hourly partitions (raw_events → windows, window changes, templates → embeddings → clusters → incidents, + checks)")
    import dagster as dg
    prepare_dagster_home(settings)
    defs = load_definitions()
    job = defs.resolve_job_def("hourly_incidents")
    keys = [(start + timedelta(hours=i)).strftime("%Y-%m-%d-%H:00") for i in range(args.hours)]
    with dg.DagsterInstance.get() as instance:
        briefed_before = _last_briefing_source(instance)
        failures = _materialize(job, instance, [(key, {"logintel/trigger": "demo"}) for key in keys])
        if delivery["dumped"]:
            _step("replaying the dumps (replay_dumps job), then re-materializing the hours they fill "
                  "(replayed_partitions_sensor's run requests)")
            failures += _replay_and_backfill(defs, job, instance, settings)
        _step("situation briefings for the critical and high incidents and security findings "
              "(situation_briefing_sensor's run requests)")
        failures += _briefings(defs, instance, settings, briefed_before)
        days = plan(start.replace(tzinfo=None), end.replace(tzinfo=None), settings.digest_timezone)[1]
        _step(f"writing the daily digest of {', '.join(days)} ({settings.digest_timezone}): daily_metrics and the "
              f"sre, security and efficiency findings → daily_digest")
        failures += _materialize(defs.resolve_job_def("daily_briefing"), instance,
                                 [(day, {"logintel/trigger": "demo"}) for day in days])

    rows, matches = scored_incidents(settings, sim.labels)
    outputs = write_report(settings.outputs_dir, rows, matches)
    print()
    print(format_incident_table(rows))
    print()
    _step("injected incidents vs what was found")
    for m in matches:
        found = ", ".join(m["incident_ids"]) or "not found"
        if m["folded"]:
            found += f" (+{m['folded']} incidents folded into it)"
        print(f"    {m['scenario']:<26} {m['start'][11:16]}–{m['end'][11:16]}  → {found}")
    print()
    _print_digests(settings, days)
    print(f"done in {time.perf_counter() - started:.0f}s")
    print(f"  report:        {outputs['report']}")
    print(f"  briefings:     {settings.briefings_dir}")
    for day in days:
        print(f"  digest:        {settings.digests_dir / (day + '.md')}  (.html, .json; or: logintel digest --date {day})")
    print(f"  incidents:     {outputs['incidents']}  (or: logintel incidents --json)")
    print(f"  warehouse:     {settings.warehouse_path}")
    print(f"  landing zone:  {zone.describe()}")
    print(f"  dead letters:  {settings.dead_letter_dir}  (logintel deadletters)")
    print(f"  dumps:         {settings.dumps_dir}  (replayed ones under archive/, reports under reports/)")
    print(f"  ground truth:  {written['labels']}")
    print(f"  Dagster UI:    logintel ui   (DAGSTER_HOME={settings.dagster_home})")
    if failures:
        print(f"FAILED partitions: {', '.join(failures)}")
        return 1
    return 0
