"""The `logintel` command line of the domain: simulate, ingest, list incidents and dead letters, replay,
drain Kafka, serve sampling policies, the analysts' findings and questions to them, investigate a window. The commands that drive Dagster (demo, ui) are added by `launch.cli`."""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from logintel.config import load_settings


def _parse_start(text: str | None, hours: int) -> datetime:
    if text:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
        ts = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
        return ts.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    from datetime import timedelta
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours)


def cmd_simulate(args) -> int:
    from logintel.simulate import simulate, write_simulation, write_traces
    start = _parse_start(args.start, args.hours)
    scenarios = None if args.scenarios is None else [s for s in args.scenarios.split(",") if s]
    sim = simulate(start=start, hours=args.hours, seed=args.seed, scenarios=scenarios,
                   requests_per_minute=args.rate, keep_workload=args.traces is not None)
    out = write_simulation(sim, Path(args.out))
    print(f"simulated {out['count']:,} events from {start:%Y-%m-%d %H:%M} UTC for {args.hours} h (seed {args.seed})")
    print(f"  events: {out['events']}\n  labels: {out['labels']}")
    if args.traces is not None:
        traces = write_traces(sim, Path(args.traces))
        print(f"  traces: {traces['spans']:,} spans of {traces['traces']:,} traces in {len(traces['paths'])} "
              f"OTLP/JSON file(s) under {args.traces}")
    for label in sim.labels:
        print(f"  - {label.scenario}: {label.start:%H:%M}–{label.end:%H:%M} {label.cause}")
    return 0


def cmd_ingest(args) -> int:
    from logintel.ingest.log_files import NotARegularFile, ingest_paths
    from logintel.store.dead_letters import DeadLetterStore
    from logintel.store.landing_zones import open_landing_zone
    settings = load_settings()
    zone = open_landing_zone(settings)
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        report = ingest_paths(paths, zone, DeadLetterStore(settings.dead_letter_dir), fmt=args.format)
    except NotARegularFile as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"landing zone: {zone.describe()}")
    if report.dead_lettered:
        print(f"dead letters: {settings.dead_letter_dir}")
    return 0


