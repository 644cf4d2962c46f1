"""`logintel ui`: the Dagster UI on this LOGINTEL_HOME's instance (the demo's runs included)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from logintel.config import load_settings
from launch.instance import REPO_ROOT, prepare_dagster_home
from launch.process_group import run_group

# How long `dagster dev` and what it started get to shut down after Ctrl-C or SIGTERM before being SIGKILLed.
STOP_GRACE_S = 20.0


def main(args) -> int:
    settings = load_settings()
    home = prepare_dagster_home(settings)
    os.environ["LOGINTEL_HOME"] = str(settings.home)
    print(f"DAGSTER_HOME={home}\nopen http://127.0.0.1:{args.port}", flush=True)
    dagster = Path(sys.executable).parent / "dagster"  # the venv's own, not one on PATH
    dagster = str(dagster) if dagster.exists() else "dagster"
    # A child in its own process group rather than an exec: Ctrl-C or SIGTERM here stops the whole tree
    # (webserver, daemon, code servers, runs), and whatever outlives the grace period is SIGKILLed.
    return run_group([dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(args.port)],
                     grace_s=STOP_GRACE_S, cwd=REPO_ROOT)
