"""Emits events to the local dump forever, for the SIGKILL test: `python -m tests.support.emitter_child DUMP_DIR`."""
from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone

from logintel.events import WideEvent
from logintel.ingest import Emitter, EmitterConfig


def main(dump_dir: str) -> None:
    config = EmitterConfig.from_dict({"dump_dir": dump_dir, "dead_letter_dir": dump_dir + "-dl",
                                      "transports": [], "batch_size": 200, "flush_interval_s": 0.01,
                                      "fsync": "never"})
    emitter = Emitter(config)
    # Long lines make it likely that the kill lands inside a write, tearing a line.
    padding = "x" * 2000
    while True:
        emitter.emit(WideEvent(event_id=uuid.uuid4().hex, timestamp=datetime.now(timezone.utc),
                               service="child", route="/spin", duration_ms=1.0, level="info",
                               attributes={"pad": padding}))


if __name__ == "__main__":
    main(sys.argv[1])
