"""`logintel demo`, scaled down: the README's main command runs end to end on a fresh home."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.landing import landed_lines


@pytest.mark.slow
@pytest.mark.subprocess
def test_demo_simulates_materializes_and_reports(tmp_path):
    home = tmp_path / "home"
    cli = Path(sys.executable).parent / "logintel"
    out = subprocess.run([str(cli), "demo", "--hours", "3", "--rate", "120"], capture_output=True, text=True,
                         timeout=600, env={"LOGINTEL_HOME": str(home), "PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # a failed run prints FAILED as a word of its own (error codes such as REFUND_FAILED are not that)
    assert "3/3] " in out.stdout and not re.search(r"(?<![A-Z_])FAILED(?![A-Z_])", out.stdout), out.stdout[-3000:]
    incidents = json.loads((home / "outputs" / "incidents.json").read_text())
    labels = json.loads((home / "simulation" / "labels.json").read_text())
    assert incidents, "the injected incidents should trip the threshold rules"
    db = next(label for label in labels if label["scenario"] == "db_bottleneck")
    found = {(i["service"], i["error_code"]) for i in incidents}
    assert ("orders", "DB_POOL_EXHAUSTED") in found and set(db["services"]) & {s for s, _ in found}
    assert (home / "outputs" / "report.md").exists() and (home / "warehouse.duckdb").exists()
    # the demo's broken lines are dead letters with their causes, not lost
    assert "5 dead-lettered" in out.stdout
    # the services emit through the SDK; what the landing outage sent to the dumps is replayed, nothing lost
    delivery = re.search(r"([\d,]+) emitted = ([\d,]+) delivered to files \+ ([\d,]+) dumped to local files "
                         r"\+ 0 dropped \+ 0 dead-lettered \+ 0 pending \(balanced\)", out.stdout)
    assert delivery, out.stdout[:3000]
    emitted, delivered, dumped = (int(g.replace(",", "")) for g in delivery.groups())
    assert dumped > 0 and delivered + dumped == emitted
    assert f"{dumped:,} events replayed, 0 already landed" in out.stdout
    landed = landed_lines(home / "landing")
    assert len(landed) == emitted == len({json.loads(line)["event_id"] for line in landed})
    assert not list((home / "dumps").glob("20*/*.jsonl")) and list((home / "dumps" / "archive").rglob("*.jsonl"))
    # the demo ends with the digest of the day(s) it simulated, grounded, and briefs its critical incidents
    digests = sorted((home / "outputs" / "digests").glob("*.json"))
    assert digests and all(json.loads(p.read_text())["grounding"]["invented"] == [] for p in digests)
    assert "claims grounded" in out.stdout and list((home / "outputs" / "briefings").glob("inc-*.md"))
    # and the runs are in the Dagster instance the UI opens
    assert (home / "dagster" / "dagster.yaml").exists() and (home / "dagster" / "history").exists()
