"""The emitter's books under hostile input: for any mix of records, after close every event handed over is
delivered, dumped, dead-lettered with a cause or counted as dropped — and what the landing zone and the
dead-letter store hold on disk says the same."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from logintel.ingest import Emitter
from logintel.store.dead_letters import DeadLetterStore
from tests.attacks.strategies import almost_events, json_values
from tests.ingest.test_emitter import config
from tests.support.landing import landed_lines


@settings(max_examples=40)  # an emitter starts and stops per example
@given(st.lists(st.one_of(almost_events(), json_values(6)), max_size=25))
def test_every_record_handed_over_is_delivered_dumped_dead_lettered_or_counted(records):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with Emitter(config(root)) as emitter:
            emitter.emit_batch(records)
        stats = emitter.stats()
        delivered = sum(stats["delivered"].values())
        dead = sum(stats["dead_lettered"].values())
        dropped = sum(stats["dropped"].values())
        assert stats["emitted"] == len(records) == delivered + stats["dumped"] + dead + dropped
        assert stats["balanced"] and stats["pending"] == 0
        lines = landed(root / "landing")
        assert len(lines) == delivered  # the books agree with the disk
        letters = list(DeadLetterStore(root / "dl").records())
        assert len(letters) == dead and all(letter["cause"] for letter in letters)
        for line in lines:
            json.loads(line)  # every landed line is JSON a reader takes


def landed(root: Path) -> list[bytes]:
    """Landed lines as the landing zone's reader gives them (a JSON string may hold U+2028, which str.splitlines
    would split at: the reader does not)."""
    return [line.encode("utf-8", "surrogatepass") for line in landed_lines(root)]