def cmd_migrate(args) -> int:
    """The DuckDB warehouse's LLM call log, digest history and embedding cache into the state store, and (with the
    lake on) its hourly tables into the lake, verified hour by hour."""
    from logintel.store.lake import LAKE_TABLES, open_lake
    from logintel.store.lake.migration import migrate
    from logintel.store.state_store import import_embeddings, import_from_warehouse, open_state_store
    from logintel.store.warehouse import connect
    settings = load_settings()
    tables = tuple(t.strip() for t in args.tables.split(",") if t.strip()) if args.tables else LAKE_TABLES
    unknown = [t for t in tables if t not in LAKE_TABLES]
    if unknown or not tables:
        print(f"error: --tables {args.tables!r}: {', '.join(unknown) or 'none named'} — the lake's tables are "
              f"{', '.join(LAKE_TABLES)}", file=sys.stderr)
        return 2
    if not settings.warehouse_path.exists():
        print(f"error: no warehouse at {settings.warehouse_path}: nothing to migrate", file=sys.stderr)
        return 2
    store = open_state_store(settings)
    source = connect(settings.warehouse_path, read_only=True)
    try:
        try:
            calls, days = import_from_warehouse(source, store)
            vectors = import_embeddings(source, store)
        except Exception as problem:  # noqa: BLE001 - a database the URL names may be down or refuse us
            print(f"error: the state store at {store.where}: {type(problem).__name__}: {problem}", file=sys.stderr)
            return 1
        state = {"where": store.where, "llm_calls_added": calls, "digest_days": days, "embeddings": vectors}
        if not settings.lake.iceberg:
            print(f"the LLM call log, the digest history and the embedding cache are in {store.where} ({calls:,} "
                  f"calls added, {days} digest days, {vectors:,} embeddings); the hourly tables stay in the DuckDB "
                  "file: set LOGINTEL_TABLE_FORMAT=iceberg (and, beyond one machine, LOGINTEL_LAKE_WAREHOUSE and LOGINTEL_LAKE_CATALOG_URL) to move them into the "
                  "lake", file=sys.stderr)
            if args.json:
                print(json.dumps({"state": state, "tables": []}, indent=2))
            return 0
        lake = open_lake(settings.lake_location)
        results = migrate(source, lake, tables,
                          progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    finally:
        source.close()
    report = [{"table": r.table, "hours": r.hours, "rows": r.rows, "verified": r.verified,
               "mismatched_hours": [h.isoformat() for h in r.mismatched_hours]} for r in results]
    if args.json:
        print(json.dumps({"lake": lake.describe(), "state": state, "tables": report}, indent=2))
    else:
        print(f"the LLM call log, the digest history and the embedding cache: {store.where} ({calls:,} calls added, "
              f"{days} digest days, {vectors:,} embeddings)")
        print(f"into {lake.describe()}:")
        for row in report:
            verdict = "verified: every hour's rows and checksum match" if row["verified"] else \
                f"MISMATCH in {len(row['mismatched_hours'])} hour(s): {', '.join(row['mismatched_hours'][:5])}"
            print(f"  {row['table']:<20} {row['hours']:>5} hours {row['rows']:>12,} rows  {verdict}")
        print(f"The warehouse file still holds them ({settings.warehouse_path}); the lake's tables ({', '.join(LAKE_TABLES)}) "
              "are what every reader sees from now on.")
    return 0 if all(r.verified for r in results) else 1


def cmd_incidents(args) -> int:
    from logintel.views.incident_table import format_incident_table, load_incidents
    settings = load_settings()
    rows = load_incidents(settings)
    if rows is None:
        print(f"error: no warehouse at {settings.warehouse_path}; run `logintel demo` or materialize the assets",
              file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(format_incident_table(rows))
    return 0


def cmd_findings(args) -> int:
    from logintel.agents.ask.console import findings_output
    print(findings_output(load_settings(), args.date, args.agent, args.json, args.refresh), end="")
    return 0


def _utc(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def cmd_investigate(args) -> int:
    from logintel.agents.ask.console import open_warehouse
    from logintel.trust.item_grounding import day_grounder
    from logintel.analysis.investigation import InvestigationError, investigate
    try:
        start, end = _utc(args.start), _utc(args.end)
        baseline = None
        if bool(args.baseline_start) != bool(args.baseline_end):
            raise InvestigationError("give both --baseline-start and --baseline-end, or neither")
        if args.baseline_start:
            baseline = (_utc(args.baseline_start), _utc(args.baseline_end))
        con = open_warehouse(load_settings())
        try:
            result = investigate(con, start, end, service=args.service, baseline=baseline,
                                 grounder=day_grounder(con, start.date()))
        finally:
            con.close()
    except ValueError as problem:  # a bad time, a window outside the data, no warehouse: say which
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else _investigation_table(result))
    return 0


def _investigation_table(result) -> str:
    w, b = result.window, result.baseline
    lines = [f"Investigation {w[0]:%Y-%m-%d %H:%M:%S}–{w[1]:%H:%M:%S} UTC against {b[0]:%Y-%m-%d %H:%M}–"
             f"{b[1]:%H:%M} ({result.baseline_source}), {result.requests:,} requests, {result.elapsed_s:.2f} s", ""]
    for c in result.candidates[:10]:
        why = f"  (explained by {c['explained_by']})" if c["explained_by"] else ""
        why += "" if c.get("changed", True) else "  (a hint: below the bar for a change)"
        lines.append(f"{c['rank']:>3}. {c['service']:<32} {c['kind']:<12} z={c['score']:<6} "
                     f"{c['attribute']}={str(c['value'])[:60]}{why}")
    check = {True: "grounded", False: "UNVERIFIED", None: "not checked"}[result.grounding.get("grounded")]
    return "\n".join(lines + ["", result.text, f"({check})"])


def cmd_ask(args) -> int:
    from logintel.agents.ask.console import ask_output
    print(ask_output(load_settings(), " ".join(args.question), args.date, args.json), end="")
    return 0


def cmd_deadletters(args) -> int:
    from logintel.store.dead_letters import DeadLetterStore
    settings = load_settings()
    store = DeadLetterStore(settings.dead_letter_dir)
    counts = store.counts_by_cause()
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k not in ("payload", "payload_b64")} | {
            "payload_preview": (r.get("payload") or "")[:200]} for r in store.records()], indent=2))
        return 0
    if not counts:
        print(f"no dead letters in {settings.dead_letter_dir}")
        return 0
    print(f"dead letters in {settings.dead_letter_dir}:")
    for cause, n in counts.most_common():
        print(f"  {n:>7,}  {cause}")
    return 0


