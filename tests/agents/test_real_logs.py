"""Every analyst over every hour and every day of Loghub's eight real logs (sshd/PAM, Apache, HDFS, Hadoop,
Spark, Zookeeper, HealthApp, Proxifier): real data has absent, null and odd fields, and an analyst must say
what it saw rather than raise. Each finding's text is grounded in its facts, and log lines are never read as
requests (the Apache error log's [error] lines made 56 burn-rate findings before)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta, timezone

import pytest

from logintel.adapters.plain_text import parse_plain_text
from logintel.agents.finding import Scope
from logintel.agents.registry import ANALYSTS
from logintel.agents.run import run_analyst
from logintel.config import Settings
from logintel.daily.days import DigestDay
from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from tests.support import REPO_ROOT

LOGHUB = REPO_ROOT.parent / "shared" / "data" / "loghub"
LOGS = ["Apache", "HDFS", "Hadoop", "HealthApp", "Linux", "Proxifier", "Spark", "Zookeeper"]


@pytest.mark.slow
@pytest.mark.skipif(not LOGHUB.exists(), reason="Loghub is not in ../shared/data")
@pytest.mark.parametrize("name", LOGS)
def test_every_analyst_survives_every_hour_and_day_of_a_real_log(name, empty_warehouse, tmp_path):
    con = empty_warehouse
    by_hour = defaultdict(list)
    for n, line in enumerate((LOGHUB / name / f"{name}_2k.log").read_text("utf-8", errors="replace").splitlines()):
        event = parse_plain_text(line, source=f"{name}:{n}", reference=date(2025, 12, 31))
        by_hour[event.timestamp.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0,
                                                                 tzinfo=None)].append(event.to_json())
    for hour, lines in sorted(by_hour.items()):
        load_hour(con, HourBatch(hour=hour, lines=lines, sources=[name] * len(lines)))
    scopes = [Scope(DigestDay(h.date()), h, h + timedelta(hours=1)) for h in sorted(by_hour)]
    scopes += [Scope.whole_day(DigestDay(d)) for d in sorted({h.date() for h in by_hour})]
    settings = Settings(home=tmp_path / "home")
    for scope in scopes:
        for agent in ANALYSTS:
            report = run_analyst(con, agent, scope, settings)
            assert report.abstained == (not report.findings)
            for finding in report.findings:
                assert finding.grounding["grounded"] is True, (finding.text, finding.grounding)
            if agent == "sre":  # a log line is not a request: an error line burns no availability budget
                assert report.findings == [], [f.text for f in report.findings]
