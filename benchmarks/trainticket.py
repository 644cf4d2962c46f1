"""Root-cause ranking on real telemetry: the Train-Ticket fault day (Nezha, FSE 2023) scored the paper's way.

    .venv/bin/python benchmarks/trainticket.py [--data ../shared/data/trainticket] [--work /tmp/logintel-trainticket]
                                               [--day YYYY-MM-DD] [--reuse]

Any day of the dataset in that layout: --day names it (default: the one `trainticket-*.tar.zst` in --data), and
its fault-free minute is the time its `construct_data` traces cover (none: that method is left out).

Stages, each timed: unpack the day (zstd), convert it to OTLP/JSON minute files with the shared tool
(`../shared/tools/trainticket_otlp.py`; its per-pod metrics with `benchmarks/trainticket_metrics.py` unless
--no-metrics), ingest the trace, log and metric files into a file landing zone, load each hour
into a DuckDB warehouse, then for each labelled fault at t investigate [t, t+3 min) and score AS@1 / AS@3 (the
injected service ranked first / within the first three), overall and per fault type, three ways:

- `investigate` against its default baseline (the minutes before the window);
- `investigate` against the README's fault-free minute (construct_data, 08:50: the paper's baseline);
- the one-page baseline: services ranked by the larger rise of their p90 self time or p90 network gap, fault
  window over the 10 minutes before (the fault-free minute when those minutes hold no data).

End to end (`--no-detect` skips it): every hour through the hourly graph's steps into a warehouse of its own,
then for each fault whether an incident opened within 5 minutes of the injection, and whether one of those blames
the faulty service in its first three (its cause's service, then its ranked candidates, else its services).

Everything lives under --work (default: a folder under /tmp); --reuse keeps an earlier run's warehouse and skips
the stages before scoring. Nothing is written inside the repository.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY = "2023-01-29"  # the day in ../shared/data/trainticket; --day or the archive's name picks another
WINDOW = timedelta(minutes=3)
BEFORE = timedelta(minutes=10)


# -- preparing the data ---------------------------------------------------------------------------------------

def day_of(data: Path, day: str | None) -> str:
    """The day to score: given, else the one archive in `data`."""
    if day:
        return day
    found = sorted(p.name[len("trainticket-"):-len(".tar.zst")] for p in data.glob("trainticket-*.tar.zst"))
    if len(found) != 1:
        raise SystemExit(f"{data}: {len(found)} trainticket-*.tar.zst archives ({', '.join(found) or 'none'}); "
                         "name the day with --day")
    return found[0]


def fault_free_window(baseline_out: Path, day: str) -> tuple[datetime, datetime] | None:
    """The minutes of the converted fault-free trace files (one a minute, named HH_MM as the day's CSVs are, in
    UTC: 08_50 on 2023-01-29, the README's minute); None without any."""
    minutes = sorted(datetime.strptime(f"{day} {path.stem}", "%Y-%m-%d %H_%M")
                     for path in (baseline_out / "traces").glob("[0-2][0-9]_[0-5][0-9].json"))
    return (minutes[0], minutes[-1] + timedelta(minutes=1)) if minutes else None


def unpack(data: Path, work: Path) -> Path:
    """The day's CSVs under work/raw (zstd's command line, else tar's own --zstd filter)."""
    archive = data / f"trainticket-{DAY}.tar.zst"
    raw = work / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir(parents=True)
    if shutil.which("zstd"):
        subprocess.run(f"zstd -dc '{archive}' | tar -xf - -C '{raw}'", shell=True, check=True)
    else:
        subprocess.run(["tar", "--zstd", "-xf", str(archive), "-C", str(raw)], check=True)
    return raw


def convert(raw: Path, work: Path, metrics: bool = True) -> tuple[Path, Path]:
    """The fault day and the fault-free minute as OTLP/JSON minute files (traces/, logs/, metrics/, labels.json)."""
    tool = ROOT.parent / "shared" / "tools" / "trainticket_otlp.py"
    day_out, baseline_out = work / "otlp" / "day", work / "otlp" / "baseline"
    shutil.rmtree(work / "otlp", ignore_errors=True)
    day_dir = raw / "rca_data" / DAY
    subprocess.run([sys.executable, str(tool), str(day_dir), str(day_out),
                    "--labels", str(day_dir / f"{DAY}-fault_list.json")], check=True, capture_output=True)
    subprocess.run([sys.executable, str(tool), str(raw / "construct_data" / DAY), str(baseline_out)],
                   check=True, capture_output=True)
    if metrics:
        from benchmarks.trainticket_metrics import convert_metrics
        construct = raw / "construct_data" / DAY
        for source, out in ((day_dir, day_out), (construct, baseline_out)):
            if (source / "metric").is_dir() and not (source == construct and _same_files(source, day_dir, "metric")):
                convert_metrics(source, out)
    return day_out, baseline_out


def _same_files(one: Path, other: Path, folder: str) -> bool:
    """Whether every file of one/folder is byte for byte the file of that name in other/folder (the fault-free
    minute's metric files are the whole day's own on 2023-01-29: converting them twice would only be de-duplicated)."""
    import filecmp
    files = sorted(path.name for path in (one / folder).iterdir())
    match, _, _ = filecmp.cmpfiles(one / folder, other / folder, files, shallow=False)
    return len(match) == len(files)


def ingest(folders: list[Path], work: Path):
    """Every trace, log and metric file into a file landing zone under work/landing (dead letters beside it)."""
    from logintel.ingest.log_files import ingest_paths
    from logintel.store.dead_letters import DeadLetterStore
    from logintel.store.landing_files import FileLandingZone
    shutil.rmtree(work / "landing", ignore_errors=True)
    shutil.rmtree(work / "dead_letters", ignore_errors=True)
    zone = FileLandingZone(work / "landing")
    paths = [folder / kind for folder in folders for kind in ("traces", "logs", "metrics") if (folder / kind).is_dir()]
    report = ingest_paths(paths, zone, DeadLetterStore(work / "dead_letters"), fmt="otlp")
    return zone, report


def load(zone, warehouse: Path) -> int:
    """Each landed hour into raw_events (the hourly graph's first step, without the rest of it)."""
    from logintel.store.warehouse import connect, load_hour
    warehouse.unlink(missing_ok=True)
    con = connect(warehouse)
    try:
        return sum(load_hour(con, zone.read_hour(hour)).loaded for hour in zone.hours())
    finally:
        con.close()


# -- scoring ---------------------------------------------------------------------------------------------------

def faults(labels: Path) -> list[dict]:
    return [dict(f, at=datetime.fromisoformat(f["inject_time"].replace("Z", ""))) for f in json.loads(labels.read_text())]


def ranks_investigate(con, fault_list: list[dict], fault_free: tuple[datetime, datetime], given: bool) -> list[dict]:
    """The injected service's rank in `investigate`'s candidates (None: not among them) for each fault."""
    from logintel.analysis.investigation import InvestigationError, investigate
    rows = []
    for fault in fault_list:
        start = fault["at"]
        try:
            result = investigate(con, start, start + WINDOW, baseline=fault_free if given else None)
        except InvestigationError:  # no data in the minutes before, nor a day earlier: the fault-free minute
            if fault_free is None:
                rows.append({"fault": fault, "rank": None, "top": [], "seconds": 0.0, "baseline": "none"})
                continue
            result = investigate(con, start, start + WINDOW, baseline=fault_free)
        services = [c["service"] for c in result.candidates]
        rows.append({"fault": fault, "rank": services.index(fault["service"]) + 1 if fault["service"] in services
                     else None, "top": services[:3], "seconds": result.elapsed_s, "baseline": result.baseline_source})
    return rows


def ranks_one_page(con, fault_list: list[dict], fault_free: tuple[datetime, datetime]) -> list[dict]:
    """The one-page baseline: each service's larger rise of p90 self time or p90 network gap (window p90 over
    baseline p90), fault window against the 10 minutes before, or the fault-free minute when those hold no event."""
    from logintel.analysis.investigation import window_signals as sql
    rows = []
    for fault in fault_list:
        start = fault["at"]
        before = sql.Span(start - BEFORE, start)
        has_before = con.execute("SELECT count(*) FROM raw_events WHERE ts >= ? AND ts < ? AND route <> '(log)'",
                                 [before.start, before.end]).fetchone()[0]
        if not has_before and fault_free is None:
            rows.append({"fault": fault, "rank": None, "top": [], "seconds": 0.0, "baseline": "none"})
            continue
        baseline = before if has_before else sql.Span(*fault_free)
        sql.stage(con, sql.Span(start, start + WINDOW), baseline)
        try:
            rises = defaultdict(float)
            for counts in (sql.self_time_counts(con), sql.network_gap_counts(con)):
                for service, c in counts.items():
                    if c["p90_window"] is not None and c["p90_baseline"]:
                        rises[service] = max(rises[service], c["p90_window"] / max(c["p90_baseline"], 1e-3))
        finally:
            sql.drop(con)
        services = sorted(rises, key=lambda s: -rises[s])
        rows.append({"fault": fault, "rank": services.index(fault["service"]) + 1 if fault["service"] in services
                     else None, "top": services[:3], "seconds": 0.0, "baseline": "before" if has_before else "fault-free"})
    return rows


def accuracy(rows: list[dict]) -> dict[str, tuple[int, int, int]]:
    """Per fault type and overall: (AS@1 hits, AS@3 hits, faults)."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        for key in (row["fault"]["fault"], "all"):
            table[key][0] += row["rank"] == 1
            table[key][1] += row["rank"] is not None and row["rank"] <= 3
            table[key][2] += 1
    return {key: tuple(value) for key, value in table.items()}


# -- end to end: incidents as the hourly graph opens them ---------------------------------------------------

DETECT_WITHIN = timedelta(minutes=5)
REACH_BACK = timedelta(minutes=2)


def detect(zone, work: Path) -> list[dict]:
    """Every landed hour through the hourly graph's steps (raw_events → windows → templates → embeddings →
    clusters → incidents, text offline; `benchmarks.clusters.pipeline_hour`) into a warehouse of its own: the
    incidents a deployment receiving this day would have opened."""
    from benchmarks.clusters import pipeline_hour
    from logintel.analysis.incidents.incident import list_incidents
    from logintel.analysis.templates import TemplateMiner
    from logintel.store.warehouse import connect
    target = work / "pipeline.duckdb"
    target.unlink(missing_ok=True)
    (work / "templates.json").unlink(missing_ok=True)
    con = connect(target)
    try:
        miner = TemplateMiner(state_path=work / "templates.json")
        for hour in zone.hours():
            pipeline_hour(con, zone, hour, miner)
        return list_incidents(con)
    finally:
        con.close()


def blamed(incident: dict) -> list[str]:
    """The services an incident blames, most likely first: its cause's service, then its ranked candidates,
    then (an incident with neither) its own services."""
    from logintel.analysis.incidents.continuation import blamed as blamed_by
    return blamed_by(incident.get("root_cause")) or list(incident.get("services") or [incident["service"]])


def detection(incidents: list[dict], fault_list: list[dict]) -> list[dict]:
    """Per fault: whether a standing incident opened within DETECT_WITHIN of the injection (its first window may
    reach back up to REACH_BACK: a 5-minute window ending after t starts before it) and whether one of those
    blames the faulty service in its first three; and, more lenient, whether any standing incident open during
    those minutes (one that began earlier included) blames it in its first three."""
    standing = [i for i in incidents if not i.get("merged_into")]
    rows = []
    for fault in fault_list:
        at, until = fault["at"], fault["at"] + DETECT_WITHIN

        def span(i):
            return datetime.fromisoformat(i["start_time"]), datetime.fromisoformat(i["end_time"])
        opened = sorted(((span(i)[0], i["incident_id"], i) for i in standing
                         if at - REACH_BACK <= span(i)[0] <= until), key=lambda t: t[:2])
        hit = next((i for _, _, i in opened if fault["service"] in blamed(i)[:3]), None)
        open_then = [i for i in standing if span(i)[0] <= until and span(i)[1] > at]
        rows.append({"fault": fault, "opened": len(opened), "hit": hit,
                     "open_blaming": any(fault["service"] in blamed(i)[:3] for i in open_then),
                     "minutes": (span(hit)[0] - at).total_seconds() / 60 if hit else None})
    return rows


def print_detection(rows: list[dict]) -> None:
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        for key in (row["fault"]["fault"], "all"):
            table[key][0] += row["opened"] > 0
            table[key][1] += row["hit"] is not None
            table[key][2] += row["open_blaming"]
            table[key][3] += 1
    print("\nend to end (the hourly graph's incidents): one opened within 5 minutes of the injection · one of those "
          "blaming the faulty service in its first three · any incident open then blaming it")
    for key in ["all"] + sorted(k for k in table if k != "all"):
        opened, hit, covered, n = table.get(key, (0, 0, 0, 0))
        print(f"  {key:<16} opened {opened}/{n}   blaming it {hit}/{n} {100 * hit / max(n, 1):5.1f}%   "
              f"open and blaming it {covered}/{n} {100 * covered / max(n, 1):5.1f}%")


# -- speed at scale --------------------------------------------------------------------------------------------

def scale_hour(source: Path, target: Path, span_events: int = 250_000) -> tuple[int, int]:
    """Two hours of span events and their log lines (2023-01-30 10:00 and 11:00), each made of copies of the day's
    events with fresh ids and times folded into the hour, so the second hour holds at least `span_events`
    span events; `investigate` of the second hour then reads both (its baseline is the hour before)."""
    import duckdb
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    con.execute(f"ATTACH '{source}' AS day (READ_ONLY)")
    con.execute("CREATE TABLE raw_events AS SELECT * FROM day.raw_events LIMIT 0")
    spans = con.execute("SELECT count(*) FROM day.raw_events WHERE route <> '(log)'").fetchone()[0]
    copies = -(-span_events // spans)
    for hour in (10, 11):
        for k in range(copies):
            shift = (hour * copies + k) * 7_000_000_000  # µs: each copy lands at other minutes of the hour
            con.execute(f"""
                INSERT INTO raw_events SELECT * REPLACE (
                    event_id || '-{hour}-{k}' AS event_id, trace_id || '{hour}{k}' AS trace_id,
                    TIMESTAMP '2023-01-30 {hour}:00:00' + to_microseconds((epoch_us(ts) + {shift}) % 3600000000) AS ts,
                    TIMESTAMP '2023-01-30 {hour}:00:00' AS partition_hour)
                FROM day.raw_events""")
    counts = con.execute("""SELECT count(*) FILTER (route <> '(log)'), count(*) FILTER (route = '(log)')
                            FROM raw_events WHERE ts >= '2023-01-30 11:00'""").fetchone()
    con.close()
    return counts


def without_logs(source: Path, target: Path) -> None:
    """The scaled hours' span events alone (a deployment that sends traces and no logs)."""
    import duckdb
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target))
    con.execute(f"ATTACH '{source}' AS scaled (READ_ONLY)")
    con.execute("CREATE TABLE raw_events AS SELECT * FROM scaled.raw_events WHERE route <> '(log)'")
    con.close()


