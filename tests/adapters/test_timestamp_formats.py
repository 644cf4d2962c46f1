"""Common application-log prefixes beyond ISO, syslog and epoch, read by the plain-text parser: each format on a
written line, the edge cases, and Loghub's eight real logs against their labelled times and levels."""
from __future__ import annotations

import csv
import re
from datetime import date, datetime, timezone

import pytest

from logintel.adapters.plain_text import LEVEL_WORDS, parse_plain_text
from logintel.events import EventValidationError
from tests.support import REPO_ROOT

REF = date(2026, 3, 1)
LOGHUB = REPO_ROOT.parent / "shared" / "data" / "loghub"


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("line, when, level, service, pid", [
    ("[Thu Jun 09 06:07:04 2025] [error] [client 10.0.0.5] File does not exist: /var/www/x",
     at(2025, 6, 9, 6, 7, 4), "error", "unknown", None),
    ("[Thu Jun 09 06:07:04.123456 2025] [notice] caught SIGTERM", at(2025, 6, 9, 6, 7, 4, 123456), "info", "unknown", None),
    ("25/06/09 20:10:40 WARN storage.BlockManager: block lost", at(2025, 6, 9, 20, 10, 40), "warn", "unknown", None),
    ("250609 203615 148 ERROR dfs.DataNode: disk full", at(2025, 6, 9, 20, 36, 15), "error", "unknown", 148),
    ("20250609-22:16:0:9|Step_LSC|30002312|onStandStepChanged 3579", at(2025, 6, 9, 22, 16, 0, 9000), "info",
     "Step_LSC", 30002312),
    ("[02.28 16:49:06] chrome.exe - proxy.example:5070 open through proxy", at(2026, 2, 28, 16, 49, 6), "info",
     "unknown", None),
    ("2025-06-09 17:41:44,747 - WARN  [QuorumPeer[myid=1]:Learner@233] - Exception when following",
     at(2025, 6, 9, 17, 41, 44, 747000), "warn", "unknown", None),
])
def test_each_prefix_gives_the_time_level_service_and_pid(line, when, level, service, pid):
    event = parse_plain_text(line, source="t", reference=REF)
    assert (event.timestamp, event.level, event.service) == (when, level, service)
    assert event.attributes.get("process.pid") == pid


def test_a_yearless_prefix_after_the_reference_is_last_years():
    # Read on 1 March, a line dated 30 October is from the October before.
    assert parse_plain_text("[10.30 16:49:06] x.exe - open", reference=REF).timestamp == at(2025, 10, 30, 16, 49, 6)


@pytest.mark.parametrize("line", ["251309 203615 1 INFO x: month 13", "25/02/30 20:10:40 INFO x: no such day",
                                  "[Thu Jun 09 25:07:04 2025] [error] hour 25"])
def test_an_impossible_date_is_a_timestamp_rejection(line):
    with pytest.raises(EventValidationError) as info:
        parse_plain_text(line, source="t", reference=REF)
    assert info.value.field == "timestamp"


LOGS = ["Apache", "HDFS", "Hadoop", "HealthApp", "Linux", "Proxifier", "Spark", "Zookeeper"]


@pytest.mark.skipif(not LOGHUB.exists(), reason="Loghub is not in ../shared/data")
@pytest.mark.parametrize("name", LOGS)
def test_every_line_of_loghubs_real_logs_parses_with_its_labelled_time_and_level(name):
    lines = (LOGHUB / name / f"{name}_2k.log").read_text(encoding="utf-8", errors="replace").splitlines()
    with open(LOGHUB / name / f"{name}_2k.log_structured_corrected.csv", encoding="utf-8", errors="replace") as fh:
        labels = list(csv.DictReader(fh))
    assert len(lines) == len(labels) == 2000
    for line, label in zip(lines, labels):
        event = parse_plain_text(line, source=name, reference=date(2025, 12, 31))
        assert event.timestamp.strftime("%H%M%S") == _labelled_clock(name, label["Time"]), line
        if label.get("Level", "").lower() in LEVEL_WORDS:
            assert event.level == LEVEL_WORDS[label["Level"].lower()], line


def _labelled_clock(name: str, text: str) -> str:
    if name == "HealthApp":  # 20171223-22:16:0:119, unpadded
        return "".join(f"{int(p):02d}" for p in text.split("-")[1].split(":")[:3])
    if name == "HDFS":  # 203615, leading zeros dropped by the CSV
        return text.rjust(6, "0")
    return re.search(r"\d\d:\d\d:\d\d", text).group(0).replace(":", "")
