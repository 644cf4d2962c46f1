"""The `replay_dumps` job: the SDK's dump files into the landing zone; the replayed_partitions_sensor then
re-materializes the hours it touched."""
from pathlib import Path

import dagster as dg

from assets.metadata import counts_table, hour_table
from logintel.ingest.replay import replay_dumps
from logintel.ingest.reports import REPORTS
from resources.landing_zone import LandingZoneResource
from resources.settings import LogintelSettings


class ReplayConfig(dg.Config):
    paths: list[str] = []  # dump files to replay; empty: every finished file in the dump dir


@dg.op(description="Load dump files into the landing zone (event_id dedupe), dead-letter bad lines, archive "
                   "the files, and save a report naming the affected hours.")
def replay_dump_files(context: dg.OpExecutionContext, config: ReplayConfig, landing: LandingZoneResource,
                      logintel: LogintelSettings) -> dict:
    dumps = logintel.settings().dumps_dir
    # A file listed by the sensor may be gone (replayed by the CLI meanwhile): nothing to do for it.
    targets = [Path(p) for p in config.paths if Path(p).exists()] if config.paths else dumps
    if (config.paths and not targets) or (not config.paths and not dumps.exists()):
        context.log.info("nothing to replay")
        return {}
    report = replay_dumps(targets, landing.open(), logintel.dead_letters(), dumps / "archive", dump_root=dumps)
    if not report.accounted():
        raise dg.Failure(f"replay accounting mismatch: {report.summary()}")
    path = report.write(dumps / REPORTS) if report.files else None  # no report, no re-materialization
    context.log.info(report.summary())
    context.add_output_metadata({"events_by_hour": hour_table(report.by_hour, "events replayed"),
                                 "dead_letters_by_cause": counts_table(report.by_cause, "cause"),
                                 "report": str(path) if path else "none (nothing replayed)", "lines": report.lines,
                                 "replayed": report.replayed, "duplicates": report.duplicates,
                                 "dead_lettered": report.dead_lettered,
                                 "partitions": ", ".join(report.partitions) or "none"})
    return report.to_dict()


@dg.job(name="replay_dumps", description="Replay dump files into the landing zone; the replayed_partitions_sensor "
                                         "then re-materializes the affected hours.")
def replay_job():
    replay_dump_files()
