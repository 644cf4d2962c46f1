"""The `logintel` entry point: the domain's commands (`logintel.cli`) plus the two that drive Dagster."""
from __future__ import annotations

import sys

from logintel import cli


def _demo(args) -> int:
    from launch import demo  # imported when run, so other commands start without it
    return demo.main(args)


def _backfill(args) -> int:
    from launch import backfill
    return backfill.main(args)


def _digest(args) -> int:
    from launch import digest
    return digest.main(args)


def _ui(args) -> int:
    from launch import ui
    return ui.main(args)


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="simulate a day with injected incidents and materialize every partition")
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rate", type=float, default=200.0, help="mean requests per minute")
    p.add_argument("--keep", action="store_true", help="keep existing landing data and warehouse")
    p.add_argument("--outage-minutes", type=int, default=20,
                   help="minutes the landing zone is down mid-day: those events go to dumps and are replayed (0: none)")
    p.set_defaults(func=_demo)


def _add_backfill(sub) -> None:
    p = sub.add_parser("backfill", help="materialize every hourly partition in [start, end) through the hourly graph, "
                                        "then the daily partitions those hours touch")
    p.add_argument("--start", required=True, help="YYYY-MM-DDTHH:MM (UTC)")
    p.add_argument("--end", required=True, help="YYYY-MM-DDTHH:MM (UTC), exclusive")
    p.add_argument("--json", action="store_true", help="print the runs as JSON (progress goes to stderr)")
    p.add_argument("--parallel", type=int, default=1, metavar="N",
                   help="with the lake (LOGINTEL_TABLE_FORMAT=iceberg): N runs at once, each in a process of its "
                        "own: raw_events → windowed_aggregates and window_changes of hours ahead beside the rest of "
                        "the graph, which runs hour after hour")
    p.set_defaults(func=_backfill)


def _add_digest(sub) -> None:
    p = sub.add_parser("digest", help="print the daily digest of a day (materialized first if it has none yet)")
    p.add_argument("--date", help="YYYY-MM-DD in the digest's time zone (default: the latest digest written)")
    p.add_argument("--json", action="store_true", help="print the digest's JSON document instead of markdown")
    p.add_argument("--refresh", action="store_true", help="materialize the day again even if its digest exists")
    p.set_defaults(func=_digest)


def _add_ui(sub) -> None:
    p = sub.add_parser("ui", help="start the Dagster UI on this LOGINTEL_HOME")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=_ui)


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, extra_commands=(_add_demo, _add_backfill, _add_digest, _add_ui))


if __name__ == "__main__":
    sys.exit(main())
