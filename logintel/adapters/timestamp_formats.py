"""Timestamp prefixes of common application logs beyond ISO-8601, syslog and epoch: the Apache httpd error log,
log4j's `yy/MM/dd` (Spark, Hadoop tools), HDFS's `yyMMdd HHmmss`, compact `yyyyMMdd-HH:mm:ss:SSS` (Android
and mobile health apps) and Proxifier's `[MM.dd HH:mm:ss]`. None of them carries a zone: like syslog, they are
read as UTC. Two-digit years are 20yy; a prefix without a year takes the reference's (a future date: the year
before)."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

from logintel.events import EventValidationError

_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_MON = r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"(?P<time>\d{2}:\d{2}:\d{2})"

# (name, pattern) in the order tried; each pattern is anchored at the start of what follows any priority.
_FORMATS: tuple[tuple[str, re.Pattern], ...] = (
    ("apache", re.compile(rf"\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MON} +(?P<day>\d{{1,2}}) {_TIME}"
                          r"(?:\.(?P<frac>\d{1,6}))? (?P<year>\d{4})\](?=\s|$)")),
    ("log4j", re.compile(rf"(?P<yy>\d{{2}})/(?P<month>\d{{2}})/(?P<day>\d{{2}}) {_TIME}(?:[.,](?P<frac>\d{{1,6}}))?(?=\s|$)")),
    ("hdfs", re.compile(r"(?P<yy>\d{2})(?P<month>\d{2})(?P<day>\d{2}) (?P<hh>\d{2})(?P<mi>\d{2})(?P<ss>\d{2})"
                        r"(?:\s+(?P<pid>\d+)(?=\s))?(?=\s|$)")),
    # unpadded fields as HealthApp writes them: 20171223-22:16:0:119
    ("compact", re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})-(?P<hh>\d{1,2}):(?P<mi>\d{1,2}):"
                           r"(?P<ss>\d{1,2})(?:[:.,](?P<frac>\d{1,3}))?(?=[|\s]|$)")),
    ("month_day", re.compile(rf"\[(?P<month>\d{{2}})\.(?P<day>\d{{2}}) {_TIME}(?:\.(?P<frac>\d{{1,6}}))?\](?=\s|$)")),
)


def other_leading_timestamp(rest: str, reference: datetime | date | None,
                            now: datetime | None) -> tuple[datetime | None, str, dict]:
    """(the timestamp, the rest of the line, attributes the prefix carried such as the pid), or (None, rest, {})."""
    for _, pattern in _FORMATS:
        if match := pattern.match(rest):
            extras = {"process.pid": int(match["pid"])} if match.groupdict().get("pid") else {}
            return _moment(match, _reference_date(reference, now)), rest[match.end():], extras
    return None, rest, {}


def _moment(match: re.Match, reference: date) -> datetime:
    found = match.groupdict()
    year = int(found["year"]) if found.get("year") else 2000 + int(found["yy"]) if found.get("yy") else None
    month = _MONTHS.index(found["mon"].lower()) + 1 if found.get("mon") else int(found["month"])
    clock = found.get("time") or f"{int(found['hh']):02d}:{int(found['mi']):02d}:{int(found['ss']):02d}"
    frac = (found.get("frac") or "0")[:6]
    frac = frac.rjust(3, "0").ljust(6, "0") if found.get("hh") and len(frac) < 3 else frac.ljust(6, "0")
    for candidate_year in ([year] if year is not None else [reference.year, reference.year - 1]):
        try:
            moment = datetime.fromisoformat(f"{candidate_year:04d}-{month:02d}-{int(found['day']):02d}T{clock}.{frac}+00:00")
        except ValueError:
            continue  # not a date (month 13), or Feb 29 outside a leap year: the year before may hold it
        # without a year, a line dated after the reference (a December line read in January) is last year's
        if year is not None or (moment.date() - reference).days <= 1:
            return moment
    raise EventValidationError("timestamp", match.group(0), "not a valid date and time")


def _reference_date(reference: datetime | date | None, now: datetime | None) -> date:
    ref = reference or now or datetime.now(timezone.utc)
    return ref.date() if isinstance(ref, datetime) else ref