def cmd_dlq(args) -> int:
    from datetime import timedelta

    from logintel.ingest.dead_letter_queue import DeadLetterQueue
    from logintel.store.dead_letters import DeadLetterStore
    settings = load_settings()
    queue = DeadLetterQueue(DeadLetterStore(settings.dead_letter_dir))
    if args.action == "list":
        summary = queue.summary(cause=args.cause)
        if args.json:
            print(json.dumps(summary, indent=2))
        elif not summary["total"]:
            print(f"no dead letters in {settings.dead_letter_dir}")
        else:
            print(f"{summary['total']:,} dead letter(s) in {settings.dead_letter_dir}")
            for c in summary["causes"]:
                policy = f"retriable, {c['due']} due" if c["retriable"] else "parked"
                print(f"  {c['count']:>7,}  {c['cause']}  [{c['class']}; {policy}]")
                for example in c["examples"]:
                    print(f"           {example['last_error_at'][:19]}  {example['source']}: {example['reason']}")
        return 0
    if args.action == "retry":
        from logintel.store.landing_zones import open_landing_zone
        report = queue.retry(open_landing_zone(settings), cause=args.cause, include_parked=args.all)
        print(report.summary())
        return 0
    if not args.yes:
        print("error: purge deletes dead letters for good; add --yes", file=sys.stderr)
        return 2
    older = timedelta(days=args.older_than) if args.older_than is not None else None
    print(f"purged {queue.purge(cause=args.cause, older_than=older):,} dead letter(s)")
    return 0


def cmd_replay(args) -> int:
    from logintel.ingest.replay import DumpPathError, replay_dumps
    from logintel.ingest.reports import REPORTS
    from logintel.store.dead_letters import DeadLetterStore
    from logintel.store.landing_zones import open_landing_zone
    settings = load_settings()
    dumps = settings.dumps_dir
    paths = [Path(p) for p in args.paths] or [dumps]
    if not args.paths and not dumps.exists():
        print(f"no dumps in {dumps}")
        return 0
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        report = replay_dumps(paths, open_landing_zone(settings), DeadLetterStore(settings.dead_letter_dir),
                              dumps / "archive", dump_root=dumps)
    except DumpPathError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    # A report is the record of a change (the sensor re-materializes its hours): none for an idle run.
    saved = report.write(dumps / REPORTS) if report.files else None
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
        if saved:
            print(f"report: {saved}")
    return 0 if report.accounted() else 1


def cmd_seal(args) -> int:
    from datetime import datetime, timedelta, timezone
    from logintel.ingest.transports.sealer import QUIET_S
    from logintel.store.segment_sealing import seal_closed_hours
    from logintel.store.landing_files import FileLandingZone
    settings = load_settings()
    if settings.postgres_url:
        print("nothing to seal: the landing zone is the PostgreSQL table (LOGINTEL_POSTGRES_URL), not files")
        return 0
    if settings.landing_segments == "jsonl":
        print("error: LOGINTEL_LANDING_SEGMENTS=jsonl asks for no columnar segments; sealing would write them",
              file=sys.stderr)
        return 2
    ended_by = datetime.now(timezone.utc) - timedelta(seconds=QUIET_S if args.quiet_s is None else args.quiet_s)
    reports = seal_closed_hours(FileLandingZone(settings.landing_dir, settings.landing_segments), ended_by)
    if args.json:
        print(json.dumps([{"hour": r.hour.isoformat(), "sealed": [str(p) for p in r.sealed], "sources": r.sources,
                           "events": r.rows, "kept": r.kept} for r in reports], indent=2))
        return 0
    for report in reports:
        print(f"{report.hour:%Y-%m-%dT%H}: {report.describe()}")
        for why in report.kept:
            print(f"  kept: {why}")
    print(f"{sum(r.rows for r in reports):,} events of {sum(r.sources for r in reports):,} small segments sealed "
          f"into {sum(len(r.sealed) for r in reports)} columnar ones, in {len(reports)} hour(s) of "
          f"{settings.landing_dir / 'events'}")
    return 0