def time_scaled(target: Path) -> float:
    from logintel.analysis.investigation import investigate
    from logintel.store.warehouse import connect
    con = connect(target, read_only=True)
    try:
        started = time.perf_counter()
        investigate(con, datetime(2023, 1, 30, 11), datetime(2023, 1, 30, 12))
        return time.perf_counter() - started
    finally:
        con.close()


# -- the run ---------------------------------------------------------------------------------------------------

def print_accuracy(results: dict[str, list[dict]]) -> None:
    kinds = ["all"] + sorted({row["fault"]["fault"] for rows in results.values() for row in rows})
    print(f"\n{'method':<44}" + "".join(f"{k + ' AS@1/AS@3':>30}" for k in kinds))
    for name, rows in results.items():
        table = accuracy(rows)
        cells = []
        for kind in kinds:
            one, three, n = table.get(kind, (0, 0, 0))
            cells.append(f"{one}/{n} {100 * one / max(n, 1):5.1f}% · {three}/{n} {100 * three / max(n, 1):5.1f}%")
        print(f"{name:<44}" + "".join(f"{c:>30}" for c in cells))


def print_faults(results: dict[str, list[dict]]) -> None:
    names = list(results)
    print(f"\n{'fault at (UTC)':<20} {'type':<15} {'service':<30} " + " ".join(f"{n[:22]:>22}" for n in names))
    for i, row in enumerate(results[names[0]]):
        f = row["fault"]
        ranks = " ".join(f"{str(results[n][i]['rank'] or '—'):>22}" for n in names)
        print(f"{f['at']:%Y-%m-%d %H:%M:%S}  {f['fault']:<15} {f['service']:<30} {ranks}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "trainticket")
    ap.add_argument("--work", type=Path, default=Path("/tmp/logintel-trainticket"))
    ap.add_argument("--day", help="the day to score (default: the one trainticket-*.tar.zst in --data)")
    ap.add_argument("--reuse", action="store_true", help="score an earlier run's warehouse again")
    ap.add_argument("--no-scale", action="store_true", help="skip the 250,000-span-event hour")
    ap.add_argument("--no-detect", action="store_true", help="skip the hourly graph's incidents (end to end)")
    ap.add_argument("--no-metrics", action="store_true", help="leave the pods' metrics out (traces and logs only)")
    a = ap.parse_args()
    global DAY
    DAY = day_of(a.data, a.day)
    warehouse, stages = a.work / "warehouse.duckdb", {}
    a.work.mkdir(parents=True, exist_ok=True)
    if not (a.reuse and warehouse.exists()):
        started = time.perf_counter()
        raw = unpack(a.data, a.work)
        stages["unpack"] = time.perf_counter() - started
        started = time.perf_counter()
        day_out, baseline_out = convert(raw, a.work, metrics=not a.no_metrics)
        stages["convert"] = time.perf_counter() - started
        started = time.perf_counter()
        zone, report = ingest([day_out, baseline_out], a.work)
        stages["ingest"] = time.perf_counter() - started
        print(f"ingest: {report.summary()}")
        started = time.perf_counter()
        print(f"load: {load(zone, warehouse):,} events in raw_events")
        stages["load"] = time.perf_counter() - started
    from logintel.store.warehouse import connect
    fault_list = faults(a.work / "otlp" / "day" / "labels.json")
    fault_free = fault_free_window(a.work / "otlp" / "baseline", DAY)
    con = connect(warehouse, read_only=True)
    results = {}
    try:
        methods = [("investigate, minutes before (else fault-free)", lambda: ranks_investigate(
                        con, fault_list, fault_free, given=False)),
                   ("investigate, the fault-free minute", lambda: ranks_investigate(
                       con, fault_list, fault_free, given=True)),
                   ("one-page baseline (p90 self / gap)", lambda: ranks_one_page(con, fault_list, fault_free))]
        if fault_free is None:
            print(f"no fault-free minute held for {DAY}: that method is left out")
            methods = [m for m in methods if m[0] != "investigate, the fault-free minute"]
        for name, run in methods:
            started = time.perf_counter()
            results[name] = run()
            stages[f"score: {name}"] = time.perf_counter() - started
    finally:
        con.close()
    print_faults(results)
    print_accuracy(results)
    if not a.no_detect:
        from logintel.store.landing_files import FileLandingZone
        started = time.perf_counter()
        pipeline = a.work / "pipeline.duckdb"
        if a.reuse and pipeline.exists():
            from logintel.analysis.incidents.incident import list_incidents
            con = connect(pipeline, read_only=True)
            incidents = list_incidents(con)
            con.close()
        else:
            incidents = detect(FileLandingZone(a.work / "landing"), a.work)
        rows = detection(incidents, fault_list)
        stages["end to end: the hourly graph over the day"] = time.perf_counter() - started
        print_detection(rows)
    if not a.no_scale:
        started = time.perf_counter()
        spans, logs = scale_hour(warehouse, a.work / "scaled.duckdb")
        stages["build the scaled hours"] = time.perf_counter() - started
        stages[f"investigate one hour: {spans:,} span events + {logs:,} log lines"] = time_scaled(a.work / "scaled.duckdb")
        spans_only = a.work / "scaled-spans.duckdb"
        without_logs(a.work / "scaled.duckdb", spans_only)
        stages[f"investigate one hour: {spans:,} span events, no log lines"] = time_scaled(spans_only)
    print("\nstage                                                         seconds")
    for stage, seconds in stages.items():
        print(f"{stage:<60} {seconds:8.2f}")


if __name__ == "__main__":
    main()
