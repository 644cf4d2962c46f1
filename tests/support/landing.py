"""What a file landing zone holds, read as the pipeline reads it: every line of every hour, a columnar segment's
rows as their canonical lines, hour by hour and segment by segment."""
from __future__ import annotations

from pathlib import Path

from logintel.store.landing_files import FileLandingZone


def landed_lines(root: Path) -> list[str]:
    zone = FileLandingZone(Path(root))
    return [line for hour in zone.hours() for line in zone.read_hour(hour).lines]
