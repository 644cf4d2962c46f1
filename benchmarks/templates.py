"""Benchmark: template grouping accuracy (Loghub GA) and mining throughput, ours against Drain3's defaults.

    .venv/bin/python benchmarks/templates.py [--data /work/shared/data/loghub] [--systems HDFS,Linux]

Each system's `Content` column is mined by a fresh miner with ONE configuration (MinerConfig()) and by
`drain3.TemplateMiner()` with its default TemplateMinerConfig, in the same run; GA compares the predicted
groups with the ground-truth `EventId`s (a line is right when its group holds exactly its true group).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from logintel.analysis.templates import MinerConfig, TemplateMiner  # noqa: E402
from logintel.analysis.templates.accuracy import grouping_accuracy  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/loghub")


@dataclass
class Score:
    ga: float
    seconds: float
    groups: int


def _structured(data: Path, system: str) -> Path | None:
    """The system's structured, corrected 2k sample: the CSV, or the gzipped copy the tests carry."""
    plain = data / system / f"{system}_2k.log_structured_corrected.csv"
    packed = plain.with_name(plain.name + ".gz")
    return plain if plain.exists() else packed if packed.exists() else None


def systems(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if _structured(data, p.name))


def load_system(data: Path, system: str) -> tuple[list[str], list[str]]:
    """(Content, EventId) per line of one system's structured, corrected 2k sample."""
    path = _structured(data, system)
    if path is None:
        raise FileNotFoundError(f"no {system}_2k.log_structured_corrected.csv(.gz) under {data / system}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]


def score_ours(contents: list[str], truth: list[str], config: MinerConfig = MinerConfig()) -> Score:
    miner = TemplateMiner(config)
    start = time.perf_counter()
    matches = miner.add_many(contents)
    seconds = time.perf_counter() - start
    predicted = [miner.resolve(m.template_id) for m in matches]  # final groups, after merges
    return Score(grouping_accuracy(predicted, truth), seconds, len(set(predicted)))


def drain3_default():
    """drain3.TemplateMiner() with its default TemplateMinerConfig (no masking, depth 4, sim_th 0.4)."""
    from drain3 import TemplateMiner as Drain3Miner
    from drain3.template_miner_config import TemplateMinerConfig
    logging.getLogger("drain3").setLevel(logging.ERROR)  # it warns that no drain3.ini exists: defaults are the point
    return Drain3Miner(config=TemplateMinerConfig())


def score_drain3(contents: list[str], truth: list[str]) -> Score:
    miner = drain3_default()
    start = time.perf_counter()
    predicted = [miner.add_log_message(c)["cluster_id"] for c in contents]
    seconds = time.perf_counter() - start
    return Score(grouping_accuracy(predicted, truth), seconds, len(set(predicted)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--systems", help="comma-separated subset (default: every system under --data)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="steady state: feed all lines this many times through one miner (0 to skip)")
    args = parser.parse_args(argv)
    chosen = args.systems.split(",") if args.systems else systems(args.data)
    if not chosen:
        print(f"no Loghub systems under {args.data}", file=sys.stderr)
        return 2
    header = f"{'system':<11} {'lines':>6} {'truth':>6} {'GA ours':>8} {'GA drain3':>10} {'groups ours/d3':>15} " \
             f"{'ours lines/s':>13} {'drain3 lines/s':>15}"
    print(header)
    print("-" * len(header))
    ours_all, d3_all, lines_all, every_line = [], [], 0, []
    for system in chosen:
        contents, truth = load_system(args.data, system)
        every_line += contents
        ours, d3 = score_ours(contents, truth), score_drain3(contents, truth)
        ours_all.append(ours)
        d3_all.append(d3)
        lines_all += len(contents)
        print(f"{system:<11} {len(contents):>6} {len(set(truth)):>6} {ours.ga:>8.3f} {d3.ga:>10.3f} "
              f"{f'{ours.groups}/{d3.groups}':>15} {len(contents) / ours.seconds:>13,.0f} "
              f"{len(contents) / d3.seconds:>15,.0f}")
    print("-" * len(header))
    mean = lambda scores: sum(s.ga for s in scores) / len(scores)  # noqa: E731
    print(f"{'average':<11} {lines_all:>6} {'':>6} {mean(ours_all):>8.3f} {mean(d3_all):>10.3f} {'':>15} "
          f"{lines_all / sum(s.seconds for s in ours_all):>13,.0f} "
          f"{lines_all / sum(s.seconds for s in d3_all):>15,.0f}")
    if args.repeat > 0:
        stream = every_line * args.repeat
        ours_rate, d3_rate = steady_state(stream)
        print(f"{'steady':<11} {len(stream):>6} {'':>6} {'':>8} {'':>10} {'':>15} "
              f"{ours_rate:>13,.0f} {d3_rate:>15,.0f}")
        print(f"(steady: every system's lines fed {args.repeat}x through one miner, so repeats hit the caches)")
    print("ours: MinerConfig() for every system; drain3: TemplateMiner() with default TemplateMinerConfig")
    return 0


def steady_state(stream: list[str]) -> tuple[float, float]:
    """Lines per second of one long-lived miner of each kind over a stream that repeats itself."""
    ours = TemplateMiner()
    start = time.perf_counter()
    ours.add_many(stream)
    ours_seconds = time.perf_counter() - start
    drain3 = drain3_default()
    start = time.perf_counter()
    for line in stream:
        drain3.add_log_message(line)
    return len(stream) / ours_seconds, len(stream) / (time.perf_counter() - start)


if __name__ == "__main__":
    sys.exit(main())