def cmd_kafka_sink(args) -> int:
    from logintel.ingest.kafka_sink import drain_to_landing
    from logintel.ingest.reports import REPORTS
    from logintel.store.dead_letters import DeadLetterStore
    from logintel.store.landing import LandingUnavailable
    from logintel.store.landing_zones import open_landing_zone
    settings = load_settings()
    brokers = args.bootstrap_servers or settings.kafka_bootstrap_servers
    topic = args.topic or settings.kafka_topic
    if not (brokers and topic):
        print("error: name the topic: --bootstrap-servers and --topic, or LOGINTEL_KAFKA_BOOTSTRAP_SERVERS "
              "and LOGINTEL_KAFKA_TOPIC", file=sys.stderr)
        return 2
    zone, letters = open_landing_zone(settings), DeadLetterStore(settings.dead_letter_dir)
    pause = 1.0
    while True:
        try:
            report, saved = drain_to_landing(brokers, topic, args.group or settings.kafka_group, zone, letters,
                                             settings.dumps_dir / REPORTS, args.max_seconds)
        except LandingUnavailable as exc:  # KafkaUnavailable is one too: nothing uncommitted was lost
            print(f"error: {exc}", file=sys.stderr, flush=True)
            if not args.follow:
                return 1
            time.sleep(pause)  # keep following: what was not committed is read again next time
            pause = min(pause * 2, 60.0)
            continue
        pause = 1.0
        print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary(), flush=True)
        if saved and not args.json:
            print(f"report: {saved}")
        if not report.accounted():
            return 1
        if not args.follow:
            return 0


def cmd_policy_server(args) -> int:
    from logintel.config import secret_from_env
    from logintel.ingest.policy_server import POLICY_PATH, PolicyStore, make_server
    store = PolicyStore(args.policy)  # an invalid policy file is a PolicyError: reported by main()
    token = secret_from_env(args.token_env)
    server = make_server(store, args.host, args.port, token)
    host, port = server.server_address[:2]
    policy = store.current()[0]
    print(f"serving sampling policy v{policy.version} on http://{host}:{port}{POLICY_PATH}")
    print(f"  updates: {'PUT with Authorization: Bearer $' + args.token_env if token else f'disabled (${args.token_env} is not set)'}")
    print(f"  persisted to: {store.path or '(memory only: no --policy FILE)'}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def cmd_serve(args) -> int:
    from logintel.config import load_settings
    from logintel.receiver.server import serve  # uvicorn and the OTLP classes only when serving
    return serve(load_settings(), args.host, args.port, access_log=args.access_log, workers=args.workers)


def cmd_templates(args) -> int:
    from logintel.analysis.templates.annotate import run_templates
    return run_templates(args.paths, args.json, Path(args.state) if args.state else None)


def build_parser(extra_commands: Iterable[Callable] = ()) -> argparse.ArgumentParser:
    """The domain's commands; each of `extra_commands` adds its own to the subparsers (the Dagster layer's
    demo and ui, see `launch.cli`)."""
    parser = argparse.ArgumentParser(prog="logintel", description="Wide events to incidents, root causes and a daily briefing.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="write a simulated multi-service workload with labelled incidents")
    p.add_argument("--out", default="simulation", help="output folder (events.jsonl, labels.json)")
    p.add_argument("--start", help="first hour, ISO-8601 UTC (default: HOURS before the current hour)")
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rate", type=float, default=200.0, help="mean requests per minute")
    p.add_argument("--scenarios", help="comma-separated scenario names (default: all; '' for none)")
    p.add_argument("--traces", metavar="DIR", help="also write the requests as OpenTelemetry spans: OTLP/JSON "
                                                   "files, one an hour, that `logintel ingest` reads")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("ingest", help="deliver JSONL wide events, OTel JSON or plain-text logs to the landing zone")
    p.add_argument("paths", nargs="+")
    p.add_argument("--format", default="auto", choices=["auto", "jsonl", "json", "otlp", "text"])
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("migrate", help="move the DuckDB warehouse's LLM call log and digest history into the state "
                                       "store, and its hourly tables into the lake "
                                       "(LOGINTEL_TABLE_FORMAT=iceberg), verified hour by hour")
    p.add_argument("--tables", help="only these lake tables, comma-separated (default: all of them); e.g. after an "
                                    "upgrade that made more tables lake tables, only those")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("incidents", help="list incidents from the warehouse")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_incidents)

    p = sub.add_parser("findings", help="the analysts' findings of a day (SRE, security, efficiency), most severe first")
    p.add_argument("--date", help="YYYY-MM-DD in the digest's time zone (default: the day of the newest event)")
    p.add_argument("--agent", choices=["sre", "security", "efficiency"])
    p.add_argument("--json", action="store_true", help="print a JSON list of findings")
    p.add_argument("--refresh", action="store_true", help="analyse again instead of reading what a run stored")
    p.set_defaults(func=cmd_findings)

    p = sub.add_parser("investigate", help="rank the services as the cause of what changed in a window "
                                           "against its baseline (offline, read-only)")
    p.add_argument("--start", required=True, help="window start, ISO-8601 (UTC unless it names an offset)")
    p.add_argument("--end", required=True, help="window end (exclusive)")
    p.add_argument("--service", help="only this service and what it calls (a symptom seen there)")
    p.add_argument("--baseline-start", help="a known-good window to compare with (default: the minutes before)")
    p.add_argument("--baseline-end")
    p.add_argument("--json", action="store_true", help="print window, baseline, candidates, text and grounding")
    p.set_defaults(func=cmd_investigate)

    p = sub.add_parser("ask", help="ask the analysts a question about a day (routed offline, or by the model)")
    p.add_argument("question", nargs="+")
    p.add_argument("--date", help="YYYY-MM-DD in the digest's time zone (default: the day of the newest event)")
    p.add_argument("--json", action="store_true",
                   help="print question, routed_to, answer, findings, grounding and llm as JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("templates", help="print each line's template id and template (one message per line)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.add_argument("--state", help="template state file to read and update (ids stay stable across runs)")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("deadletters", help="count dead letters by cause")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_deadletters)

    p = sub.add_parser("dlq", help="the dead-letter queue: list by cause and class, retry, purge")
    dlq = p.add_subparsers(dest="action", required=True)
    q = dlq.add_parser("list", help="counts by cause and class, newest examples with their reasons")
    q.add_argument("--cause", help="a cause (validation:status), a prefix (validation) or a class (auth)")
    q.add_argument("--json", action="store_true")
    q = dlq.add_parser("retry", help="re-parse due retriable letters and land those that now pass")
    q.add_argument("--cause")
    q.add_argument("--all", action="store_true", help="also parked letters, and ignore backoff (after a fix)")
    q = dlq.add_parser("purge", help="delete dead letters")
    q.add_argument("--cause")
    q.add_argument("--older-than", type=float, metavar="DAYS", help="only letters last failing over DAYS ago")
    q.add_argument("--yes", action="store_true", help="really delete")
    p.set_defaults(func=cmd_dlq)

    p = sub.add_parser("replay", help="load dump files into the landing zone (event_id dedupe) and archive them")
    p.add_argument("paths", nargs="*", help="dump files or folders (default: $LOGINTEL_HOME/dumps)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("seal", help="seal the small segments of every closed hour of the file landing zone into "
                                    "columnar ones (the receiver does it itself; this is for other writers)")
    p.add_argument("--quiet-s", type=float, help="seal an hour this long after it ended (default: the receiver's 60)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_seal)

    p = sub.add_parser("kafka-sink", help="drain the emitters' Kafka topic into the landing zone (commit after landing)")
    p.add_argument("--bootstrap-servers", help="default: $LOGINTEL_KAFKA_BOOTSTRAP_SERVERS")
    p.add_argument("--topic", help="default: $LOGINTEL_KAFKA_TOPIC")
    p.add_argument("--group", help="consumer group (default: $LOGINTEL_KAFKA_GROUP or logintel-landing)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="stop a drain after this long")
    p.add_argument("--follow", action="store_true", help="drain again and again until interrupted")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kafka_sink)

    p = sub.add_parser("policy-server", help="serve versioned sampling policies to emitters (PUT needs a token)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--policy", metavar="FILE", help="policy file (JSON or YAML) to serve and to persist updates to")
    p.add_argument("--token-env", default="LOGINTEL_POLICY_TOKEN", metavar="VAR",
                   help="environment variable holding the bearer token for updates")
    p.set_defaults(func=cmd_policy_server)

    p = sub.add_parser("serve", help="receive OTLP/HTTP logs, traces and metrics (POST /v1/logs, /v1/traces, "
                                     "/v1/metrics) and NDJSON wide events (POST /v1/events) into the landing zone; "
                                     "/healthz, /readyz, /metrics")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (a non-loopback one needs LOGINTEL_RECEIVER_TOKEN)")
    p.add_argument("--port", type=int, default=4318, help="port (4318: the OTLP/HTTP default)")
    p.add_argument("--access-log", action="store_true", help="log one line per request (method, path, status)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes on the one port, each with its own emitter (default 1)")
    p.set_defaults(func=cmd_serve)

    for register in extra_commands:
        register(sub)
    return parser


def main(argv: list[str] | None = None, extra_commands: Iterable[Callable] = ()) -> int:
    args = build_parser(extra_commands).parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # configuration problems: say what is wrong, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
